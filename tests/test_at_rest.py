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
    """Every (file, needle) hit, in one regex pass per file (needles abbreviated in output)."""
    pattern = re.compile(b"|".join(re.escape(n) for n in sorted(needles, key=len, reverse=True)))
    hits = []
    for root in roots:
        for path in _files(root):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits.extend(f"{path}: {m.group().decode()[:2]}…" for m in pattern.finditer(data))
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
