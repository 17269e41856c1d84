"""Key rotation jobs behind ``strongroom keys``: rotate, rekey, retire and status.

What "a record under an older version" means here: a record version names its data key in
its ciphertext; the data key's key-store row names the KEK that wraps it, and that KEK has a
version. ``rekey`` re-wraps every live data key still wrapped by an older KEK version of its
scope under the newest one. Data key ids and material do not change, so no record is
rewritten, erasure still destroys the one key a person's ciphertexts name, and the job is
online by construction: it never touches the record database. See docs/keys-and-sealing.md
("Rotation") for why re-wrapping, not re-sealing, is what ``rekey`` does.

The job is a primary-key range scan of the key store, ``batch_size`` keys per transaction,
each move optimistic (only where the key is still live and still under the old KEK). It
keeps no state: run again after a crash, it finds whatever is still under an old version.
Every call writes audit entries (rotate; rekey start and finish; retire; rotate-root).

``rotate_root`` makes a new root key next to the old one (a key file, or a key in the
PKCS#11 token under the same label), re-wraps every KEK under it in one key-store
transaction and then points ``vault.toml`` at it; see its docstring for how an interrupted
run is finished.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from strongroom._access import Actor, Purpose, check_call
from strongroom.batch._reindex import (
    SETTLE,
    activate_index,
    index_versions,
    reindexed,
    state_id,
)
from strongroom.config import VaultConfig, check_layout
from strongroom.crypto._keyring import KEK_TTL, Keyring, KeyVersion
from strongroom.crypto._keystore import KeyStore
from strongroom.crypto._sealed import sealed_key_id
from strongroom.crypto.kms._factory import new_root_key, open_root
from strongroom.crypto.kms._local import Argon2Params, key_file_params, key_file_path
from strongroom.errors import (
    ConfigError,
    ConflictError,
    FieldError,
    KeyringError,
    NotFoundError,
    PassphraseError,
    ValidationError,
)
from strongroom.store import make_engine

if TYPE_CHECKING:
    from strongroom.vault import Vault

_Scope = tuple[str, str]  # (region, collection)


@dataclass
class RekeySummary:
    """What one ``rekey`` run did."""

    keys: int = 0  # data keys re-wrapped (or found erased or moved meanwhile)
    scopes: list[dict[str, Any]] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # month keys that could not move (hex ids)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": self.keys,
            "scopes": self.scopes,
            "stuck": self.stuck,
            "seconds": round(self.seconds, 3),
        }


def _audit(vault: Vault, actor: Actor, purpose: Purpose, detail: dict[str, Any]) -> None:
    vault.audit.append(vault.entry(actor, purpose, "admin", "keys", detail=detail))


def rotate(
    vault: Vault,
    *,
    actor: Actor,
    purpose: Purpose,
    region: str | None = None,
    collection: str | None = None,
    index: bool = False,
    _settle: float = SETTLE,
) -> list[dict[str, Any]]:
    """A new data-key version for every (region, collection) scope matching the filters.

    New writes use it at once in this process and within :data:`KEK_TTL` seconds in every
    other one; reads of older versions keep working. Returns one dict per scope rotated.

    With ``index``, a new blind-index version instead: staged (``pending``: every process
    searches under it within :data:`KEK_TTL` seconds), then after ``_settle`` seconds made
    active, so that no process writes a token under it before every process searches under
    it. ``rekey(index=True)`` then recomputes the older versions' tokens.
    """
    check_call(actor, purpose)
    if collection is not None:
        vault.collection(collection)
    kr = vault.keyring
    what = "index" if index else "data"
    scopes = sorted({(v.region, v.collection) for v in kr.versions(what, region, collection)})
    if not scopes:
        raise NotFoundError(
            f"no {what} keys match (a scope's first key is made by its first write)"
        )
    out: list[dict[str, Any]] = []
    for reg, coll in scopes:
        version = kr.rotate(what, reg, coll, pending=index)
        done = {"region": reg, "collection": coll, "version": version}
        _audit(vault, actor, purpose, {"op": "rotate", "purpose": what, **done})
        out.append(done)
    if index:  # every process searches under the new versions now: make them active
        time.sleep(_settle)
        for reg, coll in scopes:
            activate_index(vault, reg, coll, actor, purpose)
    return out


def _plan(versions: list[KeyVersion]) -> list[tuple[_Scope, KeyVersion, list[KeyVersion]]]:
    by_scope: dict[_Scope, list[KeyVersion]] = {}
    for v in versions:
        by_scope.setdefault((v.region, v.collection), []).append(v)
    plan = []
    for scope, vs in sorted(by_scope.items()):
        active = [v for v in vs if v.state == "active"]
        if not active:
            continue
        target = max(active, key=lambda v: v.version)
        older = [v for v in vs if v is not target and v.state != "retired"]
        if older:
            plan.append((scope, target, older))
    return plan


def rekey(
    vault: Vault,
    *,
    actor: Actor,
    purpose: Purpose,
    region: str | None = None,
    collection: str | None = None,
    batch_size: int = 5000,
    advance: Callable[[int, int], None] | None = None,
    _settle: float = KEK_TTL,
) -> RekeySummary:
    """Re-wrap every live data key still under an older KEK version by its scope's newest.

    ``advance(done, total)`` is called after every batch (progress bars). Before the first
    batch the job waits until the newest version is ``_settle`` seconds old, so that every
    process's KEK cache has it and no new key lands under an older version behind the scan.
    Resumable: a crashed run is finished by running it again.
    """
    check_call(actor, purpose)
    if batch_size < 1:
        raise ValidationError.single("batch_size", "must be at least 1")
    kr = vault.keyring
    started = time.monotonic()
    plan = _plan(kr.versions("data", region, collection))
    total = sum(v.live_keys for _s, _t, older in plan for v in older)
    summary = RekeySummary()
    if not plan:
        return summary
    newest = max(t.created_at for _s, t, _o in plan)
    wait = (newest + _settle * 1000 + 50 - time.time_ns() // 1_000_000) / 1000
    if wait > 0:
        time.sleep(wait)
    scopes = [
        {"region": r, "collection": c, "to": t.version, "from": [v.version for v in older]}
        for (r, c), t, older in plan
    ]
    _audit(vault, actor, purpose, {"op": "rekey", "phase": "start", "keys": total})
    target = {v.id: t.id for _s, t, older in plan for v in older}
    old_ids = sorted(target)
    after: bytes | None = None
    while True:  # one key-id range scan for every scope: each key-store page written once
        rows = kr.keys_under(old_ids, after, batch_size)
        if not rows:
            break
        summary.stuck += [k.hex() for k in kr.rewrap(rows, target)]
        after = rows[-1][0]
        summary.keys += len(rows)
        kr.release_memory()  # constant memory: the scan's pages are not read again
        if advance is not None:
            advance(summary.keys, max(total, summary.keys))
    summary.scopes = scopes
    summary.seconds = time.monotonic() - started
    _audit(
        vault,
        actor,
        purpose,
        {"op": "rekey", "phase": "finish", "keys": summary.keys, "stuck": len(summary.stuck)},
    )
    return summary


def retire(
    vault: Vault,
    version: int,
    *,
    actor: Actor,
    purpose: Purpose,
    region: str,
    collection: str,
    index: bool = False,
) -> KeyVersion:
    """Retire data-key ``version`` of (region, collection): refused while it is the active
    version or any live data key (so any record) still uses it. Its material is dropped.

    With ``index``, blind-index ``version`` instead: refused unless it is older than the
    active version and a reindex towards the active version has finished (before that,
    records may still have tokens only under it)."""
    check_call(actor, purpose)
    kr = vault.keyring
    what = "index" if index else "data"
    found = [v for v in kr.versions(what, region, collection) if v.version == version]
    if not found:
        raise NotFoundError(f"no {what}-key version {version} for region {region!r}, {collection}")
    v = found[0]
    if v.state == "retired":
        return v
    if v.state in ("active", "pending"):
        then = "rekey --index" if index else "rekey"
        raise ConflictError(
            [FieldError("version", f"is the {v.state} version; rotate first, then {then}")]
        )
    if index:
        return _retire_index(vault, v, actor, purpose)
    if v.live_keys or not kr.retire(v.id):
        n = v.live_keys or "some"
        raise ConflictError(
            [
                FieldError(
                    "version",
                    f"{n} data keys (and the records sealed under them) still use version "
                    f"{version}; run strongroom keys rekey first",
                )
            ]
        )
    _audit(
        vault,
        actor,
        purpose,
        {"op": "retire", "region": region, "collection": collection, "version": version},
    )
    return dataclasses.replace(v, state="retired", live_keys=0)


def _retire_index(vault: Vault, v: KeyVersion, actor: Actor, purpose: Purpose) -> KeyVersion:
    versions = index_versions(vault, v.region, v.collection)[(v.region, v.collection)]
    active = max((x for x in versions if x.state == "active"), key=lambda x: x.version)
    if v.version > active.version or not reindexed(vault, active.id):
        raise ConflictError(
            [
                FieldError(
                    "version",
                    f"records may still have index tokens only under version {v.version}; "
                    "run strongroom keys rekey --index first",
                )
            ]
        )
    if not vault.keyring.retire(v.id):  # pragma: no cover - retired by another process
        raise ConflictError([FieldError("version", "could not be retired; try again")])
    scope = {"region": v.region, "collection": v.collection, "version": v.version}
    _audit(vault, actor, purpose, {"op": "retire", "purpose": "index", **scope})
    return dataclasses.replace(v, state="retired")


def record_counts(vault: Vault, *, batch: int = 2000) -> dict[int, int]:
    """Stored record versions per KEK id (a scan of every collection, ``batch`` ids at a
    time: constant memory). Erased records' rows are gone, so they are not counted."""
    counts: dict[int, int] = {}
    kr = vault.keyring
    for name in vault.collections:
        after: bytes | None = None
        while True:
            rows = vault.store.scan(name, after, batch)
            if not rows:
                break
            ids = [sealed_key_id(r.sealed) for r in rows]
            keks = kr.kek_of(list(dict.fromkeys(ids)))
            for k in ids:
                if k in keks:
                    counts[keks[k]] = counts.get(keks[k], 0) + 1
            after = bytes(rows[-1].id)
    return counts


