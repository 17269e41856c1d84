"""The Merkle tree stored as C2SP tlog-tiles, the integrator that grows it, and proofs from it.

Layout (c2sp.org/tlog-tiles, tile height 8)::

    tile/<L>/<N>[.p/<W>]       tile N of level L: the hashes at tree level 8·L, indices
                               256·N … 256·N+255, concatenated (32 bytes each)
    tile/entries/<N>[.p/<W>]   entry bundle N: entries 256·N … as uint16-BE length ‖ bytes

``<N>`` is written in zero-padded 3-digit path elements, all but the last prefixed with ``x``
(1234067 → ``x001/x234/067``). A full tile holds 256 hashes (8,192 bytes); the rightmost tile of
each level may be *partial*, of width ``W = floor(size / 256**L) mod 256`` (1…255), and is
never hashed into the level above. Level-0 hashes are leaf hashes; a level-L hash (L ≥ 1) is
the Merkle tree hash of a full tile of level L-1.

A :class:`TileStore` keeps the newest version of each tile (a partial tile grows in place and
becomes full); ``read_tile(level, index, width)`` returns the first ``width`` hashes when it
holds at least that many. Hashes never change once written, so the prefix of a newer tile is
the older tile.

:func:`integrate` appends a batch of leaf hashes: it reads only the rightmost (partial) tile of
each level, so a batch costs O(batch + log n) work and reads, never a re-read of the tree.
:class:`TileHashReader` serves a proof's O(log n) nodes from O(log n) tile reads, hashing the
few levels inside a tile that are not stored (as sumdb ``tlog`` and tessera do).
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from strongroom.audit._merkle import EMPTY_ROOT, HASH_SIZE, NodeId, ProofError
from strongroom.errors import StrongroomError

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Integration",
    "MemoryTileStore",
    "Tile",
    "TileError",
    "TileHashReader",
    "TileReader",
    "TileRef",
    "TileStore",
    "decode_entry_bundle",
    "encode_entry_bundle",
    "entries_path",
    "integrate",
    "parse_tile_path",
    "tile_path",
]

TILE_HEIGHT: Final = 8
TILE_WIDTH: Final = 1 << TILE_HEIGHT
_TILE_BYTES: Final = TILE_WIDTH * HASH_SIZE
_MAX_LEVEL: Final = 63
_MAX_ENTRY: Final = 0xFFFF

_sha256 = hashlib.sha256
_NODE: Final = b"\x01"


class TileError(StrongroomError):
    """A tile or entry bundle is missing, malformed, or would rewrite stored hashes."""


# --- paths --------------------------------------------------------------------------------------


def _encode_index(index: int) -> str:
    if index < 0:
        raise ValueError("a tile index is non-negative")
    groups: list[str] = []
    while True:
        groups.append(f"{index % 1000:03d}")
        index //= 1000
        if not index:
            break
    groups.reverse()
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def _suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"a tile is 1 to {TILE_WIDTH} hashes wide")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` for hash tile ``index`` of ``level``."""
    if not 0 <= level <= _MAX_LEVEL:
        raise ValueError(f"a tile level is 0 to {_MAX_LEVEL}")
    return f"tile/{level}/{_encode_index(index)}{_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]`` for entry bundle ``index``."""
    return f"tile/entries/{_encode_index(index)}{_suffix(width)}"


@dataclass(frozen=True)
class TileRef:
    """A parsed tile path. ``level`` is ``None`` for an entry bundle."""

    level: int | None
    index: int
    width: int


_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> TileRef:
    """Parse a canonical tile or entry-bundle path; anything else raises :class:`TileError`."""
    m = _PATH.fullmatch(path)
    if m is None:
        raise TileError("not a tile path")
    level = None if m["level"] == "entries" else int(m["level"])
    index = int(m["index"].replace("x", "").replace("/", ""))
    width = int(m["width"]) if m["width"] else TILE_WIDTH
    if (level is not None and level > _MAX_LEVEL) or (width >= TILE_WIDTH and m["width"]):
        raise TileError("not a tile path")
    canonical = entries_path(index, width) if level is None else tile_path(level, index, width)
    if canonical != path:  # e.g. a needless x000/ group
        raise TileError("not a canonical tile path")
    return TileRef(level, index, width)


