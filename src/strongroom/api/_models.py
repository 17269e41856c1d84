"""Request and response bodies of the HTTP API (pydantic; unknown fields are rejected).

The models check shapes and sizes only; the collection schema (``schemas/*.toml``) validates
and normalises values, so a malformed resident ID is refused by the same code whatever door
it came through.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Short = Annotated[str, Field(max_length=128)]
Text = Annotated[str, Field(max_length=4000)]
Ref = Annotated[str, Field(max_length=64, description="a record reference (UUID)")]
Level = Literal["full", "masked", "hidden"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- persons -------------------------------------------------------------------------------
class PersonIn(_Strict):
    """A new person. ``region`` names the jurisdiction whose keys seal the record."""

    name: Annotated[str, Field(max_length=64)]
    resident_id: Annotated[str, Field(max_length=32)]
    phones: Annotated[list[Short], Field(max_length=8)] | None = None
    date_of_birth: Annotated[str, Field(max_length=32)] | None = None
    place_of_birth: Short | None = None
    sex: Annotated[str, Field(max_length=8)] | None = None
    region: Annotated[str, Field(max_length=16)]


class PersonPatch(_Strict):
    """Changes to a person; a field set to ``null`` is cleared, a field left out is kept."""

    name: Annotated[str, Field(max_length=64)] | None = None
    resident_id: Annotated[str, Field(max_length=32)] | None = None
    phones: Annotated[list[Short], Field(max_length=8)] | None = None
    date_of_birth: Annotated[str, Field(max_length=32)] | None = None
    place_of_birth: Short | None = None
    sex: Annotated[str, Field(max_length=8)] | None = None
    region: Annotated[str, Field(max_length=16)] | None = None


class PersonFields(BaseModel):
    """A person's fields as policy released them (masked or left out per field)."""

    name: str | None = None
    resident_id: str | None = None
    phones: list[str | None] | None = None
    date_of_birth: str | None = None
    place_of_birth: str | None = None
    sex: str | None = None
    region: str | None = None


class PersonSearch(_Strict):
    """Search by exactly one of: ``resident_id``; ``phone``; ``name`` with ``date_of_birth``.

    A search is a POST so that the values never appear in a URL (or an access log).
    """

    resident_id: Annotated[str, Field(max_length=32)] | None = None
    phone: Short | None = None
    name: Annotated[str, Field(max_length=64)] | None = None
    date_of_birth: Annotated[str, Field(max_length=32)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str, Field(max_length=64)] | None = None


class Reveal(_Strict):
    """Why the caller needs the fields ``reveal`` releases (recorded with the access)."""

    justification: Annotated[str, Field(min_length=1, max_length=500)]


# -- incidents -----------------------------------------------------------------------------
class Party(_Strict):
    person: Ref
    role: Annotated[str, Field(max_length=32)]


class IncidentIn(_Strict):
    received_at: Annotated[str, Field(max_length=40)]
    channel: Annotated[str, Field(max_length=32)]
    category: Annotated[str, Field(max_length=64)]
    location: Text | None = None
    narrative: Text | None = None
    parties: Annotated[list[Party], Field(max_length=32)] | None = None
    case_ref: Annotated[str, Field(max_length=64)] | None = None
    status: Annotated[str, Field(max_length=32)]
    region: Annotated[str, Field(max_length=16)]


class IncidentPatch(_Strict):
    received_at: Annotated[str, Field(max_length=40)] | None = None
    channel: Annotated[str, Field(max_length=32)] | None = None
    category: Annotated[str, Field(max_length=64)] | None = None
    location: Text | None = None
    narrative: Text | None = None
    parties: Annotated[list[Party], Field(max_length=32)] | None = None
    case_ref: Annotated[str, Field(max_length=64)] | None = None
    status: Annotated[str, Field(max_length=32)] | None = None
    region: Annotated[str, Field(max_length=16)] | None = None


class PartyOut(BaseModel):
    person: str | None = None
    role: str | None = None


class IncidentFields(BaseModel):
    received_at: str | None = None
    channel: str | None = None
    category: str | None = None
    location: str | None = None
    narrative: str | None = None
    parties: list[PartyOut] | None = None
    case_ref: str | None = None
    status: str | None = None
    region: str | None = None


# -- released records ----------------------------------------------------------------------
class _Released(BaseModel):
    ref: str
    version: int
    region: str
    #: how much of each field policy released
    levels: dict[str, Level]
    #: the access used break-glass (it is marked and reviewed)
    break_glass: bool


class PersonOut(_Released):
    fields: PersonFields


class IncidentOut(_Released):
    fields: IncidentFields


class ProtectedHit(BaseModel):
    """A protected person the search hit: its reference only, and how to ask for access."""

    ref: str
    request_access: str


class PersonPage(BaseModel):
    items: list[PersonOut]
    #: pass as ``cursor`` for the next page; ``null``: no more
    next_cursor: str | None
    #: protected persons the search hit (reading one needs a grant)
    protected: list[ProtectedHit] = []
    #: matches the policy left out (a count, never which)
    withheld: int


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None
    withheld: int
    #: incidents about protected persons the listing hit (reading one needs a grant)
    protected: list[ProtectedHit] = []


