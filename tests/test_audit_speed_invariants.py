"""The audit log's fast paths give exactly what the reference paths give.

* entries are encoded with the C ``json`` encoder when every value is of a type for which it
  writes RFC 8785 bytes; the bytes must equal ``rfc8785.dumps`` of the same document;
* proofs read tiles in one query per call and take inner nodes from memoised tile levels;
  they must equal the proofs of the in-memory reference tree.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.audit import _entry
from strongroom.audit._entry import Entry, canonical_json, decode
from strongroom.audit._merkle import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    tree_root,
)
from strongroom.audit._tiles import MemoryTileStore, TileHashReader, integrate

KEY = bytes(range(32))

text = st.text(st.characters(codec="utf-8"), max_size=12)  # no lone surrogates
any_text = st.text(max_size=8)  # lone surrogates too: both paths must refuse them
ints = st.integers(min_value=-(2**60), max_value=2**60)
scalars = st.none() | st.booleans() | ints | text | st.floats(allow_nan=False)
keys = st.text(max_size=6)  # non-ASCII and astral keys: JCS sorts by UTF-16 code units
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


safe_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | text
    | st.floats(-1e30, 1e30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=8,
)


def reference(doc: Any) -> bytes | type[Exception]:
    try:
        return bytes(rfc8785.dumps(doc))
    except ValueError as exc:
        return type(exc)


def fast(doc: Any) -> bytes | type[Exception]:
    try:
        return canonical_json(doc)
    except ValueError as exc:
        return type(exc)


@settings(max_examples=300, deadline=None)
@given(values)
def test_canonical_json_is_rfc8785(doc: Any) -> None:
    assert fast(doc) == reference(doc)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(any_text, any_text, max_size=3))
def test_canonical_json_refuses_what_rfc8785_refuses(doc: dict[str, str]) -> None:
    assert fast(doc) == reference(doc)


entries = st.builds(
    Entry,
    time=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    actor_id=text,
    actor_role=text,
    actor_unit=text,
    action=st.sampled_from(["search", "read", "admin", "authenticate"]),
    collection=text,
    purpose_code=text,
    outcome=st.sampled_from(["allowed", "denied", "failed"]),
    legal_basis=text,
    case_ref=st.none() | text,
    covert=st.booleans(),
    records=st.lists(text, max_size=3),
    subjects=st.lists(st.binary(min_size=32, max_size=32), max_size=3),
    fields=st.lists(text, max_size=4),
    policies=st.lists(text, max_size=3),
    break_glass=st.booleans(),
    justification=st.none(),  # sealed with a random nonce: covered by the other tests
    embargo_until=st.none()
    | st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    request_id=text,
    approval_ref=st.none() | text,
    detail=st.dictionaries(keys, safe_values, max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(entries)
def test_entry_bytes_are_rfc8785(entry: Entry) -> None:
    data = entry.encode(KEY, nonce=bytes(16))
    with mock.patch.object(_entry, "_SCALARS", frozenset()):  # force rfc8785.dumps
        slow = entry.encode(KEY, nonce=bytes(16))
    assert data == slow


def test_entry_with_a_float_detail_goes_through_rfc8785() -> None:
    entry = Entry(
        time=datetime(2026, 1, 1, tzinfo=UTC),
        actor_id="a",
        actor_role="r",
        actor_unit="u",
        action="search",
        collection="person",
        purpose_code="CALL",
        detail={"ratio": 1e21, "big": 2**60 // 2**10, "x": 1.0},
    )
    data = entry.encode(KEY, nonce=bytes(16))
    assert b'"ratio":1e+21' in data and b'"x":1' in data
    assert data == bytes(rfc8785.dumps(decode(data)))


def test_tile_proofs_equal_the_reference_tree() -> None:
    rng = random.Random(5)
    store, tree, size = MemoryTileStore(), MemoryTree(), 0
    for batch in (1, 255, 1, 300, 65536 - 557, 7, 70_000):
        hashes = [leaf_hash(rng.randbytes(8)) for _ in range(batch)]
        done = integrate(store, size, hashes)
        store.write_tiles(done.tiles)
        tree.extend(hashes)
        size = done.size
        assert done.root == tree.root()
        reader = TileHashReader(store, size)
        for _ in range(40):
            n = rng.randrange(1, size + 1)
            i = rng.randrange(n)
            m = rng.randrange(1, n + 1)
            assert tree_root(n, reader) == tree.root(n)
            assert inclusion_proof(i, n, reader) == inclusion_proof(i, n, tree)
            assert consistency_proof(m, n, reader) == consistency_proof(m, n, tree)


def test_tile_reader_reads_each_tile_once() -> None:
    store = MemoryTileStore()
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(70_000)]
    store.write_tiles(integrate(store, 0, hashes).tiles)
    reader = TileHashReader(store, 70_000)
    store.reads = 0
    tree_root(70_000, reader)
    inclusion_proof(12_345, 70_000, reader)
    first = store.reads
    assert first <= 6
    inclusion_proof(12_346, 70_000, reader)  # the same tiles: no reads
    assert store.reads == first
