"""Ingest benchmark: sealed bulk import against a plaintext load of the same CSV.

For each engine (SQLite, PostgreSQL) it times, end to end from one synthetic CSV file:

* baseline: the same reader and per-row validation as ``import_file``, then plain rows into
  ``person_plain`` (+ ``phone_plain`` and plaintext indexes), 20000 rows per transaction;
* sealed: ``import_file(vault, "person", csv)`` into a fresh vault on that engine;

and prints persons/s, bytes on disk per person and the ratios sealed/baseline, with the
bars of the issue (PASS/MISS; the exit status is 0 either way). Then it measures the peak
RSS of a child process that imports ``--memory-persons`` persons into a fresh SQLite vault.
Results also go to ``<out>/ingest.json``.

Run from the repository root: ``.venv/bin/python bench/ingest.py --persons 20000
--memory-persons 50000`` for a small run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _common import (
    BATCH,
    INSERT_MODES,
    OUT,
    PASSPHRASE,
    REPO,
    bulk_helper_available,
    import_kwargs,
    load_plain,
    machine,
    open_backend,
    parse_engines,
    persons_csv,
    say,
    sealed_import,
    shown,
    verdict,
    workers_note,
    write_json,
)
from strongroom import Vault
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2

BAR_SQLITE_RATE = 50_000  # persons/s end to end, sealed, SQLite
BAR_SQLITE_RATIO = 0.25  # sealed / baseline persons/s, SQLite
BAR_BYTES_RATIO = 2.0  # sealed / plaintext bytes on disk
BAR_MEMORY_MB = 500  # peak RSS of a --memory-persons import, MB (10^6 bytes)

console = Console(width=max(100, shutil.get_terminal_size((100, 24)).columns))


def _rates(run: dict[str, Any], n_bytes: int) -> dict[str, Any]:
    persons = max(run["persons"], 1)
    return {
        **run,
        "persons_per_s": run["persons"] / run["seconds"],
        "bytes": n_bytes,
        "bytes_per_person": n_bytes / persons,
    }


def run_engine(name: str, csv: Path, workers: int | None, insert: str) -> dict[str, Any]:
    # traversable (not readable) by the postgres user that runs the throwaway cluster
    work = Path(tempfile.mkdtemp(prefix=f"strongroom-bench-{name}-"))
    os.chmod(work, 0o711)  # noqa: S103 - search only, no read: the cluster lives inside
    backend = None
    try:
        backend = open_backend(name, work / "db")
        say(f"[{name}] {backend.describe()}")
        plain_url = backend.new_db("plain")
        say(f"[{name}] baseline: plaintext load of {csv.name}")
        base = load_plain(plain_url, csv, f"baseline {name} ({insert} inserts)", insert)
        base = _rates(base, backend.bytes_of([plain_url]))

        say(f"[{name}] sealed: import_file into a fresh vault ({workers_note(workers)})")
        vault = Vault.init(
            work / "vault-data",
            work / "vault-keys",
            PASSPHRASE,
            argon2=UNSAFE_FAST_ARGON2,
            **backend.vault_urls("sealed"),
        )
        try:
            urls = [vault.config.database_url, vault.config.keystore_url]
            sealed = sealed_import(vault, csv, f"sealed {name}", work / "rejects.csv", workers)
        finally:
            vault.close()
        stores = {"records": backend.bytes_of(urls[:1]), "keystore": backend.bytes_of(urls[1:])}
        sealed = _rates(sealed, sum(stores.values()))
        sealed["bytes_by_store"] = stores
        return {
            "engine": name,
            "server": backend.describe(),
            "baseline": base,
            "sealed": sealed,
            "ratio_persons_per_s": sealed["persons_per_s"] / base["persons_per_s"],
            "ratio_bytes": sealed["bytes"] / max(base["bytes"], 1),
        }
    finally:
        if backend is not None:
            backend.close()
        shutil.rmtree(work, ignore_errors=True)


# -- peak memory (child process) -------------------------------------------------------------
def _tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc; worker processes included)."""
    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def _rss_pss(pid: int) -> tuple[int, int]:
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


