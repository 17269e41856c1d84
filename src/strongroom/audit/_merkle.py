"""RFC 6962 / RFC 9162 Merkle tree hashing and proofs, as small pure functions.

Hashing (RFC 6962 §2.1, SHA-256)::

    empty root   = SHA-256("")                       e3b0c442…b855
    leaf hash    = SHA-256(0x00 ‖ entry bytes)
    node hash    = SHA-256(0x01 ‖ left ‖ right)
    MTH(D[0:n])  = node(MTH(D[0:k]), MTH(D[k:n]))    k = largest power of two < n

Node ids. ``(level, index)`` names the *perfect* subtree of ``2**level`` leaves that starts at
leaf ``index << level``; ``(0, i)`` is leaf ``i``. Only perfect subtrees are ever stored (in
tiles or elsewhere): their hashes never change once the tree has grown past them. A proof needs
at most one non-perfect ("ephemeral") subtree hash, which is folded from stored perfect ones.

Proof generation reads node hashes through a :class:`HashReader` — one ``read_hashes`` call per
proof, for O(log n) node ids — so the tree can live in tiles, a database or memory.

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 (the shape of transparency-dev/merkle's
``proof/verify.go``) and **raises** :class:`ProofError`; it never returns a bool.
Edge cases, as the transparency-dev vectors require: a consistency proof between equal sizes is
empty and only compares the roots; a consistency proof from size 0 is refused (it proves
nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Final, Protocol

from strongroom.errors import StrongroomError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashReader",
    "MemoryTree",
    "NodeId",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_of",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256
_LEAF: Final = b"\x00"
_NODE: Final = b"\x01"

#: ``(level, index)``: the perfect subtree of ``2**level`` leaves starting at ``index << level``
NodeId = tuple[int, int]


class ProofError(StrongroomError):
    """An inclusion or consistency proof does not verify, or its inputs are malformed."""


class HashReader(Protocol):
    """Returns stored hashes of perfect subtrees (see *Node ids* in the module docstring)."""

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """The hash of each node in ``ids``, in order. Every node lies within the tree."""
        ...


def leaf_hash(data: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 ‖ data)."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return _sha256(_NODE + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over already-hashed leaves (all in memory; for small trees, tests and ``verify``).

    Pairing level by level and carrying an odd last node up unchanged builds exactly the
    RFC 6962 tree (left subtrees are always the largest power of two).
    """
    level = list(leaf_hashes)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        nxt = [
            _sha256(_NODE + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) & 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


# --- plans: which perfect nodes a proof needs, and how to fold them ---------------------------


def _range_nodes(begin: int, end: int) -> list[NodeId]:
    """The perfect subtrees covering ``[begin, end)`` left to right, largest first.

    ``begin`` must be a multiple of the largest power of two <= ``end - begin`` (true for every
    range the RFC 6962 recursion produces, and for ``begin == 0``).
    """
    nodes: list[NodeId] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def _split(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def _inclusion_plan(index: int, size: int) -> list[list[NodeId]]:
    """PATH(index, D[0:size]) (RFC 6962 §2.1.1) as node groups, leaf level first."""
    parts: list[list[NodeId]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            parts.append(_range_nodes(lo + k, hi))
            hi = lo + k
        else:
            level = k.bit_length() - 1
            parts.append([(level, lo >> level)])
            lo += k
    parts.reverse()
    return parts


def _consistency_plan(size1: int, size2: int) -> list[list[NodeId]]:
    """PROOF(size1, D[0:size2]) = SUBPROOF(size1, D[0:size2], true) (RFC 6962 §2.1.2)."""
    parts: list[list[NodeId]] = []
    lo, hi, whole = 0, size2, True
    while True:
        if size1 == hi:
            if not whole:
                parts.append(_range_nodes(lo, hi))
            break
        k = _split(hi - lo)
        if size1 - lo <= k:
            parts.append(_range_nodes(lo + k, hi))
            hi = lo + k
        else:
            level = k.bit_length() - 1
            parts.append([(level, lo >> level)])
            lo += k
            whole = False
    parts.reverse()
    return parts


def _fold(hashes: Sequence[bytes]) -> bytes:
    """MTH of adjacent perfect subtrees given left to right, largest first: fold from the right."""
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = _sha256(_NODE + h + acc).digest()
    return acc


def _run(parts: list[list[NodeId]], reader: HashReader) -> list[bytes]:
    ids = [node for part in parts for node in part]
    hashes = reader.read_hashes(ids) if ids else []
    if len(hashes) != len(ids):
        raise ProofError(f"hash reader returned {len(hashes)} hashes for {len(ids)} nodes")
    out: list[bytes] = []
    pos = 0
    for part in parts:
        out.append(_fold(hashes[pos : pos + len(part)]))
        pos += len(part)
    return out


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """The RFC 6962 audit path of leaf ``index`` in the tree of ``size`` leaves, bottom up."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    return _run(_inclusion_plan(index, size), reader)


def consistency_proof(size1: int, size2: int, reader: HashReader) -> list[bytes]:
    """The RFC 6962 consistency proof from ``size1`` to ``size2`` (``0 < size1 <= size2``)."""
    if not 0 < size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    return _run(_consistency_plan(size1, size2), reader)


def tree_root(size: int, reader: HashReader) -> bytes:
    """The root of the tree of ``size`` leaves, from at most log2(size) stored nodes."""
    if size == 0:
        return EMPTY_ROOT
    nodes = _range_nodes(0, size)
    return _fold(reader.read_hashes(nodes))


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) -----------------------------------------------


def _check_hashes(what: str, hashes: Iterable[bytes]) -> None:
    for i, h in enumerate(hashes):
        if len(h) != HASH_SIZE:
            raise ProofError(f"{what}[{i}] is {len(h)} bytes, not {HASH_SIZE}")


def _decompose(index: int, size: int) -> tuple[int, int]:
    """Lengths of the inner part (below where the paths to ``index`` and ``size - 1`` meet)
    and of the border part of an inclusion proof."""
    inner = (index ^ (size - 1)).bit_length()
    border = (index >> inner).bit_count()
    return inner, border


def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = _sha256(_NODE + h + seed).digest()
        else:
            seed = _sha256(_NODE + seed + h).digest()
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    for i, h in enumerate(proof):
        if (index >> i) & 1:
            seed = _sha256(_NODE + h + seed).digest()
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    for h in proof:
        seed = _sha256(_NODE + h + seed).digest()
    return seed


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf *hash*) is at ``index`` in the tree ``(size, root)``.

    Raises :class:`ProofError` on any mismatch or malformed input; returns ``None`` if valid.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    _check_hashes("leaf", [leaf])
    _check_hashes("proof", proof)
    inner, border = _decompose(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"inclusion proof has {len(proof)} hashes, expected {inner + border}")
    calc = _chain_border_right(_chain_inner(leaf, proof[:inner], index), proof[inner:])
    if calc != root:
        raise ProofError("inclusion proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree ``(size2, root2)`` extends the tree ``(size1, root1)``.

    Raises :class:`ProofError` on any mismatch or malformed input; returns ``None`` if valid.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size2 ({size2}) is smaller than size1 ({size1})")
    if size1 == 0:
        raise ProofError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise ProofError("equal sizes need an empty consistency proof")
        if root1 != root2:
            raise ProofError("equal sizes but different roots")
        return
    if not proof:
        raise ProofError("empty consistency proof for different sizes")
    _check_hashes("proof", proof)
    inner, border = _decompose(size1 - 1, size2)
    shift = (size1 & -size1).bit_length() - 1  # trailing zeros of size1
    inner -= shift
    if size1 == 1 << shift:  # size1 is a perfect subtree: its root is the seed
        seed, rest = root1, list(proof)
    else:
        seed, rest = proof[0], list(proof[1:])
    if len(rest) != inner + border:
        raise ProofError(f"consistency proof has {len(proof)} hashes, expected a different count")
    mask = (size1 - 1) >> shift
    hash1 = _chain_border_right(_chain_inner_right(seed, rest[:inner], mask), rest[inner:])
    if hash1 != root1:
        raise ProofError("consistency proof does not lead to the old root")
    hash2 = _chain_border_right(_chain_inner(seed, rest[:inner], mask), rest[inner:])
    if hash2 != root2:
        raise ProofError("consistency proof does not lead to the new root")


# --- an in-memory tree (tests, small logs, verifiers) -----------------------------------------


class MemoryTree:
    """All perfect-subtree hashes of a growing tree, in memory. A :class:`HashReader`.

    ``levels[l][i]`` is node ``(l, i)``. Appending costs one leaf plus amortised one node hash.
    Nodes of older sizes are nodes of this tree too, so proofs for any size <= ``size`` work.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> None:
        """Append one leaf *hash*."""
        if len(leaf) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        levels = self._levels
        levels[0].append(leaf)
        level = 0
        while not len(levels[level]) & 1:
            row = levels[level]
            parent = _sha256(_NODE + row[-2] + row[-1]).digest()
            level += 1
            if level == len(levels):
                levels.append([])
            levels[level].append(parent)

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        for leaf in leaf_hashes:
            self.append(leaf)

    def root(self, size: int | None = None) -> bytes:
        """The root at ``size`` (default: the current size)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise ValueError(f"size {size} is beyond the tree ({self.size})")
        return tree_root(size, self)

    def read_hashes(self, ids: Sequence[NodeId]) -> list[bytes]:
        levels = self._levels
        out: list[bytes] = []
        for level, index in ids:
            if level >= len(levels) or not 0 <= index < len(levels[level]):
                raise ProofError(f"node ({level}, {index}) is not in the tree")
            out.append(levels[level][index])
        return out
