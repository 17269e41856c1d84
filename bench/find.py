"""Find benchmark: exact-match lookup by resident ID, sealed against plaintext.

For each engine it builds once (and caches in ``<out>/find-<engine>-<N>``) a sealed vault
holding N synthetic persons, imported with ``import_file``, and the plaintext baseline table
``person_plain`` (index on resident_id) in the same engine. Then it times L lookups of
existing resident IDs, the same random sample for every mode:

* baseline: SQLAlchemy Core ``select(person_plain).where(resident_id == x)``, returning the row;
* sealed: ``vault.find("person", {"resident_id": x}, ...)``, returning the opened record
  (every region whose keys the node holds: one token per region);
* sealed, own region: the same with ``regions=[that person's region]``.

The modes run interleaved in chunks (rotating order) so that machine noise hits them alike;
each sealed mode has its own Vault (its own key caches). It prints lookups/s, mean, p50 and
p99 latency and the ratio sealed/baseline against the bar (>= 0.5), and writes
``<out>/find.json``. The exit status is 0 whether or not the bar is met.

Run from the repository root; a small run: ``.venv/bin/python bench/find.py --persons 20000
--lookups 2000``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from _common import (
    ACTOR,
    OUT,
    PASSPHRASE,
    PURPOSE,
    SEED,
    Backend,
    PostgresBackend,
    Ticker,
    csv_raw,
    load_plain,
    machine,
    open_backend,
    parse_engines,
    person_collection,
    person_plain,
    persons_csv,
    say,
    sealed_import,
    shown,
    verdict,
    workers_note,
    write_json,
)
from strongroom import Vault
from strongroom.config import VaultConfig
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.store import make_engine

BAR_RATIO = 0.5  # sealed / baseline lookups/s
CHUNK = 250  # lookups per mode before the next mode takes its turn
WARMUP = 200  # untimed lookups per mode, on IDs outside the timed sample
CACHE_FORMAT = 1

console = Console(width=max(100, shutil.get_terminal_size((100, 24)).columns))


# -- the cached data set ---------------------------------------------------------------------
def _fix_config(data: Path, backend: Backend) -> None:
    """Point a cached vault's vault.toml at where its databases are now."""
    cfg = VaultConfig.read(data)
    if isinstance(backend, PostgresBackend):
        new = VaultConfig(
            backend.rebase(cfg.database_url), backend.rebase(cfg.keystore_url), cfg.root_key_id
        )
    else:
        new = VaultConfig.default_for(data, cfg.root_key_id)
    if new != cfg:
        new.write(data)


def prepare(
    name: str, out: Path, n: int, workers: int | None, rebuild: bool
) -> tuple[Backend, Path, dict[str, Any]]:
    """The engine's back end (running), the cache directory, and its metadata."""
    cache = out / f"find-{name}-{n}"
    meta_path = cache / "meta.json"
    meta: dict[str, Any] | None = None
    if meta_path.exists() and not rebuild:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("format") != CACHE_FORMAT or meta.get("persons") != n:
            meta = None
    if meta is not None:
        say(f"[{name}] reusing the data set in {shown(cache)}")
        backend = open_backend(name, cache / "db")
        _fix_config(cache / "vault-data", backend)
        return backend, cache, meta

    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    os.chmod(cache, 0o711)  # noqa: S103 - search only, no read: a PostgreSQL cluster may live inside
    csv_path = persons_csv(out, n)
    backend = open_backend(name, cache / "db")
    try:
        say(f"[{name}] building the data set: {n:,} persons, plaintext and sealed")
        plain = load_plain(backend.new_db("plain"), csv_path, f"baseline {name} (build)")
        vault = Vault.init(
            cache / "vault-data",
            cache / "vault-keys",
            PASSPHRASE,
            argon2=UNSAFE_FAST_ARGON2,
            **backend.vault_urls("sealed"),
        )
        try:
            sealed = sealed_import(
                vault, csv_path, f"sealed {name} (build)", cache / "rejects.csv", workers
            )
        finally:
            vault.close()
    except BaseException:
        backend.close()
        raise
    meta = {
        "format": CACHE_FORMAT,
        "persons": n,
        "csv": csv_path.name,
        "seed": SEED,
        "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build": {"baseline": plain, "sealed": sealed, "workers": workers_note(workers)},
    }
    meta_path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return backend, cache, meta


