"""What a policy decides about: the request (who, what, which record, why) and the decision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from strongroom.policy._errors import PolicyError
from strongroom.policy._purposes import PurposeDef

#: how much of one field a decision releases
FieldLevel = Literal["full", "masked", "hidden"]

#: actions on a whole collection (the request names no record)
COLLECTION_ACTIONS = frozenset({"search", "export", "admin"})
#: actions on one record (the request carries the record's facts)
RECORD_ACTIONS = frozenset({"read", "reveal", "create", "update", "delete"})
#: record actions whose response carries field values, so are decided per field
CONTENT_ACTIONS = frozenset({"read", "reveal"})
ACTIONS = COLLECTION_ACTIONS | RECORD_ACTIONS


def _check_str(value: object, where: str, *, empty: bool = True) -> None:
    if not isinstance(value, str) or (not empty and not value):
        raise PolicyError(f"{where}: must be a {'' if empty else 'non-empty '}string")


def _check_set(value: object, where: str) -> frozenset[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise PolicyError(f"{where}: must be a set of strings")
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise PolicyError(f"{where}: must be a set of strings")
    return frozenset(v for v in items if v)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: built by authentication from a user, token or OIDC claims."""

    #: pseudonymous id of the user or service account
    id: str
    #: call_taker | investigator | supervisor | auditor | admin | citizen | analyst
    role: str
    #: organisational unit code ("" when none)
    unit: str
    #: home region code
    region: str
    #: case refs the principal is assigned to
    case_refs: frozenset[str] = frozenset()
    #: citizens: subject token (HMAC) of their own resident ID; "" otherwise
    resident_id_token: str = ""

    def __post_init__(self) -> None:
        _check_str(self.id, "principal.id", empty=False)
        _check_str(self.role, "principal.role", empty=False)
        _check_str(self.unit, "principal.unit")
        _check_str(self.region, "principal.region")
        _check_str(self.resident_id_token, "principal.resident_id_token")
        object.__setattr__(self, "case_refs", _check_set(self.case_refs, "principal.case_refs"))


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What the vault knows about a record before opening it (never its contents)."""

    #: record reference
    id: str
    region: str
    #: organisational unit holding the record (incidents: the handling unit); "" when none
    unit: str = ""
    #: a protected person, or a record about one
    protected: bool = False
    #: case refs the record is linked to
    case_refs: frozenset[str] = frozenset()
    #: subject token of the person the record is about; "" when none
    subject_token: str = ""

    def __post_init__(self) -> None:
        _check_str(self.id, "record.id", empty=False)
        _check_str(self.region, "record.region")
        _check_str(self.unit, "record.unit")
        _check_str(self.subject_token, "record.subject_token")
        if not isinstance(self.protected, bool):
            raise PolicyError("record.protected: must be true or false")
        object.__setattr__(self, "case_refs", _check_set(self.case_refs, "record.case_refs"))


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """One access to decide: who, which action on which collection or record, and why."""

    principal: Principal
    #: search | read | create | update | delete | reveal | export | admin
    action: str
    #: collection name (``person``, ``incident``, or a system collection such as ``users``)
    collection: str
    #: the record's facts for record actions; ``None`` for search, export and admin
    record: RecordFacts | None
    purpose: PurposeDef
    case_ref: str | None
    break_glass: bool
    justification: str | None
    #: time of the request; must be timezone-aware (policies see its hour)
    now: datetime
    #: for search: the index searched (``resident_id``, ``phone``, ``name_dob``, ...)
    index: str | None = None

    def check(self) -> None:
        """Raise :class:`PolicyError` when the request is malformed (nothing is decided)."""
        if not isinstance(self.principal, Principal):
            raise PolicyError("principal: every request needs a Principal")
        if not isinstance(self.purpose, PurposeDef):
            raise PolicyError("purpose: every request must state a registered purpose")
        self.purpose.check_case_ref(self.case_ref)
        if self.action not in ACTIONS:
            raise PolicyError(f"action: unknown action (one of {', '.join(sorted(ACTIONS))})")
        _check_str(self.collection, "collection", empty=False)
        if self.action in RECORD_ACTIONS and not isinstance(self.record, RecordFacts):
            raise PolicyError(f"record: action {self.action} needs the record's facts")
        if self.action in COLLECTION_ACTIONS and self.record is not None:
            raise PolicyError(f"record: action {self.action} is on a collection, not a record")
        if not isinstance(self.break_glass, bool):
            raise PolicyError("break_glass: must be true or false")
        if self.case_ref is not None:
            _check_str(self.case_ref, "case_ref")
        if self.justification is not None:
            _check_str(self.justification, "justification")
        if self.index is not None:
            _check_str(self.index, "index")
        if not isinstance(self.now, datetime) or self.now.utcoffset() is None:
            raise PolicyError("now: must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome: whether the action is allowed and how much of each field is released.

    ``fields`` maps every top-level field of the collection to ``"full"``, ``"masked"`` or
    ``"hidden"``; it is filled for the content actions ``read`` and ``reveal`` and empty for
    the others. A denied decision hides every field. ``reasons`` are the ``@id`` of the
    policies that determined the outcome (the permits that allowed it, or the forbids that
    denied it; empty when nothing permitted it).
    """

    allowed: bool
    fields: dict[str, FieldLevel] = field(default_factory=dict)
    break_glass: bool = False
    reasons: list[str] = field(default_factory=list)

    @classmethod
    def deny(
        cls, fields: list[str] | tuple[str, ...] = (), reasons: list[str] | None = None
    ) -> Decision:
        """A denial hiding ``fields``."""
        return cls(False, dict.fromkeys(fields, "hidden"), False, list(reasons or []))

    def released(self) -> list[str]:
        """The fields released in any form (full or masked), for the audit entry."""
        if not self.allowed:
            return []
        return [name for name, level in self.fields.items() if level != "hidden"]
