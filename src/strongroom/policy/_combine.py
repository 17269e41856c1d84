"""The :class:`Policy` protocol and the ways to combine or bypass policies.

Every combinator fails closed: :class:`AllOf` allows only what every member allows and
refuses to be built empty (an empty conjunction would allow everything). The one policy that
allows everything is named :class:`UnsafeAllowAll` and logs a warning on every decision.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from strongroom.policy._errors import DeniedError, PolicyError
from strongroom.policy._model import CONTENT_ACTIONS, AccessRequest, Decision, FieldLevel

_log = logging.getLogger("strongroom.policy")

_RANK: dict[FieldLevel, int] = {"hidden": 0, "masked": 1, "full": 2}


@runtime_checkable
class Policy(Protocol):
    """Anything that decides accesses."""

    def decide(self, request: AccessRequest) -> Decision:
        """Decide ``request``; raise :class:`PolicyError` only when it is malformed."""
        ...


class AllOf:
    """Allows what every one of ``policies`` allows; each field gets its least level."""

    __slots__ = ("_policies",)

    def __init__(self, policies: Sequence[Policy]) -> None:
        if not policies:
            raise PolicyError("AllOf: needs at least one policy (an empty AllOf allows nothing)")
        for p in policies:
            if not isinstance(p, Policy):
                raise PolicyError(f"AllOf: {type(p).__name__} is not a Policy")
        self._policies = tuple(policies)

    def decide(self, request: AccessRequest) -> Decision:
        decisions = [p.decide(request) for p in self._policies]
        names = list(dict.fromkeys(n for d in decisions for n in d.fields))
        reasons = list(dict.fromkeys(r for d in decisions for r in d.reasons))
        if not all(d.allowed for d in decisions):
            return Decision.deny(names, reasons)
        fields: dict[str, FieldLevel] = {
            name: min((d.fields.get(name, "hidden") for d in decisions), key=_RANK.__getitem__)
            for name in names
        }
        return Decision(True, fields, any(d.break_glass for d in decisions), reasons)


class UnsafeAllowAll:
    """Allows every well-formed request with every field in full. For tests and tools only.

    It bypasses every protection the policies give; each decision logs a warning.
    """

    __slots__ = ("_fields",)

    def __init__(self, collections: Mapping[str, Sequence[str]]) -> None:
        self._fields = {k: tuple(v) for k, v in collections.items()}

    def decide(self, request: AccessRequest) -> Decision:
        request.check()
        _log.warning(
            "UnsafeAllowAll allowed %s on %s without any policy", request.action, request.collection
        )
        content = request.action in CONTENT_ACTIONS
        names = self._fields.get(request.collection, ()) if content else ()
        fields: dict[str, FieldLevel] = dict.fromkeys(names, "full")
        return Decision(True, fields, request.break_glass, ["UnsafeAllowAll"])


def authorize(policy: Policy, request: AccessRequest) -> Decision:
    """Decide ``request`` and raise :class:`DeniedError` unless it is allowed."""
    decision = policy.decide(request)
    if not decision.allowed:
        by = ", ".join(decision.reasons) if decision.reasons else "no policy permits it"
        raise DeniedError(f"denied: {request.action} on {request.collection} ({by})")
    return decision
