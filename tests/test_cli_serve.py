"""``strongroom serve``: a real server process; secure defaults refuse unsafe starts."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from strongroom import Vault
from strongroom.api import TOKEN_HASH_KEY
from strongroom.auth import PrincipalStore, TokenStore
from strongroom.cli._serve import check_bind
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.errors import ConfigError
from tests._server import free_port
from tests.conftest import PASSPHRASE

EXE = str(Path(sys.executable).with_name("strongroom"))


@pytest.fixture
def served_vault(tmp_path: Path) -> tuple[Path, Path, str]:
    data, keys = tmp_path / "data", tmp_path / "keys"
    with Vault.init(data, keys, PASSPHRASE, argon2=UNSAFE_FAST_ARGON2) as v:
        engine = v.engines()[0]
        PrincipalStore(engine).add("admin", roles=["admin"])
        token, _ = TokenStore(engine, v.keyring.service_key(TOKEN_HASH_KEY)).issue(
            "admin", "t", timedelta(days=1)
        )
    return data, keys, token


def _env(data: Path, keys: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.update(STRONGROOM_DATA=str(data), STRONGROOM_KEYS=str(keys),
               STRONGROOM_PASSPHRASE=PASSPHRASE)  # fmt: skip
    return env


def _run(data: Path, keys: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [EXE, "serve", *args], env=_env(data, keys), capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def server(served_vault: tuple[Path, Path, str]) -> Iterator[tuple[str, str]]:
    data, keys, token = served_vault
    port = free_port()
    proc = subprocess.Popen(
        [EXE, "serve", "--port", str(port)],
        env=_env(data, keys),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        yield base, token
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)


def _wait(base: str, proc: subprocess.Popen[str], **kw: object) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited: {proc.communicate()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1, **kw).status_code == 200:  # type: ignore[arg-type]
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("serve did not come up")


def test_serves_on_loopback(server: tuple[str, str]) -> None:
    base, token = server
    assert base.startswith("http://127.0.0.1:")
    r = httpx.get(f"{base}/v1/users", headers={"Authorization": f"Bearer {token}",
                                              "Strongroom-Purpose": "ADMIN"})  # fmt: skip
    assert r.status_code == 200 and r.json()["items"][0]["id"] == "admin"
    assert httpx.get(f"{base}/v1/users").status_code == 401


def test_refuses_a_public_address_without_tls(served_vault: tuple[Path, Path, str]) -> None:
    data, keys, _ = served_vault
    result = _run(data, keys, "--host", "0.0.0.0")  # noqa: S104 - the refusal is the test
    assert result.returncode == 3 and "without TLS" in result.stderr
    with pytest.raises(ConfigError, match="go together"):
        check_bind("127.0.0.1", Path("c.pem"), None)


def test_refuses_readable_data_or_keys(served_vault: tuple[Path, Path, str]) -> None:
    data, keys, _ = served_vault
    data.chmod(0o755)
    result = _run(data, keys)
    assert result.returncode == 3 and "accessible to others" in result.stderr
    data.chmod(0o700)
    (keys / "root.key").chmod(0o640)
    result = _run(data, keys)
    assert result.returncode == 3 and "root.key" in result.stderr


def test_refuses_without_an_admin(served_vault: tuple[Path, Path, str]) -> None:
    data, keys, _ = served_vault
    with Vault.open(data, keys, PASSPHRASE) as v:
        PrincipalStore(v.engines()[0]).disable("admin")
    result = _run(data, keys)
    assert result.returncode == 3 and "admin" in result.stderr


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file


def test_serves_tls(served_vault: tuple[Path, Path, str], tmp_path: Path) -> None:
    data, keys, _ = served_vault
    cert, key = _self_signed(tmp_path)
    check_bind("0.0.0.0", cert, key)  # noqa: S104 - a public address is fine with TLS
    key.chmod(0o644)
    with pytest.raises(ConfigError, match="--tls-key"):
        check_bind("0.0.0.0", cert, key)  # noqa: S104
    key.chmod(0o600)
    port = free_port()
    proc = subprocess.Popen(
        [EXE, "serve", "--port", str(port), "--tls-cert", str(cert), "--tls-key", str(key)],
        env=_env(data, keys),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(
            f"https://127.0.0.1:{port}", proc, verify=ssl.create_default_context(cafile=str(cert))
        )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
