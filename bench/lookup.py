"""Lookup benchmark: Strongroom's HTTP search by resident ID against a bare plaintext server.

Three real uvicorn servers on 127.0.0.1, each in its own process (one worker), under the same
load from this process: ``--clients`` (32) concurrent clients on one ``httpx.AsyncClient``,
each sending the next request as soon as the last one is answered, resident IDs drawn at
random from a sample of existing persons.

* strongroom: ``POST /v1/persons/search {"resident_id": ...}`` as a ``call_taker`` with
  purpose ``CALL`` (token authentication, the Cedar policy, the blind index, opening the
  record, masking, the audit entry), one call-taker principal per province so that every
  person is in the searching principal's region;
* strongroom-unguarded: the same with the guard switched off (``[guard] enabled = false``):
  no quota counting, no honeytoken or protection checks, no detectors — the baseline of the
  guard's overhead (issue 6: the guarded server keeps at least 90 % of its throughput). The
  bench principals get quota overrides far above the load, so the guarded server counts
  every release but never refuses;
* baseline: a bare FastAPI app (defined here only, no authentication) answering
  ``POST /lookup {"resident_id": ...}`` from the plaintext ``person_plain`` table in SQLite.

The data set is the one ``bench/find.py`` builds and caches (``<out>/find-sqlite-<N>``: the
same synthetic CSV imported with ``import_file``, and the plaintext table from the same rows);
it is copied to a scratch directory first, since serving writes principals, tokens and
audit entries. The servers take turns (``--rounds``), each with a warm-up, so that machine
noise hits both alike. It prints requests/s, p50 and p99 latency (as the client sees it) for
each and their ratio, with the bars of the issue (PASS/MISS; the exit status is 0 either way),
and writes ``<out>/lookup.json``.

Run from the repository root; a small run: ``.venv/bin/python bench/lookup.py --persons 20000
--seconds 5``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from _common import OUT, PASSPHRASE, REPO, machine, say, shown, verdict, write_json
from find import _fix_config, prepare, sample
from strongroom import Vault
from strongroom.api import build_service
from strongroom.config import VaultConfig
from strongroom.guard import QUOTAS
from strongroom.store import make_engine
from strongroom.store._migrate import KEYS, RECORDS, upgrade

BAR_RATIO = 0.5  # strongroom / baseline requests/s
BAR_GUARD = 0.9  # strongroom with the guard / without it, requests/s (issue 6)
BAR_P99_MS = 25.0  # strongroom p99 latency, ms
SAMPLE = 20_000  # resident IDs the clients draw from
SEED = 11

console = Console(width=max(100, shutil.get_terminal_size((100, 24)).columns))


# -- the data set and the principals ---------------------------------------------------------
def scratch_copy(cache: Path, work: Path) -> tuple[Path, Path, Path]:
    """The cached vault and plaintext table copied to ``work``: (data, keys, plain.db)."""
    data, keys, plain = work / "vault-data", work / "vault-keys", work / "plain.db"
    shutil.copytree(cache / "vault-data", data)
    shutil.copytree(cache / "vault-keys", keys)
    shutil.copy2(cache / "db" / "plain.db", plain)
    _fix_config(data, _SqliteHere())
    # a data set cached before the latest migrations (principals, tokens) is brought to head
    config = VaultConfig.read(data)
    for url, branch, secure in (
        (config.database_url, RECORDS, False),
        (config.keystore_url, KEYS, True),
    ):
        engine = make_engine(url, secure_delete=secure)
        try:
            upgrade(engine, branch)
        finally:
            engine.dispose()
    return data, keys, plain


class _SqliteHere:
    """What ``_fix_config`` needs to know: not PostgreSQL (the vault's files are in its dir)."""


def call_takers(data: Path, keys: Path, regions: set[str]) -> dict[str, str]:
    """A call-taker principal for each region and a token for it: {region: token}.

    Each gets quota overrides far above what the load can reach (``[guard.principals]`` in
    ``vault.toml``): the guarded server counts every release as usual, it just never refuses
    (a load generator is, by design, exactly what quotas stop)."""
    vault = Vault.open(data, keys, PASSPHRASE)
    try:
        service = build_service(vault)
        tokens = {}
        for region in sorted(regions):
            pid = f"bench-call-taker-{region}"
            service.principals.add(pid, roles=["call_taker"], unit="BENCH", home_region=region)
            tokens[region], _ = service.tokens.issue(pid, "bench", timedelta(hours=6))
    finally:
        vault.close()
    config = VaultConfig.read(data)
    unlimited = dict.fromkeys(QUOTAS, 10**12)
    principals = {f"bench-call-taker-{r}": unlimited for r in sorted(regions)}
    dataclasses.replace(config, guard={"principals": principals}).write(data)
    return tokens


# -- the servers (child processes) -----------------------------------------------------------
class LookupIn(BaseModel):
    """The baseline's request body (at module level: FastAPI resolves the annotation)."""

    resident_id: str


def strongroom_app(data: Path, keys: Path, *, guarded: bool = True) -> Any:
    from strongroom.api import create_app
    from strongroom.guard import GuardConfig

    vault = Vault.open(data, keys, PASSPHRASE)
    guard = GuardConfig.from_table({**vault.config.guard, "enabled": guarded})
    return create_app(build_service(vault, guard=guard))


def baseline_app(db: Path) -> Any:
    """The unprotected baseline: no authentication, no policy, no audit; plaintext rows."""
    from fastapi import FastAPI, HTTPException

    app = FastAPI()
    local = threading.local()  # one connection per threadpool thread

    def conn() -> sqlite3.Connection:
        c: sqlite3.Connection | None = getattr(local, "conn", None)
        if c is None:
            c = local.conn = sqlite3.connect(db, check_same_thread=False)
            c.row_factory = sqlite3.Row
        return c

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/lookup")
    def lookup(body: LookupIn) -> dict[str, Any]:
        row = (
            conn()
            .execute("SELECT * FROM person_plain WHERE resident_id = ?", (body.resident_id,))
            .fetchone()
        )
        if row is None:
            raise HTTPException(404)
        out = dict(row)
        out["id"] = out["id"].hex()
        return out

    return app


def serve(kind: str, paths: list[str], port: int) -> None:
    import uvicorn

    if kind.startswith("strongroom"):
        app = strongroom_app(Path(paths[0]), Path(paths[1]), guarded=kind == "strongroom")
    else:
        app = baseline_app(Path(paths[0]))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A uvicorn server in a child process (``--_serve``), up until :meth:`stop`."""

    def __init__(self, kind: str, paths: list[Path]) -> None:
        self.kind = kind
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--_serve", kind, str(self.port)]
        self.proc = subprocess.Popen([*cmd, *map(str, paths)], cwd=REPO)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the {kind} server exited ({self.proc.returncode})")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the {kind} server did not start")
            time.sleep(0.1)
        say(f"[{kind}] serving on {self.url} (pid {self.proc.pid})")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the load --------------------------------------------------------------------------------
def request_for(kind: str, tokens: dict[str, str]) -> Any:
    """(path, headers, body) for one resident ID (and its region) against ``kind``."""

    def strongroom(rid: str, region: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        headers = {"Authorization": f"Bearer {tokens[region]}", "Strongroom-Purpose": "CALL"}
        return "/v1/persons/search", headers, {"resident_id": rid}

    def baseline(rid: str, region: str) -> tuple[str, dict[str, str], dict[str, Any]]:
        return "/lookup", {}, {"resident_id": rid}

    return strongroom if kind.startswith("strongroom") else baseline


def _check(kind: str, r: httpx.Response) -> bool:
    if r.status_code != 200:
        return False
    return kind == "baseline" or len(r.json()["items"]) == 1


async def _load(
    server: Server, tokens: dict[str, str], ids: list[tuple[str, str]], clients: int, secs: float
) -> dict[str, Any]:
    make = request_for(server.kind, tokens)
    rng = random.Random(SEED)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:
        stop = time.perf_counter() + secs

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                path, headers, body = make(*rng.choice(ids))
                t0 = time.perf_counter()
                r = await client.post(path, headers=headers, json=body)
                latencies.append(time.perf_counter() - t0)
                if not _check(server.kind, r):
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return {"requests": len(latencies), "seconds": elapsed, "errors": errors, "lat": latencies}


def load(
    server: Server, tokens: dict[str, str], ids: list[tuple[str, str]], clients: int, secs: float
) -> dict[str, Any]:
    return asyncio.run(_load(server, tokens, ids, clients, secs))


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(p / 100 * len(s)) - 1))]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    lat = [x for r in runs for x in r["lat"]]
    n = sum(r["requests"] for r in runs)
    secs = sum(r["seconds"] for r in runs)
    return {
        "requests": n,
        "seconds": secs,
        "errors": sum(r["errors"] for r in runs),
        "requests_per_s": n / secs,
        "p50_ms": pct(lat, 50) * 1e3,
        "p99_ms": pct(lat, 99) * 1e3,
        "mean_ms": sum(lat) / max(len(lat), 1) * 1e3,
        "per_round_requests_per_s": [round(r["requests"] / r["seconds"], 1) for r in runs],
    }


# -- report ----------------------------------------------------------------------------------
def table(base: dict[str, Any], sr: dict[str, Any], clients: int) -> Table:
    t = Table(title=f"lookup by resident ID over HTTP, {clients} clients", title_justify="left")
    t.add_column("")
    t.add_column("baseline (FastAPI + plaintext SQLite)", justify="right")
    t.add_column("strongroom (search as call_taker)", justify="right")
    t.add_column("strongroom / baseline", justify="right")
    t.add_row("requests", f"{base['requests']:,}", f"{sr['requests']:,}", "")
    t.add_row("errors", f"{base['errors']:,}", f"{sr['errors']:,}", "")
    t.add_row(
        "requests/s",
        f"{base['requests_per_s']:,.0f}",
        f"{sr['requests_per_s']:,.0f}",
        f"{sr['requests_per_s'] / base['requests_per_s']:.3f}",
    )
    for key, label in (("p50_ms", "p50 latency"), ("p99_ms", "p99 latency")):
        t.add_row(
            label,
            f"{base[key]:.1f} ms",
            f"{sr[key]:.1f} ms",
            f"{sr[key] / base[key]:.2f}x",
        )
    return t


def bars(base: dict[str, Any], sr: dict[str, Any]) -> list[dict[str, Any]]:
    ratio = sr["requests_per_s"] / base["requests_per_s"]
    return [
        {
            "bar": "strongroom / baseline requests/s",
            "target": f">= {BAR_RATIO}",
            "measured": f"{ratio:.3f}",
            "pass": ratio >= BAR_RATIO,
        },
        {
            "bar": "strongroom p99 latency",
            "target": f"<= {BAR_P99_MS:.0f} ms",
            "measured": f"{sr['p99_ms']:.1f} ms",
            "pass": sr["p99_ms"] <= BAR_P99_MS,
        },
    ]


def guard_bar(sr: dict[str, Any], unguarded: dict[str, Any]) -> dict[str, Any]:
    ratio = sr["requests_per_s"] / unguarded["requests_per_s"]
    return {
        "bar": "guard on / guard off requests/s",
        "target": f">= {BAR_GUARD}",
        "measured": f"{ratio:.3f} ({sr['requests_per_s']:,.0f} / "
        f"{unguarded['requests_per_s']:,.0f}; p50 {sr['p50_ms']:.0f} / "
        f"{unguarded['p50_ms']:.0f} ms)",
        "pass": ratio >= BAR_GUARD,
    }


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
    p.add_argument("--persons", type=int, default=1_000_000, help="persons (1000000)")
    p.add_argument("--clients", type=int, default=32, help="concurrent clients (32)")
    p.add_argument("--seconds", type=float, default=15.0, help="timed seconds per round (15)")
    p.add_argument("--warmup", type=float, default=3.0, help="untimed seconds per round (3)")
    p.add_argument("--rounds", type=int, default=2, help="turns each server takes (2)")
    p.add_argument("--out", type=Path, default=OUT, help="output and cache directory")
    p.add_argument("--rebuild", action="store_true", help="ignore a cached data set")
    p.add_argument("--_serve", nargs="+", metavar="ARG", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._serve:
        kind, port, *paths = args._serve
        serve(kind, paths, int(port))
        return 0

    out: Path = args.out.resolve()
    started = machine()
    backend, cache, meta = prepare("sqlite", out, args.persons, None, args.rebuild)
    backend.close()
    ids = sample(out / meta["csv"], args.persons, SAMPLE, SEED)
    work = Path(tempfile.mkdtemp(prefix="strongroom-bench-lookup-"))
    servers: list[Server] = []
    try:
        say(f"copying the data set to {work}")
        data, keys, plain = scratch_copy(cache, work)
        tokens = call_takers(data, keys, {region for _, region in ids})
        servers = [
            Server("baseline", [plain]),
            Server("strongroom", [data, keys]),
            Server("strongroom-unguarded", [data, keys]),
        ]
        runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for i in range(args.rounds):
            order = servers if i % 2 == 0 else servers[::-1]
            for server in order:
                say(
                    f"[{server.kind}] round {i + 1}: warm-up {args.warmup:g} s, "
                    f"then {args.seconds:g} s with {args.clients} clients"
                )
                load(server, tokens, ids, args.clients, args.warmup)
                runs[server.kind].append(load(server, tokens, ids, args.clients, args.seconds))
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)

    base, sr = summary(runs["baseline"]), summary(runs["strongroom"])
    unguarded = summary(runs["strongroom-unguarded"])
    console.print()
    console.print(
        f"lookup: {args.persons:,} persons, {len(ids):,} resident IDs drawn at random; "
        f"{args.rounds} round(s) of {args.seconds:g} s per server; client and both servers on "
        f"this machine ({started['cpus']} CPUs, load average at start "
        f"{started['loadavg'][0]}): figures are noisy"
    )
    console.print(table(base, sr, args.clients))
    bar_rows = [*bars(base, sr), guard_bar(sr, unguarded)]
    console.print(bars_table(bar_rows))
    missed = [b["bar"] for b in bar_rows if not b["pass"]]
    console.print(
        f"{len(bar_rows) - len(missed)} of {len(bar_rows)} bars met"
        + (f"; MISSED: {'; '.join(missed)}" if missed else "")
        + " (reported, not enforced)"
    )
    write_json(
        out / "lookup.json",
        {
            "benchmark": "lookup",
            "persons": args.persons,
            "data_set": shown(cache),
            "sample": len(ids),
            "clients": args.clients,
            "rounds": args.rounds,
            "seconds_per_round": args.seconds,
            "machine": started,
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "baseline": base,
            "strongroom": sr,
            "strongroom_unguarded": unguarded,
            "ratio_requests_per_s": sr["requests_per_s"] / base["requests_per_s"],
            "ratio_guard_on_off": sr["requests_per_s"] / unguarded["requests_per_s"],
            "bars": bar_rows,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