def sample(csv_path: Path, n: int, k: int, seed: int) -> list[tuple[str, str]]:
    """``k`` distinct persons of the file, in random order: (resident ID, region), normalised."""
    k = min(k, n)
    picks = random.Random(seed).sample(range(n), k)
    want = {i: pos for pos, i in enumerate(picks)}
    found: list[dict[str, str] | None] = [None] * k
    with csv_path.open(encoding="utf-8", newline="") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            pos = want.get(i)
            if pos is not None:
                found[pos] = row
    coll = person_collection()
    out = []
    for row in found:
        assert row is not None, "the CSV has fewer rows than expected"
        rec = coll.validate(csv_raw(coll, row))
        out.append((rec["resident_id"], rec["region"]))
    return out


# -- the lookups -----------------------------------------------------------------------------
Lookup = Callable[[str, str], Any]


def baseline_lookup(engine: sa.Engine) -> Lookup:
    def look(rid: str, region: str) -> Any:
        with engine.connect() as conn:
            return conn.execute(
                sa.select(person_plain).where(person_plain.c.resident_id == rid)
            ).one()

    return look


def sealed_lookup(vault: Vault, *, scoped: bool) -> Lookup:
    def look(rid: str, region: str) -> Any:
        return vault.find(
            "person",
            {"resident_id": rid},
            actor=ACTOR,
            purpose=PURPOSE,
            regions=[region] if scoped else None,
        )

    return look


def _check(mode: str, result: Any, rid: str) -> None:
    got = [result.resident_id] if mode == "baseline" else [v.fields["resident_id"] for v in result]
    if got != [rid]:
        raise SystemExit(f"{mode}: looking up a resident ID returned {len(got)} records")


def run_lookups(
    modes: dict[str, Lookup], warm: list[tuple[str, str]], timed: list[tuple[str, str]]
) -> dict[str, list[int]]:
    """Nanoseconds per lookup per mode; chunks interleaved, order rotating."""
    names = list(modes)
    for name in names:
        for rid, region in warm:
            _check(name, modes[name](rid, region), rid)
    ns: dict[str, list[int]] = {m: [] for m in names}
    ticker = Ticker("lookups", len(timed) * len(names), unit="lookups")
    clock = time.perf_counter_ns
    for c, start in enumerate(range(0, len(timed), CHUNK)):
        chunk = timed[start : start + CHUNK]
        for name in names[c % len(names) :] + names[: c % len(names)]:
            look, times = modes[name], ns[name]
            for rid, region in chunk:
                t0 = clock()
                result = look(rid, region)
                times.append(clock() - t0)
                _check(name, result, rid)
            ticker.update(sum(len(t) for t in ns.values()))
    ticker.finish()
    return ns


def stats(ns: list[int]) -> dict[str, Any]:
    s = sorted(ns)

    def pct(p: float) -> float:
        return s[max(0, math.ceil(p * len(s)) - 1)] / 1e3

    total = sum(s) / 1e9
    return {
        "lookups": len(s),
        "seconds": total,
        "lookups_per_s": len(s) / total,
        "mean_us": total * 1e6 / len(s),
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
    }


def run_engine(
    name: str, out: Path, n: int, lookups: int, workers: int | None, rebuild: bool, seed: int
) -> dict[str, Any]:
    backend, cache, meta = prepare(name, out, n, workers, rebuild)
    vaults: list[Vault] = []
    plain = None
    try:
        picks = sample(persons_csv(out, n), n, lookups + WARMUP, seed)
        w = WARMUP if len(picks) == lookups + WARMUP else len(picks) // 10  # tiny data sets
        warm, timed = picks[:w], picks[w:]
        plain = make_engine(backend.url("plain"))
        for _ in range(2):  # one per sealed mode: separate key caches
            vaults.append(Vault.open(cache / "vault-data", cache / "vault-keys", PASSPHRASE))
        regions = len(vaults[0].keyring.regions("person"))
        modes = {
            "baseline": baseline_lookup(plain),
            "sealed": sealed_lookup(vaults[0], scoped=False),
            "sealed_own_region": sealed_lookup(vaults[1], scoped=True),
        }
        say(f"[{name}] {len(timed):,} lookups per mode ({len(warm)} warm-up), {regions} regions")
        ns = run_lookups(modes, warm, timed)
        server = backend.describe()
    finally:
        for v in vaults:
            v.close()
        if plain is not None:
            plain.dispose()
        backend.close()
    result: dict[str, Any] = {
        "engine": name,
        "server": server,
        "persons": n,
        "regions": regions,
        "cache": shown(cache),
        "build": meta["build"],
    }
    for mode, times in ns.items():
        result[mode] = stats(times)
    base = result["baseline"]["lookups_per_s"]
    for mode in ("sealed", "sealed_own_region"):
        r = result[mode]["lookups_per_s"] / base
        result[mode]["ratio"] = r
        result[mode]["pass"] = r >= BAR_RATIO
    return result