# -- principals and tokens -----------------------------------------------------------------
class UserIn(_Strict):
    """A new user or service account (ids are pseudonymous codes, not names or e-mails)."""

    id: Annotated[str, Field(max_length=64)]
    kind: Literal["user", "service"] = "user"
    roles: Annotated[list[Annotated[str, Field(max_length=32)]], Field(min_length=1, max_length=7)]
    unit: Annotated[str, Field(max_length=32)] | None = None
    home_region: Annotated[str, Field(max_length=16)] | None = None
    case_refs: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=256)] = []
    #: citizens only: their resident ID, turned into a binding token at once and not stored
    resident_id: Annotated[str, Field(max_length=32)] | None = None


class UserOut(BaseModel):
    id: str
    kind: str
    roles: list[str]
    unit: str | None
    home_region: str | None
    case_refs: list[str]
    disabled: bool
    created_at: str | None


class UserPage(BaseModel):
    items: list[UserOut]
    next_cursor: str | None


class CaseAssignment(_Strict):
    case_ref: Annotated[str, Field(max_length=64)]


class TokenIn(_Strict):
    principal: Annotated[str, Field(max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=64)]
    ttl_days: Annotated[int, Field(ge=1, le=366)] = 90


class TokenOut(BaseModel):
    id: str
    principal: str
    name: str
    created_at: str
    expires_at: str
    revoked_at: str | None


class IssuedToken(BaseModel):
    #: the secret, shown once; store it now
    token: str
    info: TokenOut


class TokenList(BaseModel):
    items: list[TokenOut]


# -- the rest ------------------------------------------------------------------------------
class Health(BaseModel):
    status: Literal["ok"]


class Statistics(BaseModel):
    """Aggregates only: current records per collection."""

    counts: dict[str, int]


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """An RFC 9457 problem detail (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    #: the Strongroom error class (the SDK raises the same one)
    code: str
    errors: list[FieldProblem] = []
    #: for 429 QuotaExceededError: the quota that is spent
    quota: str | None = None


# -- the audit log -------------------------------------------------------------------------
class Consistency(BaseModel):
    old_size: int
    old_root: str
    new_size: int
    new_root: str
    proof: list[str]


class CosignatureIn(_Strict):
    """A witness cosignature line (``— <witness name> <base64>``) for the checkpoint of
    ``size``."""

    size: Annotated[int, Field(ge=1, le=2**53)]
    signature: Annotated[str, Field(min_length=1, max_length=512)]


class Accepted(BaseModel):
    accepted: bool


class AuditQuery(_Strict):
    """Criteria (all optional, combined with AND); ``after`` pages by index."""

    actor: Annotated[str, Field(max_length=80)] | None = None
    resident_id: Annotated[str, Field(max_length=32)] | None = None
    purpose: Annotated[str, Field(max_length=64)] | None = None
    action: Annotated[str, Field(max_length=16)] | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: Annotated[int, Field(ge=-1, le=2**53)] | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 20


class LoggedOut(BaseModel):
    index: int
    #: the entry's JSON (no record contents; justifications sealed)
    entry: dict[str, Any]


class AuditPage(BaseModel):
    items: list[LoggedOut]
    next_after: int | None


class AccessActor(BaseModel):
    id: str | None
    role: str | None
    unit: str | None


class Access(BaseModel):
    """One access to the citizen's data."""

    index: int
    time: str | None
    action: str | None
    outcome: str | None
    collection: str | None
    actor: AccessActor
    purpose: str | None
    legal_basis: str | None
    case_ref: str | None
    fields: list[str]
    break_glass: bool
    receipt: str


class AccessPage(BaseModel):
    items: list[Access]
    next_after: int | None


class Erasure(_Strict):
    """Why the person must be erased: the provision or order (recorded in the audit log)."""

    legal_basis: Annotated[str, Field(min_length=1, max_length=200)]


# -- the guard -----------------------------------------------------------------------------
class Protect(_Strict):
    """Mark a person as protected: why (stored sealed)."""

    category: Literal["official", "public_figure", "staff", "witness", "other"]
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class GrantRequest(_Strict):
    """Ask for a grant to read a protected person, under the request's purpose and case."""

    person: Ref
    justification: Annotated[str, Field(min_length=1, max_length=1000)]


class GrantOut(BaseModel):
    id: str
    principal: str
    person: str
    purpose: str
    case_ref: str | None
    #: pending | approved | denied | revoked | expired
    state: str
    requested_at: str | None
    approver: str | None
    decided_at: str | None
    expires_at: str | None


class GrantList(BaseModel):
    items: list[GrantOut]


class AlertOut(BaseModel):
    id: int
    created_at: str
    kind: str
    severity: Literal["low", "medium", "high"]
    principal: str
    summary: str
    #: audit entry indices, request ids, quota names: never record contents
    evidence: dict[str, Any]
    state: Literal["open", "acknowledged", "escalated"]
    reviewed_by: str | None
    reviewed_at: str | None
    delivered: bool


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_after: int | None


class Review(_Strict):
    """Acknowledge an alert with a note, or escalate it (the note is stored sealed)."""

    action: Literal["acknowledge", "escalate"]
    note: Annotated[str, Field(min_length=1, max_length=2000)]
