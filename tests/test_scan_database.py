"""`strongroom scan --db`: text columns of every table, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from strongroom.cli._app import app
from strongroom.scan._database import read_database
from tests._pg import Cluster

runner = CliRunner()
IDS = ["11010519491231002X", "110105194912310038", "110105194912310046"]
PHONE = "13812345678"


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR(40), rid TEXT, "
                "age INTEGER)"
            )
        )
        for i, rid in enumerate(IDS, start=1):
            conn.execute(
                sa.text("INSERT INTO people VALUES (:i, :n, :r, 40)"),
                {"i": 10 * i, "n": "王小明", "r": rid},
            )
        conn.execute(sa.text("CREATE TABLE calls (phone TEXT, at INTEGER)"))
        conn.execute(sa.text("INSERT INTO calls VALUES (:p, 1), ('nothing', 2)"), {"p": PHONE})
        conn.execute(sa.text("CREATE TABLE counts (n INTEGER)"))  # no text column
    engine.dispose()


def _scan_db(url: str, *extra: str) -> dict[str, object]:
    result = runner.invoke(app, ["scan", "--db", url, "--json", *extra])
    assert result.exit_code == 0, result.output
    doc: dict[str, object] = json.loads(result.stdout)
    return doc


def _check(doc: dict[str, object]) -> None:
    findings = doc["findings"]
    assert isinstance(findings, list)
    at = {(f["kind"], f["target"], f["row_key"]) for f in findings}
    assert {("resident_id", "people.rid", str(10 * i)) for i in (1, 2, 3)} <= at
    assert ("name", "people.name", "10") in at  # a name column
    assert ("mobile", "calls.phone", "1") in at  # no primary key: the row's ordinal
    assert doc["tables"] == 2
    text = json.dumps(doc, ensure_ascii=False)
    assert all(rid not in text for rid in IDS) and PHONE not in text


def test_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    _fill(f"sqlite:///{path}")
    before = path.read_bytes()
    doc = _scan_db(f"sqlite:///{path}")
    _check(doc)
    assert path.read_bytes() == before  # opened read-only
    sampled = _scan_db(f"sqlite:///{path}", "--sample", "1")
    findings = sampled["findings"]
    assert isinstance(findings, list)
    assert {f["row_key"] for f in findings if f["target"] == "people.rid"} == {"10"}


@pytest.mark.postgres
def test_postgresql_database(pg_cluster: Cluster) -> None:
    url = pg_cluster.create_db("scan_source")
    _fill(url)
    _check(_scan_db(url.replace("+psycopg", "")))
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE SCHEMA crm"))
        conn.execute(sa.text("CREATE TABLE crm.contacts (code TEXT PRIMARY KEY, tel TEXT)"))
        conn.execute(sa.text("INSERT INTO crm.contacts VALUES ('c-1', :p)"), {"p": PHONE})
    engine.dispose()
    doc = _scan_db(url, "--sample", "2")
    findings = doc["findings"]
    assert isinstance(findings, list)
    assert ("crm.contacts.tel", "c-1") in {(f["target"], f["row_key"]) for f in findings}
    assert len([f for f in findings if f["target"] == "people.rid"]) == 2


def test_bad_dsn_and_options_name_the_option(tmp_path: Path) -> None:
    for args, option in [
        (["--db", "not a url"], "--db"),
        (["--db", "mysql://u@h/db"], "--db"),
        (["--db", f"sqlite:///{tmp_path / 'missing.db'}"], "--db"),
        ([str(tmp_path), "--sample", "5"], "--sample"),
        ([], "paths"),
    ]:
        result = runner.invoke(app, ["scan", *args])
        assert result.exit_code == 2, (args, result.output)
        assert option in result.output, (args, result.output)
    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
    conn.close()
    tables = [name for name, rows in read_database(f"sqlite:///{tmp_path / 'x.db'}")]
    assert tables == ["t"]
