"""Backups of the record database: an online, consistent snapshot with its checksum.

Layout of a backup directory::

    manifest.json    {"format": "strongroom-backup", "version": 1, "backend", "file",
                      "sha256", "bytes", "created_at", "audit_size"}
    records.db       SQLite: a copy made with SQLite's online backup API
    records.dump     PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot)

Only the **record database** is backed up here. The key store is backed up separately, on its
own (short) retention: a record-database backup is useless without the keys, and erasure by key
destruction is complete once the last key-store backup holding the destroyed key has expired.
Restoring needs the vault to be stopped (no server, no other command).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa

from strongroom.errors import ConfigError, StoreError

FORMAT: Final = "strongroom-backup"
MANIFEST: Final = "manifest.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        raise ConfigError(f"{name} is needed for PostgreSQL backups and was not found")
    return found


def _libpq(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, dest: Path, *, audit_size: int = 0) -> dict[str, Any]:
    """Snapshot the record database at ``url`` into the new directory ``dest``."""
    u = sa.make_url(url)
    if dest.exists() and any(dest.iterdir()):
        raise ConfigError(f"{dest} is not empty; a backup goes into a new directory")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    backend = u.get_backend_name()
    if backend == "sqlite":
        out = dest / "records.db"
        try:
            src = sqlite3.connect(f"file:{u.database}?mode=ro", uri=True)
            try:
                dst = sqlite3.connect(out)
                with dst:
                    src.backup(dst, pages=4096)
                dst.close()
            finally:
                src.close()
        except sqlite3.Error as exc:
            raise StoreError(f"the SQLite backup failed ({type(exc).__name__})") from None
    elif backend == "postgresql":
        out = dest / "records.dump"
        done = subprocess.run(  # noqa: S603 - our own argument list, no shell
            [
                _pg_tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                "--file",
                str(out),
                "--dbname",
                _libpq(u),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StoreError("pg_dump failed (its messages may hold the DSN; not shown)")
    else:  # pragma: no cover - make_engine refuses other backends
        raise ConfigError(f"cannot back up {backend}")
    out.chmod(0o600)
    manifest = {
        "format": FORMAT,
        "version": 1,
        "backend": backend,
        "file": out.name,
        "sha256": _sha256(out),
        "bytes": out.stat().st_size,
        "created_at": int(time.time()),
        "audit_size": audit_size,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"{src} is not a Strongroom backup (no readable {MANIFEST})") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != 1:
        raise ConfigError(f"{src / MANIFEST} is not a version-1 Strongroom backup manifest")
    return manifest


def restore(url: str, src: Path) -> dict[str, Any]:
    """Restore the backup in ``src`` over the record database at ``url`` (vault stopped).

    The checksum is verified first; nothing is touched when it does not match."""
    manifest = read_manifest(src)
    u = sa.make_url(url)
    backend = u.get_backend_name()
    if manifest["backend"] != backend:
        raise ConfigError(
            f"the backup is of a {manifest['backend']} database, this vault uses {backend}"
        )
    file = src / str(manifest["file"])
    if not file.is_file() or _sha256(file) != manifest["sha256"]:
        raise ConfigError(f"{file}: checksum does not match the manifest; not restoring")
    if backend == "sqlite":
        target = Path(str(u.database))
        tmp = target.with_name(target.name + ".restoring")
        shutil.copyfile(file, tmp)
        tmp.chmod(0o600)
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(tmp, target)
    else:
        done = subprocess.run(  # noqa: S603 - our own argument list, no shell
            [
                _pg_tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--dbname",
                _libpq(u),
                str(file),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StoreError("pg_restore failed (its messages may hold the DSN; not shown)")
    return manifest
