"""Audit benchmark: append throughput, proof generation time and ``audit verify`` time.

All on SQLite, in throwaway vaults made with ``Vault.init`` (fast Argon2 parameters):

* append: realistic entries as the Gate writes them (actor, purpose, one record reference,
  one subject, the released fields, the deciding policy, a request id, small details),
  appended with ``AuditLog.append_many`` in committed batches of ``--batch``, with
  ``sequence()`` (integrated into the tiles) after every 20,000 entries as the background
  sequencer of a server does (it runs every second), and a final ``sequence()`` and
  ``checkpoint()`` (signed): entries/s end to end, one thread, the median of ``--repeats``
  runs (3) in fresh vaults. Also the rate of ``append``
  of one entry per committed transaction (what a read costs before it releases anything).
  Bar: >= 20,000 entries/s (the first figure).
* proofs: a tree of 10,000,000 leaves in the vault's ``audit_tiles`` table, then
  ``AuditLog.inclusion(i)`` and ``AuditLog.consistency(old)`` for random ``i`` and ``old``
  (mean and p99, each call with its own connection as the API makes them). The tree is built
  quickly from *synthetic* leaf hashes (``SHA-256(0x00 || i as 8 bytes)``) integrated with
  ``_tiles.integrate`` into ``DbTiles`` in large batches, with ``audit_state`` set, and no
  ``audit_entries`` rows: a proof reads only tiles. Bar: <= 2 ms.
* verify: ``AuditLog.verify()`` (what ``strongroom audit verify`` runs) over 1,000,000 real
  entries appended and sequenced, with a few signed checkpoints. Bar: <= 30 s.

The two large vaults are built once and cached in ``<out>/audit-tree-<N>`` and
``<out>/audit-verify-<N>`` (``--rebuild`` ignores them). ``--scale 0.1`` divides every size
by ten for a quick run. It prints a table with the bars (PASS/MISS; the exit status is 0
either way) and writes ``<out>/audit.json``.

Run from the repository root; a quick run: ``.venv/bin/python bench/audit.py --scale 0.05``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _common import OUT, PASSPHRASE, Ticker, machine, say, shown, verdict, write_json
from strongroom import Vault
from strongroom.audit._entry import Entry
from strongroom.audit._log import SEQUENCE_BATCH, DbTiles
from strongroom.audit._merkle import verify_consistency, verify_inclusion
from strongroom.audit._tables import audit_state
from strongroom.audit._tiles import integrate
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2

BAR_APPEND = 20_000  # entries/s, appended + sequenced + checkpointed (SQLite)
BAR_PROOF_MS = 2.0  # per proof at 10,000,000 entries
BAR_VERIFY_S = 30.0  # audit verify of 1,000,000 entries
CACHE_FORMAT = 1
SEED = 13
FIELDS = ("date_of_birth", "name", "phones", "place_of_birth", "region", "resident_id", "sex")

console = Console(width=max(100, shutil.get_terminal_size((100, 24)).columns))


# -- entries ---------------------------------------------------------------------------------
def entries(n: int, seed: int = SEED) -> list[Entry]:
    """``n`` entries like the Gate writes for a search that released one person."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        covert = rng.random() < 0.01
        when = start + timedelta(milliseconds=i * 37)
        out.append(
            Entry(
                time=when,
                actor_id=f"ct-{rng.randrange(500):04d}",
                actor_role="call_taker",
                actor_unit=f"U{rng.randrange(40):03d}",
                action="search",
                collection="person",
                purpose_code="INVESTIGATION" if covert else "CALL",
                legal_basis="Emergency Services Act s.12",
                case_ref=f"C-{rng.randrange(100_000)}",
                covert=covert,
                records=[rng.randbytes(16).hex()],
                subjects=[rng.randbytes(32)],
                fields=rng.sample(FIELDS, rng.randrange(2, len(FIELDS) + 1)),
                policies=["call_taker.own_region"],
                embargo_until=when + timedelta(days=180) if covert else None,
                request_id=rng.randbytes(8).hex(),
                detail={"index": "resident_id", "withheld": 0},
            )
        )
    return out


def new_vault(work: Path) -> Vault:
    return Vault.init(work / "data", work / "keys", PASSPHRASE, argon2=UNSAFE_FAST_ARGON2)


def open_vault(cache: Path) -> Vault:
    return Vault.open(cache / "data", cache / "keys", PASSPHRASE)


def db_bytes(cache: Path) -> int:
    return sum(p.stat().st_size for p in (cache / "data").rglob("*") if p.is_file())


