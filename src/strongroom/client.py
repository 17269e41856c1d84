"""The Python SDK: :class:`Client` over httpx, mirroring the HTTP API.

::

    from strongroom import Client

    with Client("http://127.0.0.1:8443", token, purpose="CALL") as sr:
        page = sr.search_persons(phone="+86 138 1234 5678")
        for person in page.items:
            print(person.ref, person.fields["name"])        # 王* (masked for a call taker)

Errors are the library's own: a problem+json answer raises the class it names
(:class:`~strongroom.errors.ValidationError` with its field errors,
:class:`~strongroom.policy.DeniedError`, :class:`~strongroom.policy.PolicyError`,
:class:`~strongroom.auth.AuthenticationError`, :class:`~strongroom.errors.NotFoundError` …).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from strongroom.auth import AuthenticationError, AuthError, JwksUnavailableError, RateLimitedError
from strongroom.errors import (
    AccessError,
    ConflictError,
    FieldError,
    NotFoundError,
    StoreError,
    StrongroomError,
    ValidationError,
)
from strongroom.guard import QuotaExceededError
from strongroom.policy import DeniedError, PolicyError

_CLASSES: dict[str, type[StrongroomError]] = {
    c.__name__: c
    for c in (
        AccessError,
        AuthError,
        ConflictError,
        DeniedError,
        JwksUnavailableError,
        NotFoundError,
        PolicyError,
        StoreError,
    )
}


@dataclass(frozen=True)
class Record:
    """One record as the server released it."""

    ref: str
    version: int
    region: str
    fields: dict[str, Any]
    levels: dict[str, str]
    break_glass: bool

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Record:
        fields = {k: v for k, v in dict(data.get("fields") or {}).items() if v is not None}
        return cls(
            str(data["ref"]),
            int(data["version"]),
            str(data["region"]),
            fields,
            dict(data.get("levels") or {}),
            bool(data.get("break_glass")),
        )


@dataclass(frozen=True)
class Page:
    items: list[Record]
    next_cursor: str | None
    withheld: int
    #: refs of protected persons (or incidents about them) the search hit: reading one needs
    #: a grant (:meth:`Client.request_grant`)
    protected: tuple[str, ...] = ()


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code", ""))
    detail = str(body.get("detail") or response.reason_phrase or "request failed")
    status = response.status_code
    if status == 401:
        raise AuthenticationError(detail)
    if status == 429:
        retry = int(response.headers.get("retry-after", "60") or 60)
        if code == "QuotaExceededError":
            raise QuotaExceededError(str(body.get("quota") or "?"), 0, retry)
        raise RateLimitedError(retry)
    if code in ("ValidationError", "ConflictError") or status == 422:
        errors = [
            FieldError(str(e.get("field", "")), str(e.get("reason", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ] or [FieldError("body", detail)]
        raise (ConflictError if code == "ConflictError" else ValidationError)(errors)
    cls = _CLASSES.get(code)
    if cls is None:
        cls = {403: DeniedError, 404: NotFoundError, 400: PolicyError}.get(status, StoreError)
    raise cls(detail)


class Client:
    """A typed client of one Strongroom server.

    ``purpose``, ``case_ref`` and ``role`` are sent with every request; change them per call
    with :meth:`with_purpose`. ``transport`` and ``verify`` pass through to httpx.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        purpose: str | None = None,
        case_ref: str | None = None,
        role: str | None = None,
        timeout: float = 10.0,
        verify: bool | ssl.SSLContext = True,
        http: httpx.Client | None = None,
    ) -> None:
        self.purpose = purpose
        self.case_ref = case_ref
        self.role = role
        self._token = token
        self._own = http is None
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout, verify=verify)

    def __repr__(self) -> str:  # never the token
        return f"Client({str(self._http.base_url)!r}, purpose={self.purpose!r})"

    def close(self) -> None:
        if self._own:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def with_purpose(
        self, purpose: str, case_ref: str | None = None, *, role: str | None = None
    ) -> Client:
        """A client sharing this one's connection, asking for another purpose (or case)."""
        return Client(
            "",
            self._token,
            purpose=purpose,
            case_ref=case_ref,
            role=role if role is not None else self.role,
            http=self._http,
        )

    # -- plumbing --------------------------------------------------------------------------
    def _headers(self, break_glass: str | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self._token}"}
        if self.purpose:
            h["Strongroom-Purpose"] = self.purpose
        if self.case_ref:
            h["Strongroom-Case-Ref"] = self.case_ref
        if self.role:
            h["Strongroom-Role"] = self.role
        if break_glass is not None:
            h["Strongroom-Break-Glass"] = quote(break_glass, safe="")
        return h

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        break_glass: str | None = None,
    ) -> Any:
        """One call; the decoded JSON answer (``None`` for 204), or the matching error."""
        try:
            response = self._http.request(
                method,
                path,
                json=json,
                params={k: v for k, v in (params or {}).items() if v is not None},
                headers=self._headers(break_glass),
            )
        except httpx.HTTPError as exc:
            raise StoreError(f"the server could not be reached ({type(exc).__name__})") from None
        _raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    @staticmethod
    def _page(data: Mapping[str, Any]) -> Page:
        return Page(
            [Record.of(x) for x in data["items"]],
            data.get("next_cursor"),
            data.get("withheld", 0),
            tuple(str(x["ref"]) for x in data.get("protected") or ()),
        )

    # -- service ---------------------------------------------------------------------------
    def health(self) -> bool:
        return bool(self.request("GET", "/healthz").get("status") == "ok")

    def metrics(self) -> str:
        response = self._http.get("/metrics", headers=self._headers(None))
        _raise_for(response)
        return response.text

    def statistics(self) -> dict[str, int]:
        return dict(self.request("GET", "/v1/statistics")["counts"])

    # -- persons ---------------------------------------------------------------------------
    def create_person(self, fields: Mapping[str, Any]) -> Record:
        return Record.of(self.request("POST", "/v1/persons", json=dict(fields)))

    def get_person(self, ref: str, *, break_glass: str | None = None) -> Record:
        return Record.of(self.request("GET", f"/v1/persons/{quote(ref)}", break_glass=break_glass))

    def reveal_person(self, ref: str, justification: str) -> Record:
        return Record.of(
            self.request(
                "POST", f"/v1/persons/{quote(ref)}/reveal", json={"justification": justification}
            )
        )

    def update_person(self, ref: str, changes: Mapping[str, Any]) -> Record:
        return Record.of(self.request("PATCH", f"/v1/persons/{quote(ref)}", json=dict(changes)))

    def delete_person(self, ref: str) -> None:
        self.request("DELETE", f"/v1/persons/{quote(ref)}")

    def search_persons(
        self,
        *,
        resident_id: str | None = None,
        phone: str | None = None,
        name: str | None = None,
        date_of_birth: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page:
        body = {
            "resident_id": resident_id,
            "phone": phone,
            "name": name,
            "date_of_birth": date_of_birth,
            "limit": limit,
            "cursor": cursor,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return self._page(self.request("POST", "/v1/persons/search", json=body))

    def incidents_of_person(self, ref: str, *, limit: int = 20, cursor: str | None = None) -> Page:
        return self._page(
            self.request(
                "GET",
                f"/v1/persons/{quote(ref)}/incidents",
                params={"limit": limit, "cursor": cursor},
            )
        )

    # -- incidents -------------------------------------------------------------------------
    def create_incident(self, fields: Mapping[str, Any]) -> Record:
        return Record.of(self.request("POST", "/v1/incidents", json=dict(fields)))

    def get_incident(self, ref: str, *, break_glass: str | None = None) -> Record:
        return Record.of(
            self.request("GET", f"/v1/incidents/{quote(ref)}", break_glass=break_glass)
        )

    def update_incident(self, ref: str, changes: Mapping[str, Any]) -> Record:
        return Record.of(self.request("PATCH", f"/v1/incidents/{quote(ref)}", json=dict(changes)))

    def incidents_of_case(
        self, case_ref: str, *, limit: int = 20, cursor: str | None = None
    ) -> Page:
        return self._page(
            self.request(
                "GET",
                "/v1/incidents",
                params={"case_ref": case_ref, "limit": limit, "cursor": cursor},
            )
        )

    def iter_incidents_of_case(self, case_ref: str, *, page_size: int = 100) -> Iterator[Record]:
        """Every incident of a case the policy releases, page by page."""
        cursor: str | None = None
        while True:
            page = self.incidents_of_case(case_ref, limit=page_size, cursor=cursor)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    # -- users and tokens (admins) ---------------------------------------------------------
    def list_users(self, *, limit: int = 20, cursor: str | None = None) -> dict[str, Any]:
        return dict(self.request("GET", "/v1/users", params={"limit": limit, "cursor": cursor}))

    def add_user(self, principal_id: str, roles: list[str], **fields: Any) -> dict[str, Any]:
        body = {"id": principal_id, "roles": roles, **fields}
        return dict(self.request("POST", "/v1/users", json=body))

    def disable_user(self, principal_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/users/{quote(principal_id)}/disable"))

    def assign_case(self, principal_id: str, case_ref: str) -> dict[str, Any]:
        return dict(
            self.request(
                "POST", f"/v1/users/{quote(principal_id)}/cases", json={"case_ref": case_ref}
            )
        )

    def issue_token(
        self, principal_id: str, name: str, ttl_days: int = 90
    ) -> tuple[str, dict[str, Any]]:
        """A new token for ``principal_id``: (secret, info). The secret is shown only here."""
        data = self.request(
            "POST",
            "/v1/tokens",
            json={"principal": principal_id, "name": name, "ttl_days": ttl_days},
        )
        return str(data["token"]), dict(data["info"])

    def list_tokens(self, principal_id: str | None = None) -> list[dict[str, Any]]:
        data = self.request("GET", "/v1/tokens", params={"principal": principal_id})
        return [dict(t) for t in data["items"]]

    def revoke_token(self, token_id: str) -> dict[str, Any]:
        return dict(self.request("DELETE", f"/v1/tokens/{quote(token_id)}"))

    # -- the audit log ---------------------------------------------------------------------
    def _text(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        try:
            response = self._http.get(path, params=params, headers=self._headers(None))
        except httpx.HTTPError as exc:
            raise StoreError(f"the server could not be reached ({type(exc).__name__})") from None
        _raise_for(response)
        return response.text

    def audit_checkpoint(self, *, latest: bool = False) -> str:
        """The current (cosigned as policy requires) checkpoint note; ``latest``: the newest
        signed one, cosigned or not."""
        return self._text("/v1/audit/checkpoint", {"latest": "true"} if latest else None)

    def audit_search(self, **criteria: Any) -> dict[str, Any]:
        """Auditors: search the log (actor, resident_id, purpose, action, since, until,
        after, limit)."""
        body = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in criteria.items()
            if v is not None
        }
        return dict(self.request("POST", "/v1/audit/search", json=body))

    def my_accesses(self, *, after: int | None = None, limit: int = 20) -> dict[str, Any]:
        """Citizens: who accessed my data, and why."""
        return dict(self.request("GET", "/v1/me/accesses", params={"after": after, "limit": limit}))

    def my_receipt(self, index: int) -> str:
        """Citizens: the receipt (C2SP tlog-proof) of one of my entries."""
        return self._text(f"/v1/me/accesses/{int(index)}/receipt")

    # -- the guard -------------------------------------------------------------------------
    def protect_person(self, ref: str, category: str, reason: str) -> None:
        """Supervisors: mark a person as protected (official, public_figure, staff, witness,
        other)."""
        self.request(
            "POST",
            f"/v1/persons/{quote(ref)}/protect",
            json={"category": category, "reason": reason},
        )

    def unprotect_person(self, ref: str) -> None:
        self.request("DELETE", f"/v1/persons/{quote(ref)}/protect")

    def request_grant(self, person_ref: str, justification: str) -> dict[str, Any]:
        """Ask for a grant to read a protected person, under this client's purpose and case."""
        return dict(
            self.request(
                "POST", "/v1/grants", json={"person": person_ref, "justification": justification}
            )
        )

    def grants(self, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        data = self.request("GET", "/v1/grants", params={"state": state, "limit": limit})
        return [dict(g) for g in data["items"]]

    def approve_grant(self, grant_id: str) -> dict[str, Any]:
        """Approvers: approve a pending grant request (not your own)."""
        return dict(self.request("POST", f"/v1/grants/{quote(grant_id)}/approve"))

    def deny_grant(self, grant_id: str) -> dict[str, Any]:
        return dict(self.request("POST", f"/v1/grants/{quote(grant_id)}/deny"))

    def alerts(self, **filters: Any) -> dict[str, Any]:
        """Supervisors and auditors: alerts (state, kind, severity, principal, since, after,
        limit); ``state="open"`` is the review queue."""
        params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items()}
        return dict(self.request("GET", "/v1/alerts", params=params))

    def review_alert(self, alert_id: int, action: str, note: str) -> dict[str, Any]:
        """Acknowledge (``"acknowledge"``) with a note, or escalate (``"escalate"``)."""
        return dict(
            self.request(
                "POST",
                f"/v1/alerts/{int(alert_id)}/review",
                json={"action": action, "note": note},
            )
        )


__all__ = ["Client", "Page", "Record"]
