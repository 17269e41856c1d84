"""Work split by file and by byte range: the same findings whatever the split and the engine."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from strongroom.scan import expand, write_leak_corpus
from strongroom.scan._run import Options, run
from strongroom.scan._split import Unit, plan

KEY = secrets.token_bytes(32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_leak_corpus(tmp_path_factory.mktemp("corpus"), seed=11).parent
    (root / "answers.jsonl").unlink()
    return root


def _findings(units: list[Unit], workers: int) -> list[tuple[object, ...]]:
    report = run(units, Options(0.5, KEY, keep=True), workers=workers)
    return [
        (f.kind, f.location, f.confidence, f.context_hit, f.value_digest) for f in report.findings
    ]


def test_ranges_start_at_lines_and_carry_what_they_cannot_see(tmp_path: Path) -> None:
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("身份证号,note\n" + "11010519491231002X,x\n" * 1000, encoding="utf-8")
    units = list(plan([csv_path], chunk_bytes=1000))
    assert len(units) > 10
    data = csv_path.read_bytes()
    assert all(data[u.start - 1 : u.start] == b"\n" for u in units[1:])
    assert [u.end for u in units[:-1]] == [u.start for u in units[1:]]
    assert units[-1].end == len(data) and sum(u.size for u in units) == len(data)
    assert units[0].header is None and all(u.header == "身份证号,note\n" for u in units[1:])
    dump = tmp_path / "d.sql"
    dump.write_text(
        "COPY t (phone, n) FROM stdin;\n" + "13812345678\t1\n" * 500 + "\\.\n" + "-- x\n" * 500
    )
    units = list(plan([dump], chunk_bytes=1000))
    inside = [u for u in units if u.start and u.start < 30 + 14 * 500]
    assert inside and all(u.copy_cols == ("phone", "n") for u in inside)
    assert units[-1].copy_cols is None
    assert list(plan([dump], chunk_bytes=1 << 20)) == [Unit(str(dump), size=dump.stat().st_size)]


def test_split_and_processes_find_what_one_pass_finds(corpus: Path) -> None:
    files = list(expand([corpus]))
    whole = list(plan(files, chunk_bytes=1 << 30))
    split = list(plan(files, chunk_bytes=2_000))
    assert len(split) > 3 * len(whole)
    one = _findings(whole, workers=1)
    assert len(one) > 5_000
    assert _findings(split, workers=2) == one  # same findings, same lines, same order


@pytest.mark.slow
def test_dask_local_cluster_finds_what_local_finds(corpus: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from strongroom.cli._app import app

    runner = CliRunner()
    local = runner.invoke(app, ["scan", str(corpus), "--json", "--workers", "1"])
    assert local.exit_code == 0, local.output
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            local_directory=str(tmp_path / "dask"),
        ) as cluster,
    ):
        args = ["scan", str(corpus), "--json", "--engine", "dask"]
        remote = runner.invoke(app, [*args, "--scheduler", cluster.scheduler_address])
        assert remote.exit_code == 0, remote.output
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a["counts"] == b["counts"] and a["findings"] == b["findings"]
    bad = runner.invoke(app, [*args, "--scheduler", "tcp://127.0.0.1:9"])
    assert bad.exit_code == 3 and "--scheduler" in bad.output
    no_address = runner.invoke(app, args)
    assert no_address.exit_code == 2 and "--scheduler" in no_address.output


def test_text_blocks_find_what_line_by_line_finds(corpus: Path) -> None:
    from strongroom.scan._detect import Scanner
    from strongroom.scan._model import Chunk, Location
    from strongroom.scan._targets import read_target

    scanner = Scanner(digest_key=KEY)
    path = corpus / "app.log"
    rows = list(read_target(path))
    assert all(len(r) == 1 and r[0].lines for r in rows)
    blocks = [f for row in rows for f in scanner.scan_row(row)]
    lines = [
        f
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        for f in scanner.scan(Chunk(line, Location(str(path), n, 1), (), n))
    ]
    assert len(blocks) > 200 and blocks == lines


@pytest.mark.parametrize(
    "ending", [b"\n", b"\r\n", b"\r", b""], ids=["lf", "crlf", "cr", "no-final-newline"]
)
def test_text_bytes_blocks_find_what_decoded_lines_find(
    tmp_path: Path, ending: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strongroom.scan._detect import Scanner
    from strongroom.scan._model import Chunk, Location
    from strongroom.scan._targets import read_target

    monkeypatch.setattr("strongroom.scan._targets._BLOCK", 4096)
    wide = "".join(chr(0xFF10 + int(d)) for d in "13812345678")  # full-width digits
    # the first block has full-width digits (its text is folded and scanned), the others not
    lines = [f"全角 {wide} and +86 138 1234 5678"] + [
        "身份证 11010519491231002X 手机 13812345678",
        "trace 0f3a9c order 202401011234567890 epoch 1706745600000",
        "",
        "bad \udcff utf-8 then 13912345678 and name: 张三",
        "mail a.b@example.com card 6222021234567890126",
    ] * 300
    data = b"\n".join(line.encode("utf-8", "surrogateescape") for line in lines) + b"\n"
    data = data.replace(b"\n", ending) if ending else data[:-1]
    path = tmp_path / "app.log"
    path.write_bytes(data)
    scanner = Scanner(digest_key=KEY)
    rows = list(read_target(path))
    assert all(len(r) == 1 and r[0].lines for r in rows)
    with_bytes = [r[0].data is not None for r in rows]
    if ending in (b"\r", b"\r\n"):
        assert not any(with_bytes)
    else:
        assert len(rows) > 10 and with_bytes[1:] == [True] * (len(rows) - 1)
    blocks = [f for row in rows for f in scanner.scan_row(row)]
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "\n")
    one_by_one = [
        f
        for n, line in enumerate(text.split("\n"), start=1)
        for f in scanner.scan(Chunk(line, Location(str(path), n, 1), (), n))
    ]
    assert len(blocks) > 1000 and blocks == one_by_one
    units = list(plan([path], chunk_bytes=4096))
    assert len(units) > 10 or ending == b"\r"  # ranges are cut after a line feed only
    assert _findings(units, 1) == _findings([Unit(str(path))], 1)
