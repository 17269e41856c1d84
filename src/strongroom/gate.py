"""The Gate: every access by a principal passes here — who asks, why, and what policy allows.

The :class:`~strongroom.vault.Vault` seals, opens and indexes records for whoever holds the
keys. The Gate is what principals reach (the HTTP API, the CLI's record commands): each call
takes an :class:`Ask` — the :class:`~strongroom.policy.Principal`, a purpose code from the
registry, a case ref where the purpose needs one, and break-glass with its justification — and

1. resolves the purpose (an unknown purpose, or a missing case ref the purpose requires, is a
   :class:`~strongroom.policy.PolicyError`: nothing is read);
2. for searches and lists, asks the policy whether the principal may search that collection by
   that index, and searches only the principal's own region;
3. opens each candidate record *inside this process*, derives the record's facts (region,
   case refs, subject token — never field values), asks the policy for a per-field decision,
   and releases only what it allows, masked where it says ``masked``; a record the policy
   denies is left out of a search and is a :class:`~strongroom.policy.DeniedError` for a
   read by reference;
4. writes (create, update, delete) are decided on the facts of the record as it would be
   written (and, for update and delete, as it is now) before anything is written.

The facts a decision uses:

* ``region``: the record's region;
* ``case_refs``: for an incident, its ``case_ref``; for a person, the ask's case ref when an
  incident of that case names the person (looked up through the blind indexes);
* ``subject_token``: for a person, the HMAC (service key ``citizen-subject``) of the resident
  ID, the value a citizen principal is bound to;
* ``unit`` and ``protected`` are empty/false: the shipped collections have no such fields yet.

Decisions are returned with each result so that the audit log (a later layer) can record the
policies that allowed the access.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from strongroom._access import Actor, Purpose
from strongroom._ids import id_of, ref_of
from strongroom.audit._entry import SUBJECT_KEY, Entry, subject_of
from strongroom.errors import ValidationError
from strongroom.policy import (
    AccessRequest,
    Decision,
    DeniedError,
    Policy,
    PolicyEngine,
    PolicyError,
    Principal,
    PurposeDef,
    PurposeRegistry,
    RecordFacts,
    apply,
    authorize,
)
from strongroom.schema import Collection, IndexSpec, parse_resident_id
from strongroom.vault import RecordView, Vault

#: page sizes of searches and lists
MAX_PAGE: Final = 100
DEFAULT_PAGE: Final = 20

#: how long an access under a covert purpose stays hidden from the citizen it concerns
COVERT_EMBARGO: Final = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Ask:
    """Who asks and why, for one call."""

    principal: Principal
    purpose: str
    case_ref: str | None = None
    break_glass: bool = False
    justification: str | None = None
    #: the API request (or CLI run) this call belongs to, for the audit entry
    request_id: str = ""

    def actor(self) -> Actor:
        p = self.principal
        return Actor(p.id, p.role, p.unit or None, p.region or None)


@dataclass(frozen=True, slots=True)
class Released:
    """One record as a decision releases it: masked or hidden fields already applied."""

    collection: str
    ref: str
    version: int
    region: str
    fields: dict[str, Any]
    decision: Decision
    #: audit subjects of the record: the person's, or an incident's parties'
    subjects: tuple[bytes, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "ref": self.ref,
            "version": self.version,
            "region": self.region,
            "fields": self.fields,
            "levels": dict(self.decision.fields),
            "break_glass": self.decision.break_glass,
        }


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a search or list; ``cursor`` fetches the next (``None``: no more)."""

    items: list[Released]
    cursor: str | None
    #: candidates the policy left out of this page (a count, never which)
    withheld: int = 0
    decision: Decision | None = field(default=None)


def subject_token(key: bytes, resident_id: str) -> bytes:
    """The citizen-binding token of a resident ID (normalised first; raises
    :class:`ValidationError` naming ``resident_id`` when it is not one)."""
    return subject_of(key, parse_resident_id(resident_id).number)


