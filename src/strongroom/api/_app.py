"""The HTTP API: FastAPI app under ``/v1`` over the :class:`~strongroom.gate.Gate`.

Every route but ``/healthz`` authenticates (API token or OIDC bearer JWT); every data route
needs a purpose. Per request:

1. **authenticate** the ``Authorization`` header (401; 429 when the client's failure budget
   is spent);
2. **route guard**: the acting role must be one that can ever use the route (403); the
   acting role is the principal's only role, or the one named by ``Strongroom-Role``;
3. **purpose**: ``Strongroom-Purpose`` (and ``Strongroom-Case-Ref`` where the purpose needs
   one) must name a registered purpose (400, nothing read);
4. **policy**: the Cedar policies decide the action on the collection or record, and each
   field's level (403 when denied; denied records are left out of searches and counted in
   ``withheld``).

Break-glass: ``Strongroom-Break-Glass: <justification>``, percent-encoded UTF-8.
"""

import base64
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Final, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import generate_latest

from strongroom.api import _models as m
from strongroom.api._middleware import Guard, Metrics
from strongroom.api._problems import PROBLEM_JSON, install
from strongroom.audit._entry import Entry
from strongroom.audit._log import Logged
from strongroom.audit._note import NoteVerifier, verifier_from_key
from strongroom.audit._receipt import make_receipt
from strongroom.audit._sequencer import Sequencer
from strongroom.auth import (
    AuthenticationError,
    Authenticator,
    PrincipalStore,
    TokenInfo,
    TokenStore,
)
from strongroom.auth import Principal as AuthPrincipal
from strongroom.errors import NotFoundError, ValidationError
from strongroom.gate import Ask, Gate, Page, Released
from strongroom.guard import WebhookSender
from strongroom.guard._detect import DetectorRunner, Detectors
from strongroom.policy import DeniedError
from strongroom.policy import Principal as PolicyPrincipal

#: roles that may ever use a group of routes (Cedar decides the rest)
RECORD_ROLES: Final = frozenset({"call_taker", "investigator", "supervisor"})
READ_ROLES: Final = RECORD_ROLES | {"citizen"}
ADMIN_ROLES: Final = frozenset({"admin"})
METRICS_ROLES: Final = frozenset({"admin", "auditor"})
STATS_ROLES: Final = frozenset({"analyst"})
AUDIT_ROLES: Final = frozenset({"auditor"})
CITIZEN_ROLES: Final = frozenset({"citizen"})
APPROVER_ROLES: Final = frozenset({"approver"})
GRANT_ROLES: Final = RECORD_ROLES | APPROVER_ROLES
REVIEW_ROLES: Final = frozenset({"supervisor", "auditor"})
ALL_ROLES: Final = (
    RECORD_ROLES | ADMIN_ROLES | METRICS_ROLES | STATS_ROLES | CITIZEN_ROLES | APPROVER_ROLES
)

_USER_CURSOR = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_TOKEN_ID = re.compile(r"[a-z2-7]{8}")

_PROBLEM_REF: Final = {"$ref": "#/components/schemas/Problem"}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "model": m.Problem,
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
        "description": text,
    }
    for status, text in {
        400: "No or unknown purpose, or a missing case ref",
        401: "No valid credentials",
        403: "The acting role or the policy does not allow it",
        404: "No such record",
        409: "A unique value (resident ID, principal id) is already held",
        413: "Body too large",
        422: "Invalid input: each failing field and the reason",
        429: "Too many failed authentications from this client, or a quota is spent",
        503: "The store or the identity provider's keys are unavailable",
    }.items()
}


@dataclass
class Service:
    """What the app serves: the gate (and its vault), authentication and the principal store."""

    gate: Gate
    authenticator: Authenticator
    principals: PrincipalStore
    tokens: TokenStore
    #: witness verifier keys, and how many cosignatures a served checkpoint needs
    witnesses: tuple[str, ...] = ()
    required_cosignatures: int = 0


