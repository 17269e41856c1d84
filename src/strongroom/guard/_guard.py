"""The guard: what the Gate asks after policy has allowed an access, before anything leaves.

* :meth:`Guard.admit` counts a release against the principal's quotas inside the transaction
  that writes the access's audit entry (refused: :class:`QuotaExceededError`, nothing is
  released, the refusal is audited and alerted by the Gate through :meth:`refused`);
* :meth:`Guard.protection` says which records are protected for this request (protected and
  no active grant covers it) and which grant covers the others;
* :meth:`Guard.released` runs after the release committed: a honeytoken among the records
  raises a high-severity alert and (``suspend_on_honeytoken``) revokes the reader's API
  tokens at once; a break-glass access goes to the review queue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from strongroom._ids import ref_of
from strongroom.guard._alerts import Alert, AlertStore, evidence_of
from strongroom.guard._config import GuardConfig
from strongroom.guard._honeytokens import HONEYTOKEN_KEY, Honeytokens
from strongroom.guard._protect import Protection
from strongroom.guard._quota import METRICS, QuotaExceededError, Quotas, Usage


@dataclass(frozen=True, slots=True)
class Protected:
    """Protection of a set of records for one request."""

    #: protected and not covered by a grant: the policy forbids them
    blocked: frozenset[bytes] = frozenset()
    #: covered by an active grant: record id -> grant id (the audit ``approval_ref``)
    granted: Mapping[bytes, str] | None = None


class Guard:
    """Quotas, honeytokens, protected persons and alerts over one vault."""

    def __init__(
        self,
        vault: Any,
        config: GuardConfig | None = None,
        *,
        tokens: Any = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config if config is not None else GuardConfig.from_table(vault.config.guard)
        self._clock = clock or (lambda: datetime.now(UTC))
        engine = vault.store.engine
        seal = vault.audit.seal_key
        self.engine: sa.Engine = engine
        self.alerts = AlertStore(engine, seal, clock=self._clock)
        self.quotas = Quotas(self.config.timezone_offset_hours)
        self.protection = Protection(engine, seal, clock=self._clock)
        self.honeytokens = Honeytokens(
            vault.engines()[1], vault.keyring.service_key(HONEYTOKEN_KEY)
        )
        #: the API token store, to suspend a principal's tokens (None: not suspended)
        self.tokens = tokens

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def now(self) -> datetime:
        return self._clock()

    # -- quotas ---------------------------------------------------------------------------
    def limits(self, principal_id: str, role: str) -> dict[str, int]:
        return self.config.limits(principal_id, role) if self.enabled else {}

    def admit(self, conn: sa.Connection, principal_id: str, role: str, usage: Usage) -> None:
        """Count ``usage`` in ``conn``'s transaction (raises :class:`QuotaExceededError`)."""
        limits = self.limits(principal_id, role)
        if limits:
            self.quotas.count(conn, principal_id, limits, usage, self._clock())

    def refused(self, principal_id: str, exc: QuotaExceededError, request_id: str) -> Alert:
        """The alert for a refused request: one per principal, quota and window (later
        refusals in the same window add nothing but their audit entries)."""
        window = METRICS[exc.quota][1] // 1000
        since = datetime.fromtimestamp(self._clock().timestamp() - window, UTC)
        for earlier in self.alerts.list(kind="quota", principal=principal_id, since=since):
            if earlier.evidence.get("quota") == exc.quota:
                return earlier
        return self.alerts.raise_alert(
            "quota",
            "high" if exc.quota.startswith(("released", "subjects")) else "medium",
            principal_id,
            f"quota {exc.quota} ({exc.limit}) exceeded by {principal_id}; requests refused",
            evidence_of(requests=[request_id], quota=exc.quota, limit=exc.limit),
        )

    # -- protected persons -----------------------------------------------------------------
    def protection_of(
        self,
        principal_id: str,
        person_ids: Sequence[bytes],
        purpose: str,
        case_ref: str | None,
    ) -> Protected:
        """Which of ``person_ids`` the request may not read (protected, no grant)."""
        if not self.enabled or not person_ids:
            return Protected()
        prot = self.protection.protected(person_ids)
        if not prot:
            return Protected()
        granted = self.protection.grant_for(
            principal_id, sorted(prot), purpose, case_ref, self._clock()
        )
        return Protected(frozenset(prot - set(granted)), granted)

    # -- after a release -------------------------------------------------------------------
    def released(
        self,
        principal_id: str,
        record_ids: Sequence[bytes],
        request_id: str,
        *,
        break_glass: bool = False,
        action: str = "read",
    ) -> list[Alert]:
        """Alerts for what was just released (honeytokens, break-glass)."""
        if not self.enabled:
            return []
        out: list[Alert] = []
        hits = self.honeytokens.canaries(record_ids) if record_ids else []
        if hits:
            suspended = self.suspend(principal_id) if self.config.suspend_on_honeytoken else 0
            out.append(
                self.alerts.raise_alert(
                    "honeytoken",
                    "high",
                    principal_id,
                    f"{principal_id} touched a honeytoken record ({action}); "
                    + (f"{suspended} API token(s) suspended" if suspended else "tokens kept"),
                    evidence_of(
                        requests=[request_id], records=[ref_of(r) for r in hits], action=action
                    ),
                )
            )
        if break_glass and record_ids:
            out.append(
                self.alerts.raise_alert(
                    "break_glass",
                    "medium",
                    principal_id,
                    f"break-glass {action} by {principal_id}: review the justification",
                    evidence_of(requests=[request_id], records=[ref_of(r) for r in record_ids]),
                )
            )
        return out

    def prune(self) -> None:
        """Forget quota counters and subject rows that no window or baseline needs."""
        with self.engine.begin() as conn:
            self.quotas.prune(conn, self._clock())

    def suspend(self, principal_id: str) -> int:
        """Revoke every active API token of the principal; how many were."""
        if self.tokens is None:
            return 0
        n = 0
        for info in self.tokens.list(principal_id):
            if info.revoked_at is None:
                self.tokens.revoke(info.id)
                n += 1
        return n
