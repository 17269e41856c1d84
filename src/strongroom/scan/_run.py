"""Running a scan: units of work on this process, on a pool of processes, or on Dask.

===========  ================================================================================
engine       how units run
===========  ================================================================================
``local``    ``workers=1``: here, one after the other. ``workers>1``: a process pool
             (``forkserver``, with the scanner preloaded), units handed out in order
``dask``     a ``distributed`` cluster at ``scheduler`` (``tcp://host:8786``, or ``tls://``);
             its workers must see the files at the same paths and have strongroom installed
===========  ================================================================================

Every engine returns the units' :class:`Report` objects in unit order, so the merged report is
the same whatever ran it. A unit's report is small — counts, samples, and (only when asked)
the findings and the collected values — and those are all that leave a worker: never a row.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any, Literal

from strongroom.errors import ConfigError
from strongroom.scan._detect import Scanner
from strongroom.scan._model import KINDS, Kind
from strongroom.scan._report import Report
from strongroom.scan._split import DEFAULT_CHUNK_BYTES, Unit, plan, read_unit

__all__ = ["Options", "run", "scan_paths", "scan_unit"]

Engine = Literal["local", "dask"]


@dataclass(frozen=True, slots=True)
class Options:
    """How each unit is scanned (sent to every worker)."""

    threshold: float
    digest_key: bytes
    kinds: tuple[Kind, ...] = KINDS
    samples: int = 3
    keep: bool = False  # return every finding (JSON, SARIF)
    collect: bool = False  # return validated resident IDs and mobiles (--vault)
    prefilter: Literal["auto", "hyperscan", "re"] = "auto"

    def __repr__(self) -> str:  # never the digest key
        return f"Options(threshold={self.threshold}, keep={self.keep}, collect={self.collect})"

    def scanner(self) -> Scanner:
        """This process's scanner for these options (built once: hyperscan scratch)."""
        key = (self.threshold, self.kinds, self.prefilter, self.digest_key)
        scanner = _SCANNERS.get(key)
        if scanner is None:
            scanner = Scanner(
                self.threshold, self.kinds, engine=self.prefilter, digest_key=self.digest_key
            )
            _SCANNERS.clear()
            _SCANNERS[key] = scanner
        return scanner


_SCANNERS: dict[tuple[Any, ...], Scanner] = {}


def scan_unit(unit: Unit, options: Options) -> tuple[Report, int]:
    """Scan one unit; return its report and, for a byte range, the lines it held."""
    scanner = options.scanner()
    report = Report(samples=options.samples, keep=options.keep)
    collect = report.values if options.collect else None
    lines: list[int] = []
    for row in read_unit(unit, lines):
        scanner.count_row(row, report, collect)
    report.bytes = unit.size
    return report, (lines[0] if lines else 0)


def _local(units: Sequence[Unit], options: Options, workers: int) -> Iterator[tuple[Report, int]]:
    if workers <= 1 or len(units) <= 1:
        for unit in units:
            yield scan_unit(unit, options)
        return
    context = multiprocessing.get_context("forkserver")
    # the main script too (the default), once, in the fork server: workers forked from it
    # then skip re-running it as __mp_main__ (for the console script, importing the CLI)
    context.set_forkserver_preload(["__main__", "strongroom.scan._run"])
    with ProcessPoolExecutor(max_workers=min(workers, len(units)), mp_context=context) as pool:
        yield from pool.map(scan_unit, units, repeat(options))


def _dask(units: Sequence[Unit], options: Options, scheduler: str) -> Iterator[tuple[Report, int]]:
    try:
        distributed = importlib.import_module("distributed")
    except ImportError as exc:
        raise ConfigError(
            "--engine dask needs Dask's distributed package: pip install 'strongroom[dask]'"
        ) from exc
    try:
        client = distributed.Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"--scheduler: cannot reach a Dask scheduler at {scheduler}") from exc
    try:
        futures = client.map(scan_unit, list(units), options=options, pure=False)
        for future in futures:
            yield future.result()
            future.release()
    finally:
        client.close()


def run(
    units: Sequence[Unit],
    options: Options,
    *,
    engine: Engine = "local",
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[Report], None] | None = None,
) -> Report:
    """Scan the units; ``progress`` is called with each unit's report as it is merged."""
    total = Report(samples=options.samples, keep=options.keep)
    total.files = len({u.path for u in units})
    if engine == "dask":
        if not scheduler:
            raise ConfigError("--engine dask needs --scheduler ADDRESS")
        results = _dask(units, options, scheduler)
    else:
        results = _local(units, options, workers)
    offsets: dict[str, int] = {}
    for unit, (report, lines) in zip(units, results, strict=True):
        total.merge(report, offsets.get(unit.path, 0))
        offsets[unit.path] = offsets.get(unit.path, 0) + lines
        if progress is not None:
            progress(report)
    return total


def scan_paths(
    paths: Sequence[Path],
    options: Options,
    *,
    engine: Engine = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Report:
    """Plan and scan files (already expanded); ``workers`` defaults to the CPU count."""
    units = list(plan(list(paths), chunk_bytes))
    count = workers if workers is not None else (os.cpu_count() or 1)
    return run(units, options, engine=engine, workers=count, scheduler=scheduler)
