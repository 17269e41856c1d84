"""Scan benchmark: ``strongroom scan`` against Presidio's analyzer on the same dumps.

It writes, in a temporary directory, two synthetic dumps with an answer key:

* **sparse** (``--scale`` x 1 GiB): an application log, mostly noise — timestamps, English
  and Chinese phrases and short counts in 70% of the lines, a hex trace id in 20%, an 18-digit
  order number, a 12-digit waybill or epoch milliseconds in 10% — with one line of personal
  data (a resident ID and a mobile, 30% of mobiles spaced as ``+86 138 1234 5678``) every
  2,000 lines;
* **dense** (``--scale`` x 256 MiB): a leaked table as CSV, one person a row (name, resident
  ID, mobile, email, city, note).

Then, for each dump:

1. ``strongroom scan FILE --workers N`` (default 2: both cores), end to end as a subprocess,
   timed, its peak memory sampled as the PSS sum over the command and its worker processes;
2. a slice of the dump (its first ``--slice-mb`` MB, cut at a line) scanned by strongroom's
   scanner and by Presidio's ``AnalyzerEngine`` in this process, one core each, for recall
   against the answer key (resident IDs and mobiles, matched by line and normalised value) and
   for Presidio's throughput, which is extrapolated: Presidio over a whole 1 GiB dump would
   take hours. strongroom's one-core figure times the command's own path (``read_unit`` and
   ``count_row``, no samples); its recall comes from a second, untimed pass that builds
   every finding.

Presidio runs with pattern recognisers only: its predefined email and credit-card recognisers
plus two custom ``PatternRecognizer`` objects for the same Chinese resident IDs (with the
check character validated) and mobiles that strongroom looks for, with their context words;
its NLP engine is a stub that returns no tokens (no spaCy model is loaded or needed). Presidio
is not a dependency of strongroom: ``pip install presidio-analyzer`` into the virtualenv, or
run with ``--install-presidio``; without it only strongroom's figures are printed.

Results are printed and written to ``<out>/scan.json``. Bars (PASS/MISS, exit status 0 either
way): at least 50x Presidio's throughput at no lower recall; at least 100 MB/s on the sparse
and 30 MB/s on the dense dump with both cores; peak memory under 1 GB.

Run from the repository root: ``.venv/bin/python bench/scan.py --scale 0.05`` for a quick run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from _common import OUT, REPO, machine, say, verdict, write_json
from strongroom.scan._detect import Scanner
from strongroom.scan._report import Report
from strongroom.scan._split import Unit, read_unit
from strongroom.scan._targets import read_target
from strongroom.scan._validate import mobile_ok, resident_id
from strongroom.schema._resident_id import resident_id_check_char
from strongroom.synth import generate_persons

SEED = 7
MB = 1_000_000
SPARSE_BYTES = 1 << 30
DENSE_BYTES = 256 << 20
SPARSE_EVERY = 2_000  # lines of noise per line of personal data
BARS = {"ratio": 50.0, "sparse_mbps": 100.0, "dense_mbps": 30.0, "peak_mb": 1000.0}
_PREFIXES = [p for p in ("130", "133", "135", "138", "139", "150", "158", "177", "186", "199")]
_WORDS = ("alpha", "beta", "gamma", "delta", "cache", "miss", "retry", "upstream", "timeout")
_CN = ("订单已发货", "库存同步完成", "支付回调成功", "用户登录", "配置已刷新", "任务重试")
_CITIES = ("北京市", "上海市", "广州市", "成都市", "杭州市", "武汉市")


# -- data ------------------------------------------------------------------------------------
class People:
    """Fast synthetic identities: valid resident IDs and allocated mobiles, from a seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        persons = list(generate_persons(500, seed=SEED))
        self.areas = sorted({p.resident_id[:6] for p in persons})
        self.names = [p.name for p in persons]
        self.prefixes = [p for p in _PREFIXES if mobile_ok(p + "12345678")]

    def resident_id(self) -> str:
        r = self.rng
        body = (
            f"{r.choice(self.areas)}{r.randint(1950, 2005)}{r.randint(1, 12):02d}"
            f"{r.randint(1, 28):02d}{r.randint(0, 999):03d}"
        )
        return body + resident_id_check_char(body)

    def mobile(self) -> str:
        return self.rng.choice(self.prefixes) + f"{self.rng.randint(0, 99_999_999):08d}"