class _TreeSampler(threading.Thread):
    """Samples RSS and PSS summed over a process tree, 4 times a second.

    ``getrusage`` gives the largest single process; forked import workers share pages with
    their parent, so the honest total of a tree is the sum of PSS (RSS sums count shared
    pages once per process).
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_pss = self.max_procs = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            pids = _tree(self.pid)
            sizes = [_rss_pss(p) for p in pids]
            self.peak_rss = max(self.peak_rss, sum(r for r, _ in sizes))
            self.peak_pss = max(self.peak_pss, sum(p for _, p in sizes))
            self.max_procs = max(self.max_procs, len(pids))


def run_memory(csv: Path, persons: int, workers: int | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="strongroom-bench-mem-"))
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--_child-import",
        str(csv),
        str(work / "data"),
        str(work / "keys"),
    ]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    say(f"[memory] sealed import of {persons:,} persons into SQLite, in a child process")
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=REPO)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        # wait4: the rusage of this child alone (RUSAGE_CHILDREN would also count initdb...)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stopped.set()
        sampler.join()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"the memory run failed (exit {proc.returncode})")
    child = json.loads(out.decode().strip().splitlines()[-1])
    peak = usage.ru_maxrss * 1024  # Linux: KiB
    all_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return {
        **child,
        "persons_per_s": child["persons"] / child["seconds"],
        "peak_rss_bytes": peak,
        "peak_tree_rss_bytes_sampled": sampler.peak_rss,
        "peak_tree_pss_bytes_sampled": sampler.peak_pss,
        "processes": sampler.max_procs,
        "rusage_children_maxrss_bytes": all_children,
    }


def child_import(csv: Path, data: Path, keys: Path, workers: int | None) -> None:
    vault = Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)
    try:
        run = sealed_import(vault, csv, "sealed sqlite (memory run)", data / "x.rejects", workers)
    finally:
        vault.close()
    print(json.dumps(run), flush=True)


# -- report ----------------------------------------------------------------------------------
def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def engine_table(r: dict[str, Any]) -> Table:
    b, s = r["baseline"], r["sealed"]
    t = Table(title=f"ingest — {r['server']}", title_justify="left")
    t.add_column("")
    t.add_column("baseline (plaintext)", justify="right")
    t.add_column("sealed (import_file)", justify="right")
    t.add_column("sealed / baseline", justify="right")
    t.add_row("persons", f"{b['persons']:,}", f"{s['persons']:,}", "")
    t.add_row("seconds", f"{b['seconds']:,.2f}", f"{s['seconds']:,.2f}", "")
    t.add_row("processes preparing rows", "1", str(s["workers"]), "")
    t.add_row(
        "persons/s",
        f"{b['persons_per_s']:,.0f}",
        f"{s['persons_per_s']:,.0f}",
        f"{r['ratio_persons_per_s']:.3f}",
    )
    t.add_row("bytes on disk", _mb(b["bytes"]), _mb(s["bytes"]), f"{r['ratio_bytes']:.2f}x")
    t.add_row(
        "bytes/person",
        f"{b['bytes_per_person']:,.0f}",
        f"{s['bytes_per_person']:,.0f}",
        f"{r['ratio_bytes']:.2f}x",
    )
    keys = s["bytes_by_store"]["keystore"]
    t.add_row("  of which key store", "", f"{keys / max(s['persons'], 1):,.0f}", "")
    return t


def memory_peak(memory: dict[str, Any]) -> int:
    """The figure held against the bar: the largest process, or the tree's PSS if larger."""
    return max(memory["peak_rss_bytes"], memory["peak_tree_pss_bytes_sampled"])


