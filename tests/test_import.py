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
    s = import_file(
        vault,
        "person",
        pf,
        progress=lambda *a: seen.append(a),
        batch_size=100,
        commit_rows=100,
        **KW,
    )
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
        import_file(
            vault, "person", f, batch_size=100, commit_rows=100, progress=stop_after_two, **KW
        )
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


def test_parallel_workers_give_the_same_result(vault: Vault, tmp_path: Path) -> None:
    persons = list(generate_persons(3000, seed=11))
    pf, inf = tmp_path / "p.csv", tmp_path / "i.csv"
    write_persons_csv(persons, pf)
    write_incidents_csv(generate_incidents(2000, persons, seed=11), inf)
    s = import_file(vault, "person", pf, workers=2, batch_size=250, commit_rows=1000, **KW)
    assert (s.accepted, s.rejected, s.workers) == (3000, 0, 2)
    s = import_file(vault, "incident", inf, workers=2, batch_size=250, **KW)
    assert (s.accepted, s.rejected) == (2000, 0)
    for p in persons[::300]:
        [found] = vault.find("person", {"resident_id": p.resident_id}, **KW)
        assert found.fields["phones"]


def test_copied_or_touched_file_is_not_imported_twice(vault: Vault, tmp_path: Path) -> None:
    inf = tmp_path / "i.csv"
    persons = list(generate_persons(50, seed=5))
    write_persons_csv(persons, tmp_path / "p.csv")
    import_file(vault, "person", tmp_path / "p.csv", **KW)
    write_incidents_csv(generate_incidents(60, persons, seed=5), inf)
    assert import_file(vault, "incident", inf, **KW).accepted == 60
    copy = tmp_path / "copy.csv"
    copy.write_bytes(inf.read_bytes())
    again = import_file(vault, "incident", copy, **KW)
    assert again.already_done
    assert _count(vault, records) == 110


def test_strict_stop_leaves_no_empty_rejects_file(vault: Vault, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    _write(f, HEADER, [["李四", "110105194912310021", "", "", "", "", "110000"]])
    with pytest.raises(StrictStop):
        import_file(vault, "person", f, strict=True, **KW)
    assert not (tmp_path / "p.csv.rejects.csv").exists()


_STRICT_WITH_WORKERS = """
import sys
from pathlib import Path
from strongroom import Actor, Purpose, Vault
from strongroom.batch import StrictStop, import_file
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.synth import generate_persons, write_persons_csv

tmp = Path(sys.argv[1])
rows = [p for p in generate_persons(6000, seed=1)]
write_persons_csv(rows, tmp / "p.csv")
lines = (tmp / "p.csv").read_text(encoding="utf-8").splitlines(keepends=True)
lines.insert(3000, "x,110105194912310021,,,,,110000\\r\\n")
(tmp / "p.csv").write_text("".join(lines), encoding="utf-8")
v = Vault.init(tmp / "d", tmp / "k", "a passphrase!", argon2=UNSAFE_FAST_ARGON2)
try:
    import_file(v, "person", tmp / "p.csv", actor=Actor("t"), purpose=Purpose("T"),
                strict=True, workers=2, batch_size=200, commit_rows=200)
except StrictStop as exc:
    print("stopped:", exc)
"""


def test_strict_stop_with_worker_processes_does_not_hang(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _STRICT_WITH_WORKERS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "stopped: line 3001: resident_id" in out.stdout


_INTERRUPTIBLE = """
import sys
from pathlib import Path
from strongroom import Actor, Purpose, Vault
from strongroom.batch import import_file

tmp = Path(sys.argv[1])
with Vault.open(tmp / "d", tmp / "k", "a passphrase!") as v:
    s = import_file(v, "person", tmp / "p.csv", actor=Actor("t"), purpose=Purpose("T"),
                    workers=2, batch_size=500, commit_rows=2000,
                    progress=lambda *a: print("progress", *a, flush=True))
    print("done", s.accepted, s.rejected)
"""


@pytest.mark.slow
def test_ctrl_c_with_workers_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2

    write_persons_csv(generate_persons(40000, seed=4), tmp_path / "p.csv")
    Vault.init(tmp_path / "d", tmp_path / "k", "a passphrase!", argon2=UNSAFE_FAST_ARGON2).close()
    cmd = [sys.executable, "-c", _INTERRUPTIBLE, str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:  # wait for the first committed group, then interrupt
        if line.startswith("progress"):
            break
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "KeyboardInterrupt" in err
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
    assert "done 40000 0" in done.stdout
    with Vault.open(tmp_path / "d", tmp_path / "k", "a passphrase!") as v:
        assert v.counts() == {"person": 40000}
