"""Errors as RFC 9457 problem details: every error class has one status and one type URI.

The body names the Strongroom error class (``code``) so that the SDK raises the same class,
and, for validation errors, each failing field and the reason — never the value given.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from strongroom.auth import AuthenticationError, JwksUnavailableError, RateLimitedError
from strongroom.errors import (
    AccessError,
    ConflictError,
    NotFoundError,
    OpenError,
    StoreError,
    StrongroomError,
    ValidationError,
)
from strongroom.guard import QuotaExceededError
from strongroom.policy import DeniedError, PolicyError

log = logging.getLogger("strongroom.api")

PROBLEM_JSON: Final = "application/problem+json"
TYPE_BASE: Final = "urn:strongroom:problem:"

#: error class -> (HTTP status, type slug, title); the most specific class is listed first
STATUS: Final[list[tuple[type[StrongroomError], int, str, str]]] = [
    (ConflictError, 409, "conflict", "A unique value is already held"),
    (ValidationError, 422, "validation", "The request is not valid"),
    (DeniedError, 403, "denied", "Policy does not allow this access"),
    (PolicyError, 400, "purpose", "The request's purpose or case is not acceptable"),
    (AccessError, 400, "purpose", "The request's purpose or case is not acceptable"),
    (RateLimitedError, 429, "rate-limited", "Too many failed authentications"),
    (QuotaExceededError, 429, "quota", "A quota is spent"),
    (AuthenticationError, 401, "unauthenticated", "Authentication is required"),
    (JwksUnavailableError, 503, "unavailable", "The identity provider's keys are unavailable"),
    (NotFoundError, 404, "not-found", "No such record"),
    (StoreError, 503, "unavailable", "The store is unavailable"),
    (OpenError, 500, "internal", "Internal error"),
]


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    code: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _for_error(exc: StrongroomError) -> JSONResponse:
    status, slug, title = next(
        ((st, sl, ti) for cls, st, sl, ti in STATUS if isinstance(exc, cls)),
        (500, "internal", "Internal error"),
    )
    headers: dict[str, str] = {}
    errors: list[dict[str, str]] = []
    detail = exc.diagnostics()
    if isinstance(exc, ValidationError):
        errors = [{"field": e.field, "reason": e.reason} for e in exc.errors]
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="strongroom"'
        detail = "a valid bearer token is required"
    if isinstance(exc, RateLimitedError | QuotaExceededError):
        headers["Retry-After"] = str(exc.retry_after)
    if status >= 500:
        log.error("request failed: %s", type(exc).__name__)
        detail = "the request could not be completed"
    extra = {"quota": exc.quota} if isinstance(exc, QuotaExceededError) else {}
    return problem(status, slug, title, detail, type(exc).__name__, errors, headers, **extra)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    out = ""
    for p in parts:
        if p.isdigit():
            out += f"[{p}]"
        else:
            out += ("." if out else "") + p
    return out or "body"


def _reason(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if kind == "json_invalid":
        return "not valid JSON (or not UTF-8)"
    # pydantic messages describe the expectation, not the input (the input is not echoed)
    return str(err.get("msg", "is not valid"))


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(StrongroomError)
    async def _strongroom(_request: Request, exc: StrongroomError) -> JSONResponse:
        return _for_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _loc(e.get("loc", ())), "reason": _reason(e)} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors[:10])
        return problem(
            422, "validation", "The request is not valid", detail, "ValidationError", errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            errors = [{"field": "body", "reason": "not valid JSON (or not UTF-8)"}]
            return problem(
                422,
                "validation",
                "The request is not valid",
                "body: not valid JSON (or not UTF-8)",
                "ValidationError",
                errors,
            )
        slug = {404: "not-found", 405: "method-not-allowed", 413: "too-large"}.get(
            exc.status_code, "http"
        )
        code = "NotFoundError" if exc.status_code == 404 else "HTTPError"
        return problem(
            exc.status_code,
            slug,
            str(exc.detail),
            str(exc.detail),
            code,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        # never the message: it could quote a value
        log.error("unexpected %s while serving a request", type(exc).__name__)
        return problem(
            500,
            "internal",
            "Internal error",
            "the request could not be completed",
            "StrongroomError",
        )