def bars(results: list[dict[str, Any]], memory: dict[str, Any] | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in results:
        if r["engine"] == "sqlite":
            rate = r["sealed"]["persons_per_s"]
            out.append(
                {
                    "bar": "SQLite sealed import, end to end",
                    "target": f">= {BAR_SQLITE_RATE:,} persons/s",
                    "measured": f"{rate:,.0f} persons/s",
                    "pass": rate >= BAR_SQLITE_RATE,
                }
            )
            out.append(
                {
                    "bar": "SQLite sealed / baseline persons/s",
                    "target": f">= {BAR_SQLITE_RATIO}",
                    "measured": f"{r['ratio_persons_per_s']:.3f}",
                    "pass": r["ratio_persons_per_s"] >= BAR_SQLITE_RATIO,
                }
            )
        label = "SQLite" if r["engine"] == "sqlite" else "PostgreSQL"
        out.append(
            {
                "bar": f"{label} bytes on disk, sealed / plaintext",
                "target": f"<= {BAR_BYTES_RATIO}x",
                "measured": f"{r['ratio_bytes']:.3f}x",
                "pass": r["ratio_bytes"] <= BAR_BYTES_RATIO,
            }
        )
    if memory is not None:
        peak = memory_peak(memory)
        out.append(
            {
                "bar": f"peak RSS, import of {memory['persons']:,} persons (SQLite)",
                "target": f"< {BAR_MEMORY_MB} MB",
                "measured": _mb(peak),
                "pass": peak < BAR_MEMORY_MB * 1e6,
            }
        )
    return out


def bars_table(rows: list[dict[str, Any]]) -> Table:
    t = Table(title="bars from the issue", title_justify="left")
    for c in ("bar", "target", "measured", "result"):
        t.add_column(c, justify="left" if c == "bar" else "right")
    for b in rows:
        style = "bold green" if b["pass"] else "bold red"
        t.add_row(b["bar"], b["target"], b["measured"], f"[{style}]{verdict(b['pass'])}[/]")
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=200_000, help="persons in the CSV (200000)")
    p.add_argument(
        "--engines", help="comma-separated: sqlite,postgres (default: both if PG binaries exist)"
    )
    p.add_argument(
        "--memory-persons", type=int, default=1_000_000, help="persons in the memory run (1000000)"
    )
    p.add_argument("--skip-memory", action="store_true", help="skip the peak-memory run")
    p.add_argument("--out", type=Path, default=OUT, help="output and cache directory")
    p.add_argument(
        "--workers",
        type=int,
        help="import_file(workers=N), if it takes that parameter (default: its own default)",
    )
    p.add_argument(
        "--baseline-insert",
        choices=INSERT_MODES,
        default="driver",
        help="baseline inserts: the vault's own bulk helper, driver executemany / COPY "
        "(driver, default: the same insert path, so the ratio measures the crypto and the "
        "blind indexes) or SQLAlchemy Core executemany (core)",
    )
    p.add_argument("--_child-import", nargs=3, metavar="PATH", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._child_import:
        csv, data, keys = (Path(x) for x in args._child_import)
        child_import(csv, data, keys, args.workers)
        return 0

    engines = parse_engines(args.engines)
    if args.baseline_insert == "driver" and not bulk_helper_available():
        p.error("--baseline-insert driver needs strongroom.store._bulk")
    out: Path = args.out.resolve()
    started = machine()
    csv = persons_csv(out, args.persons)
    results = []
    for name in engines:
        results.append(run_engine(name, csv, args.workers, args.baseline_insert))
    memory = None
    if not args.skip_memory:
        memory = run_memory(
            persons_csv(out, args.memory_persons), args.memory_persons, args.workers
        )

    console.print()
    console.print(
        f"ingest of {args.persons:,} synthetic persons from {shown(csv)}; baseline inserts: "
        f"{args.baseline_insert}; "
        f"{workers_note(args.workers)}; {started['cpus']} CPUs, "
        f"load average at start {started['loadavg'][0]}"
    )
    for r in results:
        console.print(engine_table(r))
    if memory is not None:
        console.print(
            f"memory run: {memory['persons']:,} persons into SQLite in "
            f"{memory['seconds']:,.1f} s ({memory['persons_per_s']:,.0f} persons/s); "
            f"{memory['workers']} worker(s), {memory['processes']} process(es); peak RSS of "
            f"the largest process {_mb(memory['peak_rss_bytes'])} (ru_maxrss); whole tree, "
            f"sampled: PSS {_mb(memory['peak_tree_pss_bytes_sampled'])}, RSS "
            f"{_mb(memory['peak_tree_rss_bytes_sampled'])}"
        )
    bar_rows = bars(results, memory)
    console.print(bars_table(bar_rows))
    missed = [b["bar"] for b in bar_rows if not b["pass"]]
    console.print(
        f"{len(bar_rows) - len(missed)} of {len(bar_rows)} bars met"
        + (f"; MISSED: {'; '.join(missed)}" if missed else "")
        + " (reported, not enforced)"
    )
    write_json(
        out / "ingest.json",
        {
            "benchmark": "ingest",
            "persons": args.persons,
            "csv": shown(csv),
            "batch_size": BATCH,
            "baseline_insert": args.baseline_insert,
            "workers_requested": import_kwargs(args.workers).get("workers"),
            "machine": started,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "engines": {r["engine"]: r for r in results},
            "memory": memory,
            "bars": bar_rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