def _noise_pool(rng: random.Random, n: int = 20_000) -> list[str]:
    """Log lines: 70% text with short numbers, 20% with a hex trace id, 10% with a long
    number (an 18-digit order number, a 12-digit waybill or epoch milliseconds)."""
    lines = []
    for i in range(n):
        stamp = f"2024-0{1 + i % 9}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{i % 60:02d}"
        kind = i % 20
        if kind == 0:
            order = rng.randint(10**17, 10**18 - 1)
            lines.append(f"{stamp} INFO GET /api/v1/orders/{order} status=200 ms={i % 97}")
        elif kind == 1:
            waybill = rng.randint(10**11, 10**12 - 1)
            lines.append(f"{stamp} INFO {rng.choice(_CN)}\uff0c物流单号 {waybill}")
        elif kind == 2:
            lines.append(f"{stamp} WARN cache miss key=user:{i} epoch={1700000000000 + i}")
        elif kind < 7:
            trace = rng.getrandbits(128)
            lines.append(f"{stamp} DEBUG trace_id={trace:032x} route=/v1/{rng.choice(_WORDS)}")
        elif kind < 12:
            words = " ".join(rng.choices(_WORDS, k=8))
            lines.append(f"{stamp} INFO [w-{i % 8}] {words} status=200 ms={i % 500}")
        elif kind < 16:
            lines.append(f"{stamp} INFO {rng.choice(_CN)} 批次 {i % 977} 共 {i % 5000} 条")
        else:
            lines.append(f"{stamp} INFO batch {i % 1000} done: {i % 99_999} rows in {i % 500} ms")
    return lines


class Truth:
    """The answer key of one dump: per-kind totals, and (line, kind, value) in the slice."""

    def __init__(self, slice_bytes: int) -> None:
        self.slice_bytes = slice_bytes
        self.planted: Counter[str] = Counter()
        self.in_slice: set[tuple[int, str, str]] = set()
        self.slice_lines = 0

    def add(self, line: int, offset: int, kind: str, value: str) -> None:
        self.planted[kind] += 1
        if offset < self.slice_bytes:
            self.in_slice.add((line, kind, value))


def write_sparse(path: Path, size: int, truth: Truth) -> None:
    rng = random.Random(f"{SEED}:sparse")
    people, pool = People(rng), _noise_pool(rng)
    line, offset = 0, 0
    with path.open("w", encoding="utf-8") as fh:
        while offset < size:
            block = rng.choices(pool, k=SPARSE_EVERY - 1)
            text = "\n".join(block) + "\n"
            fh.write(text)
            line += len(block)
            offset += len(text.encode())
            rid, mobile = people.resident_id(), people.mobile()
            spaced = rng.random() < 0.3
            phone = f"+86 {mobile[:3]} {mobile[3:7]} {mobile[7:]}" if spaced else mobile
            person = f"2024-02-01 10:00:00.000 INFO 实名核验 身份证 {rid} 手机 {phone} ok\n"
            fh.write(person)
            line += 1
            truth.add(line, offset, "resident_id", rid)
            truth.add(line, offset, "mobile", "+86" + mobile)
            offset += len(person.encode())


def write_dense(path: Path, size: int, truth: Truth) -> None:
    rng = random.Random(f"{SEED}:dense")
    people = People(rng)
    header = "姓名,身份证号,手机,邮箱,城市,备注\n"
    line, offset = 1, len(header.encode())
    with path.open("w", encoding="utf-8") as fh:
        fh.write(header)
        while offset < size:
            rows = []
            for _ in range(2_000):
                rid, mobile = people.resident_id(), people.mobile()
                email = f"u{rng.randint(1, 10**8)}@example.com"
                row = (
                    f"{rng.choice(people.names)},{rid},{mobile},{email},"
                    f"{rng.choice(_CITIES)},会员等级{rng.randint(1, 5)}\n"
                )
                line += 1
                truth.add(line, offset, "resident_id", rid)
                truth.add(line, offset, "mobile", "+86" + mobile)
                offset += len(row.encode())
                rows.append(row)
            fh.write("".join(rows))


def cut_slice(path: Path, out: Path, size: int) -> int:
    """The first ``size`` bytes of ``path`` up to a line end, into ``out``; its line count."""
    with path.open("rb") as src:
        data = src.read(size)
        data += src.readline()
    out.write_bytes(data)
    return data.count(b"\n")


