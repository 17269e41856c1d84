"""Quota counters live in the database: two ``strongroom serve`` processes on one vault share
them, and a restarted server still refuses a principal whose quota is spent."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from strongroom import Client, Vault
from strongroom.api import TOKEN_HASH_KEY
from strongroom.auth import PrincipalStore, TokenStore
from strongroom.config import VaultConfig
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.guard import QuotaExceededError
from strongroom.synth import generate_persons
from tests._server import free_port
from tests._world import REGION
from tests.conftest import ACTOR, PASSPHRASE, PURPOSE
from tests.test_cli_serve import EXE, _env, _wait

pytestmark = pytest.mark.slow

LIMIT = 6


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[Path, Path, str, list[str]]:
    data, keys = tmp_path / "data", tmp_path / "keys"
    with Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2) as v:
        engine = v.engines()[0]
        principals = PrincipalStore(engine)
        principals.add("admin", roles=["admin"])
        principals.add("ct-1", roles=["call_taker"], home_region=REGION)
        token, _ = TokenStore(engine, v.keyring.service_key(TOKEN_HASH_KEY)).issue(
            "ct-1", "t", timedelta(days=1)
        )
        refs = [
            v.put(
                "person",
                {
                    "name": p.name,
                    "resident_id": p.resident_id,
                    "date_of_birth": p.date_of_birth,
                    "sex": p.sex,
                    "region": REGION,
                },
                actor=ACTOR,
                purpose=PURPOSE,
            ).ref
            for p in generate_persons(LIMIT + 2, seed=5)
        ]
        config = VaultConfig.read(data)
    guard = {"principals": {"ct-1": {"released_per_day": LIMIT}}}
    dataclasses.replace(config, guard=guard).write(data)
    return data, keys, token, refs


class Server:
    def __init__(self, data: Path, keys: Path) -> None:
        self.data, self.keys = data, keys
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> Server:
        port = free_port()
        self.proc = subprocess.Popen(
            [EXE, "serve", "--port", str(port)],
            env=_env(self.data, self.keys),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        _wait(self.url, self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.communicate(timeout=30)
            self.proc = None


@pytest.fixture
def servers(guarded: tuple[Path, Path, str, list[str]]) -> Iterator[tuple[Server, Server]]:
    data, keys, _token, _refs = guarded
    a, b = Server(data, keys).start(), Server(data, keys).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_counters_are_shared_by_processes_and_survive_a_restart(
    guarded: tuple[Path, Path, str, list[str]], servers: tuple[Server, Server]
) -> None:
    _data, _keys, token, refs = guarded
    a, b = servers
    with (
        Client(a.url, token, purpose="CALL") as via_a,
        Client(b.url, token, purpose="CALL") as via_b,
    ):
        for i, ref in enumerate(refs[:LIMIT]):  # half through each process
            (via_a if i % 2 else via_b).get_person(ref)
        for client in (via_a, via_b):
            with pytest.raises(QuotaExceededError) as err:
                client.get_person(refs[LIMIT])
            assert err.value.quota == "released_per_day"
    a.stop()
    a.start()
    with Client(a.url, token, purpose="CALL") as again, pytest.raises(QuotaExceededError):
        again.get_person(refs[LIMIT + 1])
