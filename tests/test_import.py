"""Bulk import: CSV and JSON Lines, rejects, strict mode, resume after interruption."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from strongroom import Vault
from strongroom.batch import import_file
from strongroom.batch._import import StrictStop
from strongroom.store import blind_index, imports, records
from strongroom.synth import (
    generate_incidents,
    generate_persons,
    write_incidents_csv,
    write_incidents_jsonl,
    write_persons_csv,
    write_persons_jsonl,
)
from tests.conftest import ACTOR, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


def _count(v: Vault, table: sa.Table) -> int:
    with v.store.engine.connect() as c:
        return int(c.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_import_persons_and_incidents(vault: Vault, tmp_path: Path, fmt: str) -> None:
    persons = list(generate_persons(300, seed=3))
    pf, inf = tmp_path / f"p.{fmt}", tmp_path / f"i.{fmt}"
    (write_persons_csv if fmt == "csv" else write_persons_jsonl)(persons, pf)
    incs = list(generate_incidents(400, persons, seed=3))
    (write_incidents_csv if fmt == "csv" else write_incidents_jsonl)(incs, inf)
    seen: list[tuple[int, int, int]] = []
    s = import_file(vault, "person", pf, progress=lambda *a: seen.append(a), batch_size=100, **KW)
    assert (s.accepted, s.rejected) == (300, 0)
    assert seen[-1][0] == pf.stat().st_size and len(seen) == 3
    s2 = import_file(vault, "incident", inf, **KW)
    assert (s2.accepted, s2.rejected) == (400, 0)
    p = persons[5]
    found = vault.find("person", {"resident_id": p.resident_id}, **KW)
    assert len(found) == 1 and found[0].fields["name"] == p.name
    mine = [i for i in incs if any(rid == p.resident_id for rid, _ in i.parties)]
    assert len(vault.incidents_of(found[0].ref, **KW)) == len(mine)
    again = import_file(vault, "person", pf, **KW)
    assert again.already_done and _count(vault, records) == 700


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


HEADER = ["name", "resident_id", "phones", "date_of_birth", "place_of_birth", "sex", "region"]
GOOD = ["张三", "11010519491231002X", "13812345678", "1949-12-31", "北京", "F", "110000"]


def test_bad_rows_go_to_rejects_and_leave_nothing(vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    rows = [
        GOOD,
        ["李四", "110105194912310021", "", "", "", "", "110000"],  # check char
        ["王五", "440524188001010014", "12", "", "", "", "110000"],  # phone
        ["赵六", "440524188001010014", "", "", "", "", ""],  # region missing
        ["钱七", "11010519491231002X", "", "", "", "", "110000"],  # duplicate of line 2
        ["孙八", "440524188001010014", "", "", "", "", "110000"],
        ["too", "few"],
    ]
    _write(f, HEADER, rows)
    s = import_file(vault, "person", f, **KW)
    assert (s.accepted, s.rejected) == (2, 5)
    with (tmp_path / "p.csv.rejects.csv").open(encoding="utf-8") as fh:
        rejects = list(csv.DictReader(fh))
    got = {(r["line"], r["field"]) for r in rejects}
    assert got == {
        ("3", "resident_id"),
        ("4", "phones[0]"),
        ("5", "region"),
        ("6", "resident_id"),
        ("8", "row"),
    }
    text = (tmp_path / "p.csv.rejects.csv").read_text(encoding="utf-8")
    assert "110105194912310021" not in text and "李四" not in text
    assert _count(vault, records) == 2
    assert _count(vault, blind_index) == 4 + 2  # id, name, name+dob, phone; id, name


def test_strict_stops_at_first_bad_row_and_writes_nothing_of_it(
    vault: Vault, tmp_path: Path
) -> None:
    f = tmp_path / "p.csv"
    _write(f, HEADER, [GOOD, ["李四", "110105194912310021", "", "", "", "", "110000"]])
    with pytest.raises(StrictStop, match="line 3: resident_id"):
        import_file(vault, "person", f, strict=True, **KW)
    assert _count(vault, records) == 0


def test_interrupted_import_resumes_without_duplicates(vault: Vault, tmp_path: Path) -> None:
    persons = list(generate_persons(500, seed=9))
    f = tmp_path / "p.csv"
    write_persons_csv(persons, f)

    class Interrupt(Exception):
        pass

    def stop_after_two(done: int, acc: int, rej: int) -> None:
        if acc >= 200:
            raise Interrupt

    with pytest.raises(Interrupt):
        import_file(vault, "person", f, batch_size=100, progress=stop_after_two, **KW)
    assert _count(vault, records) == 200
    s = import_file(vault, "person", f, batch_size=100, **KW)
    assert s.resumed_from_line > 1
    assert (s.accepted, s.rejected) == (500, 0)
    assert _count(vault, records) == 500
    with vault.store.engine.connect() as c:
        assert c.execute(sa.select(imports.c.status)).scalar_one() == "done"
    for p in persons[::50]:
        assert len(vault.find("person", {"resident_id": p.resident_id}, **KW)) == 1


def test_incident_naming_unknown_person_is_rejected(vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "i.csv"
    _write(
        f,
        [
            "received_at",
            "channel",
            "category",
            "location",
            "narrative",
            "parties",
            "case_ref",
            "status",
            "region",
        ],
        [
            [
                "2020-01-01T00:00:00+08:00",
                "call",
                "fraud",
                "x",
                "y",
                "11010519491231002X:victim",
                "A-1",
                "open",
                "110000",
            ]
        ],
    )
    s = import_file(vault, "incident", f, **KW)
    assert (s.accepted, s.rejected) == (0, 1)
    text = (tmp_path / "i.csv.rejects.csv").read_text(encoding="utf-8")
    assert "parties[0].person" in text and "no person with this resident ID" in text