def _cursor_in(cursor: str | None) -> bytes | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise ValidationError.single("cursor", "not a cursor this API returned")
    return raw


def _cursor_out(record_id: bytes) -> str:
    return base64.urlsafe_b64encode(record_id).decode("ascii").rstrip("=")


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationError.single("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return limit


class Gate:
    """Policy-checked access to a :class:`Vault` (see the module docstring)."""

    def __init__(
        self,
        vault: Vault,
        *,
        policy: Policy | None = None,
        purposes: PurposeRegistry | None = None,
        clock: Callable[[], datetime] | None = None,
        covert_embargo: timedelta = COVERT_EMBARGO,
    ) -> None:
        self.vault = vault
        self.covert_embargo = covert_embargo
        self.policy: Policy = policy if policy is not None else PolicyEngine.from_directory()
        self.purposes = purposes if purposes is not None else PurposeRegistry.load()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._subject_key = vault.keyring.service_key(SUBJECT_KEY)

    # -- helpers -----------------------------------------------------------------------
    def subject_token(self, resident_id: str) -> bytes:
        return subject_token(self._subject_key, resident_id)

    def _purpose(self, ask: Ask) -> PurposeDef:
        if not isinstance(ask, Ask) or not isinstance(ask.principal, Principal):
            raise PolicyError("principal: every call needs an authenticated principal")
        if not ask.purpose:
            raise PolicyError("purpose: every data request must state a purpose")
        return self.purposes.resolve(ask.purpose, ask.case_ref)

    def _request(
        self,
        ask: Ask,
        purpose: PurposeDef,
        action: str,
        collection: str,
        record: RecordFacts | None,
        index: str | None = None,
    ) -> AccessRequest:
        return AccessRequest(
            principal=ask.principal,
            action=action,
            collection=collection,
            record=record,
            purpose=purpose,
            case_ref=ask.case_ref,
            break_glass=ask.break_glass,
            justification=ask.justification,
            now=self._clock(),
            index=index,
        )

    def _vault_purpose(self, ask: Ask, purpose: PurposeDef) -> Purpose:
        return Purpose(purpose.code, ask.case_ref or None)

    def _collection(self, name: str) -> Collection:
        return self.vault.collection(name)

    def facts(self, ask: Ask, view: RecordView | Mapping[str, Any], ref: str) -> RecordFacts:
        """The facts a decision sees about a record (never its field values)."""
        if isinstance(view, RecordView):
            collection, region = view.collection, view.region
            fields: Mapping[str, Any] = view.fields
        else:
            collection, region, fields = str(view["collection"]), str(view["region"]), view
        case_refs: set[str] = set()
        subject = ""
        if collection == "incident":
            if fields.get("case_ref"):
                case_refs.add(str(fields["case_ref"]))
        elif collection == "person":
            rid = fields.get("resident_id")
            if rid:
                subject = self.vault.subject(str(rid)).hex()
            if ask.case_ref and ref in self._case_parties(region, ask.case_ref):
                case_refs.add(ask.case_ref)
        return RecordFacts(
            id=ref, region=region, case_refs=frozenset(case_refs), subject_token=subject
        )

    def _case_parties(self, region: str, case_ref: str) -> set[str]:
        """Refs of the persons named by the current incidents of ``case_ref`` in ``region``."""
        coll = self._collection("incident")
        try:
            spec, values, rows = self.vault.candidates(coll, {"case_ref": case_ref}, [region])
        except ValidationError:
            return set()
        out: set[str] = set()
        for row in rows:
            view = self.vault.open_row(row)
            if self.vault.matches(coll, spec, values, view):
                for party in view.fields.get("parties") or ():
                    if isinstance(party, Mapping) and party.get("person"):
                        out.add(str(party["person"]))
        return out

    def _release(self, ask: Ask, purpose: PurposeDef, view: RecordView, action: str) -> Released:
        facts = self.facts(ask, view, view.ref)
        decision = authorize(
            self.policy, self._request(ask, purpose, action, view.collection, facts)
        )
        coll = self._collection(view.collection)
        types = {f.name: f.type for f in coll.spec.fields}
        return Released(
            view.collection,
            view.ref,
            view.version,
            view.region,
            apply(decision, view.fields, types=types),
            decision,
            self._subjects(view),
        )

    def _subjects(self, view: RecordView) -> tuple[bytes, ...]:
        """A person's subject, or the subjects of an incident's parties."""
        return tuple(self.vault.subjects([view]))

    # -- audit -----------------------------------------------------------------------------
    def entry(
        self,
        ask: Ask,
        action: str,
        collection: str,
        released: Sequence[Released] = (),
        *,
        purpose: PurposeDef | None = None,
        outcome: str = "allowed",
        policies: Sequence[str] = (),
        refs: Sequence[str] = (),
        subjects: Sequence[bytes] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> Entry:
        """The audit entry of one call by a principal."""
        now = self._clock()
        covert = bool(purpose and purpose.covert)
        p = ask.principal
        return Entry(
            time=now,
            actor_id=p.id,
            actor_role=p.role,
            actor_unit=p.unit,
            action=action,
            collection=collection,
            purpose_code=purpose.code if purpose else (ask.purpose or "-")[:64],
            outcome=outcome,
            legal_basis=purpose.legal_basis if purpose else "",
            case_ref=ask.case_ref,
            covert=covert,
            records=[*refs, *(r.ref for r in released)],
            subjects=[*subjects, *(s for r in released for s in r.subjects)],
            fields=sorted({k for r in released for k in r.decision.released()}),
            policies=[*policies, *(x for r in released for x in r.decision.reasons)],
            break_glass=ask.break_glass,
            justification=ask.justification,
            embargo_until=now + self.covert_embargo if covert else None,
            request_id=ask.request_id,
            detail=dict(detail or {}),
        )

    def _denied(
        self,
        ask: Ask,
        action: str,
        collection: str,
        exc: DeniedError,
        purpose: PurposeDef | None,
        refs: Sequence[str] = (),
        subjects: Sequence[bytes] = (),
    ) -> None:
        """Record a denial (the caller then re-raises)."""
        self.vault.audit.append(
            self.entry(
                ask,
                action,
                collection,
                purpose=purpose,
                outcome="denied",
                refs=refs,
                subjects=subjects,
                detail={"reason": str(exc)[:200]},
            )
        )

    def _current(self, collection: str, ref: str) -> RecordView:
        return self.vault.current(collection, ref)

    # -- reads -------------------------------------------------------------------------
    def get(self, ask: Ask, collection: str, ref: str) -> Released:
        """One record by reference, as policy releases it (``read``); audited first."""
        return self._read(ask, collection, ref, "read")

    def reveal(self, ask: Ask, collection: str, ref: str) -> Released:
        """One record with the fields ``reveal`` releases (needs a justification)."""
        if not (ask.justification or "").strip():
            raise ValidationError.single("justification", "reveal needs a justification")
        return self._read(ask, collection, ref, "reveal")

    def _read(self, ask: Ask, collection: str, ref: str, action: str) -> Released:
        purpose = self._purpose(ask)
        view = self._current(collection, ref)
        try:
            released = self._release(ask, purpose, view, action)
        except DeniedError as exc:
            self._denied(
                ask, action, view.collection, exc, purpose, [view.ref], self._subjects(view)
            )
            raise
        # the entry commits before anything is released; if it cannot, nothing is
        self.vault.audit.append(
            self.entry(ask, action, view.collection, [released], purpose=purpose)
        )
        return released

    def search(
        self,
        ask: Ask,
        collection: str,
        criteria: Mapping[str, str],
        *,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
        index: str | None = None,
    ) -> Page:
        """Exact-match search in the principal's region, one page at a time."""
        purpose = self._purpose(ask)
        check_limit(limit)
        after = _cursor_in(cursor)
        coll = self._collection(collection)
        spec = self.vault.index_spec(coll, criteria)
        try:
            decision = authorize(
                self.policy,
                self._request(ask, purpose, "search", coll.name, None, index or spec.name),
            )
        except DeniedError as exc:
            self._denied(ask, "search", coll.name, exc, purpose)
            raise
        region = ask.principal.region
        spec, values, rows = self.vault.candidates(coll, criteria, [region] if region else [])
        page = self._page(ask, purpose, coll, spec, values, rows, after, limit, decision)
        self.vault.audit.append(
            self.entry(
                ask,
                "search",
                coll.name,
                page.items,
                purpose=purpose,
                policies=decision.reasons,
                detail={"index": spec.name, "withheld": page.withheld},
            )
        )
        return page

    def _page(
        self,
        ask: Ask,
        purpose: PurposeDef,
        coll: Collection,
        spec: IndexSpec,
        values: list[str],
        rows: list[Any],
        after: bytes | None,
        limit: int,
        decision: Decision,
    ) -> Page:
        if after is not None:
            rows = [r for r in rows if bytes(r.id) > after]
        items: list[Released] = []
        withheld = 0
        last: bytes | None = None
        for row in rows:
            if len(items) >= limit:
                return Page(items, _cursor_out(last) if last else None, withheld, decision)
            last = bytes(row.id)
            view = self.vault.open_row(row)
            if not self.vault.matches(coll, spec, values, view):
                continue
            try:
                items.append(self._release(ask, purpose, view, "read"))
            except DeniedError:
                withheld += 1
        return Page(items, None, withheld, decision)

    def incidents_of_case(
        self, ask: Ask, case_ref: str, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> Page:
        return self.search(ask, "incident", {"case_ref": case_ref}, limit=limit, cursor=cursor)

    def incidents_of_person(
        self, ask: Ask, person_ref: str, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> Page:
        id_of_ref(person_ref, "person")
        return self.search(
            ask, "incident", {"parties.person": person_ref}, limit=limit, cursor=cursor
        )

    # -- writes ------------------------------------------------------------------------
    def create(self, ask: Ask, collection: str, fields: Mapping[str, Any]) -> Released:
        """Create a record if policy allows ``create`` on it as it would be written."""
        purpose = self._purpose(ask)
        coll = self._collection(collection)
        rec = coll.validate(fields)
        facts = self.facts(ask, {"collection": coll.name, **rec}, "new")
        decision = self._decide_write(ask, purpose, "create", coll.name, facts)
        view = self.vault.put(
            coll.name,
            rec,
            actor=ask.actor(),
            purpose=self._vault_purpose(ask, purpose),
            audit=self._write_entry(ask, purpose, "create", decision),
        )
        return self._after_write(ask, purpose, view)

    def _decide_write(
        self, ask: Ask, purpose: PurposeDef, action: str, collection: str, facts: RecordFacts
    ) -> Decision:
        try:
            return authorize(self.policy, self._request(ask, purpose, action, collection, facts))
        except DeniedError as exc:
            refs = [facts.id] if facts.id != "new" else []
            self._denied(ask, action, collection, exc, purpose, refs)
            raise

    def _write_entry(
        self, ask: Ask, purpose: PurposeDef, action: str, decision: Decision
    ) -> Callable[[RecordView], Entry]:
        def build(view: RecordView) -> Entry:
            return self.entry(
                ask,
                action,
                view.collection,
                purpose=purpose,
                refs=[view.ref],
                subjects=self._subjects(view),
                policies=decision.reasons,
                detail={"version": view.version},
            )

        return build

    def update(self, ask: Ask, collection: str, ref: str, changes: Mapping[str, Any]) -> Released:
        """Apply ``changes`` if policy allows ``update`` on the record as it is and as it
        would be."""
        purpose = self._purpose(ask)
        coll = self._collection(collection)
        old = self._current(coll.name, ref)
        before = self.facts(ask, old, ref)
        self._decide_write(ask, purpose, "update", coll.name, before)
        new = coll.validate(changes, partial_of=old.fields)
        after = self.facts(ask, {"collection": coll.name, **new}, ref)
        decision = self._decide_write(ask, purpose, "update", coll.name, after)
        view = self.vault.update(
            coll.name,
            ref,
            changes,
            actor=ask.actor(),
            purpose=self._vault_purpose(ask, purpose),
            audit=self._write_entry(ask, purpose, "update", decision),
        )
        return self._after_write(ask, purpose, view)

    def delete(self, ask: Ask, collection: str, ref: str) -> None:
        purpose = self._purpose(ask)
        coll = self._collection(collection)
        old = self._current(coll.name, ref)
        facts = self.facts(ask, old, ref)
        decision = self._decide_write(ask, purpose, "delete", coll.name, facts)
        self.vault.delete(
            coll.name,
            ref,
            actor=ask.actor(),
            purpose=self._vault_purpose(ask, purpose),
            audit=self._write_entry(ask, purpose, "delete", decision),
        )

    def _after_write(self, ask: Ask, purpose: PurposeDef, view: RecordView) -> Released:
        """The written record as a ``read`` would release it (only its reference when the
        writer may not read it)."""
        try:
            return self._release(ask, purpose, view, "read")
        except DeniedError:
            return Released(
                view.collection, view.ref, view.version, view.region, {}, Decision.deny()
            )

    # -- collection-level ----------------------------------------------------------------
    def allow_collection(self, ask: Ask, action: str, collection: str) -> Decision:
        """Decide a collection-level action (``admin`` on users, ``search`` on statistics);
        a denial is audited."""
        purpose = self._purpose(ask)
        try:
            return authorize(self.policy, self._request(ask, purpose, action, collection, None))
        except DeniedError as exc:
            self._denied(ask, action, collection, exc, purpose)
            raise

    def record(self, ask: Ask, action: str, collection: str, detail: Mapping[str, Any]) -> None:
        """Audit a collection-level action that was allowed and done (an admin change, a
        statistics query, an audit search)."""
        purpose = self._purpose(ask)
        self.vault.audit.append(self.entry(ask, action, collection, purpose=purpose, detail=detail))

    def erase(self, ask: Ask, ref: str, legal_basis: str) -> None:
        """Erase a person (an admin action on ``keys``: it destroys the person's data key)."""
        purpose = self._purpose(ask)
        self.allow_collection(ask, "admin", "keys")
        id_of_ref(ref)
        self.vault.erase(
            ref,
            actor=ask.actor(),
            purpose=self._vault_purpose(ask, purpose),
            legal_basis=legal_basis,
            audit=lambda refs: dataclasses.replace(
                self.entry(
                    ask, "admin", "person", purpose=purpose, refs=refs, detail={"op": "erase"}
                ),
                justification=legal_basis.strip()[:200],  # free text: sealed in the entry
            ),
        )

    def statistics(self, ask: Ask) -> dict[str, int]:
        """Aggregate counts (no rows): current records per collection."""
        self.allow_collection(ask, "search", "statistics")
        counts = self.vault.counts()
        self.record(ask, "search", "statistics", {"aggregate": "counts"})
        return counts


def id_of_ref(ref: str, field_name: str = "ref") -> bytes:
    """A record id from its reference; :class:`ValidationError` naming ``field_name``."""
    try:
        return id_of(ref)
    except (ValueError, TypeError, AttributeError):
        raise ValidationError.single(field_name, "not a record reference") from None


__all__ = [
    "COVERT_EMBARGO",
    "DEFAULT_PAGE",
    "MAX_PAGE",
    "SUBJECT_KEY",
    "Ask",
    "Gate",
    "Page",
    "Released",
    "check_limit",
    "id_of_ref",
    "ref_of",
    "subject_token",
]
