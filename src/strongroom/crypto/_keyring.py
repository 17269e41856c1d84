"""The keyring: the key hierarchy of DESIGN.md, over a root-key provider and a key store.

::

    root key (KMS provider: local key file, HSM)
      └─ KEK per (purpose, region, collection, version), stored wrapped by the root
           ├─ purpose "data":  data keys (DEKs), stored wrapped by the KEK
           │     persons:   one per subject (erasure = destroy it)
           │     incidents: one per month of ``received_at`` (retention = destroy it)
           └─ purpose "index": the root of the blind-index field keys (HKDF per field)

Every data key has a 16-byte id that travels in each ciphertext and names its KEK row, and
so its version: opening never tries keys in turn.

Rotation (see docs/keys-and-sealing.md, "Rotation"): :meth:`Keyring.rotate` adds a KEK
version; new data keys are wrapped by the newest active version, and a data key still wrapped
by an older one is re-wrapped (moved) when a write uses it again or when the rekey job
(:mod:`strongroom.batch._rekey`) reaches it. Data key ids and material never change, so no
record is rewritten and erasure still destroys the one key named in the ciphertext.

Caches: the newest KEK of a scope is cached for :data:`KEK_TTL` seconds, like the regions
list, so a version another process adds is used here within that time (a version this
keyring adds, at once); opening looks KEKs up by id and is never stale.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.crypto._blind import BlindIndexer
from strongroom.crypto._keys import DataKey
from strongroom.crypto._keystore import SCOPE_MONTH, SCOPE_SUBJECT, DekRow, KeyStore
from strongroom.crypto.hazmat import (
    AEAD_KEY_BYTES,
    AEAD_NONCE_BYTES,
    aead_decrypt,
    aead_encrypt,
    aead_for,
    hkdf_sha256,
    random_bytes,
)
from strongroom.crypto.kms import RootKeyProvider
from strongroom.errors import KeyringError

_KEK_AAD = b"strongroom/kek/v1\x00"
_DEK_AAD = b"strongroom/dek/v1\x00"
_CACHE_SIZE = 4096
_REGIONS_TTL = 2.0
#: seconds a process keeps using the newest KEK it saw before asking the key store again
KEK_TTL = 2.0


def _ms() -> int:
    return time.time_ns() // 1_000_000


class _Kek:
    __slots__ = ("aead", "id", "key_id", "version")

    def __init__(self, id_: int, key_id: bytes, version: int, aead: AESGCM) -> None:
        self.id = id_
        self.key_id = key_id
        self.version = version
        self.aead = aead


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One KEK version as ``strongroom keys status`` shows it (no key material)."""

    id: int
    purpose: str
    region: str
    collection: str
    version: int
    state: str
    created_at: int
    root_key_id: str
    live_keys: int = 0
    destroyed_keys: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "region": self.region,
            "collection": self.collection,
            "version": self.version,
            "state": self.state,
            "created_at": self.created_at,
            "root_key_id": self.root_key_id,
            "data_keys": self.live_keys,
            "destroyed_data_keys": self.destroyed_keys,
        }