# -- report ----------------------------------------------------------------------------------
LABELS = {
    "baseline": "baseline (plaintext)",
    "sealed": "sealed, all regions",
    "sealed_own_region": "sealed, own region",
}
LEGEND = (
    "baseline = select(person_plain).where(resident_id == x); sealed = vault.find('person', "
    "{'resident_id': x}) over every region held; own region = the same with "
    "regions=[the person's region]"
)


def table(r: dict[str, Any]) -> Table:
    t = Table(
        title=f"find by resident ID — {r['server']}; {r['persons']:,} persons, "
        f"{r['regions']} regions",
        title_justify="left",
    )
    t.add_column("mode")
    for c in ("lookups/s", "mean µs", "p50 µs", "p99 µs", "vs baseline", f"bar >= {BAR_RATIO}"):
        t.add_column(c, justify="right")
    for mode, label in LABELS.items():
        s = r[mode]
        ratio = f"{s['ratio']:.3f}" if "ratio" in s else ""
        bar = ""
        if "pass" in s:
            bar = f"[{'bold green' if s['pass'] else 'bold red'}]{verdict(s['pass'])}[/]"
        t.add_row(
            label,
            f"{s['lookups_per_s']:,.0f}",
            f"{s['mean_us']:,.0f}",
            f"{s['p50_us']:,.0f}",
            f"{s['p99_us']:,.0f}",
            ratio,
            bar,
        )
    return t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=1_000_000, help="persons stored (1000000)")
    p.add_argument("--lookups", type=int, default=5000, help="timed lookups per mode (5000)")
    p.add_argument(
        "--engines", help="comma-separated: sqlite,postgres (default: both if PG binaries exist)"
    )
    p.add_argument("--out", type=Path, default=OUT, help="output and cache directory")
    p.add_argument(
        "--workers",
        type=int,
        help="import_file(workers=N) when building, if it takes that parameter",
    )
    p.add_argument("--rebuild", action="store_true", help="ignore a cached data set")
    p.add_argument("--seed", type=int, default=SEED, help="seed of the lookup sample")
    args = p.parse_args(argv)
    if args.lookups < 1 or args.persons < 2:
        p.error("need at least 1 lookup and 2 persons")
    engines = parse_engines(args.engines)
    out: Path = args.out.resolve()
    started = machine()
    results = [
        run_engine(e, out, args.persons, args.lookups, args.workers, args.rebuild, args.seed)
        for e in engines
    ]
    console.print()
    console.print(
        f"find: {args.lookups:,} lookups of existing resident IDs per mode, same sample for "
        f"each mode, interleaved in chunks of {CHUNK}; {started['cpus']} CPUs, load average "
        f"at start {started['loadavg'][0]}"
    )
    for r in results:
        console.print(table(r))
    console.print(LEGEND, markup=False)
    rows = [(r, m) for r in results for m in ("sealed", "sealed_own_region")]
    met = sum(1 for r, m in rows if r[m]["pass"])
    console.print(
        f"{met} of {len(rows)} bars met (sealed / baseline lookups/s >= {BAR_RATIO}; "
        "reported, not enforced)"
    )
    write_json(
        out / "find.json",
        {
            "benchmark": "find",
            "lookups": args.lookups,
            "persons": args.persons,
            "bar_ratio": BAR_RATIO,
            "machine": started,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "engines": {r["engine"]: r for r in results},
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
