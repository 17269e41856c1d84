"""Rotation and rekey while the API serves: every concurrent request through the SDK succeeds
and no write is lost (real uvicorn on loopback; SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from strongroom import Client, Vault
from strongroom.api import create_app
from strongroom.batch._rekey import rekey, rotate, status
from strongroom.guard import QUOTAS
from tests._server import serving
from tests._world import CASE, World, build_world, incident
from tests.conftest import ACTOR, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


@pytest.fixture
def world(vault: Vault) -> World:
    # the traffic is a load generator, which quotas exist to stop: the investigator gets
    # overrides far above it (the guard still counts every release)
    unlimited = dict.fromkeys(QUOTAS, 10**12)
    vault.config = dataclasses.replace(vault.config, guard={"principals": {
        "investigator-1": unlimited}})  # fmt: skip
    return build_world(vault)


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with serving(create_app(world.service)) as base:
        yield base


def test_rekey_while_serving_loses_nothing(url: str, world: World, vault: Vault) -> None:
    errors: list[BaseException] = []
    made: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        try:
            with Client(url, world.tokens["investigator"], purpose="CASE", case_ref=CASE) as sr:
                n = 0
                while not stop.is_set() or n < 10:
                    assert sr.get_person(world.person).ref == world.person
                    made.append(sr.create_incident(incident(world.person)).ref)
                    sr.update_incident(made[-1], {"status": "closed"})
                    n += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=traffic) for _ in range(2)]
    for t in threads:
        t.start()
    rotate(vault, **KW)
    summary = rekey(vault, batch_size=10, **KW)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    rekey(vault, _settle=0.0, **KW)  # keys a writer made before it saw the new version
    older = [row for row in status(vault) if row["state"] != "active"]
    assert older and all(row["data_keys"] == 0 for row in older)
    with Client(url, world.tokens["investigator"], purpose="CASE", case_ref=CASE) as sr:
        for ref in made:
            got = sr.get_incident(ref)
            assert got.version == 2 and got.fields["status"] == "closed"
    assert summary is not None and vault.audit.verify().ok
