"""Shared fixtures: real SQLite files and a real, throwaway PostgreSQL cluster."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom import Actor, Purpose, Vault
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from tests._pg import Cluster
from tests._softhsm import MODULE as SOFTHSM_MODULE
from tests._softhsm import SoftHSM

PASSPHRASE = "correct horse battery staple"
ACTOR = Actor("test-officer", role="investigator", unit="A110105", region="110000")
PURPOSE = Purpose("TEST", case_ref="T-1")
_db_seq = itertools.count()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    # not under pytest's tmp dir: that is private to root, and the server runs as postgres
    base = Path(tempfile.mkdtemp(prefix="strongroom-pg-"))
    cluster = Cluster(base)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def softhsm() -> Iterator[SoftHSM]:
    """Two SoftHSM2 tokens initialised for this session (SOFTHSM2_CONF points at them)."""
    if not Path(SOFTHSM_MODULE).exists():
        pytest.skip(f"SoftHSM2 is not installed ({SOFTHSM_MODULE}); make test installs softhsm2")
    base = Path(tempfile.mkdtemp(prefix="strongroom-hsm-"))
    hsm = SoftHSM(base)
    try:
        hsm.init_token(hsm.token)
        hsm.init_token(hsm.spare_token)  # never logged in to: for wrong-PIN tests
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOFTHSM2_CONF", str(hsm.conf))
            yield hsm
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def vault_dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "data", tmp_path / "keys"


@pytest.fixture
def vault(
    backend: str, vault_dirs: tuple[Path, Path], request: pytest.FixtureRequest
) -> Iterator[Vault]:
    data, keys = vault_dirs
    kwargs = {}
    if backend == "postgres":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        n = next(_db_seq)
        kwargs = {
            "database_url": cluster.create_db(f"records_{n}"),
            "keystore_url": cluster.create_db(f"keys_{n}"),
        }
    v = Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2, **kwargs)
    try:
        yield v
    finally:
        v.close()