# -- strongroom ------------------------------------------------------------------------------
def _tree_pss_kb(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if row.startswith("Pss:"):
                    total += int(row.split()[1])
        except OSError:
            continue
    return total


def run_cli(path: Path, workers: int) -> dict[str, Any]:
    """``strongroom scan`` as a subprocess: seconds, counts, peak PSS of its process tree."""
    cmd = [str(REPO / ".venv" / "bin" / "strongroom"), "scan", str(path), "--samples", "0"]
    cmd += ["--workers", str(workers)]
    env = {**os.environ, "COLUMNS": "200"}
    peak = 0
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_pss_kb(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    counts = {
        kind: int(n.replace(",", ""))
        for kind, n in re.findall(
            r"(resident_id|mobile|bank_card|passport|email|name)\s*│\s*([\d,]+)", out.decode()
        )
    }
    return {
        "seconds": seconds,
        "counts": counts,
        "peak_pss_mb": peak / 1024,
        "exit": proc.returncode,
    }


def strongroom_slice(path: Path) -> tuple[float, set[tuple[int, str, str]]]:
    """strongroom's scanner on the slice, one core: the seconds of the command's own path
    (``read_unit`` + ``count_row``: counts and no samples, as ``--samples 0``), and, from a
    second, untimed pass that builds every finding, (line, kind, value digest) for recall."""
    scanner = Scanner(digest_key=b"bench" * 8)
    report = Report(samples=0)
    start = time.perf_counter()
    for row in read_unit(Unit(str(path))):
        scanner.count_row(row, report, None)
    seconds = time.perf_counter() - start
    found: set[tuple[int, str, str]] = set()
    for row in read_target(path, blocks=True):  # CSV a block at a time, as the command reads
        for f in scanner.scan_row(row):
            if f.kind in ("resident_id", "mobile"):
                found.add((f.location.line or 0, f.kind, f.value_digest))
    return seconds, found


# -- Presidio --------------------------------------------------------------------------------
def presidio_available(install: bool) -> bool:
    try:
        importlib.import_module("presidio_analyzer")
        return True
    except ImportError:
        if not install:
            return False
    say("installing presidio-analyzer into the virtualenv (--install-presidio)")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "presidio-analyzer"], check=True
    )
    importlib.invalidate_caches()
    return True


def presidio_engine() -> Any:
    # Presidio's email recogniser asks tldextract, which tries to download the public-suffix
    # list (no network here) and logs a traceback before using its bundled copy.
    logging.getLogger("tldextract").setLevel(logging.CRITICAL)
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpArtifacts, NlpEngine
    from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, EmailRecognizer

    class NoNlp(NlpEngine):  # type: ignore[misc]
        """Pattern recognisers only: no tokens, no spaCy model."""

        def load(self) -> None:
            pass

        def is_loaded(self) -> bool:
            return True

        def process_text(self, text: str, language: str) -> Any:
            return NlpArtifacts([], [], [], [], self, language)

        def process_batch(self, texts: Any, language: str, **_: Any) -> Iterator[Any]:
            for text in texts:
                yield text, self.process_text(text, language)

        def is_stopword(self, word: str, language: str) -> bool:
            return False

        def is_punct(self, word: str, language: str) -> bool:
            return False

        def get_supported_entities(self) -> list[str]:
            return []

        def get_supported_languages(self) -> list[str]:
            return ["en"]

    class ResidentId(PatternRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return resident_id(pattern_text) is not None

    rid = ResidentId(
        supported_entity="CN_RESIDENT_ID",
        patterns=[
            Pattern(
                "cn_resident_id",
                r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])"
                r"(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])",
                0.5,
            )
        ],
        context=["身份证", "证件号", "id", "id_card"],
    )
    mobile = PatternRecognizer(
        supported_entity="CN_MOBILE",
        patterns=[
            Pattern(
                "cn_mobile",
                r"(?<![0-9A-Za-z])(?:(?:\+|00)?86[ -]?)?"
                r"1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?![0-9A-Za-z])",
                0.5,
            )
        ],
        context=["手机", "电话", "phone", "mobile", "tel"],
    )
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (rid, mobile, EmailRecognizer(), CreditCardRecognizer()):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(registry=registry, nlp_engine=NoNlp(), supported_languages=["en"])


