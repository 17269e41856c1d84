"""ASGI middleware: request body size limit, a last-resort error guard, and metrics.

The guard sits outside FastAPI's handlers, so an unexpected exception becomes a 500 problem
here and never reaches the server's traceback logger (a traceback could quote a value).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("strongroom.api")

#: the largest request body accepted (a person or incident is far smaller)
MAX_BODY_BYTES: Final = 64 * 1024


class _TooLarge(Exception):
    pass


def _problem_bytes(status: int, slug: str, title: str, detail: str, code: str) -> bytes:
    return json.dumps(
        {
            "type": "urn:strongroom:problem:" + slug,
            "title": title,
            "status": status,
            "detail": detail,
            "code": code,
            "errors": [],
        }
    ).encode()


class Metrics:
    """Prometheus metrics of one app (its own registry: no personal data, no ids)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "strongroom_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "strongroom_http_request_seconds",
            "HTTP request latency by route template",
            ["route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )


class Guard:
    """Body limit, error guard and request metrics around the app."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        status = 500
        t0 = time.perf_counter()
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                too_big = True
            if too_big:
                await self._send_problem(
                    send,
                    413,
                    "too-large",
                    "Request body too large",
                    f"the body may be at most {self.max_body} bytes",
                )
                self._count(scope, 413, t0)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _TooLarge
            return message

        async def watch(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, limited, watch)
        except _TooLarge:
            if not started:
                await self._send_problem(
                    send,
                    413,
                    "too-large",
                    "Request body too large",
                    f"the body may be at most {self.max_body} bytes",
                )
                status = 413
        except Exception as exc:  # the last resort: never a traceback with values in it
            log.error("unexpected %s while serving a request", type(exc).__name__)
            if not started:
                await self._send_problem(
                    send, 500, "internal", "Internal error", "the request could not be completed"
                )
            status = 500
        self._count(scope, status, t0)

    def _count(self, scope: Scope, status: int, t0: float) -> None:
        route: Any = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        self.metrics.requests.labels(template, scope.get("method", ""), str(status)).inc()
        self.metrics.latency.labels(template).observe(time.perf_counter() - t0)

    @staticmethod
    async def _send_problem(send: Send, status: int, slug: str, title: str, detail: str) -> None:
        code = "ValidationError" if status == 413 else "StrongroomError"
        body = _problem_bytes(status, slug, title, detail, code)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