# -- 1. append, sequence, checkpoint ------------------------------------------------------------
def run_append(n: int, batch: int, singles: int) -> dict[str, Any]:
    say(f"[append] generating {n:,} entries (not timed)")
    todo = entries(n)
    work = Path(tempfile.mkdtemp(prefix="strongroom-bench-audit-"))
    try:
        vault = new_vault(work)
        try:
            log = vault.audit
            say(f"[append] append_many in committed batches of {batch:,}, sequence, checkpoint")
            appending = sequencing = 0.0
            sequenced = 0
            c0 = time.process_time()
            t0 = time.perf_counter()
            for k in range(0, n, batch):
                ta = time.perf_counter()
                log.append_many(todo[k : k + batch])
                tb = time.perf_counter()
                appending += tb - ta
                if (k + batch) % SEQUENCE_BATCH < batch:  # as the sequencer does, every second
                    sequenced += log.sequence()
                    sequencing += time.perf_counter() - tb
            t2 = time.perf_counter()
            sequenced += log.sequence()
            log.checkpoint()
            t3 = time.perf_counter()
            sequencing += t3 - t2
            cpu = time.process_time() - c0
            assert sequenced == n and log.size() == n, "every entry is in the tree"
            say(f"[append] {singles:,} appends of one entry, each its own transaction")
            one = entries(singles, seed=SEED + 1)
            t4 = time.perf_counter()
            for e in one:
                log.append(e)
            t5 = time.perf_counter()
            log.sequence()
        finally:
            vault.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = t3 - t0
    return {
        "entries": n,
        "batch": batch,
        "sequence_every": SEQUENCE_BATCH,
        "append_s": appending,
        "sequence_s": sequencing,
        "seconds": total,
        "entries_per_s": n / total,
        "cpu_s": cpu,
        "entries_per_cpu_s": n / cpu,
        "append_per_s": n / appending,
        "sequence_per_s": n / sequencing,
        "single_appends": singles,
        "single_per_s": singles / (t5 - t4),
        "single_ms": (t5 - t4) / singles * 1000,
    }


# -- 2. proofs at 10M ----------------------------------------------------------------------------
def synthetic_leaf(i: int) -> bytes:
    return hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()


