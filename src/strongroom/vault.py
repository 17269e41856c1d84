"""The Vault: the one pipeline every read and write of a record goes through.

API, CLI, web pages and batch jobs call :class:`Vault`; none of them touches the store or the
keys directly. Every call takes an :class:`~strongroom.Actor` and a
:class:`~strongroom.Purpose` (policy decisions and the audit log hook in here in later
layers). Records are sealed one AEAD call per version (see :mod:`strongroom.crypto._sealed`)
and found only through blind indexes: no call falls back to scanning sealed data.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from strongroom._access import Actor, Purpose, check_call
from strongroom._ids import id_of, new_record_id, ref_of
from strongroom.audit._entry import SUBJECT_KEY, Entry, subject_of
from strongroom.audit._log import SEAL_KEY, SIGNING_KEY, AuditLog
from strongroom.config import KmsConfig, VaultConfig, check_layout
from strongroom.crypto import (
    Keyring,
    KeyStore,
    open_record,
    record_aad,
    seal_record,
    sealed_key_id,
)
from strongroom.crypto.kms import RootKeyProvider, create_root, open_root
from strongroom.crypto.kms._local import Argon2Params
from strongroom.errors import (
    ConfigError,
    ConflictError,
    FieldError,
    NotFoundError,
    OpenError,
    StoreError,
    StrongroomError,
    ValidationError,
)
from strongroom.schema import Collection, IndexSpec, Record, builtin_collection
from strongroom.store import (
    KEYS,
    RECORDS,
    STATE_CURRENT,
    STATE_DELETED,
    STATE_SUPERSEDED,
    RecordStore,
    check_reachable,
    is_current,
    make_engine,
    revision_of,
    upgrade,
)

BUILTIN_COLLECTIONS = ("person", "incident")
_log = logging.getLogger("strongroom.vault")
#: search-criteria names accepted for index field paths
_ALIASES = {"phone": "phones", "person": "parties.person"}
#: in the data directory: the largest audit checkpoint this vault signed (outside the record
#: database, so that restoring an older database is noticed)
WATERMARK = "audit-watermark.json"


@dataclass(frozen=True)
class RecordView:
    """One opened record version, as the Vault releases it."""

    collection: str
    ref: str
    version: int
    region: str
    fields: dict[str, Any]
    created_at: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "collection": self.collection,
            "ref": self.ref,
            "version": self.version,
            "region": self.region,
            "fields": self.fields,
        }


@dataclass(slots=True)
class Prepared:
    """A record sealed and ready to write: its row, its index tokens, its unique values.

    ``row`` is in the column order of :data:`strongroom.store.RECORD_COLUMNS`.
    """

    row: tuple[Any, ...]
    tokens: list[tuple[int, bytes]]
    unique: list[tuple[str, str, int]] = field(default_factory=list)  # (index, value, token)

    @property
    def record_id(self) -> bytes:
        return bytes(self.row[0])

    @property
    def created_at(self) -> int:
        return int(self.row[6])


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Vault:
    """Open with :meth:`open` (or create with :meth:`init`); close when done."""

    def __init__(
        self,
        config: VaultConfig,
        keyring: Keyring,
        store: RecordStore,
        keystore: KeyStore,
        collections: Mapping[str, Collection] | None = None,
    ) -> None:
        self.config = config
        self._keyring = keyring
        self._store = store
        self._keystore = keystore
        self.collections: dict[str, Collection] = dict(
            collections or {n: Collection(builtin_collection(n)) for n in BUILTIN_COLLECTIONS}
        )
        self.audit = AuditLog(
            store.engine,
            seal_key=keyring.service_key(SEAL_KEY),
            signing_seed=keyring.service_key(SIGNING_KEY),
            origin=config.audit_origin,
        )
        self._subject_key = keyring.service_key(SUBJECT_KEY)

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def init(
        cls,
        data_dir: Path,
        keys_dir: Path,
        passphrase: str,
        *,
        database_url: str | None = None,
        keystore_url: str | None = None,
        argon2: Argon2Params | None = None,
        kms: KmsConfig | None = None,
    ) -> Vault:
        """Create a vault: a new root key in ``keys_dir``, databases migrated to head.

        With ``kms`` (provider ``pkcs11``) the root key is a key in a PKCS#11 token instead
        (made unless its label exists); ``keys_dir`` and ``passphrase`` are then not used.

        On any failure nothing is left behind that would stop a second attempt: the root key
        file this call created is removed again.
        """
        check_layout(data_dir, keys_dir)
        if (data_dir / "vault.toml").exists():
            raise ConfigError(f"{data_dir} already holds a vault")
        if (keys_dir / "root.key").exists():
            raise ConfigError(f"{keys_dir} already holds a root key; use a new keys directory")
        default = VaultConfig.default_for(data_dir, "")
        db_url = database_url or default.database_url
        ks_url = keystore_url or default.keystore_url
        if db_url == ks_url:
            raise ConfigError("the key store must not be the record database")
        engines = (make_engine(db_url), make_engine(ks_url, secure_delete=True))
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        kms = kms or KmsConfig()
        root, undo_root = create_root(kms, keys_dir, passphrase, argon2=argon2)
        try:
            upgrade(engines[0], RECORDS)
            upgrade(engines[1], KEYS)
            config = VaultConfig(
                db_url, ks_url, root.key_id, kms=kms, name=f"strongroom.vault/{root.key_id}"
            )
            config.write(data_dir)
            for path in [data_dir / "vault.toml", *data_dir.glob("*.db")]:
                path.chmod(0o600)  # SQLite's -wal and -shm files copy the database's mode
        except BaseException:
            undo_root()
            raise
        finally:
            for e in engines:
                e.dispose()
        return cls.open(data_dir, keys_dir, passphrase, _root=root)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        keys_dir: Path,
        passphrase: str,
        *,
        _root: RootKeyProvider | None = None,
    ) -> Vault:
        check_layout(data_dir, keys_dir)
        config = VaultConfig.read(data_dir)
        root = _root or open_root(config.kms, keys_dir, passphrase, config.root_key_id)
        if root.key_id != config.root_key_id:
            raise ConfigError("the root key in the keys directory is not this vault's root key")
        engine = make_engine(config.database_url)
        kengine = make_engine(config.keystore_url, secure_delete=True)
        try:
            check_reachable(engine)
            check_reachable(kengine)
            for eng, branch in ((engine, RECORDS), (kengine, KEYS)):
                if is_current(eng, branch):
                    continue
                if not revision_of(eng, branch):
                    raise StoreError(
                        "the vault's databases are not migrated (no Strongroom schema found); "
                        "is the database URL in vault.toml right?"
                    )
                # an older Strongroom schema: migrations only add, so bring it to head
                _log.warning("upgrading the %s database to the current schema", branch)
                upgrade(eng, branch)
        except BaseException:
            engine.dispose()
            kengine.dispose()
            raise
        keystore = KeyStore(kengine)
        try:  # the keyring unwraps service keys here: on any failure, close the engines
            vault = cls(config, Keyring(root, keystore), RecordStore(engine), keystore)
        except BaseException:
            engine.dispose()
            kengine.dispose()
            raise
        vault.audit.watermark = data_dir / WATERMARK
        behind = vault.audit.watermark_problem()
        if behind is not None:
            _log.warning("%s; run 'strongroom audit verify'", behind.what)
        return vault

    def close(self) -> None:
        self._store.engine.dispose()
        self._keystore.engine.dispose()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------------
    def collection(self, name: str) -> Collection:
        try:
            return self.collections[name]
        except KeyError:
            raise ValidationError.single(
                "collection", f"unknown collection (known: {', '.join(self.collections)})"
            ) from None

    def _id(self, ref: str) -> bytes:
        try:
            return id_of(ref)
        except (ValueError, AttributeError, TypeError):
            raise ValidationError.single("ref", "must be a record reference (a UUID)") from None

    def prepare(
        self,
        coll: Collection,
        rec: Record,
        record_id: bytes,
        version: int,
        new_keys: list[Any],
        *,
        remember: bool = True,
    ) -> Prepared:
        """Seal ``rec`` and compute its tokens. New subject keys go into ``new_keys``."""
        region = rec["region"]
        kr = self._keyring
        name = coll.name
        if coll.spec.key_scope == "subject":
            if version == 1:
                key, krow = kr.new_subject_key(region, name, record_id)
                new_keys.append(krow)
                if remember:
                    kr.remember(key)
            else:  # the subject's key, re-wrapped by the newest KEK version if need be
                key = kr.subject_key(region, name, record_id)
        else:
            key = kr.month_key(region, name, coll.month_of(rec))
        aad = record_aad(name, record_id, region, version, coll.version)
        sealed = seal_record(key, coll.canonical(rec), aad)
        # tokens under the active index version; unique values are checked under every
        # live one (an index rotation's tokens may still be under an older version)
        writer, *others = kr.blind_indexers(region, name)
        token = writer.token
        tokens: list[tuple[int, bytes]] = []
        unique: list[tuple[str, str, int]] = []
        for spec, values_of in coll.index_extractors():
            for value in values_of(rec):
                t = token(spec.name, value)
                tokens.append((t, record_id))
                if spec.unique:
                    unique.append((spec.name, value, t))
                    unique += [(spec.name, value, ix.token(spec.name, value)) for ix in others]
        row = (record_id, version, name, region, coll.version, sealed, _now_ms(), STATE_CURRENT)
        return Prepared(row, tokens, unique)

    def open_row(self, row: Any) -> RecordView:
        """Open one stored version (raises the opaque OpenError if it does not open, and
        NotFoundError if its key was destroyed: the record was erased)."""
        coll = self.collection(row.collection)
        aad = record_aad(row.collection, row.id, row.region, row.version, row.schema_version)
        try:
            data = open_record(self._keyring.data_key, row.sealed, aad)
        except OpenError:
            if self._keyring.destroyed([sealed_key_id(row.sealed)]):
                raise NotFoundError(f"record {ref_of(row.id)} was erased") from None
            raise
        return RecordView(
            row.collection,
            ref_of(row.id),
            row.version,
            row.region,
            coll.from_canonical(data, row.region),
            row.created_at,
        )

    def unique_clashes(
        self,
        coll: Collection,
        items: Sequence[tuple[bytes, Sequence[tuple[str, str, int]]]],
        conn: sa.Connection,
    ) -> dict[int, FieldError]:
        """Indices into ``items`` (record id, unique values) whose unique values another
        current record already holds (candidates are opened, so collisions never count).
        Runs inside the writer's transaction ``conn``."""
        wanted = [(i, n, v, t) for i, (_rid, uniq) in enumerate(items) for n, v, t in uniq]
        if not wanted:
            return {}
        present = self._store.tokens_present(conn, [t for *_, t in wanted])
        out: dict[int, FieldError] = {}
        for i, name, value, t in wanted:
            for rid in present.get(t, ()):
                if rid == items[i][0]:
                    continue
                for row in self._store.current(coll.name, [rid]):
                    other = self.open_row(row)
                    if value in coll.values_of(coll.indexes[name], other.fields):
                        out[i] = FieldError(
                            coll.indexes[name].fields[0],
                            f"another {coll.name} record already has this value",
                        )
        return out

    def check_refs(self, coll: Collection, rec: Record) -> None:
        """Every ``ref`` field must name a current record of its collection."""
        errors: list[FieldError] = []
        for f in coll.spec.fields:
            if f.type == "object" and f.name in rec:
                items = rec[f.name] if f.list else [rec[f.name]]
                for i, item in enumerate(items):
                    for sub in f.fields:
                        if sub.type == "ref" and sub.name in item:
                            path = f"{f.name}[{i}].{sub.name}" if f.list else f"{f.name}.{sub.name}"
                            if not self._store.current(
                                sub.collection or "", [id_of(item[sub.name])]
                            ):
                                errors.append(FieldError(path, "no such record"))
        if errors:
            raise ValidationError(errors)

    def _write(
        self,
        coll: Collection,
        prep: Prepared,
        new_keys: list[Any],
        old: Any = None,
        old_tokens: Sequence[tuple[int, bytes]] = (),
        entry: Entry | None = None,
    ) -> None:
        """Keys first (their own store), then the record, its tokens and its audit entry in
        one transaction."""
        self._keyring.save_keys(new_keys)
        try:
            with self._store.begin() as conn:
                clash = self.unique_clashes(coll, [(prep.record_id, prep.unique)], conn)
                if clash:
                    raise ConflictError(list(clash.values()))
                if old is not None:
                    self._store.set_state(conn, old.id, old.version, STATE_SUPERSEDED)
                    self._store.delete_tokens(conn, old_tokens)
                self._store.insert_records(conn, [prep.row])
                self._store.insert_tokens(conn, prep.tokens)
                if entry is not None:
                    self.audit.append(entry, conn)
        except (StrongroomError, SQLAlchemyError) as exc:
            self._keyring.forget_keys([k[0] for k in new_keys])
            if isinstance(exc, SQLAlchemyError):
                raise StoreError("the record could not be written") from exc
            raise

    def current(self, collection: str, ref: str) -> RecordView:
        """The current version of a record, opened, without an audit entry: for callers that
        decide on it and write their own entry before releasing anything (the Gate)."""
        return self.open_row(self._current_row(self.collection(collection), ref))

    def _current_row(self, coll: Collection, ref: str) -> Any:
        rows = self._store.current(coll.name, [self._id(ref)])
        if not rows:
            raise NotFoundError(f"no current {coll.name} record {ref}")
        return rows[0]

    # -- the public calls ----------------------------------------------------------------
    def entry(
        self,
        actor: Actor,
        purpose: Purpose,
        action: str,
        collection: str,
        views: Sequence[RecordView] = (),
        *,
        refs: Sequence[str] = (),
        detail: Mapping[str, Any] | None = None,
    ) -> Entry:
        """The audit entry of a key custodian's call (the Gate writes richer ones)."""
        return Entry(
            time=self.audit.now(),
            actor_id=actor.id,
            actor_role=actor.role,
            actor_unit=actor.unit or "",
            action=action,
            collection=collection,
            purpose_code=purpose.code,
            case_ref=purpose.case_ref,
            records=[*refs, *(v.ref for v in views)],
            subjects=self.subjects(views),
            fields=sorted({k for v in views for k in v.fields}),
            request_id="custodian",
            detail=dict(detail or {}),
        )

    def subject(self, resident_id: str) -> bytes:
        """The audit subject of a (normalised) resident ID."""
        return subject_of(self._subject_key, resident_id)

    def subjects(self, views: Sequence[RecordView]) -> list[bytes]:
        """The audit subjects of records: a person's own, and for an incident those of the
        persons it names (their records are opened here, in the process, for the IDs)."""
        out: list[bytes] = []
        parties: list[str] = []
        for v in views:
            if v.collection == "person" and v.fields.get("resident_id"):
                out.append(self.subject(str(v.fields["resident_id"])))
            elif v.collection != "person":
                parties += [
                    str(p["person"])
                    for p in v.fields.get("parties") or ()
                    if isinstance(p, Mapping) and p.get("person")
                ]
        if parties:
            ids = [self._id(r) for r in dict.fromkeys(parties)]
            for row in self._store.current("person", ids):
                rid = self.open_row(row).fields.get("resident_id")
                if rid:
                    out.append(self.subject(str(rid)))
        return list(dict.fromkeys(out))

    def put(
        self,
        collection: str,
        fields: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: Purpose,
        audit: Callable[[RecordView], Entry] | None = None,
    ) -> RecordView:
        """Create a record; returns it as stored (normalised). Nothing is written on error.

        The audit entry (``audit(view)``, default a custodian entry) commits with the record.
        """
        check_call(actor, purpose)
        coll = self.collection(collection)
        rec = coll.validate(fields)
        self.check_refs(coll, rec)
        new_keys: list[Any] = []
        prep = self.prepare(coll, rec, new_record_id(), 1, new_keys)
        view = RecordView(coll.name, ref_of(prep.record_id), 1, rec["region"], rec, prep.created_at)
        entry = (audit or (lambda v: self.entry(actor, purpose, "create", coll.name, [v])))(view)
        self._write(coll, prep, new_keys, entry=entry)
        return view

    def get(self, collection: str, ref: str, *, actor: Actor, purpose: Purpose) -> RecordView:
        check_call(actor, purpose)
        coll = self.collection(collection)
        view = self.open_row(self._current_row(coll, ref))
        self.audit.append(self.entry(actor, purpose, "read", coll.name, [view]))
        return view

    def history(
        self, collection: str, ref: str, *, actor: Actor, purpose: Purpose
    ) -> list[RecordView]:
        """Every stored version of a record, oldest first (deleted ones included)."""
        check_call(actor, purpose)
        coll = self.collection(collection)
        rows = self._store.versions(coll.name, self._id(ref))
        if not rows:
            raise NotFoundError(f"no {coll.name} record {ref}")
        views = [self.open_row(r) for r in rows]
        self.audit.append(
            self.entry(actor, purpose, "read", coll.name, views[-1:], detail={"history": True})
        )
        return views

    def update(
        self,
        collection: str,
        ref: str,
        changes: Mapping[str, Any],
        *,
        actor: Actor,
        purpose: Purpose,
        audit: Callable[[RecordView], Entry] | None = None,
    ) -> RecordView:
        """Write a new version with ``changes`` applied (``None`` clears a field).

        The old version is kept (superseded) until retention removes it.
        """
        check_call(actor, purpose)
        coll = self.collection(collection)
        row = self._current_row(coll, ref)
        old = self.open_row(row)
        rec = coll.validate(changes, partial_of=old.fields)
        if rec["region"] != old.region:
            raise ValidationError.single(
                "region", "cannot change; a record stays in the region whose keys seal it"
            )
        self.check_refs(coll, rec)
        old_tokens = self.prepare_tokens(coll, old.fields, row.id)
        prep = self.prepare(coll, rec, row.id, row.version + 1, [])
        view = RecordView(coll.name, ref, row.version + 1, rec["region"], rec, prep.created_at)
        entry = (audit or (lambda v: self.entry(actor, purpose, "update", coll.name, [v])))(view)
        self._write(coll, prep, [], row, old_tokens, entry=entry)
        return view

    def delete(
        self,
        collection: str,
        ref: str,
        *,
        actor: Actor,
        purpose: Purpose,
        audit: Callable[[RecordView], Entry] | None = None,
    ) -> None:
        """Mark the record deleted and drop it from every index (versions kept until
        retention; erasure by key destruction is a separate, audited operation)."""
        check_call(actor, purpose)
        coll = self.collection(collection)
        row = self._current_row(coll, ref)
        old = self.open_row(row)
        tokens = self.prepare_tokens(coll, old.fields, row.id)
        entry = (audit or (lambda v: self.entry(actor, purpose, "delete", coll.name, [v])))(old)
        try:
            with self._store.begin() as conn:
                self._store.set_state(conn, row.id, row.version, STATE_DELETED)
                self._store.delete_tokens(conn, tokens)
                self.audit.append(entry, conn)
        except SQLAlchemyError as exc:
            raise StoreError("the record could not be deleted") from exc

    def erase(
        self,
        ref: str,
        *,
        actor: Actor,
        purpose: Purpose,
        legal_basis: str,
        audit: Callable[[list[str]], Entry] | None = None,
    ) -> None:
        """Erase a person: every version and index entry is deleted (with the audit entry,
        in one transaction), then the person's data key is destroyed, so that no copy of
        the ciphertext — an older backup of the record database included — opens again.

        Idempotent: erasing again after a crash between the two steps finishes the job.
        """
        check_call(actor, purpose)
        if not isinstance(legal_basis, str) or not legal_basis.strip():
            raise ValidationError.single("legal_basis", "erasure needs its legal basis")
        record_id = self._id(ref)
        rows = self._store.versions("person", record_id)
        key_id = sealed_key_id(rows[-1].sealed) if rows else record_id
        if not rows and self._keystore.dek(record_id) is None:
            raise NotFoundError(f"no person record {ref}")
        default = self.entry(
            actor,
            purpose,
            "admin",
            "person",
            refs=[ref],
            detail={"op": "erase"},
        )
        # the legal basis is free text (it may name the person): it goes in sealed
        default = dataclasses.replace(default, justification=legal_basis.strip()[:200])
        subjects: list[bytes] = []
        for row in rows[-1:]:  # the newest version names the person (if it still opens)
            try:
                subjects = self.subjects([self.open_row(row)])
            except StrongroomError:
                subjects = []
        entry = (
            audit([ref]) if audit is not None else dataclasses.replace(default, subjects=subjects)
        )
        try:
            with self._store.begin() as conn:
                self._store.delete_record(conn, "person", record_id)
                self.audit.append(entry, conn)
        except SQLAlchemyError as exc:
            raise StoreError("the record could not be erased") from exc
        self._keyring.destroy_key(key_id)

    def stored(self, collection: str, after: bytes | None, limit: int) -> list[Any]:
        """Every stored version (still sealed) of up to ``limit`` records of ``collection``
        with ids after ``after``, in (id, version) order: for bulk jobs that open what they
        need with :meth:`open_row` (retention)."""
        return self._store.scan(self.collection(collection).name, after, limit)

    def purge(self, collection: str, record_ids: Sequence[bytes], entry: Entry) -> None:
        """Delete every version and index entry of ``record_ids`` with ``entry``, in one
        transaction (retention; the keys are the caller's business)."""
        coll = self.collection(collection)
        try:
            with self._store.begin() as conn:
                for record_id in record_ids:
                    self._store.delete_record(conn, coll.name, record_id)
                self.audit.append(entry, conn)
        except SQLAlchemyError as exc:
            raise StoreError("the records could not be purged") from exc

    def prepare_tokens(
        self, coll: Collection, rec: Record, record_id: bytes
    ) -> list[tuple[int, bytes]]:
        """The index entries of a stored version, to delete: its tokens under every live
        index version (during an index rotation a record's tokens may be under any)."""
        values = coll.index_values(rec)
        return [
            (ix.token(n, v), record_id)
            for ix in self._keyring.blind_indexers(rec["region"], coll.name)
            for n, v in values
        ]

    def find(
        self,
        collection: str,
        criteria: Mapping[str, str],
        *,
        actor: Actor,
        purpose: Purpose,
        regions: Sequence[str] | None = None,
    ) -> list[RecordView]:
        """Exact-match search through a blind index whose fields are exactly ``criteria``.

        ``regions`` limits the search to those regions (default: every region whose keys
        this node holds). Candidates are opened and compared, so token collisions never
        surface.
        """
        check_call(actor, purpose)
        coll = self.collection(collection)
        spec, values, rows = self.candidates(coll, criteria, regions)
        if len(rows) > 1:
            self._keyring.preload([sealed_key_id(r.sealed) for r in rows])
        out = []
        for row in rows:
            view = self.open_row(row)
            if self.matches(coll, spec, values, view):
                out.append(view)
        self.audit.append(
            self.entry(actor, purpose, "search", coll.name, out, detail={"index": spec.name})
        )
        return out

    def candidates(
        self,
        coll: Collection,
        criteria: Mapping[str, str],
        regions: Sequence[str] | None = None,
    ) -> tuple[IndexSpec, list[str], list[Any]]:
        """The index a search uses, its normalised values, and the (still sealed) current
        rows its tokens point to, ordered by record id. Callers open the rows and keep those
        for which :meth:`matches` holds (a 64-bit token may collide)."""
        spec, values = self._match_index(coll, criteria)
        rows = self._store.current_by_tokens(
            coll.name, self._search_tokens(coll, spec, values, regions)
        )
        rows.sort(key=lambda r: bytes(r.id))
        if rows:  # erased records (a restored older database) are not found
            gone = self._keyring.destroyed([sealed_key_id(r.sealed) for r in rows])
            if gone:
                rows = [r for r in rows if sealed_key_id(r.sealed) not in gone]
        return spec, values, rows

    def _search_tokens(
        self,
        coll: Collection,
        spec: IndexSpec,
        values: Sequence[str],
        regions: Sequence[str] | None,
    ) -> list[int]:
        """The tokens of ``values`` of index ``spec`` under every live index version of
        each region searched (``regions``, default every region this node holds)."""
        held = self._keyring.regions(coll.name)
        tokens: list[int] = []
        for region in held if regions is None else [r for r in regions if r in held]:
            for ix in self._keyring.blind_indexers(region, coll.name, create=False):
                tokens.extend(ix.token(spec.name, v) for v in values)
        return tokens

    @staticmethod
    def matches(coll: Collection, spec: IndexSpec, values: Sequence[str], view: RecordView) -> bool:
        """Whether an opened candidate really holds one of the searched values."""
        return bool(set(values) & set(coll.values_of(spec, view.fields)))

    def incidents_of(self, person_ref: str, *, actor: Actor, purpose: Purpose) -> list[RecordView]:
        """Every current incident that names the person as a party."""
        self._id(person_ref)
        return self.find("incident", {"parties.person": person_ref}, actor=actor, purpose=purpose)

    def index_spec(self, coll: Collection, criteria: Mapping[str, str]) -> IndexSpec:
        """The blind index whose fields are exactly ``criteria``'s keys (``phone`` and
        ``person`` are accepted for ``phones`` and ``parties.person``)."""
        if not criteria:
            raise ValidationError.single("criteria", "give at least one field to search by")
        wanted = {_ALIASES.get(k, k) for k in criteria}
        for spec in coll.spec.indexes:
            if set(spec.fields) == wanted:
                return spec
        searchable = ", ".join("+".join(ix.fields) for ix in coll.spec.indexes)
        raise ValidationError.single(
            "criteria", f"no index covers that combination (searchable: {searchable})"
        )

    def _match_index(
        self, coll: Collection, criteria: Mapping[str, str]
    ) -> tuple[IndexSpec, list[str]]:
        spec = self.index_spec(coll, criteria)
        crit = {_ALIASES.get(k, k): v for k, v in criteria.items()}
        normalised: dict[str, Any] = {}
        errors: list[FieldError] = []
        for path in spec.fields:
            try:
                normalised[path] = self._normalise_path(coll, path, crit[path])
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)
        if len(spec.fields) == 1:
            return spec, [normalised[spec.fields[0]]]
        return spec, ["\x1f".join(normalised[p] for p in spec.fields)]

    def _normalise_path(self, coll: Collection, path: str, value: Any) -> str:
        from strongroom.schema import FIELD_TYPES

        head, _, rest = path.partition(".")
        f = coll.field(head)
        if f is None:  # pragma: no cover - index specs are checked at load
            raise ValidationError.single(path, "unknown field")
        if rest:
            f = next(s for s in f.fields if s.name == rest)
        return str(FIELD_TYPES[f.type](value, f, path))

    def resolve_unique(
        self,
        collection: str,
        index: str,
        values: Sequence[str],
        *,
        actor: Actor,
        purpose: Purpose,
        regions: Sequence[str] | None = None,
    ) -> dict[str, str]:
        """Map normalised values of a unique index to the references of their records
        (in ``regions``, default every region this node holds)."""
        check_call(actor, purpose)
        coll = self.collection(collection)
        spec = coll.indexes[index]
        if not values:
            return {}
        tokens = self._search_tokens(coll, spec, values, regions)
        rows = self._store.current_by_tokens(coll.name, tokens)
        self._keyring.preload([sealed_key_id(r.sealed) for r in rows])
        wanted = set(values)
        out: dict[str, str] = {}
        found: list[RecordView] = []
        for row in rows:
            view = self.open_row(row)
            for v in coll.values_of(spec, view.fields):
                if v in wanted:
                    out[v] = view.ref
                    found.append(view)
        entry = self.entry(actor, purpose, "search", coll.name, found, detail={"index": spec.name})
        self.audit.append(dataclasses.replace(entry, fields=()))  # refs only: nothing released
        return out

    def import_state(self, import_id: str) -> Any:
        """The saved position of a bulk import (``None`` if it never ran)."""
        return self._store.import_state(import_id)

    def commit_batch(
        self,
        coll: Collection,
        items: Sequence[tuple[tuple[Any, ...], Sequence[tuple[int, bytes]], Sequence[Any]]],
        keys: list[Any],
        settle: Callable[[dict[int, FieldError]], tuple[set[int], dict[str, Any]]],
        entry: Callable[[list[bytes]], Entry] | None = None,
    ) -> None:
        """Write a prepared batch of new records: (row, tokens, unique values) each.

        Keys go to the key store first. Then, in one transaction of the record database:
        unique values are checked against current records, ``settle`` is told which items
        clash and answers which items to drop and the bulk job's state row, and the rest are
        written with their index tokens and that state, and ``entry(kept record ids)``
        is appended to the audit log. Keys of dropped items are forgotten.
        """
        self._keyring.save_keys(keys)
        dropped: set[int] = set()
        try:
            with self._store.begin() as conn:
                clashes = self.unique_clashes(coll, [(r[0], u) for r, _t, u in items], conn)
                dropped, state = settle(clashes)
                kept = [x for i, x in enumerate(items) if i not in dropped]
                self._store.insert_records(conn, [r for r, _t, _u in kept])
                self._store.insert_tokens(conn, [t for _r, ts, _u in kept for t in ts])
                self._store.save_import_state(conn, state)
                if entry is not None and kept:
                    self.audit.append(entry([bytes(r[0]) for r, _t, _u in kept]), conn)
        except (StrongroomError, SQLAlchemyError) as exc:
            self._keyring.forget_keys([k[0] for k in keys])
            if isinstance(exc, SQLAlchemyError):
                raise StoreError("a batch could not be written") from exc
            raise
        gone = {items[i][0][0] for i in dropped}
        self._keyring.forget_keys([k[0] for k in keys if k[0] in gone])

    def counts(self) -> dict[str, int]:
        """Current records per collection (no contents)."""
        return self._store.counts()

    def engines(self) -> tuple[sa.Engine, sa.Engine]:
        """The record database's and the key store's engines."""
        return self._store.engine, self._keystore.engine

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def store(self) -> RecordStore:
        return self._store