def _normalise(kind: str, text: str) -> str:
    if kind == "resident_id":
        return text.upper()
    digits = "".join(ch for ch in text if ch.isdigit())
    return "+86" + digits[-11:]


def presidio_slice(
    path: Path, lines_per_call: int = 200
) -> tuple[float, set[tuple[int, str, str]]]:
    """Presidio on the slice, one core: seconds and (line, kind, normalised value)."""
    engine = presidio_engine()
    kinds = {"CN_RESIDENT_ID": "resident_id", "CN_MOBILE": "mobile"}
    entities = [*kinds, "EMAIL_ADDRESS", "CREDIT_CARD"]
    found: set[tuple[int, str, str]] = set()
    lines = path.read_text(encoding="utf-8").split("\n")
    start = time.perf_counter()
    for first in range(0, len(lines), lines_per_call):
        block = lines[first : first + lines_per_call]
        text = "\n".join(block)
        starts, pos = [], 0
        for line in block:
            starts.append(pos)
            pos += len(line) + 1
        for r in engine.analyze(text=text, entities=entities, language="en"):
            kind = kinds.get(r.entity_type)
            if kind is None:
                continue
            index = _bisect(starts, r.start)
            found.add((first + index + 1, kind, _normalise(kind, text[r.start : r.end])))
    return time.perf_counter() - start, found


def _bisect(starts: list[int], offset: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid - 1
    return lo


# -- the run ---------------------------------------------------------------------------------
def recall(truth: set[tuple[int, str, str]], found: set[tuple[int, str, str]], kind: str) -> float:
    wanted = {t for t in truth if t[1] == kind}
    return len(wanted & found) / max(1, len(wanted))


def bench_dump(
    name: str, path: Path, truth: Truth, work: Path, workers: int, presidio: bool
) -> dict[str, Any]:
    size = path.stat().st_size
    say(f"{name}: strongroom scan {size / MB:,.0f} MB with {workers} worker(s)")
    cli = run_cli(path, workers)
    slice_path = work / f"{name}-slice{path.suffix}"
    cut_slice(path, slice_path, truth.slice_bytes)
    slice_mb = slice_path.stat().st_size / MB
    say(f"{name}: recall on a {slice_mb:,.1f} MB slice")
    key = Scanner(digest_key=b"bench" * 8)
    truth_sr = {(line, kind, key.digest(kind, value)) for line, kind, value in truth.in_slice}  # type: ignore[arg-type]
    sr_seconds, sr_found = strongroom_slice(slice_path)
    result: dict[str, Any] = {
        "bytes": size,
        "strongroom": {
            "workers": workers,
            "seconds": round(cli["seconds"], 2),
            "mb_per_s": round(size / MB / cli["seconds"], 1),
            "peak_pss_mb": round(cli["peak_pss_mb"], 1),
            "counts": cli["counts"],
            "planted": dict(truth.planted),
            "slice_mb_per_s_one_core": round(slice_mb / sr_seconds, 1),
            "recall": {
                k: round(recall(truth_sr, sr_found, k), 4) for k in ("resident_id", "mobile")
            },
        },
        "slice_mb": round(slice_mb, 2),
    }
    if presidio:
        say(f"{name}: Presidio on the {slice_mb:,.1f} MB slice (one core)")
        pr_seconds, pr_found = presidio_slice(slice_path)
        result["presidio"] = {
            "seconds_on_slice": round(pr_seconds, 2),
            "mb_per_s_one_core": round(slice_mb / pr_seconds, 3),
            "recall": {
                k: round(recall(truth.in_slice, pr_found, k), 4) for k in ("resident_id", "mobile")
            },
            "extrapolated_seconds_whole_dump": round(size / MB / (slice_mb / pr_seconds)),
        }
        result["ratio"] = round(
            result["strongroom"]["mb_per_s"] / result["presidio"]["mb_per_s_one_core"], 1
        )
        result["ratio_per_core"] = round(
            result["strongroom"]["slice_mb_per_s_one_core"]
            / result["presidio"]["mb_per_s_one_core"],
            1,
        )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0, help="x 1 GiB sparse, 256 MiB dense (1.0)")
    p.add_argument("--workers", type=int, default=2, help="strongroom scan --workers (2)")
    p.add_argument("--slice-mb", type=float, default=4.0, help="slice for recall and Presidio (4)")
    p.add_argument("--tmp", type=Path, default=None, help="where the temporary dumps go")
    p.add_argument("--out", type=Path, default=OUT, help="where scan.json goes")
    p.add_argument("--no-presidio", action="store_true", help="strongroom only")
    p.add_argument(
        "--install-presidio", action="store_true", help="pip install presidio-analyzer if missing"
    )
    args = p.parse_args(argv)
    if args.scale <= 0 or args.workers < 1 or args.slice_mb <= 0:
        p.error("--scale, --workers and --slice-mb must be positive")
    presidio = not args.no_presidio and presidio_available(args.install_presidio)
    if not presidio and not args.no_presidio:
        say("presidio-analyzer is not installed: strongroom only (--install-presidio adds it)")
    work = Path(tempfile.mkdtemp(prefix="strongroom-scan-bench-", dir=args.tmp))
    results: dict[str, Any] = {"machine": machine(), "scale": args.scale}
    try:
        slice_bytes = int(args.slice_mb * MB)
        for name, writer, size, suffix in (
            ("sparse", write_sparse, SPARSE_BYTES, ".log"),
            ("dense", write_dense, DENSE_BYTES, ".csv"),
        ):
            path = work / f"{name}{suffix}"
            truth = Truth(slice_bytes)
            say(f"{name}: writing {int(size * args.scale) / MB:,.0f} MB")
            writer(path, int(size * args.scale), truth)
            results[name] = bench_dump(name, path, truth, work, args.workers, presidio)
            path.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, presidio)
    write_json(args.out / "scan.json", results)
    return 0


