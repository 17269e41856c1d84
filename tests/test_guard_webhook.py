"""Alerts reach the configured webhook (a real HTTP server on a loopback port), with retries
when it fails, and are written to the log without personal data."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from strongroom import Vault
from strongroom.guard import Guard, GuardConfig, WebhookSender


class Hook:
    """A webhook receiver that fails its first ``failures`` requests with 503."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.attempts += 1
                if hook.attempts <= hook.failures:
                    self.send_response(503)
                else:
                    hook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook(failures=2)
    yield h
    h.close()


def test_alerts_are_delivered_with_retries(
    vault: Vault, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    guard = Guard(vault, GuardConfig.from_table({"webhook_url": hook.url}))
    sender = WebhookSender(guard.alerts, hook.url, attempts=5, poll=0.05)
    sender.start()
    try:
        with caplog.at_level(logging.WARNING, logger="strongroom.guard"):
            alert = guard.alerts.raise_alert(
                "honeytoken", "high", "ct-9", "ct-9 touched a honeytoken record", {"records": []}
            )
        deadline = time.monotonic() + 10
        while not hook.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sender.stop()
    assert hook.attempts == 3  # two failures, then delivered (backing off 1 s, then 2 s)
    assert [r["alert"]["id"] for r in hook.received] == [alert.id]
    assert hook.received[0]["alert"]["kind"] == "honeytoken"
    assert guard.alerts.get(alert.id).delivered
    assert any(f"alert {alert.id} honeytoken" in r.getMessage() for r in caplog.records)


def test_an_unreachable_webhook_gives_up_after_the_attempts(vault: Vault) -> None:
    guard = Guard(vault)
    sender = WebhookSender(guard.alerts, "http://127.0.0.1:9/nowhere", attempts=2, timeout=0.5)
    alert = guard.alerts.raise_alert("quota", "high", "ct-1", "quota", {})
    import httpx

    with httpx.Client() as client:
        assert sender.send_due(client) == 0
        time.sleep(1.05)  # the second try is due after a second
        assert sender.send_due(client) == 0
        time.sleep(2.1)
        assert sender.send_due(client) == 0  # no third try
    assert not guard.alerts.get(alert.id).delivered