# --- entry bundles ------------------------------------------------------------------------------


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Entries as big-endian uint16 length-prefixed records (each at most 65,535 bytes)."""
    out = bytearray()
    for entry in entries:
        if len(entry) > _MAX_ENTRY:
            raise TileError(f"an entry in a bundle is at most {_MAX_ENTRY} bytes")
        out += struct.pack(">H", len(entry))
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; a truncated record raises :class:`TileError`."""
    entries: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        if pos + 2 > end:
            raise TileError("entry bundle ends inside a length prefix")
        (n,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + n > end:
            raise TileError("entry bundle ends inside an entry")
        entries.append(bytes(data[pos : pos + n]))
        pos += n
    if len(entries) > TILE_WIDTH:
        raise TileError(f"an entry bundle holds at most {TILE_WIDTH} entries")
    return entries


# --- tiles and stores ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    """Hash tile ``index`` of ``level``: ``width`` concatenated 32-byte hashes."""

    level: int
    index: int
    hashes: bytes

    def __post_init__(self) -> None:
        n, rest = divmod(len(self.hashes), HASH_SIZE)
        if rest or not 1 <= n <= TILE_WIDTH or not 0 <= self.level <= _MAX_LEVEL:
            raise TileError(f"tile {self.level}/{self.index} has a malformed size")
        if self.index < 0:
            raise TileError("a tile index is non-negative")

    @property
    def width(self) -> int:
        return len(self.hashes) // HASH_SIZE

    @property
    def path(self) -> str:
        return tile_path(self.level, self.index, self.width)


class TileReader(Protocol):
    def read_tile(self, level: int, index: int, width: int) -> bytes | None:
        """The first ``width`` hashes of tile ``(level, index)``, or ``None`` if fewer are held."""
        ...


class TileStore(TileReader, Protocol):
    def write_tiles(self, tiles: Sequence[Tile]) -> None:
        """Store each tile, replacing a narrower version of the same tile."""
        ...


class MemoryTileStore:
    """A :class:`TileStore` in a dict, for tests and tools. Counts reads in ``reads``.

    Refuses a write that would change hashes it already holds (the log is append-only).
    """

    def __init__(self) -> None:
        self._tiles: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def read_tile(self, level: int, index: int, width: int) -> bytes | None:
        self.reads += 1
        data = self._tiles.get((level, index))
        if data is None or len(data) < width * HASH_SIZE:
            return None
        return data[: width * HASH_SIZE]

    def write_tiles(self, tiles: Sequence[Tile]) -> None:
        for tile in tiles:
            key = (tile.level, tile.index)
            old = self._tiles.get(key, b"")
            if not tile.hashes.startswith(old[: len(tile.hashes)]):
                raise TileError(f"tile {tile.path} would rewrite stored hashes")
            if len(tile.hashes) > len(old):
                self._tiles[key] = tile.hashes

    def tiles(self) -> dict[tuple[int, int], bytes]:
        """A copy of every stored tile, keyed by ``(level, index)``."""
        return dict(self._tiles)


def _perfect_root(buf: bytes) -> bytes:
    """MTH of 2**k concatenated hashes (k <= 8)."""
    while len(buf) > HASH_SIZE:
        buf = b"".join(
            [_sha256(_NODE + buf[i : i + 2 * HASH_SIZE]).digest() for i in range(0, len(buf), 64)]
        )
    return buf


def _edge_nodes(buf: bytes) -> list[bytes]:
    """The perfect subtrees of a partial tile's hashes, left to right, largest first."""
    width = len(buf) // HASH_SIZE
    nodes: list[bytes] = []
    pos = 0
    for bit in range(TILE_HEIGHT - 1, -1, -1):
        if width >> bit & 1:
            n = (1 << bit) * HASH_SIZE
            nodes.append(_perfect_root(buf[pos : pos + n]))
            pos += n
    return nodes


def _read(store: TileReader, level: int, index: int, width: int) -> bytes:
    data = store.read_tile(level, index, width)
    if data is None or len(data) != width * HASH_SIZE:
        raise TileError(f"tile {tile_path(level, index, width)} is missing")
    return bytes(data)


@dataclass(frozen=True)
class Integration:
    """The result of :func:`integrate`: the new size and root, and the tiles to write."""

    size: int
    root: bytes
    tiles: tuple[Tile, ...]


def integrate(store: TileReader, size: int, leaf_hashes: Sequence[bytes]) -> Integration:
    """Append ``leaf_hashes`` to the tree of ``size`` leaves held in ``store``.

    Returns the new size, the new root and every new or grown tile; writing them (in the same
    transaction as the entries) is the caller's job. Reads one tile per level at most.
    """
    if size < 0:
        raise ValueError("a tree size is non-negative")
    for h in leaf_hashes:
        if len(h) != HASH_SIZE:
            raise TileError(f"a leaf hash is {HASH_SIZE} bytes")
    new_size = size + len(leaf_hashes)
    tiles: list[Tile] = []
    edges: list[bytes] = []  # per level, the partial tile at the new size (b"" if none)
    pending: list[bytes] = list(leaf_hashes)  # hashes to append at this level
    level = 0
    while new_size >> (TILE_HEIGHT * level):
        old_n = size >> (TILE_HEIGHT * level)
        new_n = new_size >> (TILE_HEIGHT * level)
        if pending:
            first, width = divmod(old_n, TILE_WIDTH)
            buf = (_read(store, level, first, width) if width else b"") + b"".join(pending)
            pending = []
            for k in range(0, len(buf), _TILE_BYTES):
                chunk = buf[k : k + _TILE_BYTES]
                tiles.append(Tile(level, first + k // _TILE_BYTES, chunk))
                if len(chunk) == _TILE_BYTES:
                    pending.append(_perfect_root(chunk))
            edge_width = new_n % TILE_WIDTH
            edges.append(buf[len(buf) - edge_width * HASH_SIZE :] if edge_width else b"")
        else:
            edge_width = new_n % TILE_WIDTH
            edge = _read(store, level, new_n // TILE_WIDTH, edge_width) if edge_width else b""
            edges.append(edge)
        level += 1
    nodes: list[bytes] = []
    for edge in reversed(edges):  # highest level first: its nodes are leftmost
        nodes.extend(_edge_nodes(edge))
    if not nodes:
        return Integration(new_size, EMPTY_ROOT, tuple(tiles))
    acc = nodes[-1]
    for h in reversed(nodes[:-1]):
        acc = _sha256(_NODE + h + acc).digest()
    return Integration(new_size, acc, tuple(tiles))


class TileHashReader:
    """A :class:`~strongroom.audit.HashReader` over the tiles of a tree of ``size`` leaves.

    Each tile is read once per reader (a proof needs at most two per tile level; the hashes a
    reader serves never change, since the tree only grows past ``size``) and, inside a tile,
    the up to 7 levels that tiles do not store are hashed. Serves proofs and roots for any
    size up to ``size``. A store with a ``read_tiles(wanted)`` method (``[(level, index,
    width), ...]`` to a dict of the tiles it holds) is asked for all the tiles of a call at
    once.
    """

    def __init__(self, store: TileReader, size: int) -> None:
        self._store = store
        self._size = size
        self._cache: dict[tuple[int, int], bytes] = {}

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        size = self._size
        cache = self._cache
        plan: list[tuple[tuple[int, int], int, int]] = []
        wanted: dict[tuple[int, int], int] = {}
        for level, index in ids:
            if index < 0 or (index + 1) << level > size:
                raise ProofError(f"node ({level}, {index}) is not in a tree of size {size}")
            tile_level, height = divmod(level, TILE_HEIGHT)
            first = index << height  # index of the node's first hash at level 8·tile_level
            tile_index, offset = divmod(first, TILE_WIDTH)
            key = (tile_level, tile_index)
            if key not in cache and key not in wanted:
                stored = size >> (TILE_HEIGHT * tile_level)
                wanted[key] = min(TILE_WIDTH, stored - tile_index * TILE_WIDTH)
            plan.append((key, offset * HASH_SIZE, HASH_SIZE << height))
        if wanted:
            many = getattr(self._store, "read_tiles", None)
            got: dict[tuple[int, int], bytes] = (
                many([(lv, ix, w) for (lv, ix), w in wanted.items()]) if many else {}
            )
            for (lv, ix), width in wanted.items():
                data = got.get((lv, ix)) if many else self._store.read_tile(lv, ix, width)
                if data is None or len(data) != width * HASH_SIZE:
                    raise TileError(f"tile {tile_path(lv, ix, width)} is missing")
                cache[(lv, ix)] = bytes(data)
        out: list[bytes] = []
        for key, start, n in plan:
            if n == HASH_SIZE:
                out.append(cache[key][start : start + HASH_SIZE])
            else:  # the node is a perfect subtree inside the tile: one of its inner levels
                height = (n // HASH_SIZE).bit_length() - 1
                pos = start >> height
                out.append(_inner_levels(cache[key])[height][pos : pos + HASH_SIZE])
        return out


@functools.lru_cache(maxsize=1024)
def _inner_levels(buf: bytes) -> tuple[bytes, ...]:
    """Every perfect subtree root inside a tile of hashes, by height: ``levels[h]`` holds the
    roots of hashes ``k·2**h … (k+1)·2**h - 1`` of ``buf`` for each such block ``buf`` holds
    in full. A pure function of the tile's bytes, memoised (a proof's tiles above level 0,
    and the tiles of recent entries, are the same from one proof to the next)."""
    levels = [buf]
    while len(buf) >= 2 * HASH_SIZE:
        buf = b"".join(
            [
                _sha256(_NODE + buf[i : i + 2 * HASH_SIZE]).digest()
                for i in range(0, len(buf) - HASH_SIZE, 2 * HASH_SIZE)
            ]
        )
        levels.append(buf)
    return tuple(levels)