def _acting(p: AuthPrincipal, requested: str | None) -> PolicyPrincipal:
    if requested:
        if requested not in p.roles:
            raise DeniedError("Strongroom-Role: the principal does not hold that role")
        role = requested
    elif len(p.roles) == 1:
        (role,) = p.roles
    else:
        raise ValidationError.single(
            "Strongroom-Role", "the principal holds several roles: name the one acting"
        )
    return PolicyPrincipal(
        id=p.id,
        role=role,
        unit=p.unit or "",
        region=p.home_region or "",
        case_refs=p.case_refs,
        resident_id_token=p.citizen_subject.hex() if p.citizen_subject else "",
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _when(v: Any) -> str | None:
    return v.isoformat(timespec="seconds") if v is not None else None


def _token_out(t: TokenInfo) -> m.TokenOut:
    return m.TokenOut(
        id=t.id,
        principal=t.principal_id,
        name=t.name,
        created_at=_when(t.created_at) or "",
        expires_at=_when(t.expires_at) or "",
        revoked_at=_when(t.revoked_at),
    )


def _user_out(p: AuthPrincipal) -> m.UserOut:
    return m.UserOut(
        id=p.id,
        kind=p.kind,
        roles=sorted(p.roles),
        unit=p.unit,
        home_region=p.home_region,
        case_refs=sorted(p.case_refs),
        disabled=p.disabled,
        created_at=_when(p.created_at),
    )


def _released(r: Released) -> dict[str, Any]:
    return {
        "ref": r.ref,
        "version": r.version,
        "region": r.region,
        "levels": dict(r.decision.fields),
        "break_glass": r.decision.break_glass,
        "fields": r.fields,
    }


def _page(p: Page) -> dict[str, Any]:
    return {
        "items": [_released(r) for r in p.items],
        "next_cursor": p.cursor,
        "withheld": p.withheld,
        "protected": [{"ref": r, "request_access": "POST /v1/grants"} for r in p.protected],
    }


def _changes(body: Any) -> dict[str, Any]:
    """A PATCH body: the fields that were sent (``null`` clears)."""
    data: dict[str, Any] = body.model_dump(exclude_unset=True)
    if not data:
        raise ValidationError.single("body", "name at least one field to change")
    return data


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("strongroom")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def create_app(service: Service, *, title: str = "Strongroom", sequencer: bool = True) -> FastAPI:
    """The FastAPI app over ``service`` (wrapped in the body-limit/error/metrics guard).

    With ``sequencer``, a background thread integrates the audit log every second and signs a
    checkpoint every ten while the app runs (and once more when it stops)."""
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        worker = Sequencer(service.gate.vault.audit) if sequencer else None
        guard = service.gate.guard
        sender = None
        if guard is not None and guard.config.webhook_url:
            sender = WebhookSender(
                guard.alerts, guard.config.webhook_url, attempts=guard.config.webhook_attempts
            )
        detectors = None
        if guard is not None and sequencer:
            detectors = DetectorRunner(
                Detectors(
                    service.gate.vault.audit,
                    guard.alerts,
                    guard.config,
                    guard.engine,
                    clock=guard.now,
                    principals=service.principals,
                ),
                maintenance=guard.prune,
            )
        jobs = [job for job in (worker, sender, detectors) if job is not None]
        for job in jobs:
            job.start()
        try:
            yield
        finally:
            for job in reversed(jobs):
                job.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=title,
        version=_version(),
        summary="A privacy vault for identity and police incident records",
        description=__doc__,
        # not served: /healthz is the only route without authentication; the document is
        # committed as docs/openapi.json (app.openapi() builds it)
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install(app)
    gate = service.gate

    bearer = HTTPBearer(
        auto_error=False,
        scheme_name="bearer",
        description="An API token (sr_...) or an OIDC bearer JWT of the configured issuer.",
    )

    def principal(
        request: Request,
        _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> AuthPrincipal:
        client = request.client.host if request.client else "unknown"
        try:
            return service.authenticator.authenticate(request.headers.get("authorization"), client)
        except AuthenticationError as exc:
            service.gate.vault.audit.append(auth_failure(service.gate, client, exc.reason))
            raise

    def role_guard(roles: Iterable[str]) -> Callable[..., PolicyPrincipal]:
        allowed = frozenset(roles)

        def dep(
            who: Annotated[AuthPrincipal, Depends(principal)],
            strongroom_role: Annotated[
                str | None,
                Header(
                    alias="Strongroom-Role",
                    max_length=32,
                    description="The acting role, when the principal holds several.",
                ),
            ] = None,
        ) -> PolicyPrincipal:
            if not (who.roles & allowed):
                raise DeniedError("this route is not for the principal's role")
            acting = _acting(who, strongroom_role)
            if acting.role not in allowed:
                raise DeniedError("this route is not for the acting role")
            return acting

        return dep

    def asker(roles: Iterable[str]) -> Callable[..., Ask]:
        guard = role_guard(roles)

        def dep(
            who: Annotated[PolicyPrincipal, Depends(guard)],
            purpose: Annotated[
                str | None,
                Header(
                    alias="Strongroom-Purpose",
                    max_length=64,
                    description="Why you ask: a purpose code of the registry. Required.",
                ),
            ] = None,
            case_ref: Annotated[
                str | None,
                Header(
                    alias="Strongroom-Case-Ref",
                    max_length=64,
                    description="The case the purpose is about, where the purpose needs one.",
                ),
            ] = None,
            break_glass: Annotated[
                str | None,
                Header(
                    alias="Strongroom-Break-Glass",
                    max_length=1500,
                    description="Break-glass: the justification, percent-encoded UTF-8.",
                ),
            ] = None,
        ) -> Ask:
            justification = None
            if break_glass is not None:
                try:
                    justification = unquote(break_glass, errors="strict").strip()
                except UnicodeDecodeError as exc:
                    raise ValidationError.single(
                        "Strongroom-Break-Glass", "must be percent-encoded UTF-8"
                    ) from exc
                if not justification:
                    raise ValidationError.single(
                        "Strongroom-Break-Glass", "break-glass needs a justification"
                    )
            return Ask(
                who,
                (purpose or "").strip(),
                (case_ref or "").strip() or None,
                break_glass is not None,
                justification,
                request_id=uuid.uuid4().hex,
            )

        return dep

    RecordAsk = Annotated[Ask, Depends(asker(RECORD_ROLES))]
    ReadAsk = Annotated[Ask, Depends(asker(READ_ROLES))]
    AdminAsk = Annotated[Ask, Depends(asker(ADMIN_ROLES))]
    StatsAsk = Annotated[Ask, Depends(asker(STATS_ROLES))]
    AuditAsk = Annotated[Ask, Depends(asker(AUDIT_ROLES))]
    CitizenAsk = Annotated[Ask, Depends(asker(CITIZEN_ROLES))]
    AnyAsk = Annotated[Ask, Depends(asker(ALL_ROLES))]
    GrantAsk = Annotated[Ask, Depends(asker(GRANT_ROLES))]
    ApproverAsk = Annotated[Ask, Depends(asker(APPROVER_ROLES))]
    ReviewAsk = Annotated[Ask, Depends(asker(REVIEW_ROLES))]
    SupervisorAsk = Annotated[Ask, Depends(asker({"supervisor"}))]
    RefPath = Annotated[str, Path(max_length=64, description="A record reference (UUID).")]
    GrantId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="A grant request id.")]
    Limit = Annotated[int, Query(ge=1, le=100, description="Page size, at most 100.")]
    Cursor = Annotated[
        str | None, Query(max_length=64, description="The next_cursor of the previous page.")
    ]

    @app.get("/healthz", response_model=m.Health, tags=["service"])
    def healthz() -> dict[str, str]:
        """Liveness; no data, no authentication."""
        return {"status": "ok"}

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["service"],
        responses={k: v for k, v in ERROR_RESPONSES.items() if k in (401, 403, 422, 429, 503)},
    )
    def prometheus(
        _who: Annotated[PolicyPrincipal, Depends(role_guard(METRICS_ROLES))],
    ) -> PlainTextResponse:
        """Prometheus metrics (counts and latencies by route; no personal data)."""
        return PlainTextResponse(
            generate_latest(metrics.registry).decode(),
            media_type="text/plain; version=0.0.4; charset=utf-8",
        )

    v1 = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)

    # -- persons -------------------------------------------------------------------------
    @v1.post("/persons", status_code=201, response_model=m.PersonOut, tags=["persons"])
    def create_person(ask: RecordAsk, body: m.PersonIn) -> dict[str, Any]:
        """Create a person (policy decides on the record as it would be written)."""
        return _released(gate.create(ask, "person", body.model_dump(exclude_none=True)))

    @v1.post("/persons/search", response_model=m.PersonPage, tags=["persons"])
    def search_persons(ask: RecordAsk, body: m.PersonSearch) -> dict[str, Any]:
        """Find persons by resident ID, by phone, or by name with date of birth (one page)."""
        criteria = body.model_dump(exclude_none=True, exclude={"limit", "cursor"})
        return _page(gate.search(ask, "person", criteria, limit=body.limit, cursor=body.cursor))

    @v1.get("/persons/{ref}", response_model=m.PersonOut, tags=["persons"])
    def get_person(ask: ReadAsk, ref: RefPath) -> dict[str, Any]:
        """One person, each field full, masked or left out as policy decides."""
        return _released(gate.get(ask, "person", ref))

    @v1.post("/persons/{ref}/reveal", response_model=m.PersonOut, tags=["persons"])
    def reveal_person(ask: RecordAsk, ref: RefPath, body: m.Reveal) -> dict[str, Any]:
        """One person with the fields ``reveal`` releases; the justification is recorded."""
        justified = Ask(
            ask.principal, ask.purpose, ask.case_ref, ask.break_glass, body.justification
        )
        return _released(gate.reveal(justified, "person", ref))

    @v1.patch("/persons/{ref}", response_model=m.PersonOut, tags=["persons"])
    def update_person(ask: RecordAsk, ref: RefPath, body: m.PersonPatch) -> dict[str, Any]:
        """Change a person (a new version; ``null`` clears a field)."""
        return _released(gate.update(ask, "person", ref, _changes(body)))

    @v1.delete("/persons/{ref}", status_code=204, tags=["persons"])
    def delete_person(ask: RecordAsk, ref: RefPath) -> Response:
        """Delete a person (out of every index; versions kept until retention)."""
        gate.delete(ask, "person", ref)
        return Response(status_code=204)

    @v1.post("/persons/{ref}/erase", status_code=204, tags=["admin"])
    def erase_person(ask: AdminAsk, ref: RefPath, body: m.Erasure) -> Response:
        """Erase a person: every version and index entry is deleted and the person's data key
        destroyed, so no copy (backups included) opens again. Admins only, with a legal basis."""
        gate.erase(ask, ref, body.legal_basis)
        return Response(status_code=204)

    @v1.get("/persons/{ref}/incidents", response_model=m.IncidentPage, tags=["incidents"])
    def incidents_of_person(
        ask: RecordAsk, ref: RefPath, limit: Limit = 20, cursor: Cursor = None
    ) -> dict[str, Any]:
        """The incidents that name a person, one page."""
        return _page(gate.incidents_of_person(ask, ref, limit=limit, cursor=cursor))

    # -- incidents -----------------------------------------------------------------------
    @v1.post("/incidents", status_code=201, response_model=m.IncidentOut, tags=["incidents"])
    def create_incident(ask: RecordAsk, body: m.IncidentIn) -> dict[str, Any]:
        """Record an incident."""
        return _released(gate.create(ask, "incident", body.model_dump(exclude_none=True)))

    @v1.get("/incidents", response_model=m.IncidentPage, tags=["incidents"])
    def incidents_of_case(
        ask: RecordAsk,
        case_ref: Annotated[str, Query(max_length=64, description="The case.")],
        limit: Limit = 20,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """The incidents of a case, one page (there is no listing of all incidents)."""
        return _page(gate.incidents_of_case(ask, case_ref, limit=limit, cursor=cursor))

    @v1.get("/incidents/{ref}", response_model=m.IncidentOut, tags=["incidents"])
    def get_incident(ask: RecordAsk, ref: RefPath) -> dict[str, Any]:
        return _released(gate.get(ask, "incident", ref))

    @v1.patch("/incidents/{ref}", response_model=m.IncidentOut, tags=["incidents"])
    def update_incident(ask: RecordAsk, ref: RefPath, body: m.IncidentPatch) -> dict[str, Any]:
        return _released(gate.update(ask, "incident", ref, _changes(body)))

    # -- the guard: protected persons, grants, alerts -------------------------------------
    @v1.post("/persons/{ref}/protect", status_code=204, tags=["guard"])
    def protect_person(ask: SupervisorAsk, ref: RefPath, body: m.Protect) -> Response:
        """Mark a person as protected: from now on reading them (or incidents naming them)
        needs a grant approved by a second principal. Supervisors, own region."""
        gate.protect(ask, ref, body.category, body.reason)
        return Response(status_code=204)

    @v1.delete("/persons/{ref}/protect", status_code=204, tags=["guard"])
    def unprotect_person(ask: SupervisorAsk, ref: RefPath) -> Response:
        """Lift a person's protection."""
        gate.unprotect(ask, ref)
        return Response(status_code=204)

    @v1.post("/grants", status_code=201, response_model=m.GrantOut, tags=["guard"])
    def request_grant(ask: RecordAsk, body: m.GrantRequest) -> dict[str, Any]:
        """Ask for a grant to read a protected person, under this request's purpose and case
        ref; an approver decides."""
        grant = gate.request_grant(ask, body.person, body.justification)
        return grant.to_json(gate.guard.now() if gate.guard else grant.requested_at)

    @v1.get("/grants", response_model=m.GrantList, tags=["guard"])
    def list_grants(
        ask: GrantAsk,
        state: Annotated[
            Literal["pending", "approved", "denied", "revoked"] | None, Query()
        ] = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Grant requests: every one for approvers, your own for anyone else."""
        found = gate.grants(ask, state, limit)
        now = gate.guard.now() if gate.guard else None
        return {"items": [g.to_json(now or g.requested_at) for g in found]}

    @v1.post("/grants/{grant_id}/approve", response_model=m.GrantOut, tags=["guard"])
    def approve_grant(ask: ApproverAsk, grant_id: GrantId) -> dict[str, Any]:
        """Approve a pending request (not your own); the grant expires after the vault's
        ``[guard] grant_minutes``."""
        grant = gate.decide_grant(ask, grant_id, approve=True)
        return grant.to_json(gate.guard.now() if gate.guard else grant.requested_at)

    @v1.post("/grants/{grant_id}/deny", response_model=m.GrantOut, tags=["guard"])
    def deny_grant(ask: ApproverAsk, grant_id: GrantId) -> dict[str, Any]:
        """Deny a pending request."""
        grant = gate.decide_grant(ask, grant_id, approve=False)
        return grant.to_json(gate.guard.now() if gate.guard else grant.requested_at)

    @v1.get("/alerts", response_model=m.AlertPage, tags=["guard"])
    def list_alerts(
        ask: ReviewAsk,
        state: Annotated[Literal["open", "acknowledged", "escalated"] | None, Query()] = None,
        kind: Annotated[str | None, Query(max_length=32)] = None,
        severity: Annotated[Literal["low", "medium", "high"] | None, Query()] = None,
        principal: Annotated[str | None, Query(max_length=128)] = None,
        since: Annotated[datetime | None, Query(description="ISO 8601 with offset")] = None,
        after: Annotated[int | None, Query(ge=0, le=2**53)] = None,
        limit: Limit = 50,
    ) -> dict[str, Any]:
        """Alerts, oldest first, filtered; ``state=open`` is the review queue (every alert
        and every break-glass access until someone acknowledges or escalates it)."""
        if since is not None and since.tzinfo is None:
            raise ValidationError.single("since", "give a time zone offset")
        found = gate.alerts(
            ask,
            state=state,
            kind=kind,
            severity=severity,
            principal=principal,
            since=since,
            after=after,
            limit=limit + 1,
        )
        items = [a.to_json() for a in found[:limit]]
        more = len(found) > limit
        return {"items": items, "next_after": items[-1]["id"] if more and items else None}

    @v1.post("/alerts/{alert_id}/review", response_model=m.AlertOut, tags=["guard"])
    def review_alert(
        ask: ReviewAsk, alert_id: Annotated[int, Path(ge=1, le=2**53)], body: m.Review
    ) -> dict[str, Any]:
        """Acknowledge an alert with a note, or escalate it (audited; the note is sealed)."""
        return gate.review_alert(ask, alert_id, body.action, body.note).to_json()

    # -- statistics ----------------------------------------------------------------------
    @v1.get("/statistics", response_model=m.Statistics, tags=["statistics"])
    def statistics(ask: StatsAsk) -> dict[str, Any]:
        """Aggregates only: current records per collection."""
        return {"counts": gate.statistics(ask)}

    # -- users and tokens ----------------------------------------------------------------
    @v1.get("/users", response_model=m.UserPage, tags=["admin"])
    def list_users(ask: AdminAsk, limit: Limit = 20, cursor: Cursor = None) -> dict[str, Any]:
        """Users and service accounts, by id, one page."""
        gate.allow_collection(ask, "admin", "users")
        if cursor is not None and not _USER_CURSOR.fullmatch(cursor):
            raise ValidationError.single("cursor", "not a cursor this API returned")
        found = sorted(service.principals.list(), key=lambda p: p.id)
        after = [p for p in found if cursor is None or p.id > cursor][: limit + 1]
        more = len(after) > limit
        items = after[:limit]
        return {
            "items": [_user_out(p) for p in items],
            "next_cursor": items[-1].id if more and items else None,
        }

    @v1.post("/users", status_code=201, response_model=m.UserOut, tags=["admin"])
    def add_user(ask: AdminAsk, body: m.UserIn) -> m.UserOut:
        """Add a user or service account. A citizen is bound to their resident ID, which is
        turned into a keyed token here and not stored."""
        gate.allow_collection(ask, "admin", "users")
        subject = gate.subject_token(body.resident_id) if body.resident_id else None
        added = service.principals.add(
            body.id,
            roles=body.roles,
            kind=body.kind,
            unit=body.unit,
            home_region=body.home_region,
            case_refs=body.case_refs,
            citizen_subject=subject,
        )
        gate.record(
            ask,
            "admin",
            "users",
            {"op": "add", "principal": added.id, "roles": sorted(added.roles)},
        )
        return _user_out(added)

    @v1.post("/users/{principal_id}/disable", response_model=m.UserOut, tags=["admin"])
    def disable_user(ask: AdminAsk, principal_id: Annotated[str, Path(max_length=64)]) -> m.UserOut:
        """Disable a principal: its tokens stop authenticating at once."""
        gate.allow_collection(ask, "admin", "users")
        done = service.principals.disable(principal_id)
        gate.record(ask, "admin", "users", {"op": "disable", "principal": done.id})
        return _user_out(done)

    @v1.post("/users/{principal_id}/cases", response_model=m.UserOut, tags=["admin"])
    def assign_case(
        ask: AdminAsk, principal_id: Annotated[str, Path(max_length=64)], body: m.CaseAssignment
    ) -> m.UserOut:
        """Assign a principal to a case."""
        gate.allow_collection(ask, "admin", "users")
        done = service.principals.assign_case(principal_id, body.case_ref)
        gate.record(
            ask,
            "admin",
            "users",
            {"op": "assign-case", "principal": done.id, "case_ref": body.case_ref},
        )
        return _user_out(done)

    @v1.get("/tokens", response_model=m.TokenList, tags=["admin"])
    def list_tokens(
        ask: AdminAsk,
        principal_id: Annotated[str | None, Query(alias="principal", max_length=64)] = None,
    ) -> m.TokenList:
        """API tokens (never their secrets), of one principal or all."""
        gate.allow_collection(ask, "admin", "tokens")
        return m.TokenList(items=[_token_out(t) for t in service.tokens.list(principal_id)])

    @v1.post("/tokens", status_code=201, response_model=m.IssuedToken, tags=["admin"])
    def issue_token(ask: AdminAsk, body: m.TokenIn) -> m.IssuedToken:
        """Issue a token; its secret is in this response and nowhere else, ever."""
        gate.allow_collection(ask, "admin", "tokens")
        service.principals.get(body.principal)
        secret, info = service.tokens.issue(
            body.principal, body.name, timedelta(days=body.ttl_days)
        )
        gate.record(
            ask,
            "admin",
            "tokens",
            {"op": "issue", "principal": info.principal_id, "token_id": info.id},
        )
        return m.IssuedToken(token=secret, info=_token_out(info))

    @v1.delete("/tokens/{token_id}", response_model=m.TokenOut, tags=["admin"])
    def revoke_token(ask: AdminAsk, token_id: Annotated[str, Path(max_length=16)]) -> m.TokenOut:
        """Revoke a token (by its public id); it stops authenticating at once."""
        gate.allow_collection(ask, "admin", "tokens")
        if not _TOKEN_ID.fullmatch(token_id):
            raise ValidationError.single("token_id", "not a token id (8 characters a-z, 2-7)")
        done = service.tokens.revoke(token_id)
        gate.record(ask, "admin", "tokens", {"op": "revoke", "token_id": done.id})
        return _token_out(done)

    # -- the audit log ---------------------------------------------------------------------
    def _witnesses() -> list[NoteVerifier]:
        return [verifier_from_key(k) for k in service.witnesses]

    @v1.get("/audit/checkpoint", response_class=PlainTextResponse, tags=["audit"])
    def audit_checkpoint(
        ask: AnyAsk,
        latest: Annotated[
            bool,
            Query(description="The newest signed checkpoint, cosigned or not (for witnesses)."),
        ] = False,
    ) -> PlainTextResponse:
        """The current checkpoint: the newest one with the cosignatures the vault's policy
        requires (with them appended), as a C2SP signed note."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "checkpoint")
        audit.checkpoint()
        if latest or service.required_cosignatures == 0:
            found = audit.latest_checkpoint()
            note = found[2] if found else None
            if found is not None and note is not None and not latest:
                note += "".join(line + "\n" for _w, line in audit.cosignatures(found[0]))
        else:
            note = audit.cosigned(service.required_cosignatures, _witnesses())
        if note is None:
            raise NotFoundError("no checkpoint has the cosignatures it needs yet")
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")

    @v1.get("/audit/consistency", response_model=m.Consistency, tags=["audit"])
    def audit_consistency(
        ask: AuditAsk,
        old: Annotated[int, Query(ge=1, le=2**53)],
        new: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    ) -> dict[str, Any]:
        """A consistency proof between two tree sizes (for witnesses and auditors)."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "audit")
        old_size, old_root, new_size, new_root, proof = audit.consistency(old, new)
        return {
            "old_size": old_size,
            "old_root": b64(old_root),
            "new_size": new_size,
            "new_root": b64(new_root),
            "proof": [b64(h) for h in proof],
        }

    @v1.post("/audit/cosignatures", status_code=201, response_model=m.Accepted, tags=["audit"])
    def audit_cosign(ask: AuditAsk, body: m.CosignatureIn) -> dict[str, Any]:
        """A witness's cosignature of a checkpoint (verified against the configured witness
        keys before it is stored)."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "audit")
        name = body.signature.removeprefix("\u2014 ").split(" ", 1)[0]
        witness = next((w for w in _witnesses() if w.name == name), None)
        if witness is None:
            raise ValidationError.single("signature", "not by a witness this vault trusts")
        audit.add_cosignature(body.size, witness, body.signature)
        gate.record(
            ask, "admin", "audit", {"op": "cosignature", "witness": name, "size": body.size}
        )
        return {"accepted": True}

    @v1.post("/audit/search", response_model=m.AuditPage, tags=["audit"])
    def audit_search(ask: AuditAsk, body: m.AuditQuery) -> dict[str, Any]:
        """Search the whole log by actor, subject (a resident ID, turned into its HMAC here),
        purpose, action and time range. Entries carry no record contents."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "audit")
        audit.sequence()
        subject = gate.subject_token(body.resident_id) if body.resident_id else None
        found = audit.search(
            actor=body.actor,
            subject=subject,
            purpose=body.purpose,
            action=body.action,
            since=body.since,
            until=body.until,
            after=body.after,
            limit=body.limit + 1,
        )
        gate.record(ask, "search", "audit", {"results": len(found[: body.limit])})
        items = [_logged(x) for x in found[: body.limit]]
        more = len(found) > body.limit
        return {"items": items, "next_after": items[-1]["index"] if more and items else None}

    @v1.get("/me/accesses", response_model=m.AccessPage, tags=["citizens"])
    def my_accesses(
        ask: CitizenAsk,
        after: Annotated[int | None, Query(ge=0, le=2**53)] = None,
        limit: Limit = 20,
    ) -> dict[str, Any]:
        """Who accessed my data, and why: the log's entries about the citizen's own records
        (covert ones once their embargo has passed), each with a receipt to download."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "accesses")
        subject = _citizen_subject(ask)
        audit.sequence()
        found = audit.search(subject=subject, after=after, limit=limit + 1, visible_at=audit.now())
        items = [_access(x) for x in found[:limit]]
        more = len(found) > limit
        return {"items": items, "next_after": items[-1]["index"] if more and items else None}

    @v1.get("/me/accesses/{index}/receipt", response_class=PlainTextResponse, tags=["citizens"])
    def my_receipt(
        ask: CitizenAsk, index: Annotated[int, Path(ge=0, le=2**53)]
    ) -> PlainTextResponse:
        """A receipt for one of my entries: the entry, its inclusion proof and the (cosigned)
        checkpoint, in the C2SP tlog-proof format; verify it offline with
        ``strongroom audit verify-receipt``."""
        audit = service.gate.vault.audit
        gate.allow_collection(ask, "search", "accesses")
        subject = _citizen_subject(ask)
        audit.sequence()
        mine = audit.search(subject=subject, after=index - 1, limit=1, visible_at=audit.now())
        if not mine or mine[0].index != index:
            raise NotFoundError("no entry of yours with that index")
        audit.checkpoint()
        if service.required_cosignatures:
            note = audit.cosigned(service.required_cosignatures, _witnesses())
        else:
            latest = audit.latest_checkpoint()
            note = latest[2] if latest else None
        if note is None:
            raise NotFoundError("no checkpoint has the cosignatures it needs yet")
        size = int(note.split("\n")[1])
        if index >= size:
            raise NotFoundError("the entry is not yet in a cosigned checkpoint; try later")
        _size, _root, proof = audit.inclusion(index, size)
        return PlainTextResponse(
            make_receipt(mine[0].entry, index, proof, note), media_type="text/plain; charset=utf-8"
        )

    app.include_router(v1)
    return _wrap(app, metrics)


def _citizen_subject(ask: Ask) -> bytes:
    token = ask.principal.resident_id_token
    if not token:
        raise DeniedError("this principal is not bound to a resident ID")
    return bytes.fromhex(token)


def _logged(x: Logged) -> dict[str, Any]:
    return {"index": x.index, "entry": x.json()}


def _access(x: Logged) -> dict[str, Any]:
    """What a citizen sees of one entry (no subjects of other people, no sealed text)."""
    doc = x.json()
    purpose = doc.get("purpose") or {}
    actor = doc.get("actor") or {}
    return {
        "index": x.index,
        "time": doc.get("time"),
        "action": doc.get("action"),
        "outcome": doc.get("outcome"),
        "collection": doc.get("collection"),
        "actor": {"id": actor.get("id"), "role": actor.get("role"), "unit": actor.get("unit")},
        "purpose": purpose.get("code"),
        "legal_basis": purpose.get("legal_basis"),
        "case_ref": purpose.get("case_ref"),
        "fields": doc.get("fields") or [],
        "break_glass": bool(doc.get("break_glass")),
        "receipt": f"/v1/me/accesses/{x.index}/receipt",
    }


def auth_failure(gate: Gate, client: str, reason: str) -> Entry:
    return Entry(
        time=gate.vault.audit.now(),
        actor_id="-",
        actor_role="-",
        actor_unit="",
        action="authenticate",
        collection="principals",
        purpose_code="-",
        outcome="denied",
        request_id=uuid.uuid4().hex,
        detail={"client": client[:64], "reason": reason[:80]},
    )


def _wrap(app: FastAPI, metrics: Metrics) -> FastAPI:
    app.add_middleware(Guard, metrics=metrics)
    app.state.metrics = metrics
    app.openapi = _problems_only(app.openapi)  # type: ignore[method-assign]
    return app


def _problems_only(build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Errors are problem+json only: FastAPI also lists an error model under the route's own
    media type (``application/json``, ``text/plain``), which the server never sends."""

    def openapi() -> dict[str, Any]:
        doc = build()  # FastAPI caches the document; dropping the entries twice is harmless
        for operations in doc.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if PROBLEM_JSON in content:
                        response["content"] = {PROBLEM_JSON: content[PROBLEM_JSON]}
        return doc

    return openapi
