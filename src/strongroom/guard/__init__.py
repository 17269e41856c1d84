"""The guard: quotas, honeytoken records, protected persons with dual control, behavioural
detectors, alerts and their review. See ``docs/guard.md``.

The Gate consults it after policy allows an access and before anything is released.
"""

from __future__ import annotations

from strongroom.guard._alerts import Alert, AlertStore, WebhookSender, evidence_of
from strongroom.guard._config import QUOTAS, DetectorConfig, GuardConfig
from strongroom.guard._guard import Guard, Protected
from strongroom.guard._honeytokens import HONEYTOKEN_KEY, Canary, Honeytokens, plant
from strongroom.guard._protect import CATEGORIES, Grant, Protection
from strongroom.guard._quota import QuotaExceededError, Quotas, Usage
from strongroom.guard._tables import guard_metadata, honeytoken_metadata

__all__ = [
    "CATEGORIES",
    "HONEYTOKEN_KEY",
    "QUOTAS",
    "Alert",
    "AlertStore",
    "Canary",
    "DetectorConfig",
    "Grant",
    "Guard",
    "GuardConfig",
    "Honeytokens",
    "Protected",
    "Protection",
    "QuotaExceededError",
    "Quotas",
    "Usage",
    "WebhookSender",
    "evidence_of",
    "guard_metadata",
    "honeytoken_metadata",
    "plant",
]
