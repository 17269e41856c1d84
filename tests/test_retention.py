"""Retention with an injected clock: expired incidents go, held ones stay, and a month's key
is destroyed only when nothing under it may still be kept (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom.errors import NotFoundError
from strongroom.retention import Holds, RetentionPolicy, holds_metadata, run_retention
from tests._world import PERSON, incident
from tests.conftest import ACTOR, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}
NOW = datetime(2026, 11, 29, tzinfo=UTC)
RULES = RetentionPolicy.from_dict(
    {
        "rule": [
            {"collection": "incident", "categories": ["robbery"], "years": 30},
            {"collection": "incident", "categories": ["*"], "years": 5},
        ]
    }
)


def _incident(vault: Vault, person: str, when: str, category: str, case: str) -> str:
    fields = {**incident(person, case), "received_at": when, "category": category}
    return vault.put("incident", fields, **KW).ref


def test_retention_purges_expired_keeps_held_and_destroys_empty_month_keys(
    vault: Vault,
) -> None:
    p = vault.put("person", PERSON, **KW).ref
    old_fraud = _incident(vault, p, "2015-03-02T10:00:00+08:00", "fraud", "C-OLD")
    old_robbery = _incident(vault, p, "2015-03-09T10:00:00+08:00", "robbery", "C-ROB")
    held_fraud = _incident(vault, p, "2014-06-01T10:00:00+08:00", "fraud", "C-HELD")
    lone_fraud = _incident(vault, p, "2016-01-05T10:00:00+08:00", "fraud", "C-LONE")
    recent = _incident(vault, p, "2024-05-05T10:00:00+08:00", "fraud", "C-NEW")
    vault.update("incident", lone_fraud, {"status": "closed"}, **KW)  # two versions
    holds = Holds.of(vault)
    hold = holds.add("case", "C-HELD", "litigation pending", NOW)

    dry = run_retention(vault, policy=RULES, now=NOW, dry_run=True, **KW)
    assert (dry.purged, dry.held) == (2, 1)
    assert vault.get("incident", old_fraud, **KW).ref == old_fraud  # nothing changed

    report = run_retention(vault, policy=RULES, now=NOW, **KW)
    assert (report.scanned, report.purged, report.held, report.kept) == (5, 2, 1, 3)
    for gone in (old_fraud, lone_fraud):
        with pytest.raises(NotFoundError):
            vault.get("incident", gone, **KW)
    for kept in (old_robbery, held_fraud, recent):
        assert vault.get("incident", kept, **KW).ref == kept
    # 2016-01 held only the purged incident: its key is gone; 2015-03 still holds the
    # robbery, 2014-06 the held fraud, 2024-05 is too recent
    assert report.months_destroyed == ["110000/2016-01"]
    with vault.store.engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM records")).scalar_one()
    assert n == 1 + 3  # the person and three incidents (one version each)

    holds.release(hold.id, NOW)
    again = run_retention(vault, policy=RULES, now=NOW, **KW)
    assert again.purged == 1 and again.months_destroyed == ["110000/2014-06"]
    with pytest.raises(NotFoundError):
        vault.get("incident", held_fraud, **KW)
    vault.audit.sequence()
    ops = [x.json()["detail"].get("op") for x in vault.audit.entries()]
    assert ops.count("retention-purge") == 2 and ops.count("destroy-month-key") == 2


def test_holds_table_matches_its_migration(vault: Vault) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with vault.store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [
            d
            for d in compare_metadata(ctx, holds_metadata)
            if d[0] not in ("remove_table", "remove_index")
        ]
    assert diffs == []


def test_bad_rules_and_holds_are_refused(vault: Vault) -> None:
    from strongroom.errors import ConfigError, ValidationError

    with pytest.raises(ConfigError, match="years"):
        RetentionPolicy.from_dict({"rule": [{"collection": "incident", "categories": ["*"]}]})
    with pytest.raises(ValidationError, match="reason"):
        Holds.of(vault).add("case", "C-1", "", NOW)
    assert RetentionPolicy.load().years_for("incident", "robbery") == 30


def test_hold_reasons_are_sealed(vault: Vault) -> None:
    reason = "王小明 v. the city: litigation pending"
    hold = Holds.of(vault).add("case", "C-9", reason, NOW)
    assert Holds.of(vault).list()[0].reason == reason and hold.reason == reason
    with vault.store.engine.connect() as conn:
        raw = conn.execute(sa.text("SELECT reason FROM legal_holds")).scalar_one()
    assert "王小明" not in raw and "litigation" not in raw
