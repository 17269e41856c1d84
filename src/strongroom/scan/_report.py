"""What a scan found, summed up in constant memory.

A :class:`Report` keeps counts per kind, the highest confidence, and the first few findings of
each kind as masked samples. It keeps every finding only when asked (``keep``: JSON and SARIF
output list them all), and the normalised values of validated resident IDs and mobiles only
when asked (``collect``: the ``--vault`` look-ups). Those values stay in memory: they are never
written, logged or printed.

Reports of units scanned apart (other processes, other machines) are merged in unit order, so
the samples and the findings come out in the same order whatever the engine.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from strongroom.scan._model import Finding, Kind
from strongroom.scan._split import shift

__all__ = ["Report"]


@dataclass(slots=True)
class Report:
    samples: int = 3  # samples kept per kind
    keep: bool = False  # keep every finding
    counts: Counter[Kind] = field(default_factory=Counter)
    top: float = 0.0  # highest confidence found
    examples: dict[Kind, list[Finding]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    values: set[tuple[Kind, str]] = field(default_factory=set, repr=False)
    files: int = 0
    tables: int = 0
    bytes: int = 0

    def __repr__(self) -> str:  # never the collected values
        return f"Report(counts={dict(self.counts)}, top={self.top}, files={self.files})"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def add(self, findings: Iterable[Finding], lines: int = 0) -> None:
        """Count findings (their lines moved down by ``lines``: a later range of a file)."""
        for f in findings:
            self.counts[f.kind] += 1
            self.top = max(self.top, f.confidence)
            shown = self.examples.setdefault(f.kind, [])
            if len(shown) < self.samples:
                shown.append(shift(f, lines))
            if self.keep:
                self.findings.append(shift(f, lines))

    def merge(self, other: Report, lines: int = 0) -> None:
        """Add a report of a later unit (its lines moved down by ``lines``)."""
        for kind, n in other.counts.items():
            self.counts[kind] += n
        self.top = max(self.top, other.top)
        for kind, shown in other.examples.items():
            mine = self.examples.setdefault(kind, [])
            mine.extend(shift(f, lines) for f in shown[: self.samples - len(mine)])
        if self.keep:
            self.findings.extend(shift(f, lines) for f in other.findings)
        self.values |= other.values
        self.bytes += other.bytes
        self.tables += other.tables
