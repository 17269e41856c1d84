"""The Merkle core: RFC 6962 hashing, proofs, C2SP tiles and the integrator.

Vectors come from ``../shared/vectors`` (transparency-dev/merkle testdata and a tessera test
log); tests that need them skip when that folder is absent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.audit import (
    EMPTY_ROOT,
    MemoryTileStore,
    MemoryTree,
    ProofError,
    Tile,
    TileError,
    TileHashReader,
    TileRef,
    consistency_proof,
    decode_entry_bundle,
    encode_entry_bundle,
    entries_path,
    inclusion_proof,
    integrate,
    leaf_hash,
    node_hash,
    parse_tile_path,
    root_of,
    tile_path,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "vectors"
needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"test vectors not found at {VECTORS} (../shared/vectors)"
)
TESTDATA = VECTORS / "merkle" / "testdata"


def _files(kind: str) -> list[Any]:
    if not (TESTDATA / kind).is_dir():
        return [pytest.param(None, id=f"{kind}-vectors-absent")]
    return [
        pytest.param(p, id=str(p.relative_to(TESTDATA)))
        for p in sorted((TESTDATA / kind).rglob("*.json"))
    ]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(h) for h in value or []]


# The leaves and roots of transparency-dev/merkle's reference tree (proof/verify_test.go); the
# happy-path vectors are proofs in this tree.
REF_LEAVES = [
    bytes.fromhex(h)
    for h in [
        *("", "00", "10", "2021", "3031", "40414243", "5051525354555657"),
        "606162636465666768696a6b6c6d6e6f",
    ]
]
REF_ROOTS = [
    bytes.fromhex(h)
    for h in [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
REF_TREE = MemoryTree(leaf_hash(x) for x in REF_LEAVES)


# --- reference values ---------------------------------------------------------------------------


def test_empty_root_is_sha256_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert root_of([]) == EMPTY_ROOT == MemoryTree().root() == tree_root(0, MemoryTree())


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()
    assert leaf_hash(b"") != EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_reference_roots(size: int) -> None:
    hashes = [leaf_hash(x) for x in REF_LEAVES[:size]]
    assert root_of(hashes) == REF_ROOTS[size - 1]
    assert REF_TREE.root(size) == REF_ROOTS[size - 1]


def test_reference_proofs() -> None:
    """Inclusion and consistency proofs listed in transparency-dev's verify_test.go."""
    incl = {
        (0, 8): ["96a296d2", "5f083f0a", "6b47aaf2"],
        (5, 8): ["bc1a0643", "ca854ea1", "d37ee418"],
        (2, 3): ["fac54203"],
        (1, 5): ["6e340b9c", "5f083f0a", "bc1a0643"],
    }
    for (index, size), want in incl.items():
        got = inclusion_proof(index, size, REF_TREE)
        assert [h.hex()[:8] for h in got] == want
    cons = {
        (1, 8): ["96a296d2", "5f083f0a", "6b47aaf2"],
        (6, 8): ["0ebc5d34", "ca854ea1", "d37ee418"],
        (2, 5): ["5f083f0a", "bc1a0643"],
        (6, 7): ["0ebc5d34", "b08693ec", "d37ee418"],
    }
    for (size1, size2), want in cons.items():
        got = consistency_proof(size1, size2, REF_TREE)
        assert [h.hex()[:8] for h in got] == want
        verify_consistency(size1, size2, got, REF_ROOTS[size1 - 1], REF_ROOTS[size2 - 1])


# --- transparency-dev/merkle testdata -----------------------------------------------------------


