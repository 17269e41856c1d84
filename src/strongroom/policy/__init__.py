"""Policy: who may do what to which record, why, and how much of each field they see.

Decisions come from Cedar policies (``strongroom/policies/*.cedar``, validated against
``strongroom/policies/strongroom.cedarschema``); purposes from a registry
(``strongroom/policies/purposes.toml``). Decisions are per field: ``full``, ``masked`` or
``hidden``; :func:`apply` masks a record's fields per a decision. Everything fails closed: an
empty policy set denies everything, a broken one refuses to load, an error inside Cedar is a
denial. See ``docs/policy.md``.

Errors::

    StrongroomError
    └── PolicyError          (exit code 9) unusable policies, purposes or request
        └── DeniedError      the access is denied (raised by :func:`authorize`)
"""

from strongroom.policy._combine import AllOf, Policy, UnsafeAllowAll, authorize
from strongroom.policy._engine import PolicyEngine, builtin_fields
from strongroom.policy._errors import DeniedError, PolicyError
from strongroom.policy._files import shipped_policy_dir
from strongroom.policy._load import check_policies
from strongroom.policy._masks import (
    MASKS,
    apply,
    mask_date_of_birth,
    mask_name,
    mask_phone,
    mask_resident_id,
)
from strongroom.policy._model import (
    ACTIONS,
    AccessRequest,
    Decision,
    FieldLevel,
    Principal,
    RecordFacts,
)
from strongroom.policy._purposes import PurposeDef, PurposeRegistry

__all__ = [
    "ACTIONS",
    "MASKS",
    "AccessRequest",
    "AllOf",
    "Decision",
    "DeniedError",
    "FieldLevel",
    "Policy",
    "PolicyEngine",
    "PolicyError",
    "Principal",
    "PurposeDef",
    "PurposeRegistry",
    "RecordFacts",
    "UnsafeAllowAll",
    "apply",
    "authorize",
    "builtin_fields",
    "check_policies",
    "mask_date_of_birth",
    "mask_name",
    "mask_phone",
    "mask_resident_id",
    "shipped_policy_dir",
]
