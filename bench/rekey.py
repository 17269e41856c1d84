"""Rekey benchmark: ``strongroom keys rekey`` of a vault of ``--persons`` persons on SQLite.

Builds a SQLite vault with the bulk importer from a synthetic CSV (not timed), rotates the
person data keys, then runs the rekey in a child process and reports, from that process,
data keys (= persons) re-wrapped per second and its peak RSS. The same is done on a vault a
tenth of the size: memory is "flat" when the big run's peak is within 10 % (+ 16 MB) of the
small run's. Bars of the issue: at least 50,000 records/s on SQLite, memory that does not
grow with the vault. Results also go to ``<out>/rekey.json``.

Peak RSS is the child's ``VmHWM`` (``/proc/self/status``), not ``ru_maxrss``: Linux carries
the high-water mark of the forking process into the child's ``ru_maxrss`` across ``execve``
(``exec_mmap`` keeps the old mm's peak), so it reported this script's own size — which grows
with the vault it just imported — not the rekey's. ``ru_maxrss`` is kept in the JSON.

With ``--index`` the same two vaults then also get a blind-index rotation: the person index
keys are rotated and ``keys rekey --index`` (the reindex job, which opens every record and
rewrites its tokens) runs in a child process; records/s and peak RSS are reported the same
way (no bar: the issue sets none for it).

Run from the repository root: ``.venv/bin/python bench/rekey.py --persons 100000`` for a
quick run (the default is 1,000,000).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import (
    ACTOR,
    OUT,
    PASSPHRASE,
    PURPOSE,
    REPO,
    import_kwargs,
    machine,
    persons_csv,
    say,
    verdict,
    write_json,
)
from strongroom import Vault
from strongroom.batch import import_file
from strongroom.batch._rekey import rotate
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2

BAR_RATE = 50_000  # persons (data keys, each a person's records) re-wrapped per second
BAR_FLAT = (1.10, 16)  # big peak RSS <= small peak x 1.10 + 16 MB

_CHILD = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from _common import ACTOR, PASSPHRASE, PURPOSE
from strongroom import Vault
from strongroom.batch._rekey import rekey
with Vault.open(Path(sys.argv[1]), Path(sys.argv[2]), PASSPHRASE) as v:
    t = time.perf_counter()
    s = rekey(v, actor=ACTOR, purpose=PURPOSE, _settle=0.0)
    sec = time.perf_counter() - t
maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # this process's own high-water mark: ru_maxrss also counts the parent's (see below)
    hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
    peak = int(hwm[0].split()[1]) * 1024
except (OSError, IndexError):
    peak = maxrss
print(json.dumps({"keys": s.keys, "seconds": sec, "peak_rss": peak, "ru_maxrss": maxrss}))
"""

_INDEX_CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from _common import ACTOR, PASSPHRASE, PURPOSE
from strongroom import Vault
from strongroom.batch._rekey import rotate
from strongroom.batch._reindex import reindex
with Vault.open(Path(sys.argv[1]), Path(sys.argv[2]), PASSPHRASE) as v:
    rotate(v, actor=ACTOR, purpose=PURPOSE, collection="person", index=True, _settle=0.0)
    t = time.perf_counter()
    s = reindex(v, actor=ACTOR, purpose=PURPOSE, _settle=0.0)
    sec = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
print(json.dumps({"records": s.records, "seconds": sec, "peak_rss": int(hwm[0].split()[1]) * 1024}))
"""


def build(work: Path, n: int, workers: int | None) -> tuple[Path, Path]:
    data, keys = work / f"data-{n}", work / f"keys-{n}"
    csv = persons_csv(OUT, n)
    with Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2) as v:
        say(f"importing {n:,} persons (not timed)")
        import_file(v, "person", csv, actor=ACTOR, purpose=PURPOSE, **import_kwargs(workers))
        rotate(v, actor=ACTOR, purpose=PURPOSE)
    return data, keys


def run(data: Path, keys: Path, child: str = _CHILD) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", child, str(data), str(keys), str(REPO / "bench")],
        capture_output=True,
        text=True,
        check=True,
    )
    r: dict[str, Any] = json.loads(out.stdout)
    n = r.get("keys", r.get("records", 0))
    r["keys_per_second" if "keys" in r else "records_per_second"] = (
        n / r["seconds"] if r["seconds"] else 0.0
    )
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=None, help="import workers (not timed)")
    ap.add_argument("--keep", action="store_true", help="keep the vaults (in a temp dir)")
    ap.add_argument("--index", action="store_true", help="also rotate and reindex the index")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="strongroom-rekey-"))
    reindexed: dict[str, Any] = {}
    try:
        small_n = max(args.persons // 10, 1000)
        results = {}
        for label, n in (("small", small_n), ("full", args.persons)):
            data, keys = build(work, n, args.workers)
            say(f"rekey of {n:,} persons")
            results[label] = {"persons": n, **run(data, keys)}
            if args.index:
                say(f"index rotation and reindex of {n:,} persons")
                reindexed[label] = {"persons": n, **run(data, keys, _INDEX_CHILD)}
            shutil.rmtree(data.parent / f"data-{n}", ignore_errors=not args.keep)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    full, small = results["full"], results["small"]
    flat = full["peak_rss"] <= small["peak_rss"] * BAR_FLAT[0] + BAR_FLAT[1] * 10**6
    rate_ok = full["keys_per_second"] >= BAR_RATE
    print(f"rekey, SQLite, {full['persons']:,} persons")
    print(
        f"  re-wrapped {full['keys']:,} data keys in {full['seconds']:.2f} s: "
        f"{full['keys_per_second']:,.0f} persons/s (bar {BAR_RATE:,}) {verdict(rate_ok)}"
    )
    print(
        f"  peak RSS {full['peak_rss'] / 1e6:.0f} MB vs {small['peak_rss'] / 1e6:.0f} MB "
        f"for {small['persons']:,} persons: {'flat' if flat else 'grows'} {verdict(flat)}"
    )
    doc = {"machine": machine(), "results": results, "rate_ok": rate_ok, "memory_flat": flat}
    if reindexed:
        big, small_ix = reindexed["full"], reindexed["small"]
        ix_flat = big["peak_rss"] <= small_ix["peak_rss"] * BAR_FLAT[0] + BAR_FLAT[1] * 10**6
        print(
            f"  reindex: {big['records']:,} records in {big['seconds']:.2f} s: "
            f"{big['records_per_second']:,.0f} records/s; peak RSS {big['peak_rss'] / 1e6:.0f} "
            f"MB vs {small_ix['peak_rss'] / 1e6:.0f} MB: {'flat' if ix_flat else 'grows'}"
        )
        doc["reindex"] = {"results": reindexed, "memory_flat": ix_flat}
    write_json(OUT / "rekey.json", doc)


if __name__ == "__main__":
    main()
