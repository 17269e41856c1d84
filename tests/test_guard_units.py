"""The guard's parts on a real vault (SQLite and PostgreSQL): settings, quota counters,
alerts and their review, protected persons and grants, honeytoken marks."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom._ids import id_of
from strongroom.config import CONFIG_NAME, VaultConfig, toml_tables
from strongroom.errors import ConfigError, ConflictError, NotFoundError, ValidationError
from strongroom.guard import (
    Guard,
    GuardConfig,
    QuotaExceededError,
    Usage,
)
from strongroom.guard._quota import DAY, HOUR
from tests._world import PERSON
from tests.conftest import ACTOR, PURPOSE

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- settings ---------------------------------------------------------------------------------
def test_defaults_without_a_guard_table() -> None:
    g = GuardConfig.from_table(None)
    assert g.enabled and g.suspend_on_honeytoken
    assert g.limits("ct-1", "call_taker")["released_per_minute"] == 20
    assert g.limits("adm", "admin") == {}


def test_role_quotas_and_principal_overrides() -> None:
    g = GuardConfig.from_table(
        {
            "quotas": {"call_taker": {"released_per_minute": 5}},
            "principals": {"ct-7": {"released_per_day": 9}},
        }
    )
    assert g.limits("ct-1", "call_taker")["released_per_minute"] == 5
    assert g.limits("ct-1", "call_taker")["released_per_hour"] == 150  # default kept
    assert g.limits("ct-7", "call_taker")["released_per_day"] == 9


@pytest.mark.parametrize(
    ("table", "named"),
    [
        ({"enable": True}, "enable"),
        ({"enabled": "yes"}, "enabled"),
        ({"grant_minutes": 0}, "grant_minutes"),
        ({"quotas": {"call_taker": {"released_per_week": 1}}}, "released_per_week"),
        ({"quotas": {"call_taker": {"released_per_minute": -1}}}, "released_per_minute"),
        ({"honeytoken_phones": ["17000000000", "18000000000"]}, "honeytoken_phones"),
        ({"webhook_url": "ftp://x"}, "webhook_url"),
        ({"detectors": {"working_hours": [7]}}, "working_hours"),
        ({"detectors": {"nope": 1}}, "nope"),
    ],
)
def test_bad_settings_name_the_setting(table: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        GuardConfig.from_table(table)


def test_guard_table_survives_a_rewrite_of_vault_toml(tmp_path: Path) -> None:
    guard = {
        "suspend_on_honeytoken": False,
        "quotas": {"call_taker": {"released_per_minute": 3}},
        "principals": {"ct.9": {"misses_per_hour": 2}},
    }
    VaultConfig("sqlite:///a", "sqlite:///b", "root1", guard=guard).write(tmp_path)
    assert VaultConfig.read(tmp_path).guard == guard
    VaultConfig.switch_root_key(tmp_path, "root1", "root2")
    assert VaultConfig.read(tmp_path).guard == guard
    assert tomllib.loads(toml_tables("guard", guard))["guard"] == guard


def test_a_wrong_guard_table_is_refused_when_the_vault_opens(tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text(
        'format = "strongroom-vault"\nversion = 1\ndatabase_url = "a"\nkeystore_url = "b"\n'
        'root_key_id = "r"\n[guard]\nquotas = 3\n'
    )
    with pytest.raises(ConfigError, match=r"\[guard.quotas\]"):
        VaultConfig.read(tmp_path)


# -- quotas ---------------------------------------------------------------------------------
def _guard(vault: Vault, clock: Clock, **table: Any) -> Guard:
    return Guard(vault, GuardConfig.from_table(table), clock=clock)


def test_quota_counts_and_refuses_and_the_refusal_rolls_back(vault: Vault) -> None:
    clock = Clock()
    g = _guard(vault, clock, quotas={"call_taker": {"released_per_minute": 3}})
    for _ in range(3):
        with g.engine.begin() as conn:
            g.admit(conn, "ct-1", "call_taker", Usage(released=1))
    with pytest.raises(QuotaExceededError) as err, g.engine.begin() as conn:
        g.admit(conn, "ct-1", "call_taker", Usage(released=1))
    assert err.value.quota == "released_per_minute" and err.value.limit == 3
    assert 1 <= err.value.retry_after <= 60
    # at the limit: nothing more, not even a request that releases nothing (a missed search)
    with pytest.raises(QuotaExceededError), g.engine.begin() as conn:
        g.admit(conn, "ct-1", "call_taker", Usage(miss=True))
    with g.engine.begin() as conn:  # per principal
        g.admit(conn, "ct-2", "call_taker", Usage(miss=True))
    clock.now += timedelta(minutes=1)
    with g.engine.begin() as conn:  # a new window
        g.admit(conn, "ct-1", "call_taker", Usage(miss=True))
    with g.engine.begin() as conn:
        g.admit(conn, "ct-1", "call_taker", Usage(released=3))


def test_counters_are_shared_through_the_database(vault: Vault) -> None:
    clock = Clock()
    table = {"quotas": {"call_taker": {"released_per_hour": 4}}}
    a, b = _guard(vault, clock, **table), _guard(vault, clock, **table)
    with a.engine.begin() as conn:
        a.admit(conn, "ct-1", "call_taker", Usage(released=2))
    with b.engine.begin() as conn:
        b.admit(conn, "ct-1", "call_taker", Usage(released=2))
    with pytest.raises(QuotaExceededError, match="released_per_hour"), a.engine.begin() as conn:
        a.admit(conn, "ct-1", "call_taker", Usage(released=1))


def test_distinct_subjects_and_misses(vault: Vault) -> None:
    clock = Clock()
    g = _guard(vault, clock, quotas={"call_taker": {"subjects_per_day": 2, "misses_per_hour": 2}})
    s1, s2, s3 = b"1" * 32, b"2" * 32, b"3" * 32
    for subjects in ([s1], [s1, s2], [s2]):  # the same subjects again do not count
        with g.engine.begin() as conn:
            g.admit(conn, "ct-1", "call_taker", Usage(released=1, subjects=subjects))
    with pytest.raises(QuotaExceededError, match="subjects_per_day"), g.engine.begin() as conn:
        g.admit(conn, "ct-1", "call_taker", Usage(released=1, subjects=[s3]))
    for _ in range(2):
        with g.engine.begin() as conn:
            g.admit(conn, "ct-1", "call_taker", Usage(miss=True))
    with pytest.raises(QuotaExceededError, match="misses_per_hour"), g.engine.begin() as conn:
        g.admit(conn, "ct-1", "call_taker", Usage(miss=True))


def test_day_windows_start_at_local_midnight(vault: Vault) -> None:
    g = _guard(vault, Clock())
    # 16:00 UTC is 00:00 the next day at UTC+8
    start = int(datetime(2026, 11, 30, 16, 0, tzinfo=UTC).timestamp() * 1000)
    assert g.quotas.window(start, DAY) == start
    assert g.quotas.window(start - 1, DAY) == start - DAY
    assert g.quotas.window(start + 5, HOUR) == start


def test_roles_without_quotas_and_a_disabled_guard_count_nothing(vault: Vault) -> None:
    g = _guard(vault, Clock(), enabled=False)
    with g.engine.begin() as conn:
        for _ in range(100):
            g.admit(conn, "ct-1", "call_taker", Usage(released=10))
    g = _guard(vault, Clock())
    with g.engine.begin() as conn:
        g.admit(conn, "an-1", "analyst", Usage(released=10_000))


# -- alerts ---------------------------------------------------------------------------------
def test_alerts_are_stored_filtered_and_reviewed(vault: Vault) -> None:
    clock = Clock()
    g = _guard(vault, clock)
    a = g.alerts.raise_alert("quota", "high", "ct-1", "quota exceeded", {"requests": ["r1"]})
    g.alerts.raise_alert("off_hours", "low", "inv-1", "access at 03:00", {"entries": [4]})
    assert [x.id for x in g.alerts.list(state="open")] == [a.id, a.id + 1]
    assert [x.kind for x in g.alerts.list(severity="high")] == ["quota"]
    assert [x.principal for x in g.alerts.list(principal="inv-1")] == ["inv-1"]
    with pytest.raises(ValidationError, match="note"):
        g.alerts.review(a.id, "acknowledge", " ", "sup-1")
    with pytest.raises(ValidationError, match="someone else"):
        g.alerts.review(a.id, "acknowledge", "fine", "ct-1")
    with pytest.raises(ValidationError, match="action"):
        g.alerts.review(a.id, "ignore", "fine", "sup-1")
    done = g.alerts.review(a.id, "acknowledge", "spoke to 王小明's officer", "sup-1")
    assert done.state == "acknowledged" and done.reviewed_by == "sup-1"
    assert g.alerts.note_of(a.id) == "spoke to 王小明's officer"
    assert g.alerts.review(a.id, "escalate", "again", "aud-1").state == "escalated"
    with pytest.raises(ValidationError, match="already"):
        g.alerts.review(a.id, "acknowledge", "x", "sup-1")
    with pytest.raises(NotFoundError):
        g.alerts.get(10_000)
    with pytest.raises(ValidationError, match="state"):
        g.alerts.list(state="closed")


def test_one_quota_alert_per_principal_quota_and_window(vault: Vault) -> None:
    g = _guard(vault, Clock())
    exc = QuotaExceededError("released_per_minute", 20, 30)
    first = g.refused("ct-1", exc, "r1")
    assert g.refused("ct-1", exc, "r2").id == first.id
    assert g.refused("ct-2", exc, "r3").id != first.id
    assert first.severity == "high" and first.evidence["quota"] == "released_per_minute"


# -- protected persons and grants -------------------------------------------------------------
def test_protection_and_grants(vault: Vault) -> None:
    clock = Clock()
    g = _guard(vault, clock, grant_minutes=30)
    p = vault.put("person", PERSON, actor=ACTOR, purpose=PURPOSE)
    rid = id_of(p.ref)
    assert g.protection_of("inv-1", [rid], "CASE", "C-1").blocked == frozenset()
    with pytest.raises(ValidationError, match="not protected"):
        g.protection.request("inv-1", rid, "CASE", "C-1", "need it")
    with pytest.raises(ValidationError, match="category"):
        g.protection.mark(rid, "celebrity", "x", "sup-1")
    g.protection.mark(rid, "witness", "witness in 王 case", "sup-1")
    with pytest.raises(ConflictError):
        g.protection.mark(rid, "witness", "again", "sup-1")
    assert g.protection_of("inv-1", [rid], "CASE", "C-1").blocked == {rid}
    req = g.protection.request("inv-1", rid, "CASE", "C-1", "interview planned")
    assert req.state == "pending"
    assert g.protection_of("inv-1", [rid], "CASE", "C-1").blocked == {rid}
    with pytest.raises(ValidationError, match="second principal"):
        g.protection.decide(req.id, "inv-1", approve=True, minutes=30)
    ok = g.protection.decide(req.id, "apr-1", approve=True, minutes=30)
    assert ok.state == "approved" and ok.expires_at == T0 + timedelta(minutes=30)
    with pytest.raises(ValidationError, match="already"):
        g.protection.decide(req.id, "apr-2", approve=False, minutes=30)
    got = g.protection_of("inv-1", [rid], "CASE", "C-1")
    assert got.blocked == frozenset() and got.granted == {rid: req.id}
    # the grant covers that principal, purpose and case only
    assert g.protection_of("inv-2", [rid], "CASE", "C-1").blocked == {rid}
    assert g.protection_of("inv-1", [rid], "CALL", None).blocked == {rid}
    assert g.protection_of("inv-1", [rid], "CASE", "C-2").blocked == {rid}
    clock.now += timedelta(minutes=30)
    assert g.protection_of("inv-1", [rid], "CASE", "C-1").blocked == {rid}  # expired
    assert ok.to_json(clock.now)["state"] == "expired"
    g.protection.unmark(rid)
    assert g.protection_of("inv-2", [rid], "CASE", "C-1").blocked == frozenset()
    with pytest.raises(NotFoundError):
        g.protection.unmark(rid)


# -- honeytokens ------------------------------------------------------------------------------
def test_marks_are_keyed_and_held_in_the_key_store(vault: Vault) -> None:
    g = _guard(vault, Clock())
    p = vault.put("person", PERSON, actor=ACTOR, purpose=PURPOSE)
    rid = id_of(p.ref)
    with g.honeytokens.engine.begin() as conn:
        g.honeytokens.register(
            [("record", rid), ("resident_id", PERSON["resident_id"]), ("phone", "+8617000000001")],
            conn,
        )
    assert g.honeytokens.canaries([rid, b"\x00" * 16]) == [rid]
    assert g.honeytokens.known("resident_id", [PERSON["resident_id"], "110105194912310010"]) == [
        PERSON["resident_id"]
    ]
    assert g.honeytokens.known("phone", ["+8617000000001"]) == ["+8617000000001"]
    # not in the record database at all; in the key store only as MACs
    records_engine, keys_engine = vault.engines()
    assert "honeytoken_marks" not in sa.inspect(records_engine).get_table_names()
    with keys_engine.connect() as conn:
        marks = [bytes(r[0]) for r in conn.exec_driver_sql("SELECT mark FROM honeytoken_marks")]
    assert rid not in marks and len(marks) == 3 and all(len(m) == 32 for m in marks)