class Keyring:
    """Unwraps and creates keys; keeps unwrapped keys in memory only, behind handles."""

    def __init__(
        self,
        root: RootKeyProvider,
        store: KeyStore,
        *,
        _now: Callable[[], int] = _ms,
        _random: Callable[[int], bytes] = random_bytes,
    ) -> None:
        self._root = root
        self._store = store
        self._now = _now
        self._random = _random
        self._keks: dict[tuple[str, str, str], tuple[float, _Kek]] = {}
        self._keks_by_id: dict[int, _Kek] = {}
        # blind indexes: per scope (when read, every live version's indexer, active first)
        self._index_scopes: dict[tuple[str, str], tuple[float, tuple[BlindIndexer, ...]]] = {}
        self._indexers_by_kek: dict[int, BlindIndexer] = {}
        self._months: dict[tuple[str, str, str], tuple[int, DataKey]] = {}  # kek id, key
        self._deks: OrderedDict[bytes, DataKey] = OrderedDict()
        self._dek_kek: dict[bytes, int] = {}  # the KEK id a subject key is known to be under
        self._regions: dict[str, tuple[float, list[str]]] = {}

    @property
    def root_key_id(self) -> str:
        return self._root.key_id

    # -- key-encryption keys -------------------------------------------------------------
    def _kek(self, purpose: str, region: str, collection: str, *, create: bool = True) -> _Kek:
        """The newest active KEK of the scope (cached for :data:`KEK_TTL` seconds)."""
        cache_key = (purpose, region, collection)
        hit = self._keks.get(cache_key)
        now = time.monotonic()
        if hit is not None and now - hit[0] < KEK_TTL:
            return hit[1]
        row = self._store.find_kek(purpose, region, collection)
        if row is None:
            if not create:
                raise KeyringError(f"no {purpose} key for region {region!r}, {collection}")
            material = self._random(AEAD_KEY_BYTES)
            key_id = self._random(16)
            self._store.insert_kek(
                {
                    "key_id": key_id,
                    "purpose": purpose,
                    "region": region,
                    "collection": collection,
                    "version": 1,
                    "root_key_id": self._root.key_id,
                    "wrapped": self._root.wrap(material, _KEK_AAD + key_id),
                    "state": "active",
                    "created_at": self._now(),
                }
            )
            self._regions.pop(collection, None)
            row = self._store.find_kek(purpose, region, collection)
            if row is None:  # pragma: no cover - the insert above or a racing writer made it
                raise KeyringError("a key-encryption key could not be created")
        kek = self._keks_by_id.get(row.id) or self._load_kek(row)
        self._keks[cache_key] = (now, kek)
        return kek

    def current_kek(self, purpose: str, region: str, collection: str) -> tuple[int, int]:
        """(KEK id, version) of the scope's newest active KEK, read from the key store now."""
        self._keks.pop((purpose, region, collection), None)
        kek = self._kek(purpose, region, collection, create=False)
        return kek.id, kek.version

    def rotate(self, purpose: str, region: str, collection: str, *, pending: bool = False) -> int:
        """Add a new KEK version for (purpose, region, collection) and make it the active
        one; older versions become ``previous`` (they still open what they wrap). Returns
        the new version. New writes in this process use it at once, elsewhere within
        :data:`KEK_TTL` seconds.

        With ``pending`` the new version is only staged (state ``pending``) and
        :meth:`activate` makes it active later: blind-index rotation, where every process
        must search under a version before any process writes under it (see
        docs/keys-and-sealing.md, "Blind-index rotation")."""
        if purpose not in ("data", "index"):
            raise KeyringError("only data and index keys rotate")
        rows = self._store.keks(purpose, region, collection)
        if not rows:
            raise KeyringError(f"no {purpose} key for region {region!r}, {collection} yet")
        version = max(r.version for r in rows) + 1
        material = self._random(AEAD_KEY_BYTES)
        key_id = self._random(16)
        row = {
            "key_id": key_id,
            "purpose": purpose,
            "region": region,
            "collection": collection,
            "version": version,
            "root_key_id": self._root.key_id,
            "wrapped": self._root.wrap(material, _KEK_AAD + key_id),
            "state": "pending" if pending else "active",
            "created_at": self._now(),
        }
        made = self._store.insert_kek(row) if pending else self._store.rotate_kek(row)
        if not made:
            raise KeyringError("another process rotated this key at the same moment; retry")
        self._forget_scope(purpose, region, collection)
        return int(version)

    def activate(self, purpose: str, region: str, collection: str) -> int | None:
        """Make the scope's newest ``pending`` version the active one (older versions become
        ``previous``); None when nothing was pending."""
        version = self._store.activate_kek(purpose, region, collection)
        self._forget_scope(purpose, region, collection)
        return version

    def _forget_scope(self, purpose: str, region: str, collection: str) -> None:
        self._keks.pop((purpose, region, collection), None)
        if purpose == "index":
            self._index_scopes.pop((region, collection), None)

    def rewrap(self, keys: list[tuple[bytes, int, bytes]], target: dict[int, int]) -> list[bytes]:
        """Re-wrap data keys (key id, KEK id, wrapped) each by ``target[its KEK id]`` (the
        rekey job's step). Optimistic per key; returns the ids of month keys that could not
        move (see :meth:`KeyStore.move_deks`)."""
        moves: list[tuple[bytes, int, int, bytes]] = []
        for key_id, kek_id, wrapped in keys:
            new = self._kek_by_id(target[kek_id])
            material = self._unwrap_parts(key_id, kek_id, wrapped)
            moves.append((key_id, kek_id, new.id, self._wrap_dek(new, key_id, material)))
        stuck = self._store.move_deks(moves)
        for key_id, _o, new_id, _w in moves:
            if key_id in self._dek_kek:
                self._dek_kek[key_id] = new_id
        return stuck

    def _rewrap_row(self, row: Any, kek_id: int) -> None:
        self.rewrap([(bytes(row.key_id), int(row.kek), bytes(row.wrapped))], {int(row.kek): kek_id})

    def versions(
        self, purpose: str | None = None, region: str | None = None, collection: str | None = None
    ) -> list[KeyVersion]:
        """Every KEK version of the matching scopes, with how many data keys it wraps (index
        keys wrap none: for ``purpose="index"`` the key store's data keys are not counted)."""
        counts = self._store.dek_counts() if purpose != "index" else {}
        return [
            KeyVersion(
                r.id,
                r.purpose,
                r.region,
                r.collection,
                r.version,
                r.state,
                r.created_at,
                r.root_key_id,
                *counts.get(r.id, (0, 0)),
            )
            for r in self._store.keks(purpose, region, collection)
        ]

    def keys_under(
        self, kek_ids: list[int], after: bytes | None, limit: int
    ) -> list[tuple[bytes, int, bytes]]:
        """Key-store rows of live data keys under ``kek_ids`` after ``after`` (key id order)."""
        return self._store.deks_under(kek_ids, after, limit)

    def release_memory(self) -> None:
        """Drop the key store's cached database pages (bulk jobs call it between batches)."""
        self._store.release_memory()

    def kek_of(self, key_ids: list[bytes]) -> dict[bytes, int]:
        """The KEK id each of ``key_ids`` is wrapped by (destroyed keys included)."""
        return {bytes(r.key_id): int(r.kek) for r in self._store.deks(key_ids)}

    def retire(self, kek_id: int) -> bool:
        """Retire a ``previous`` KEK no live data key uses (its material is dropped)."""
        self._keks_by_id.pop(kek_id, None)
        self._indexers_by_kek.pop(kek_id, None)
        self._index_scopes.clear()
        return self._store.retire_kek(kek_id)

    def rewrap_root(self, new_root: RootKeyProvider) -> int:
        """Re-wrap every KEK (and the service key) still wrapped by this keyring's root under
        ``new_root`` (root rotation; no data key or record changes), all or nothing in one
        key-store transaction that keeps other writers out meanwhile. Idempotent: a KEK
        already wrapped by the new root is skipped, so calling it again after a crash is
        safe. Retired KEKs have no material left and are only relabelled. Returns the KEKs
        re-wrapped."""
        old_root = self._root

        def rewrap(row: Any) -> bytes:
            if row.state == "retired" or not row.wrapped:
                return b""
            material = old_root.unwrap(bytes(row.wrapped), _KEK_AAD + bytes(row.key_id))
            return new_root.wrap(material, _KEK_AAD + bytes(row.key_id))

        return self._store.rewrap_all_keks(old_root.key_id, new_root.key_id, rewrap)

    def _load_kek(self, row: Any) -> _Kek:
        if row.root_key_id != self._root.key_id:
            raise KeyringError("a key-encryption key is wrapped by another root key")
        material = self._root.unwrap(row.wrapped, _KEK_AAD + row.key_id)
        kek = _Kek(row.id, row.key_id, row.version, aead_for(material))
        self._keks_by_id[row.id] = kek
        return kek

    def _kek_by_id(self, kek_id: int) -> _Kek:
        kek = self._keks_by_id.get(kek_id)
        if kek is None:
            row = self._store.kek_by_id(kek_id)
            if row is None:
                raise KeyringError("unknown key-encryption key")
            kek = self._load_kek(row)
        return kek

    def regions(self, collection: str) -> list[str]:
        """Regions whose keys this node holds for ``collection``.

        Cached for :data:`_REGIONS_TTL` seconds (a region another process creates becomes
        searchable here within that time; one this keyring creates, at once).
        """
        now = time.monotonic()
        hit = self._regions.get(collection)
        if hit is not None and now - hit[0] < _REGIONS_TTL:
            return hit[1]
        regions = self._store.regions(collection)
        self._regions[collection] = (now, regions)
        return regions

    # -- data keys -----------------------------------------------------------------------
    def _wrap_dek(self, kek: _Kek, key_id: bytes, material: bytes) -> bytes:
        nonce = self._random(AEAD_NONCE_BYTES)
        return nonce + aead_encrypt(kek.aead, nonce, material, _DEK_AAD + key_id + kek.key_id)

    def new_subject_key(
        self, region: str, collection: str, subject_id: bytes
    ) -> tuple[DataKey, DekRow]:
        """A fresh per-subject data key with id ``subject_id`` and its key-store row.

        The row (in :data:`DEK_COLUMNS` order) is not written: the caller saves it
        (:meth:`save_keys`) before it commits any record sealed with the key.
        """
        kek = self._kek("data", region, collection)
        material = self._random(AEAD_KEY_BYTES)
        wrapped = self._wrap_dek(kek, subject_id, material)
        row = (subject_id, kek.id, SCOPE_SUBJECT, None, wrapped, self._now(), None)
        self._note_kek(subject_id, kek.id)
        return DataKey(subject_id, material), row

    def _note_kek(self, key_id: bytes, kek_id: int) -> None:
        if len(self._dek_kek) >= 2 * _CACHE_SIZE:
            self._dek_kek.clear()
        self._dek_kek[key_id] = kek_id

    def subject_key(self, region: str, collection: str, subject_id: bytes) -> DataKey:
        """The existing data key of a subject, for writing a new version of its record: if
        it is still wrapped by an older KEK version it is re-wrapped by the newest first, so
        that the write is under the newest version (the key itself does not change)."""
        key = self.data_key(subject_id)
        kek = self._kek("data", region, collection)
        if self._dek_kek.get(subject_id) != kek.id:
            row = self._store.dek(subject_id)
            if row is None or row.wrapped is None:
                raise KeyringError("the data key was destroyed")
            if row.kek != kek.id:
                self._rewrap_row(row, kek.id)
            self._note_kek(subject_id, kek.id)
        return key

    def save_keys(self, rows: list[DekRow]) -> None:
        self._store.insert_deks(rows)

    def forget_keys(self, key_ids: list[bytes]) -> None:
        """Delete data keys that no committed record uses (an aborted write's keys)."""
        self._store.delete_deks(key_ids)
        for k in key_ids:
            self._deks.pop(k, None)

    def month_key(self, region: str, collection: str, month: str) -> DataKey:
        """The data key of (region, collection, month ``YYYY-MM``), created on first use."""
        cache_key = (region, collection, month)
        kek = self._kek("data", region, collection)
        hit = self._months.get(cache_key)
        if hit is not None and hit[0] == kek.id:
            return hit[1]
        row = self._store.month_dek(kek.id, month)
        if row is None:
            row = self._move_month(kek, region, collection, month)
        if row is None:
            key_id = self._random(16)
            material = self._random(AEAD_KEY_BYTES)
            created = self._store.try_insert_dek(
                (
                    key_id,
                    kek.id,
                    SCOPE_MONTH,
                    month,
                    self._wrap_dek(kek, key_id, material),
                    self._now(),
                    None,
                )
            )
            if created:
                key = DataKey(key_id, material)
                self._months[cache_key] = (kek.id, key)
                return key
            row = self._store.month_dek(kek.id, month)
            if row is None:  # pragma: no cover - another writer just made it
                raise KeyringError("a month key could not be created")
        key = self._unwrap_row(row)
        self._months[cache_key] = (kek.id, key)
        return key

    def _move_month(self, kek: _Kek, region: str, collection: str, month: str) -> Any:
        """The month's key under an older KEK version, re-wrapped by ``kek`` first (a month
        has one key across versions); None when no version has the month yet."""
        for old in reversed(self._store.keks("data", region, collection)):
            if old.id == kek.id or old.state == "retired":
                continue
            row = self._store.month_dek(old.id, month)
            if row is not None and row.wrapped is not None:
                self._rewrap_row(row, kek.id)  # a racing writer's move or month key wins
                return self._store.month_dek(kek.id, month) or self._store.dek(row.key_id)
        return None

    def ensure_month_keys(self, wanted: set[tuple[str, str, str]]) -> None:
        """Make sure the month keys (region, collection, ``YYYY-MM``) are at hand: existing ones
        are read and missing ones created with one key-store transaction each, not one per key
        (bulk imports touch thousands of months). Anything a racing writer made first falls
        back to :meth:`month_key`."""
        keks = {(r, c): self._kek("data", r, c) for r, c, _m in wanted}
        missing = [w for w in wanted if self._months.get(w, (None,))[0] != keks[(w[0], w[1])].id]
        if not missing:
            return
        by_id = {k.id: k for k in keks.values()}
        for row in self._store.month_deks(sorted(by_id)):
            kek = by_id[row.kek]
            region, coll = next(rc for rc, k in keks.items() if k is kek)
            if row.wrapped is not None:
                self._months[(region, coll, row.scope_ref)] = (kek.id, self._unwrap_row(row))
        older = {
            r.id
            for region, coll in {(r, c) for r, c, _m in missing}
            for r in self._store.keks("data", region, coll)
            if r.id not in by_id and r.state != "retired"
        }
        if older:  # months made under an older version: moved one at a time (few)
            old_months = {r.scope_ref for r in self._store.month_deks(sorted(older))}
            for region, coll, month in missing:
                current = self._months.get((region, coll, month), (None,))[0]
                if month in old_months and current != keks[(region, coll)].id:
                    self.month_key(region, coll, month)
        new_rows: list[DekRow] = []
        made: dict[tuple[str, str, str], DataKey] = {}
        for region, coll, month in missing:
            kek = keks[(region, coll)]
            if self._months.get((region, coll, month), (None,))[0] == kek.id:
                continue
            key_id = self._random(16)
            material = self._random(AEAD_KEY_BYTES)
            wrapped = self._wrap_dek(kek, key_id, material)
            new_rows.append((key_id, kek.id, SCOPE_MONTH, month, wrapped, self._now(), None))
            made[(region, coll, month)] = DataKey(key_id, material)
        if not new_rows:
            return
        try:
            self._store.insert_deks(new_rows)
        except KeyringError:
            for region, coll, month in made:  # another writer made some: one at a time
                self.month_key(region, coll, month)
            return
        self._months.update({w: (keks[(w[0], w[1])].id, k) for w, k in made.items()})

    def _unwrap_row(self, row: Any) -> DataKey:
        return DataKey(bytes(row.key_id), self._unwrap_material(row))

    def _unwrap_material(self, row: Any) -> bytes:
        if row.wrapped is None:
            raise KeyringError("the data key was destroyed")
        return self._unwrap_parts(bytes(row.key_id), int(row.kek), bytes(row.wrapped))

    def _unwrap_parts(self, key_id: bytes, kek_id: int, wrapped: bytes) -> bytes:
        kek = self._kek_by_id(kek_id)
        material = aead_decrypt(
            kek.aead,
            wrapped[:AEAD_NONCE_BYTES],
            wrapped[AEAD_NONCE_BYTES:],
            _DEK_AAD + key_id + kek.key_id,
        )
        if material is None:
            raise KeyringError("a data key does not open under its key-encryption key")
        return material

    def data_key(self, key_id: bytes) -> DataKey:
        """The data key named in a ciphertext (cached; raises KeyringError if unknown)."""
        key = self._deks.get(key_id)
        if key is not None:
            self._deks.move_to_end(key_id)
            return key
        row = self._store.dek(key_id)
        if row is None:
            raise KeyringError("unknown data key")
        key = self._unwrap_row(row)
        self._note_kek(key_id, int(row.kek))
        self._deks[key_id] = key
        if len(self._deks) > _CACHE_SIZE:
            self._deks.popitem(last=False)
        return key

    def preload(self, key_ids: list[bytes]) -> None:
        """Unwrap many data keys with one key-store read (bulk opening)."""
        missing = [k for k in dict.fromkeys(key_ids) if k not in self._deks]
        for row in self._store.deks(missing):
            if row.wrapped is not None:
                self.remember(self._unwrap_row(row))

    def destroy_key(self, key_id: bytes) -> bool:
        """Destroy a data key (erasure): nothing sealed under it opens again, on any copy."""
        self._deks.pop(key_id, None)
        return self._store.destroy_dek(key_id, self._now())

    def destroyed(self, key_ids: list[bytes]) -> set[bytes]:
        """Which of ``key_ids`` were destroyed (keys cached in this process were not)."""
        unknown = [k for k in key_ids if k not in self._deks]
        return self._store.destroyed(unknown) if unknown else set()

    def remember(self, key: DataKey) -> None:
        """Cache a key this process just made, so opening it needs no key-store read."""
        self._deks[key.key_id] = key
        if len(self._deks) > _CACHE_SIZE:
            self._deks.popitem(last=False)

    # -- service keys --------------------------------------------------------------------
    def service_key(self, name: str) -> bytes:
        """A 32-byte key for one named service use (e.g. ``"api-token-hash"``).

        Derived with HKDF from a KEK of purpose ``service`` (region and collection ``*``)
        that, like every KEK, is stored only wrapped by the root key. Distinct names give
        unrelated keys; the same name gives the same key on every node holding the root.
        """
        if not name or len(name) > 64:
            raise KeyringError("a service key needs a name of 1-64 characters")
        kek = self._kek("service", "*", "*")
        row = self._store.kek_by_id(kek.id)
        if row is None:  # pragma: no cover
            raise KeyringError("unknown service key")
        root = self._root.unwrap(row.wrapped, _KEK_AAD + row.key_id)
        return hkdf_sha256(root, b"strongroom/service/v1\x00" + name.encode())

    # -- blind indexes -------------------------------------------------------------------
    def blind_indexer(self, region: str, collection: str, *, create: bool = True) -> BlindIndexer:
        """The indexer new tokens of (region, collection) are written under: its active
        index version (created on first use unless ``create`` is false)."""
        return self.blind_indexers(region, collection, create=create)[0]

    def blind_indexers(
        self, region: str, collection: str, *, create: bool = True
    ) -> tuple[BlindIndexer, ...]:
        """Every live (not retired) index version of (region, collection), the active one
        first, then pending and previous ones newest first: searches, unique checks and
        token deletions use them all, so they stay exact while a rotation's tokens are
        recomputed. Read from the key store at most every :data:`KEK_TTL` seconds (a
        version another process stages or activates is seen here within that time; one this
        keyring makes, at once)."""
        scope = (region, collection)
        hit = self._index_scopes.get(scope)
        now = time.monotonic()
        if hit is not None and now - hit[0] < KEK_TTL:
            return hit[1]
        rows = [r for r in self._store.keks("index", region, collection) if r.state != "retired"]
        if not any(r.state == "active" for r in rows):
            if not create:
                raise KeyringError(f"no index key for region {region!r}, {collection}")
            self._kek("index", region, collection)  # version 1 (or a racing writer's)
            rows = [
                r for r in self._store.keks("index", region, collection) if r.state != "retired"
            ]
        active = max((r for r in rows if r.state == "active"), key=lambda r: r.version)
        others = sorted((r for r in rows if r is not active), key=lambda r: -r.version)
        live = tuple(self._indexer_of(r) for r in (active, *others))
        self._index_scopes[scope] = (now, live)
        return live

    def index_key(self, kek_id: int) -> BlindIndexer:
        """The indexer of one index KEK, by id (the reindex job's fixed plan)."""
        ix = self._indexers_by_kek.get(kek_id)
        if ix is not None:
            return ix
        row = self._store.kek_by_id(kek_id)
        if row is None or row.purpose != "index" or row.state == "retired":
            raise KeyringError("unknown or retired index key")
        return self._indexer_of(row)

    def _indexer_of(self, row: Any) -> BlindIndexer:
        ix = self._indexers_by_kek.get(row.id)
        if ix is None:
            if row.root_key_id != self._root.key_id:
                raise KeyringError("a key-encryption key is wrapped by another root key")
            # the index KEK's unwrapped material is the root of its field keys
            root = self._root.unwrap(bytes(row.wrapped), _KEK_AAD + bytes(row.key_id))
            ix = BlindIndexer(
                root, region=row.region, collection=row.collection, version=row.version
            )
            self._indexers_by_kek[row.id] = ix
        return ix

    def __repr__(self) -> str:
        return f"Keyring(root={self._root!r})"

    def __reduce__(self) -> Any:
        raise TypeError("key handles cannot be pickled")
