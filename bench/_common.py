"""Shared pieces of the benchmarks: data files, database back ends, the plaintext baseline.

Every benchmark measures a plaintext baseline in the same run, on the same engine, from the
same CSV file, and reports the sealed figure as a ratio of it: the machines are shared and
noisy, so absolute numbers are only context.

Run the benchmarks from the repository root (``make bench``); they import ``tests._pg`` for a
throwaway PostgreSQL cluster.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # for tests._pg (the throwaway PostgreSQL cluster)
    sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402
from tests._pg import Cluster, pg_bin  # noqa: E402

from strongroom import Actor, Purpose, Vault  # noqa: E402
from strongroom._ids import new_record_id  # noqa: E402
from strongroom.batch._import import _batches, import_file  # noqa: E402
from strongroom.batch._prepare import csv_value  # noqa: E402 - the importer's own splitting
from strongroom.batch._readers import read_rows  # noqa: E402
from strongroom.errors import ValidationError  # noqa: E402
from strongroom.schema import Collection, builtin_collection  # noqa: E402
from strongroom.store import make_engine  # noqa: E402
from strongroom.synth import generate_persons, write_persons_csv  # noqa: E402

OUT = REPO / "bench" / "out"
SEED = 7
BATCH = 20000  # rows per transaction, as import_file's default commit_rows
PASSPHRASE = "benchmark passphrase, not a secret"  # noqa: S105 - throwaway vaults
ACTOR = Actor("bench", role="system", unit="BENCH")
PURPOSE = Purpose("BENCH", case_ref="bench-1")
ENGINES = ("sqlite", "postgres")


# -- progress --------------------------------------------------------------------------------
def say(msg: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(msg, file=sys.stderr, flush=True)


class Ticker:
    """Prints a progress line every ``every`` seconds (and a last one on :meth:`finish`)."""

    def __init__(self, label: str, total: int | None = None, unit: str = "persons") -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.every = float(os.environ.get("BENCH_PROGRESS_SECONDS", "5"))
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.done = 0

    def update(self, done: int, fraction: float | None = None) -> None:
        self.done = done
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            self._line(now, fraction)

    def finish(self) -> None:
        self._line(time.perf_counter(), None)

    def _line(self, now: float, fraction: float | None) -> None:
        elapsed = now - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if fraction is None and self.total:
            fraction = self.done / self.total
        of = f"/{self.total:,}" if self.total else ""
        pct = f" ({fraction:.0%})" if fraction is not None else ""
        say(f"  {self.label}: {self.done:,}{of} {self.unit}{pct}, {rate:,.0f}/s, {elapsed:,.0f} s")


# -- data ------------------------------------------------------------------------------------
def persons_csv(out: Path, n: int, seed: int = SEED) -> Path:
    """``n`` synthetic persons as CSV, generated once and cached in ``out``."""
    path = out / f"persons-{n}-seed{seed}.csv"
    if path.exists():
        say(f"using cached {shown(path)}")
        return path
    out.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.part")
    ticker = Ticker(f"generating {path.name}", n)

    def counted() -> Iterator[Any]:
        for i, p in enumerate(generate_persons(n, seed=seed), 1):
            if i % 1000 == 0:
                ticker.update(i)
            yield p

    write_persons_csv(counted(), tmp)
    ticker.done = n
    ticker.finish()
    os.replace(tmp, path)  # a half-written file is never mistaken for a cached one
    return path


def import_kwargs(workers: int | None) -> dict[str, Any]:
    """``workers=`` for :func:`import_file`, only if its signature has that parameter."""
    if workers is not None and "workers" in inspect.signature(import_file).parameters:
        return {"workers": workers}
    return {}


def takes_workers() -> bool:
    return "workers" in inspect.signature(import_file).parameters


def workers_note(workers: int | None) -> str:
    if not takes_workers():
        return "import_file in one process (it has no workers parameter)"
    if workers is None:
        return "import_file's default workers"
    return f"import_file(workers={workers})"


# -- the sealed import -----------------------------------------------------------------------------
def sealed_import(
    vault: Vault, csv: Path, label: str, rejects: Path, workers: int | None
) -> dict[str, Any]:
    """Time ``import_file`` end to end (vault already created, not timed)."""
    size = csv.stat().st_size
    ticker = Ticker(label)

    def progress(done: int, accepted: int, rejected: int) -> None:
        ticker.update(accepted + rejected, done / size)

    t0 = time.perf_counter()
    summary = import_file(
        vault,
        "person",
        csv,
        actor=ACTOR,
        purpose=PURPOSE,
        rejects_path=rejects,
        progress=progress,
        **import_kwargs(workers),
    )
    seconds = time.perf_counter() - t0
    ticker.finish()
    return {
        "persons": summary.accepted,
        "rejected": summary.rejected,
        "seconds": seconds,
        "workers": getattr(summary, "workers", 1),
    }


# -- the plaintext baseline ------------------------------------------------------------------
plain_meta = sa.MetaData()
person_plain = sa.Table(
    "person_plain",
    plain_meta,
    sa.Column("id", sa.LargeBinary(16), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("resident_id", sa.Text, nullable=False),
    sa.Column("phones", sa.Text),  # ';'-joined E.164 numbers
    sa.Column("date_of_birth", sa.Text),
    sa.Column("place_of_birth", sa.Text),
    sa.Column("sex", sa.Text),
    sa.Column("region", sa.Text, nullable=False),
    # the plaintext equivalents of the person collection's blind indexes
    sa.Index("person_plain_resident_id", "resident_id", unique=True),
    sa.Index("person_plain_name", "name"),
    sa.Index("person_plain_name_dob", "name", "date_of_birth"),
    sqlite_with_rowid=False,  # as the sealed records table
)
phone_plain = sa.Table(
    "phone_plain",
    plain_meta,
    sa.Column("phone", sa.Text, primary_key=True),
    sa.Column("id", sa.LargeBinary(16), primary_key=True),
    sqlite_with_rowid=False,  # as the blind_index table
)


def person_collection() -> Collection:
    return Collection(builtin_collection("person"))


def csv_raw(coll: Collection, data: Mapping[str, str]) -> dict[str, Any]:
    """A CSV row as import_file turns it into a raw record (lists split on ';')."""
    raw: dict[str, Any] = {}
    for k, cell in data.items():
        f = coll.field(k)
        raw[k] = csv_value(f, cell) if f is not None and cell != "" else cell
    return raw


INSERT_MODES = ("core", "driver")


def _insert(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]], mode: str) -> None:
    if mode == "core":  # SQLAlchemy Core executemany
        conn.execute(table.insert(), rows)
        return
    # the vault's own bulk path (driver executemany on SQLite, COPY on PostgreSQL)
    from strongroom.store._bulk import bulk_insert

    cols = [c.name for c in table.columns]
    bulk_insert(conn, table.name, cols, [tuple(r[c] for c in cols) for r in rows])


def load_plain(url: str, csv_path: Path, label: str, insert: str = "core") -> dict[str, Any]:
    """Create the plaintext tables in ``url`` and load ``csv_path``; time the load.

    Same reader, same per-row validation and normalisation, same 20000-row transactions as
    :func:`import_file` — only the sealing, the blind-index HMACs and the key store are
    missing. Rows go in with SQLAlchemy Core executemany (``insert="core"``) or with the
    vault's own bulk-insert helper (``"driver"``). Table creation is not timed (the vault's
    migrations are not timed either).
    """
    engine = make_engine(url)
    try:
        plain_meta.create_all(engine)
        coll = person_collection()
        size = csv_path.stat().st_size
        ticker = Ticker(label)
        accepted = rejected = 0
        t0 = time.perf_counter()
        for batch in _batches(read_rows(csv_path, "csv"), BATCH):  # the importer's own batching
            rows: list[dict[str, Any]] = []
            phones: list[dict[str, Any]] = []
            for r in batch:
                if r.data is None:
                    rejected += 1
                    continue
                try:
                    rec = coll.validate(csv_raw(coll, r.data))
                except ValidationError:
                    rejected += 1
                    continue
                rid = new_record_id()
                numbers = rec.get("phones") or []
                rows.append(
                    {
                        "id": rid,
                        "name": rec["name"],
                        "resident_id": rec["resident_id"],
                        "phones": ";".join(numbers) or None,
                        "date_of_birth": rec.get("date_of_birth"),
                        "place_of_birth": rec.get("place_of_birth"),
                        "sex": rec.get("sex"),
                        "region": rec["region"],
                    }
                )
                phones.extend({"phone": p, "id": rid} for p in numbers)
            with engine.begin() as conn:
                if rows:
                    _insert(conn, person_plain, rows, insert)
                if phones:
                    _insert(conn, phone_plain, phones, insert)
            accepted += len(rows)
            ticker.update(accepted + rejected, batch[-1].end / size)
        seconds = time.perf_counter() - t0
        ticker.finish()
    finally:
        engine.dispose()
    return {"persons": accepted, "rejected": rejected, "seconds": seconds, "insert": insert}


def bulk_helper_available() -> bool:
    try:
        from strongroom.store._bulk import bulk_insert  # noqa: F401
    except ImportError:
        return False
    return True


# -- database back ends ----------------------------------------------------------------------
def postgres_available() -> bool:
    return pg_bin() is not None


def default_engines() -> list[str]:
    return ["sqlite", "postgres"] if postgres_available() else ["sqlite"]


def parse_engines(text: str | None) -> list[str]:
    if not text:
        engines = default_engines()
        if "postgres" not in engines:
            say("PostgreSQL binaries not found (make deps installs them): SQLite only")
        return engines
    engines = [e.strip() for e in text.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            raise SystemExit(f"unknown engine {e!r} (known: {', '.join(ENGINES)})")
    if "postgres" in engines and not postgres_available():
        raise SystemExit("PostgreSQL binaries not found; run 'make deps' or use --engines sqlite")
    return engines


def sqlite_files_bytes(url: str) -> int:
    """Bytes of an SQLite database: the file and its -wal, -shm and -journal files."""
    db = sa.make_url(url).database
    assert db, url
    return sum(
        p.stat().st_size
        for p in (Path(db + s) for s in ("", "-wal", "-shm", "-journal"))
        if p.exists()
    )


class SqliteBackend:
    """Databases are files in ``base``; a sealed vault keeps its two files in its data dir."""

    name = "sqlite"

    def __init__(self, base: Path) -> None:
        self.base = base
        base.mkdir(parents=True, exist_ok=True)

    def new_db(self, name: str) -> str:
        return f"sqlite:///{self.base / name}.db"

    def url(self, name: str) -> str:
        return self.new_db(name)

    def vault_urls(self, tag: str) -> dict[str, str]:
        return {}  # Vault.init's default: records.db and keystore.db in the data directory

    def bytes_of(self, urls: Sequence[str]) -> int:
        return sum(sqlite_files_bytes(u) for u in urls)

    def describe(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def close(self) -> None:
        pass


class _ReusableCluster(Cluster):
    """tests._pg.Cluster that restarts an existing data directory instead of initdb."""

    def _run(self, *args: str) -> None:
        if Path(args[0]).name == "initdb" and (self.datadir / "PG_VERSION").exists():
            return
        super()._run(*args)


class PostgresBackend:
    """A throwaway cluster (tests._pg) in ``base``; one database per store.

    Sizes are ``pg_database_size`` minus that of an empty, freshly created database.
    """

    name = "postgres"

    def __init__(self, base: Path) -> None:
        base = base.resolve()  # the server does not run in our working directory
        if (base / "pgdata" / "PG_VERSION").exists():
            # a cached cluster: its socket directory is recreated by Cluster()
            shutil.rmtree(base / "pgsock", ignore_errors=True)
        self.cluster = _ReusableCluster(base)
        say(f"starting a PostgreSQL cluster in {base}")
        self.cluster.start()
        self._empty: int | None = None

    def new_db(self, name: str) -> str:
        return self.cluster.create_db(name)

    def url(self, name: str) -> str:
        return self.cluster.url(name)

    def vault_urls(self, tag: str) -> dict[str, str]:
        return {
            "database_url": self.new_db(f"{tag}_records"),
            "keystore_url": self.new_db(f"{tag}_keys"),
        }

    def rebase(self, url: str) -> str:
        """``url`` pointed at this cluster's port (a cached cluster gets a new port)."""
        u = sa.make_url(url).set(host="127.0.0.1", port=self.cluster.port)
        return u.render_as_string(hide_password=False)

    def db_size(self, url: str) -> int:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                q = sa.text("SELECT pg_database_size(current_database())")
                return int(conn.execute(q).scalar_one())
        finally:
            engine.dispose()

    def empty_size(self) -> int:
        if self._empty is None:
            self._empty = self.db_size(self.new_db(f"empty_{os.getpid()}_{time.time_ns()}"))
        return self._empty

    def bytes_of(self, urls: Sequence[str]) -> int:
        return sum(self.db_size(u) - self.empty_size() for u in urls)

    def describe(self) -> str:
        engine = sa.create_engine(self.cluster.url())
        try:
            with engine.connect() as conn:
                v = conn.execute(sa.text("SHOW server_version")).scalar_one()
        finally:
            engine.dispose()
        return f"PostgreSQL {v} (throwaway cluster: fsync=off, synchronous_commit=off)"

    def close(self) -> None:
        self.cluster.stop()


Backend = SqliteBackend | PostgresBackend


def open_backend(name: str, base: Path) -> Backend:
    if name == "sqlite":
        return SqliteBackend(base)
    return PostgresBackend(base)


# -- reporting -------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    say(f"wrote {shown(path)}")


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
