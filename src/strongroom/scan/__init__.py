"""``strongroom scan``: find unencrypted personal data in files, dumps and databases.

Work in progress (issue 7): targets and the finding model are here; detectors, scoring and
the command arrive next.
"""

from strongroom.scan._model import KINDS, Chunk, Finding, Kind, Location
from strongroom.scan._targets import expand, read_target

__all__ = ["KINDS", "Chunk", "Finding", "Kind", "Location", "expand", "read_target"]
