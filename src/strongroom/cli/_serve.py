"""``strongroom serve``: the HTTP API under uvicorn, secure by default.

Before it binds anything it refuses to start when

* the address is not a loopback address and no ``--tls-cert``/``--tls-key`` is given;
* the data directory, the keys directory, the root key file or a database file is readable
  (or writable) by others — the key directory and key file also by the group;
* no enabled principal holds the ``admin`` role (nobody could manage access).
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from strongroom.auth import OidcVerifier, PrincipalStore
from strongroom.auth._jwks import is_loopback
from strongroom.cli._io import note, stdout
from strongroom.cli._options import settings_of
from strongroom.errors import ConfigError
from strongroom.vault import Vault

DEFAULT_PORT = 8443


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_permissions(data: Path, keys: Path) -> None:
    """Raise :class:`ConfigError` naming the first path others can read (see module doc)."""
    problems: list[str] = []
    for path, mask, who in (
        (data, 0o007, "others"),
        (keys, 0o077, "group or others"),
    ):
        if path.exists() and _mode(path) & mask:
            problems.append(
                f"{path} is accessible to {who} (chmod {'750' if mask == 7 else '700'})"
            )
    if keys.is_dir():
        for key_file in sorted(keys.iterdir()):
            if key_file.is_file() and _mode(key_file) & 0o077:
                problems.append(f"{key_file} is readable by group or others (chmod 600)")
    if data.is_dir():
        for db in sorted(data.glob("*.db*")) + sorted(data.glob("*.sqlite*")):
            if db.is_file() and _mode(db) & 0o007:
                problems.append(f"{db} is readable by others (chmod 640)")
    if problems:
        raise ConfigError("refusing to serve: " + "; ".join(problems[:3]))


def check_admin(vault: Vault) -> None:
    admins = [
        p
        for p in PrincipalStore(vault.engines()[0]).list(include_disabled=False)
        if "admin" in p.roles
    ]
    if not admins:
        raise ConfigError(
            "refusing to serve: no enabled principal holds the admin role "
            "(add one with 'strongroom users add ID --role admin' and issue it a token)"
        )


def load_oidc(path: Path) -> OidcVerifier:
    """An :class:`OidcVerifier` from a TOML file with an ``[oidc]`` table."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"--oidc: cannot read {path} as TOML ({type(exc).__name__})") from None
    table: Any = doc.get("oidc")
    if not isinstance(table, dict):
        raise ConfigError(f"--oidc: {path} has no [oidc] table")
    known = {
        "issuer",
        "audience",
        "jwks",
        "role_claim",
        "role_map",
        "leeway_seconds",
        "unit_claim",
        "region_claim",
    }
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"--oidc: unknown key(s) in [oidc]: {', '.join(unknown)}")
    for required in ("issuer", "audience", "jwks"):
        if required not in table:
            raise ConfigError(f"--oidc: [oidc] needs '{required}'")
    kwargs = {k: v for k, v in table.items() if k not in ("issuer", "audience", "jwks")}
    return OidcVerifier(table["issuer"], table["audience"], table["jwks"], **kwargs)


def check_bind(host: str, tls_cert: Path | None, tls_key: Path | None) -> None:
    if (tls_cert is None) != (tls_key is None):
        raise ConfigError("--tls-cert and --tls-key go together")
    if not is_loopback(host) and tls_cert is None:
        raise ConfigError(
            f"refusing to bind {host} without TLS: only a loopback address may be served "
            "in plain HTTP (give --tls-cert and --tls-key)"
        )
    for opt, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None and not path.is_file():
            raise ConfigError(f"{opt}: no such file {path}")
    if tls_key is not None and _mode(tls_key) & 0o077:
        raise ConfigError(f"--tls-key: {tls_key} is readable by group or others (chmod 600)")


def run_server(
    vault: Vault,
    *,
    host: str,
    port: int,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    oidc: OidcVerifier | None = None,
) -> None:
    import uvicorn

    from strongroom.api import build_service, create_app  # FastAPI: only when serving

    app = create_app(build_service(vault, oidc=oidc))
    scheme = "https" if tls_cert else "http"
    note(f"serving the API on {scheme}://{host}:{port} (Ctrl-C stops)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        log_level="info",
        server_header=False,
    )


def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but loopback needs TLS.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = DEFAULT_PORT,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert", metavar="FILE", help="TLS certificate chain (PEM).", show_default=False
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key", metavar="FILE", help="TLS private key (PEM, mode 600).", show_default=False
        ),
    ] = None,
    oidc: Annotated[
        Path | None,
        typer.Option(
            "--oidc",
            metavar="FILE",
            help="Accept OIDC bearer JWTs as configured in FILE's [oidc] table.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (/v1, /healthz, /metrics) until interrupted.

    Binds 127.0.0.1 unless told otherwise; refuses any other address without TLS, and refuses
    to start when the data or key files are readable by others or no admin principal exists.
    """
    s = settings_of(ctx)
    check_bind(host, tls_cert, tls_key)
    verifier = load_oidc(oidc) if oidc is not None else None
    check_permissions(s.data, s.keys)
    with s.open_vault() as vault:
        check_admin(vault)
        stdout().print(f"vault {s.data}: {vault.counts()}")
        run_server(vault, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, oidc=verifier)