def status(vault: Vault, *, records: bool = False) -> list[dict[str, Any]]:
    """Every key version (data and index), its state and how many data keys — and with
    ``records``, how many stored record versions — use it. An active index version after a
    rotation also has ``reindex``: None before ``rekey --index`` ran towards it, else its
    ``status`` (``running`` or ``done``) and the ``records`` reindexed so far."""
    versions = [v for v in vault.keyring.versions() if v.purpose in ("data", "index")]
    per_kek = record_counts(vault) if records else {}
    out = []
    for v in versions:
        d = v.to_json()
        if records:
            d["records"] = per_kek.get(v.id, 0)
        if v.purpose == "index" and v.state == "active" and v.version > 1:
            row = vault.store.import_state(state_id(v.id))
            d["reindex"] = None if row is None else {"status": row.status, "records": row.accepted}
        out.append(d)
    return out


def rotate_root(
    data_dir: Path,
    keys_dir: Path,
    passphrase: str,
    new_passphrase: Callable[[], str],
    *,
    actor: Actor,
    purpose: Purpose,
    argon2: Argon2Params | None = None,
) -> dict[str, Any]:
    """Rotate the root key of a vault.

    1. the current root is opened (local key file: with ``passphrase``, the current one;
       PKCS#11: the key ``vault.toml`` names, with the configured PIN);
    2. a new root key is made and kept beside the old one: local, a key file
       ``root-<new id>.key`` (flushed to disk) wrapped under ``new_passphrase()`` with the old
       file's Argon2id cost (or ``argon2``); PKCS#11, a new non-extractable key in the same
       token under the same label with a new random ``CKA_ID`` (``new_passphrase`` is not
       asked for);
    3. every KEK is re-wrapped under the new root in **one** key-store transaction (no data
       key or record changes);
    4. ``vault.toml``'s ``root_key_id`` is switched atomically (its ``name``, the audit log's
       origin, is kept; a PKCS#11 vault then picks its key by that id among the label's);
    5. an audit entry ``{"op": "rotate-root", "from", "to", "keks"}`` is written.

    Interrupted, it is finished by running it again (with the same passphrases): before step
    3 commits nothing changed but an unused key (a new one is made); after it, the key store
    names the new root, which is opened by its id (a key file with ``new_passphrase()``) and
    the run goes on at step 4. The old key is left for the operator to delete (once no
    backup of the key store still needs it).
    """
    check_call(actor, purpose)
    check_layout(data_dir, keys_dir)
    config = VaultConfig.read(data_dir)
    local = config.kms.provider == "local"
    old = open_root(config.kms, keys_dir, passphrase, config.root_key_id)
    if old.key_id != config.root_key_id:
        raise ConfigError("the root key in the keys directory is not this vault's root key")
    store = KeyStore(make_engine(config.keystore_url, secure_delete=True))
    try:
        roots = store.root_key_ids() - {old.key_id}
        if len(roots) > 1:
            raise KeyringError(
                "the key store's KEKs are wrapped by several root keys "
                f"({', '.join(sorted(roots))}); nothing was changed"
            )
        resumed = bool(roots)
        if resumed:  # a run re-wrapped everything, then stopped before switching vault.toml
            new_id = next(iter(roots))
            if local and key_file_path(keys_dir, new_id) == keys_dir / "root.key":
                raise KeyringError(
                    f"the key store is wrapped by root key {new_id}, but its key file "
                    f"root-{new_id}.key is not in {keys_dir}"
                )
            new = open_root(config.kms, keys_dir, new_passphrase() if local else "", new_id)
        elif local:
            params = argon2 or key_file_params(key_file_path(keys_dir, old.key_id))
            secret = new_passphrase()
            if secret == passphrase:
                raise PassphraseError("the new passphrase must differ from the current one")
            new = new_root_key(config.kms, keys_dir, secret, argon2=params)
        else:
            new = new_root_key(config.kms, keys_dir, "")
        keks = Keyring(old, store).rewrap_root(new)
    finally:
        store.engine.dispose()
    VaultConfig.switch_root_key(data_dir, old.key_id, new.key_id)
    from strongroom.vault import Vault

    done: dict[str, Any] = {
        "op": "rotate-root",
        "from": old.key_id,
        "to": new.key_id,
        "keks": keks,
        "resumed": resumed,
    }
    with Vault.open(data_dir, keys_dir, "", _root=new) as vault:
        _audit(vault, actor, purpose, dict(done))
    if local:
        done["old_key_file"] = key_file_path(keys_dir, old.key_id).name
        done["new_key_file"] = key_file_path(keys_dir, new.key_id).name
    else:
        done["old_key"] = getattr(old, "object_name", "")
        done["new_key"] = getattr(new, "object_name", "")
    return done