def build_tree(cache: Path, n: int, chunk: int = 1_000_000) -> dict[str, Any]:
    """Integrate ``n`` synthetic leaf hashes into a fresh vault's tiles (no entry rows)."""
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    vault = new_vault(cache)
    ticker = Ticker(f"integrating {n:,} synthetic leaves", n, unit="leaves")
    t0 = time.perf_counter()
    try:
        size = 0
        while size < n:
            hashes = [synthetic_leaf(i) for i in range(size, min(n, size + chunk))]
            with vault.audit.engine.begin() as conn:
                tiles = DbTiles(conn)
                done = integrate(tiles, size, hashes)
                tiles.write_tiles(done.tiles)
                conn.execute(audit_state.delete())
                conn.execute(audit_state.insert().values(id=1, size=done.size, root=done.root))
            size = done.size
            ticker.update(size)
        ticker.finish()
        root = done.root
    finally:
        vault.close()
    meta = {
        "format": CACHE_FORMAT,
        "leaves": n,
        "root": root.hex(),
        "build_s": time.perf_counter() - t0,
    }
    (cache / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def cached(cache: Path, key: str, n: int, rebuild: bool) -> dict[str, Any] | None:
    path = cache / "meta.json"
    if rebuild or not path.exists():
        return None
    meta: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if meta.get("format") != CACHE_FORMAT or meta.get(key) != n:
        return None
    say(f"reusing {shown(cache)}")
    return meta


def stats_ms(xs: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in xs)
    return {
        "mean_ms": statistics.fmean(ms),
        "p50_ms": ms[len(ms) // 2],
        "p99_ms": ms[min(len(ms) - 1, math.ceil(0.99 * len(ms)) - 1)],
        "max_ms": ms[-1],
    }


def run_proofs(out: Path, n: int, proofs: int, rebuild: bool) -> dict[str, Any]:
    cache = out / f"audit-tree-{n}"
    meta = cached(cache, "leaves", n, rebuild)
    if meta is None:
        say(f"[proofs] building a tree of {n:,} synthetic leaves in {shown(cache)}")
        meta = build_tree(cache, n)
    vault = open_vault(cache)
    rng = random.Random(SEED)
    inclusion: list[float] = []
    consistency: list[float] = []
    cpu = [0.0, 0.0]
    try:
        log = vault.audit
        size, root = log.state()
        assert size == n and root.hex() == meta["root"], "the cached tree"
        for _ in range(min(200, proofs // 10)):  # warm-up: the page cache, compiled queries
            log.inclusion(rng.randrange(n))
        say(f"[proofs] {proofs:,} inclusion and {proofs:,} consistency proofs")
        for k in range(proofs):
            i = rng.randrange(n)
            c0, t0 = time.process_time(), time.perf_counter()
            tree_size, tree_root, path = log.inclusion(i)
            inclusion.append(time.perf_counter() - t0)
            c1 = time.process_time()
            cpu[0] += c1 - c0
            old = rng.randrange(1, n + 1)
            t0 = time.perf_counter()
            o_size, o_root, n_size, n_root, proof = log.consistency(old)
            consistency.append(time.perf_counter() - t0)
            cpu[1] += time.process_time() - c1
            if k < 50:  # the proofs are right (not timed)
                verify_inclusion(i, tree_size, synthetic_leaf(i), path, tree_root)
                verify_consistency(o_size, n_size, proof, o_root, n_root)
    finally:
        vault.close()
    return {
        "leaves": n,
        "tree": "synthetic leaf hashes integrated into audit_tiles (no audit_entries rows)",
        "build_s": meta["build_s"],
        "db_bytes": db_bytes(cache),
        "proofs": proofs,
        "inclusion": {**stats_ms(inclusion), "cpu_mean_ms": cpu[0] / proofs * 1000},
        "consistency": {**stats_ms(consistency), "cpu_mean_ms": cpu[1] / proofs * 1000},
    }


# -- 3. verify at 1M -----------------------------------------------------------------------------
def build_log(cache: Path, n: int, checkpoints: int, chunk: int = 50_000) -> dict[str, Any]:
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    vault = new_vault(cache)
    every = max(1, n // checkpoints)
    ticker = Ticker(f"appending and sequencing {n:,} entries", n, unit="entries")
    t0 = time.perf_counter()
    try:
        log = vault.audit
        done = 0
        while done < n:
            batch = entries(min(chunk, n - done), seed=SEED + 2 + done)
            for k in range(0, len(batch), 5000):
                log.append_many(batch[k : k + 5000])
            log.sequence()
            before, done = done, done + len(batch)
            if done // every != before // every or done == n:
                log.checkpoint()
            ticker.update(done)
        ticker.finish()
        signed = len(log.checkpoints())
    finally:
        vault.close()
    meta = {
        "format": CACHE_FORMAT,
        "entries": n,
        "checkpoints": signed,
        "build_s": time.perf_counter() - t0,
    }
    (cache / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def run_verify(out: Path, n: int, rebuild: bool) -> dict[str, Any]:
    cache = out / f"audit-verify-{n}"
    meta = cached(cache, "entries", n, rebuild)
    if meta is None:
        say(f"[verify] building a log of {n:,} real entries in {shown(cache)}")
        meta = build_log(cache, n, checkpoints=4)
    vault = open_vault(cache)
    try:
        say(f"[verify] AuditLog.verify() over {n:,} entries")
        ticker = Ticker("verifying", n, unit="entries")
        c0, t0 = time.process_time(), time.perf_counter()
        report = vault.audit.verify(progress=ticker.update)
        seconds = time.perf_counter() - t0
        cpu = time.process_time() - c0
        ticker.finish()
    finally:
        vault.close()
    if not report.ok:
        raise SystemExit(f"the cached log does not verify: {report.problems[0]}")
    return {
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "seconds": seconds,
        "cpu_s": cpu,
        "entries_per_s": report.entries / seconds,
        "build_s": meta["build_s"],
        "db_bytes": db_bytes(cache),
    }


# -- report ----------------------------------------------------------------------------------
def bars(app: dict[str, Any], prf: dict[str, Any], ver: dict[str, Any]) -> list[dict[str, Any]]:
    worst = max(prf["inclusion"]["p99_ms"], prf["consistency"]["p99_ms"])
    worst_mean = max(prf["inclusion"]["mean_ms"], prf["consistency"]["mean_ms"])
    return [
        {
            "bar": "append, sequenced and checkpointed (SQLite)",
            "target": f">= {BAR_APPEND:,} entries/s",
            "measured": f"{app['entries_per_s']:,.0f} entries/s",
            "pass": app["entries_per_s"] >= BAR_APPEND,
        },
        {
            "bar": f"proof generation at {prf['leaves']:,} entries (mean; p99)",
            "target": f"<= {BAR_PROOF_MS} ms",
            "measured": f"{worst_mean:.2f} ms; {worst:.2f} ms",
            "pass": worst_mean <= BAR_PROOF_MS,
        },
        {
            "bar": f"audit verify of {ver['entries']:,} entries",
            "target": f"<= {BAR_VERIFY_S:.0f} s",
            "measured": f"{ver['seconds']:,.1f} s",
            "pass": ver["seconds"] <= BAR_VERIFY_S,
        },
    ]


def report(app: dict[str, Any], prf: dict[str, Any], ver: dict[str, Any]) -> None:
    t = Table(title="audit log — SQLite", title_justify="left")
    t.add_column("")
    t.add_column("figure", justify="right")
    t.add_row(
        f"append {app['entries']:,} entries (batches of {app['batch']:,}) + sequence + checkpoint",
        f"{app['entries_per_s']:,.0f} entries/s",
    )
    t.add_row(
        "  the same per CPU second of this process (load-independent context)",
        f"{app['entries_per_cpu_s']:,.0f} entries/s",
    )
    if len(app["runs_entries_per_s"]) > 1:
        t.add_row(
            "  every run (the median is shown)",
            " / ".join(f"{x:,.0f}" for x in app["runs_entries_per_s"]),
        )
    t.add_row("  of which append_many", f"{app['append_per_s']:,.0f} entries/s")
    t.add_row(
        f"  of which sequence (every {app['sequence_every']:,}) + checkpoint",
        f"{app['sequence_per_s']:,.0f} entries/s",
    )
    t.add_row(
        "append, one entry per transaction",
        f"{app['single_per_s']:,.0f} entries/s ({app['single_ms']:.2f} ms each)",
    )
    for kind in ("inclusion", "consistency"):
        s = prf[kind]
        t.add_row(
            f"{kind} proof at {prf['leaves']:,} leaves (mean / p50 / p99; mean CPU)",
            f"{s['mean_ms']:.3f} / {s['p50_ms']:.3f} / {s['p99_ms']:.3f} ms; "
            f"{s['cpu_mean_ms']:.3f} ms",
        )
    t.add_row(
        f"verify {ver['entries']:,} entries, {ver['checkpoints']} checkpoints",
        f"{ver['seconds']:,.1f} s ({ver['entries_per_s']:,.0f} entries/s); "
        f"CPU {ver['cpu_s']:,.1f} s",
    )
    console.print(t)
    console.print(
        f"proof tree: {prf['tree']}; built in {prf['build_s']:,.0f} s, "
        f"{prf['db_bytes'] / 1e6:,.0f} MB. verify log: built in {ver['build_s']:,.0f} s, "
        f"{ver['db_bytes'] / 1e6:,.0f} MB."
    )


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
    p.add_argument("--scale", type=float, default=1.0, help="multiply every size by this (1)")
    p.add_argument("--append", type=int, default=200_000, help="entries appended (200000)")
    p.add_argument("--batch", type=int, default=1000, help="entries per append transaction")
    p.add_argument("--singles", type=int, default=2000, help="one-entry appends timed (2000)")
    p.add_argument("--repeats", type=int, default=3, help="append runs; the median is reported (3)")
    p.add_argument("--tree", type=int, default=10_000_000, help="leaves for proofs (10000000)")
    p.add_argument("--proofs", type=int, default=2000, help="proofs of each kind (2000)")
    p.add_argument("--verify", type=int, default=1_000_000, help="entries verified (1000000)")
    p.add_argument("--out", type=Path, default=OUT, help="output and cache directory")
    p.add_argument("--rebuild", action="store_true", help="ignore the cached vaults")
    args = p.parse_args(argv)

    def scaled(n: int) -> int:
        return max(1, round(n * args.scale))

    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = machine()
    runs = [
        run_append(scaled(args.append), args.batch, scaled(args.singles))
        for _ in range(max(1, args.repeats))
    ]
    app = sorted(runs, key=lambda r: r["entries_per_s"])[len(runs) // 2]  # the median run
    app["runs_entries_per_s"] = [r["entries_per_s"] for r in runs]
    app["runs_single_per_s"] = [r["single_per_s"] for r in runs]
    prf = run_proofs(out, scaled(args.tree), scaled(args.proofs), args.rebuild)
    ver = run_verify(out, scaled(args.verify), args.rebuild)

    console.print()
    console.print(
        f"audit benchmark, scale {args.scale:g}; {started['cpus']} CPUs, load average at "
        f"start {started['loadavg'][0]}, at the end {os.getloadavg()[0]:.2f}; SQLite "
        f"{started['sqlite']}. The bars are held against wall-clock figures; CPU seconds "
        "of this process are shown as context on a shared machine."
    )
    report(app, prf, ver)
    bar_rows = bars(app, prf, ver)
    console.print(bars_table(bar_rows))
    missed = [b["bar"] for b in bar_rows if not b["pass"]]
    console.print(
        f"{len(bar_rows) - len(missed)} of {len(bar_rows)} bars met"
        + (f"; MISSED: {'; '.join(missed)}" if missed else "")
        + " (reported, not enforced)"
    )
    write_json(
        out / "audit.json",
        {
            "benchmark": "audit",
            "scale": args.scale,
            "machine": started,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "append": app,
            "proofs": prf,
            "verify": ver,
            "bars": bar_rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