def report(results: dict[str, Any], presidio: bool) -> None:
    console = Console()
    table = Table(title=f"scan benchmark (scale {results['scale']})")
    for col in (
        "dump",
        "MB",
        "strongroom MB/s",
        "peak PSS MB",
        "recall ID/mobile",
        "Presidio MB/s",
        "Presidio recall",
        "ratio",
    ):
        table.add_column(col, justify="right")
    for name in ("sparse", "dense"):
        r = results[name]
        s = r["strongroom"]
        pr = r.get("presidio", {})
        table.add_row(
            name,
            f"{r['bytes'] / MB:,.0f}",
            f"{s['mb_per_s']:,.1f}",
            f"{s['peak_pss_mb']:,.0f}",
            f"{s['recall']['resident_id']:.3f}/{s['recall']['mobile']:.3f}",
            f"{pr['mb_per_s_one_core']:,.3f}" if pr else "-",
            f"{pr['recall']['resident_id']:.3f}/{pr['recall']['mobile']:.3f}" if pr else "-",
            f"{r['ratio']:,.0f}x" if pr else "-",
        )
    console.print(table)
    for name in ("sparse", "dense"):
        s = results[name]["strongroom"]
        console.print(f"{name}: strongroom counts {s['counts']} (planted {s['planted']})")
    sparse, dense = results["sparse"]["strongroom"], results["dense"]["strongroom"]
    peak = max(sparse["peak_pss_mb"], dense["peak_pss_mb"])
    console.print(
        f"{verdict(sparse['mb_per_s'] >= BARS['sparse_mbps'])} sparse ≥ 100 MB/s with both "
        f"cores: {sparse['mb_per_s']:,.1f}"
    )
    console.print(
        f"{verdict(dense['mb_per_s'] >= BARS['dense_mbps'])} dense ≥ 30 MB/s with both "
        f"cores: {dense['mb_per_s']:,.1f}"
    )
    console.print(
        f"{verdict(peak < BARS['peak_mb'])} peak memory < 1 GB: {peak:,.0f} MB "
        "(PSS, command + workers)"
    )
    if presidio:
        for name in ("sparse", "dense"):
            r = results[name]
            no_lower = all(
                r["strongroom"]["recall"][k] >= r["presidio"]["recall"][k]
                for k in ("resident_id", "mobile")
            )
            ok = r["ratio"] >= BARS["ratio"] and no_lower
            console.print(
                f"{verdict(ok)} {name}: ≥ 50x Presidio at no lower recall: {r['ratio']:,.0f}x "
                f"({r['ratio_per_core']:,.0f}x core for core)"
            )


if __name__ == "__main__":
    raise SystemExit(main())