@needs_vectors
@pytest.mark.parametrize("path", _files("inclusion"))
def test_inclusion_vectors(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _proof(v["proof"]), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
        return
    verify_inclusion(*args)
    if v["treeSize"] <= len(REF_LEAVES) and _b64(v["root"]) == REF_ROOTS[v["treeSize"] - 1]:
        assert inclusion_proof(v["leafIdx"], v["treeSize"], REF_TREE) == args[3]


@needs_vectors
@pytest.mark.parametrize("path", _files("consistency"))
def test_consistency_vectors(path: Path) -> None:
    v = json.loads(path.read_text())
    args = (v["size1"], v["size2"], _proof(v["proof"]), _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
        return
    verify_consistency(*args)
    size1, size2 = v["size1"], v["size2"]
    if 0 < size1 <= size2 <= len(REF_LEAVES) and _b64(v["root2"]) == REF_ROOTS[size2 - 1]:
        assert consistency_proof(size1, size2, REF_TREE) == args[2]


@needs_vectors
def test_vector_set_is_complete() -> None:
    """196 cases, 12 of them valid: a silently empty glob would pass every test above."""
    cases = [json.loads(p.read_text()) for p in TESTDATA.glob("[ic]*/**/*.json")]
    assert len(cases) == 196
    assert sum(not c["wantErr"] for c in cases) == 12


# --- proofs: properties -------------------------------------------------------------------------

BIG = 70_000  # three tile levels: 273 full level-0 tiles, a partial level-2 tile
BIG_LEAVES = [hashlib.sha256(i.to_bytes(8, "big")).digest() for i in range(BIG)]
BIG_TREE = MemoryTree(BIG_LEAVES)
_BIG_STORE = MemoryTileStore()
_BIG_STORE.write_tiles(integrate(_BIG_STORE, 0, BIG_LEAVES).tiles)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_generated_inclusion_proofs_verify(data: st.DataObject) -> None:
    size = data.draw(st.one_of(st.integers(1, 600), st.integers(1, BIG)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_proof(index, size, BIG_TREE)
    root = BIG_TREE.root(size)
    verify_inclusion(index, size, BIG_LEAVES[index], proof, root)
    assert inclusion_proof(index, size, TileHashReader(_BIG_STORE, size)) == proof
    assert inclusion_proof(index, size, TileHashReader(_BIG_STORE, BIG)) == proof
    assert tree_root(size, TileHashReader(_BIG_STORE, size)) == root
    if size <= 600:
        assert root == root_of(BIG_LEAVES[:size])
    with pytest.raises(ProofError):
        verify_inclusion(index, size, BIG_LEAVES[(index + 1) % BIG], proof, root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_generated_consistency_proofs_verify(data: st.DataObject) -> None:
    size2 = data.draw(st.one_of(st.integers(1, 600), st.integers(1, BIG)), label="size2")
    size1 = data.draw(st.integers(1, size2), label="size1")
    proof = consistency_proof(size1, size2, BIG_TREE)
    root1, root2 = BIG_TREE.root(size1), BIG_TREE.root(size2)
    verify_consistency(size1, size2, proof, root1, root2)
    assert consistency_proof(size1, size2, TileHashReader(_BIG_STORE, size2)) == proof
    if size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, proof, root1, BIG_TREE.root(size2 - 1))


def test_proof_requests_are_checked() -> None:
    with pytest.raises(ProofError):
        inclusion_proof(8, 8, REF_TREE)
    with pytest.raises(ProofError):
        consistency_proof(0, 8, REF_TREE)
    with pytest.raises(ProofError):
        consistency_proof(5, 4, REF_TREE)
    with pytest.raises(ProofError):
        inclusion_proof(0, 9, REF_TREE)  # the tree holds only 8
    with pytest.raises(ProofError):
        TileHashReader(_BIG_STORE, 1000).read_hashes([(0, 1000)])
    assert consistency_proof(8, 8, REF_TREE) == []


class _SyntheticStore:
    """Any tile, on demand, filled with deterministic bytes: proofs at huge sizes, no build."""

    def __init__(self) -> None:
        self.reads = 0

    def read_tile(self, level: int, index: int, width: int) -> bytes | None:
        self.reads += 1
        seed = hashlib.sha256(f"{level}/{index}".encode()).digest()
        return (seed * width)[: 32 * width]


@pytest.mark.parametrize("size", [10_000_000, 2**40 + 12345])
def test_proofs_read_a_logarithmic_number_of_tiles(size: int) -> None:
    levels = (size.bit_length() + 7) // 8
    rng = random.Random(size)
    for _ in range(20):
        store = _SyntheticStore()
        index = rng.randrange(size)
        proof = inclusion_proof(index, size, TileHashReader(store, size))
        assert len(proof) <= size.bit_length()
        assert store.reads <= 2 * levels
        store = _SyntheticStore()
        consistency_proof(rng.randrange(1, size), size, TileHashReader(store, size))
        assert store.reads <= 3 * levels


# --- tiles --------------------------------------------------------------------------------------


def test_tile_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(0, 0, 15) == "tile/0/000.p/15"
    assert tile_path(2, 1000) == "tile/2/x001/000"
    assert tile_path(63, 999) == "tile/63/999"
    assert entries_path(1234067, 1) == "tile/entries/x001/x234/067.p/1"
    assert entries_path(5) == "tile/entries/005"
    assert parse_tile_path("tile/1/x001/x234/067.p/255") == TileRef(1, 1234067, 255)
    assert parse_tile_path("tile/entries/000") == TileRef(None, 0, 256)
    for bad in [
        "tile/0/1",
        "tile/0/x000/001",
        "tile/01/000",
        "tile/64/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/015",
        "tile/0/000/",
        "tile/data/000",
    ]:
        with pytest.raises(TileError):
            parse_tile_path(bad)
    with pytest.raises(ValueError, match="wide"):
        tile_path(0, 0, 257)


def test_entry_bundles_round_trip_and_reject_truncation() -> None:
    entries = [b"", b"x", b"y" * 65535]
    data = encode_entry_bundle(entries)
    assert decode_entry_bundle(data) == entries
    for cut in (1, 3, 4, len(data) - 1):  # 2 is a whole (empty) entry
        with pytest.raises(TileError):
            decode_entry_bundle(data[:cut])
    with pytest.raises(TileError):
        encode_entry_bundle([b"z" * 65536])


@needs_vectors
def test_tessera_tile_entries_and_roots() -> None:
    """A tessera test log: its entry bundle hashes to its level-0 tile, and every checkpoint's
    root is the root of that many entries."""
    tessera = VECTORS / "tessera"
    entries = decode_entry_bundle((tessera / "tessera_entries_000.p.15").read_bytes())
    spec = json.loads((VECTORS / "note_vectors.json").read_text())["tessera_testdata_log"]
    assert [e.decode() for e in entries] == spec["entries"]
    tile = (tessera / "tessera_tile0_000.p.15").read_bytes()
    hashes = [leaf_hash(e) for e in entries]
    assert b"".join(hashes) == tile
    result = integrate(MemoryTileStore(), 0, hashes)
    assert [(t.path, t.hashes) for t in result.tiles] == [("tile/0/000.p/15", tile)]
    assert encode_entry_bundle(entries) == (tessera / "tessera_entries_000.p.15").read_bytes()
    store = MemoryTileStore()
    size = 0
    for n in range(16):
        origin, size_line, root_line = (
            (tessera / f"tessera_checkpoint.{n}").read_text().split("\n")[:3]
        )
        assert (origin, int(size_line)) == ("example.com/log/testdata", n)
        step = integrate(store, size, hashes[size:n])
        store.write_tiles(step.tiles)
        size = step.size
        assert step.root == base64.b64decode(root_line) == root_of(hashes[:n])
        assert tree_root(n, TileHashReader(store, n)) == step.root


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(0, 3 * 256 * 256 // 4),
    cuts=st.lists(st.integers(0, 3 * 256 * 256 // 4), max_size=12),
)
def test_integration_is_independent_of_batching(total: int, cuts: list[int]) -> None:
    leaves = BIG_LEAVES[:total]
    one = MemoryTileStore()
    whole = integrate(one, 0, leaves)
    one.write_tiles(whole.tiles)
    assert whole.size == total
    assert whole.root == BIG_TREE.root(total)

    many = MemoryTileStore()
    size = 0
    for cut in [*sorted(c for c in cuts if c <= total), total]:
        step = integrate(many, size, leaves[size:cut])
        many.write_tiles(step.tiles)
        size = step.size
        assert step.root == BIG_TREE.root(size)
    assert many.tiles() == one.tiles()


def test_integration_reads_only_the_right_edge() -> None:
    store = MemoryTileStore()
    store.write_tiles(integrate(store, 0, BIG_LEAVES[:65_000]).tiles)
    store.reads = 0
    step = integrate(store, 65_000, BIG_LEAVES[65_000:65_010])
    assert store.reads <= 3  # one partial tile per level
    assert step.root == BIG_TREE.root(65_010)
    assert {t.path for t in step.tiles} == {"tile/0/253.p/242"}


def test_tiles_at_level_boundaries() -> None:
    """256 leaves: one full level-0 tile and a level-1 tile of width 1 (tlog-tiles example)."""
    result = integrate(MemoryTileStore(), 0, BIG_LEAVES[:256])
    assert [t.path for t in result.tiles] == ["tile/0/000", "tile/1/000.p/1"]
    assert result.tiles[1].hashes == root_of(BIG_LEAVES[:256])
    assert result.root == root_of(BIG_LEAVES[:256])
    paths = {t.path for t in integrate(MemoryTileStore(), 0, BIG_LEAVES[:70_000]).tiles}
    assert {"tile/0/272", "tile/0/273.p/112", "tile/1/000", "tile/1/001.p/17"} <= paths
    assert "tile/2/000.p/1" in paths
    assert len(paths) == 273 + 1 + 1 + 1 + 1


def test_stores_refuse_rewrites_and_missing_tiles_are_errors() -> None:
    store = MemoryTileStore()
    store.write_tiles(integrate(store, 0, BIG_LEAVES[:10]).tiles)
    with pytest.raises(TileError, match="rewrite"):
        store.write_tiles([Tile(0, 0, BIG_LEAVES[1] + BIG_LEAVES[1])])
    with pytest.raises(TileError, match="missing"):
        integrate(MemoryTileStore(), 10, BIG_LEAVES[10:11])
    with pytest.raises(TileError, match="leaf hash"):
        integrate(store, 10, [b"short"])
    with pytest.raises(TileError):
        Tile(0, 0, b"x" * 33)
    assert store.read_tile(0, 0, 11) is None
    assert store.read_tile(0, 0, 5) == b"".join(BIG_LEAVES[:5])
