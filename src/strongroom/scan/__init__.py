"""``strongroom scan``: find unencrypted personal data in files, dumps and databases.

The finding model, streaming targets (files, archives, Parquet, SQLite, live databases),
detectors with the pattern → validation → context scoring ladder, the hyperscan prefilter (with
a plain ``re`` fallback), work split by file and byte range over processes or a Dask cluster,
the vault look-ups (``--vault``) and the labelled leak-corpus generator.
"""

from strongroom.scan._corpus import write_leak_corpus
from strongroom.scan._detect import DEFAULT_THRESHOLD, Scanner
from strongroom.scan._model import KINDS, Chunk, Finding, Kind, Location
from strongroom.scan._prefilter import Prefilter, hyperscan_available
from strongroom.scan._targets import expand, read_target

__all__ = [
    "DEFAULT_THRESHOLD",
    "KINDS",
    "Chunk",
    "Finding",
    "Kind",
    "Location",
    "Prefilter",
    "Scanner",
    "expand",
    "hyperscan_available",
    "read_target",
    "write_leak_corpus",
]
