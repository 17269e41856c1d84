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

from sqlalchemy.exc import SQLAlchemyError

from strongroom._access import Actor, Purpose
from strongroom._ids import id_of, ref_of
from strongroom.audit._entry import SUBJECT_KEY, Entry, subject_of
from strongroom.errors import StoreError, ValidationError
from strongroom.guard import Alert, Grant, Guard, Protected, QuotaExceededError, Usage
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

#: who works the alert review queue
REVIEW_ROLES: Final = frozenset({"supervisor", "auditor"})

#: what a reader of a protected person without a grant is told
PROTECTED_HINT: Final = (
    "protected person: reading needs a grant approved by a second principal; "
    "request one with POST /v1/grants (person, justification) under the purpose and case "
    "you will read under"
)

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
    #: the grant that allowed reading a protected person (the entry's ``approval_ref``)
    approval_ref: str | None = None

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
    #: protected persons the search hit, which need a grant to read (refs only)
    protected: tuple[str, ...] = ()
    #: ids of every record the page matched (released, withheld or protected): the guard's
    #: honeytoken check sees them all; never served
    matched: tuple[bytes, ...] = ()


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
        guard: Guard | None = None,
    ) -> None:
        self.vault = vault
        #: quotas, honeytokens, protected persons and alerts (``None``: unguarded)
        self.guard = guard if guard is not None and guard.enabled else None
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

    def _release(
        self,
        ask: Ask,
        purpose: PurposeDef,
        view: RecordView,
        action: str,
        protection: Protected | None = None,
    ) -> Released:
        facts = self.facts(ask, view, view.ref)
        approval = None
        if protection is not None:
            people = self._people(view)
            if protection.blocked & set(people):
                facts = dataclasses.replace(facts, protected=True)
            elif protection.granted:
                approval = next(
                    (protection.granted[i] for i in people if i in protection.granted), None
                )
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
            approval,
        )

    @staticmethod
    def _people(view: RecordView) -> list[bytes]:
        """Ids of the persons a record is about: a person itself, an incident's parties."""
        if view.collection == "person":
            return [id_of(view.ref)]
        out: list[bytes] = []
        for party in view.fields.get("parties") or ():
            if isinstance(party, Mapping) and party.get("person"):
                try:
                    out.append(id_of(str(party["person"])))
                except (ValueError, TypeError):  # pragma: no cover - validated refs
                    continue
        return out

    def _protection(
        self, ask: Ask, purpose: PurposeDef, views: Sequence[RecordView]
    ) -> Protected | None:
        if self.guard is None:
            return None
        people = [i for v in views for i in self._people(v)]
        return self.guard.protection_of(ask.principal.id, people, purpose.code, ask.case_ref)

    def _subjects(self, view: RecordView) -> tuple[bytes, ...]:
        """A person's subject, or the subjects of an incident's parties."""
        return tuple(self.vault.subjects([view]))

    def _guarded_facts(self, ask: Ask, purpose: PurposeDef, view: RecordView) -> RecordFacts:
        """A stored record's facts, ``protected`` when a protected person it is about is not
        covered by a grant of this request (writes on them need a grant as reads do)."""
        facts = self.facts(ask, view, view.ref)
        protection = self._protection(ask, purpose, [view])
        if protection is not None and protection.blocked & set(self._people(view)):
            facts = dataclasses.replace(facts, protected=True)
        return facts

    def _only_protection(self, ask: Ask, purpose: PurposeDef, view: RecordView) -> bool:
        """Whether the policy would allow reading ``view`` but for its protection (so the
        reader may be told that a grant would open it, and nobody else is)."""
        try:
            self._release(ask, purpose, view, "read")
        except DeniedError:
            return False
        return True

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
            approval_ref=next((r.approval_ref for r in released if r.approval_ref), None),
            detail=dict(detail or {}),
        )

    def _commit(self, ask: Ask, entry: Entry, usage: Usage) -> None:
        """Write the access's audit entry, counting ``usage`` against the principal's quotas
        in the same transaction; a spent quota refuses the request (audited, alerted) and
        nothing is released."""
        guard = self.guard
        if guard is None:
            self.vault.audit.append(entry)
            return
        p = ask.principal
        try:
            with self.vault.store.begin() as conn:
                guard.admit(conn, p.id, p.role, usage)
                self.vault.audit.append(entry, conn)
        except QuotaExceededError as exc:
            self._refuse(ask, entry, exc)
            raise
        except SQLAlchemyError as exc:
            raise StoreError("the access could not be recorded; nothing was released") from exc

    def _refuse(self, ask: Ask, entry: Entry, exc: QuotaExceededError) -> None:
        if self.guard is None:  # pragma: no cover - only a guarded gate refuses
            return
        self.vault.audit.append(
            dataclasses.replace(
                entry,
                outcome="denied",
                fields=(),
                detail={**entry.detail, "quota": exc.quota},
            )
        )
        self.guard.refused(ask.principal.id, exc, ask.request_id)

    def _after(self, ask: Ask, ids: Sequence[bytes], action: str, released: bool = True) -> None:
        """Alerts on what was just released or touched (honeytokens, break-glass)."""
        if self.guard is not None and ids:
            self.guard.released(
                ask.principal.id,
                ids,
                ask.request_id,
                break_glass=ask.break_glass and released,
                action=action,
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
        protection = self._protection(ask, purpose, [view])
        try:
            released = self._release(ask, purpose, view, action, protection)
        except DeniedError as exc:
            self._denied(
                ask, action, view.collection, exc, purpose, [view.ref], self._subjects(view)
            )
            if (
                protection is not None
                and protection.blocked & set(self._people(view))
                and self._only_protection(ask, purpose, view)
            ):
                self._after(ask, [id_of(view.ref)], action, released=False)
                raise DeniedError(PROTECTED_HINT) from None
            raise
        # the entry commits before anything is released; if it cannot, nothing is
        self._commit(
            ask,
            self.entry(ask, action, view.collection, [released], purpose=purpose),
            Usage(released=1, subjects=released.subjects),
        )
        self._after(ask, [id_of(view.ref)], action)
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
        detail: dict[str, Any] = {"index": spec.name}
        region = ask.principal.region
        spec, values, rows = self.vault.candidates(coll, criteria, [region] if region else [])
        page = self._page(ask, purpose, coll, spec, values, rows, after, limit, decision)
        detail["withheld"] = page.withheld
        if page.protected:
            detail["protected"] = len(page.protected)
        self._commit(
            ask,
            self.entry(
                ask,
                "search",
                coll.name,
                page.items,
                purpose=purpose,
                policies=decision.reasons,
                detail=detail,
            ),
            Usage(
                released=len(page.items),
                subjects=[x for r in page.items for x in r.subjects],
                miss=not page.matched,
            ),
        )
        self._after(ask, page.matched, "search")
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
        protected: list[str] = []
        matched: list[bytes] = []
        withheld = 0
        last: bytes | None = None

        def done(cursor: str | None) -> Page:
            return Page(items, cursor, withheld, decision, tuple(protected), tuple(matched))

        for row in rows:
            if len(items) >= limit:
                return done(_cursor_out(last) if last else None)
            last = bytes(row.id)
            view = self.vault.open_row(row)
            if not self.vault.matches(coll, spec, values, view):
                continue
            matched.append(last)
            protection = self._protection(ask, purpose, [view])
            try:
                items.append(self._release(ask, purpose, view, "read", protection))
            except DeniedError:
                if (
                    protection is not None
                    and protection.blocked & set(self._people(view))
                    and self._only_protection(ask, purpose, view)
                ):
                    protected.append(view.ref)
                else:
                    withheld += 1
        return done(None)

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
        before = self._guarded_facts(ask, purpose, old)
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
        self._after(ask, [id_of(ref)], "update", released=False)
        return self._after_write(ask, purpose, view)

    def delete(self, ask: Ask, collection: str, ref: str) -> None:
        purpose = self._purpose(ask)
        coll = self._collection(collection)
        old = self._current(coll.name, ref)
        facts = self._guarded_facts(ask, purpose, old)
        decision = self._decide_write(ask, purpose, "delete", coll.name, facts)
        self.vault.delete(
            coll.name,
            ref,
            actor=ask.actor(),
            purpose=self._vault_purpose(ask, purpose),
            audit=self._write_entry(ask, purpose, "delete", decision),
        )
        self._after(ask, [id_of(ref)], "delete", released=False)

    def _after_write(self, ask: Ask, purpose: PurposeDef, view: RecordView) -> Released:
        """The written record as a ``read`` would release it (only its reference when the
        writer may not read it)."""
        try:
            return self._release(ask, purpose, view, "read", self._protection(ask, purpose, [view]))
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

    # -- the guard's workflow: protected persons, grants, alerts ----------------------------
    def _guarded(self) -> Guard:
        if self.guard is None:
            raise PolicyError("the guard is switched off in this vault ([guard] enabled)")
        return self.guard

    def _require_role(self, ask: Ask, roles: frozenset[str], what: str) -> PurposeDef:
        purpose = self._purpose(ask)
        if ask.principal.role not in roles:
            exc = DeniedError(f"{what} is for the {', '.join(sorted(roles))} role")
            self._denied(ask, "admin", "guard", exc, purpose)
            raise exc
        return purpose

    def protect(self, ask: Ask, ref: str, category: str, reason: str) -> None:
        """Mark a person of the supervisor's region as protected (reason stored sealed)."""
        guard = self._guarded()
        self._change_protection(
            ask,
            ref,
            "protect",
            lambda rid: guard.protection.mark(rid, category, reason, ask.principal.id),
        )

    def unprotect(self, ask: Ask, ref: str) -> None:
        """Lift a person's protection (a supervisor of the person's region)."""
        guard = self._guarded()
        self._change_protection(ask, ref, "unprotect", guard.protection.unmark)

    def _change_protection(
        self, ask: Ask, ref: str, op: str, change: Callable[[bytes], None]
    ) -> None:
        purpose = self._require_role(ask, frozenset({"supervisor"}), f"{op}ing a person")
        view = self._current("person", ref)
        if view.region != ask.principal.region:
            exc = DeniedError(f"a supervisor may {op} persons of their own region only")
            self._denied(ask, "update", "person", exc, purpose, [view.ref])
            raise exc
        change(id_of(view.ref))
        self.vault.audit.append(
            self.entry(
                ask,
                "update",
                "person",
                purpose=purpose,
                refs=[view.ref],
                subjects=self._subjects(view),
                detail={"op": op},
            )
        )

    def request_grant(self, ask: Ask, ref: str, justification: str) -> Grant:
        """Ask for a grant to read a protected person under the ask's purpose and case."""
        guard = self._guarded()
        purpose = self._purpose(ask)
        rid = id_of_ref(ref, "person")
        grant = guard.protection.request(
            ask.principal.id, rid, purpose.code, ask.case_ref, justification
        )
        self.vault.audit.append(
            dataclasses.replace(
                self.entry(
                    ask,
                    "create",
                    "grants",
                    purpose=purpose,
                    refs=[ref_of(rid)],
                    detail={"op": "grant-request", "grant": grant.id},
                ),
                justification=justification.strip()[:500],  # sealed in the entry
            )
        )
        return grant

    def decide_grant(self, ask: Ask, grant_id: str, *, approve: bool) -> Grant:
        """An approver approves or denies a pending grant request (never their own)."""
        guard = self._guarded()
        purpose = self._require_role(ask, frozenset({"approver"}), "deciding a grant")
        grant = guard.protection.decide(
            grant_id, ask.principal.id, approve=approve, minutes=guard.config.grant_minutes
        )
        self.vault.audit.append(
            dataclasses.replace(
                self.entry(
                    ask,
                    "update",
                    "grants",
                    purpose=purpose,
                    refs=[grant.person],
                    detail={
                        "op": "grant-approve" if approve else "grant-deny",
                        "grant": grant.id,
                        "for": grant.principal,
                    },
                ),
                approval_ref=grant.id,
            )
        )
        return grant

    def grants(self, ask: Ask, state: str | None = None, limit: int = 50) -> list[Grant]:
        """Approvers see every request; anyone else their own."""
        guard = self._guarded()
        purpose = self._purpose(ask)
        check_limit(limit)
        mine = None if ask.principal.role == "approver" else ask.principal.id
        found = guard.protection.list(state=state, principal=mine, limit=limit)
        self.vault.audit.append(
            self.entry(ask, "search", "grants", purpose=purpose, detail={"results": len(found)})
        )
        return found

    def alerts(self, ask: Ask, **filters: Any) -> list[Alert]:
        """Alerts, filtered (supervisors and auditors); the listing is audited."""
        guard = self._guarded()
        purpose = self._require_role(ask, REVIEW_ROLES, "the alert queue")
        found = guard.alerts.list(**filters)
        self.vault.audit.append(
            self.entry(ask, "search", "alerts", purpose=purpose, detail={"results": len(found)})
        )
        return found

    def review_alert(self, ask: Ask, alert_id: int, action: str, note: str) -> Alert:
        """Acknowledge (with a note) or escalate an alert; audited, the note sealed."""
        guard = self._guarded()
        purpose = self._require_role(ask, REVIEW_ROLES, "reviewing alerts")
        done = guard.alerts.review(alert_id, action, note, ask.principal.id)
        self.vault.audit.append(
            dataclasses.replace(
                self.entry(
                    ask,
                    "update",
                    "alerts",
                    purpose=purpose,
                    detail={"op": action, "alert": alert_id, "about": done.principal},
                ),
                justification=note.strip()[:500],  # sealed in the entry
            )
        )
        return done


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
