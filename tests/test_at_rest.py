"""Nothing in plaintext at rest: search every file the vault's databases wrote."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from strongroom import Vault
from strongroom.batch import import_file
from strongroom.synth import (
    generate_incidents,
    generate_persons,
    write_incidents_csv,
    write_persons_csv,
)
from tests.conftest import ACTOR, PURPOSE

KW: dict[str, Any] = {"actor": ACTOR, "purpose": PURPOSE}


def _needles(persons: list[Any]) -> set[bytes]:
    out: set[bytes] = set()
    for p in persons:
        out.add(p.name.encode())
        out.add(p.resident_id.encode())
        for ph in p.phones:
            digits = "".join(c for c in ph if c.isdigit())[-11:]
            out.add(digits.encode())
            out.add(("+86" + digits).encode())
    return out


def _files(root: Path) -> list[Path]:
    return [Path(d) / f for d, _, fs in os.walk(root) for f in fs]


def _hits(roots: list[Path], needles: set[bytes]) -> list[str]:
    """Every (file, needle) hit (needles abbreviated in output). Hyperscan matches all needles
    in one pass per file at memory speed: the PostgreSQL data directory holds every database
    the test session made, hundreds of MB, which a regex alternation crawls through."""
    import hyperscan

    ordered = sorted(needles)
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[re.escape(n) for n in ordered],
        ids=list(range(len(ordered))),
        flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(ordered),
    )
    hits: list[str] = []

    def on_match(i: int, _start: int, _end: int, _flags: int, found: list[int]) -> None:
        found.append(i)

    for root in roots:
        for path in _files(root):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if not data:
                continue
            found: list[int] = []
            db.scan(data, match_event_handler=on_match, context=found)
            hits.extend(f"{path}: {ordered[i].decode()[:2]}…" for i in found)
    return hits


@pytest.mark.slow
def test_no_personal_value_in_any_file_at_rest(
    vault: Vault,
    backend: str,
    tmp_path: Path,
    vault_dirs: tuple[Path, Path],
    request: pytest.FixtureRequest,
) -> None:
    persons = list(generate_persons(1000, seed=2022))
    src = tmp_path / "src"
    src.mkdir()
    write_persons_csv(persons, src / "persons.csv")
    write_incidents_csv(generate_incidents(3000, persons, seed=2022), src / "incidents.csv")
    assert import_file(vault, "person", src / "persons.csv", **KW).accepted == 1000
    assert import_file(vault, "incident", src / "incidents.csv", **KW).accepted == 3000
    # a few reads and a search too, so that anything a read might spill is on disk
    p = persons[0]
    found = vault.find("person", {"resident_id": p.resident_id}, **KW)
    assert len(found) == 1
    vault.incidents_of(found[0].ref, **KW)
    vault.close()
    roots = [vault_dirs[0]]
    if backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        cluster.checkpoint()
        roots.append(cluster.datadir)
    needles = _needles(persons)
    assert len(needles) > 3000
    files = [f for r in roots for f in _files(r)]
    assert any(f.name in ("records.db", "records.db-wal") for f in files) or backend == "postgres"
    assert _hits(roots, needles) == []
    # the same search finds the values in the source files: the check can see them
    assert len(_hits([src], needles)) > 2000
