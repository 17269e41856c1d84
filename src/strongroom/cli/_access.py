"""``strongroom users``, ``strongroom tokens`` and ``strongroom policy``: who may ask, and how.

These are administrative commands: they change or read principals, API tokens and policy files,
never records, so they need no ``--purpose``. Token secrets are printed once, by ``tokens issue``
(and ``init``, for the first admin); listings never show them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from strongroom.auth import MAX_TOKEN_TTL, Principal, PrincipalStore, TokenInfo, TokenStore
from strongroom.cli._io import note, print_json, stdout, warn
from strongroom.cli._options import JsonFlag, settings_of
from strongroom.errors import ValidationError
from strongroom.gate import SUBJECT_KEY, subject_token
from strongroom.policy import PolicyError, check_policies, shipped_policy_dir
from strongroom.vault import Vault

TOKEN_HASH_KEY = "api-token-hash"  # noqa: S105 - the name of a service key, not a secret
DEFAULT_TTL_DAYS = 90
SHOWN_ONCE = "store it now; it will not be shown again"


class Kind(StrEnum):
    user = "user"
    service = "service"


def principal_store(vault: Vault) -> PrincipalStore:
    return PrincipalStore(vault.engines()[0])


def token_store(vault: Vault) -> TokenStore:
    return TokenStore(vault.engines()[0], vault.keyring.service_key(TOKEN_HASH_KEY))


@contextmanager
def _opened(ctx: typer.Context) -> Iterator[Vault]:
    with settings_of(ctx).open_vault() as vault:
        yield vault


def _when(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None


def _read_resident_id(path: Path) -> str:
    """The first line of ``path`` or of stdin (``-``): never a command-line argument, which
    other users could read in the process list."""
    try:
        text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ValidationError.single("--resident-id-file", "cannot be read") from None
    first = text.splitlines()[0].strip() if text.strip() else ""
    if not first:
        raise ValidationError.single("--resident-id-file", "holds no resident ID")
    return first


def issue_first_admin(vault: Vault) -> tuple[str, TokenInfo]:
    """Create principal ``admin`` (role admin) and issue its first token (``init``)."""
    principal_store(vault).add("admin", roles=["admin"], kind="user")
    return token_store(vault).issue(
        "admin", "initial admin token", timedelta(days=DEFAULT_TTL_DAYS)
    )


# -- users -------------------------------------------------------------------------------------
def _principal_json(p: Principal) -> dict[str, Any]:
    return {
        "id": p.id,
        "kind": p.kind,
        "roles": sorted(p.roles),
        "unit": p.unit,
        "home_region": p.home_region,
        "case_refs": sorted(p.case_refs),
        "disabled": p.disabled,
        "created_at": _when(p.created_at),
    }


def _principal_line(p: Principal) -> str:
    return f"{p.id} ({p.kind}; roles: {', '.join(sorted(p.roles))})"


def users_add(
    ctx: typer.Context,
    principal_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="A short pseudonymous code (lower-case letters, digits, '_', '.', '-'); "
            "never a name or an e-mail address.",
            show_default=False,
        ),
    ],
    roles: Annotated[
        list[str],
        typer.Option(
            "--role",
            metavar="ROLE",
            help="A role; repeat for several. One of: admin, analyst, auditor, call_taker, "
            "citizen, investigator, supervisor.",
            show_default=False,
        ),
    ],
    kind: Annotated[Kind, typer.Option("--kind", help="A person or a service account.")] = (
        Kind.user
    ),
    unit: Annotated[
        str | None,
        typer.Option("--unit", metavar="U", help="Organisational unit.", show_default=False),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region", metavar="R", help="Home region (jurisdiction code).", show_default=False
        ),
    ] = None,
    cases: Annotated[
        list[str] | None,
        typer.Option(
            "--case",
            metavar="CASE_REF",
            help="A case the principal is assigned to; repeat for several.",
            show_default=False,
        ),
    ] = None,
    resident_id_file: Annotated[
        Path | None,
        typer.Option(
            "--resident-id-file",
            metavar="PATH",
            help="Citizens: read their resident ID from the first line of PATH ('-': stdin); "
            "it becomes a keyed binding token and is not stored.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Add a user or service account with one or more roles."""
    kind_value: Literal["user", "service"] = "service" if kind is Kind.service else "user"
    resident_id = _read_resident_id(resident_id_file) if resident_id_file else None
    with _opened(ctx) as vault:
        subject = None
        if resident_id is not None:
            subject = subject_token(vault.keyring.service_key(SUBJECT_KEY), resident_id)
        added = principal_store(vault).add(
            principal_id,
            roles=roles,
            kind=kind_value,
            unit=unit,
            home_region=region,
            case_refs=cases or (),
            citizen_subject=subject,
        )
    stdout().print(Text(f"added principal {_principal_line(added)}"))
    note(f"issue it a token with: strongroom tokens issue {added.id} --name NAME")


def users_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """List users and service accounts, disabled ones included."""
    with _opened(ctx) as vault:
        found = principal_store(vault).list()
    if json_out:
        print_json([_principal_json(p) for p in found])
        return
    table = Table(title=f"{len(found)} principal(s)", box=box.SIMPLE_HEAD)
    for column in ("id", "kind", "roles", "unit", "region", "cases", "status", "created"):
        table.add_column(column, overflow="fold")
    for p in found:
        table.add_row(
            Text(p.id),
            p.kind,
            Text(", ".join(sorted(p.roles))),
            Text(p.unit or ""),
            Text(p.home_region or ""),
            Text(", ".join(sorted(p.case_refs))),
            Text("disabled", style="red") if p.disabled else Text("active"),
            _when(p.created_at) or "",
        )
    stdout().print(table)


def users_disable(
    ctx: typer.Context,
    principal_id: Annotated[
        str, typer.Argument(metavar="ID", help="The principal to disable.", show_default=False)
    ],
) -> None:
    """Disable a principal: none of its tokens authenticates any more. Idempotent."""
    with _opened(ctx) as vault:
        disabled = principal_store(vault).disable(principal_id)
    stdout().print(Text(f"disabled principal {disabled.id}; its tokens no longer authenticate"))


# -- tokens ------------------------------------------------------------------------------------
def _token_json(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "principal_id": t.principal_id,
        "name": t.name,
        "created_at": _when(t.created_at),
        "expires_at": _when(t.expires_at),
        "revoked_at": _when(t.revoked_at),
    }


def tokens_issue(
    ctx: typer.Context,
    principal_id: Annotated[
        str,
        typer.Argument(metavar="PRINCIPAL_ID", help="Whose token it is.", show_default=False),
    ],
    name: Annotated[
        str,
        typer.Option(
            "--name",
            metavar="NAME",
            help="A label saying what the token is for (e.g. 'intake-gateway').",
            show_default=False,
        ),
    ],
    ttl_days: Annotated[
        int,
        typer.Option(
            "--ttl-days",
            metavar="N",
            min=1,
            max=MAX_TOKEN_TTL.days,
            help="Days until the token expires.",
        ),
    ] = DEFAULT_TTL_DAYS,
    json_out: JsonFlag = False,
) -> None:
    """Issue an API token. It is printed this once: only its keyed hash is kept."""
    with _opened(ctx) as vault:
        token, info = token_store(vault).issue(principal_id, name, timedelta(days=ttl_days))
    if json_out:
        print_json({"token": token, "id": info.id, "expires_at": _when(info.expires_at)})
    else:
        typer.echo(token)  # plain, alone on its line: easy to copy or capture
    warn(
        f"{SHOWN_ONCE}: token {info.id} of principal {info.principal_id}, "
        f"expires {_when(info.expires_at)}"
    )


def tokens_list(
    ctx: typer.Context,
    principal_id: Annotated[
        str | None,
        typer.Option(
            "--principal",
            metavar="ID",
            help="Only this principal's tokens.",
            show_default=False,
        ),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List API tokens (ids, owners, dates); never their secrets."""
    with _opened(ctx) as vault:
        found = token_store(vault).list(principal_id)
    if json_out:
        print_json([_token_json(t) for t in found])
        return
    now = datetime.now(UTC)
    table = Table(title=f"{len(found)} token(s)", box=box.SIMPLE_HEAD)
    for column in ("id", "principal", "name", "created", "expires", "status"):
        table.add_column(column, overflow="fold")
    for t in found:
        if t.revoked_at is not None:
            status = Text(f"revoked {_when(t.revoked_at)}", style="red")
        elif not t.is_active(now):
            status = Text("expired", style="yellow")
        else:
            status = Text("active")
        table.add_row(
            Text(t.id),
            Text(t.principal_id),
            Text(t.name),
            _when(t.created_at) or "",
            _when(t.expires_at) or "",
            status,
        )
    stdout().print(table)


def tokens_revoke(
    ctx: typer.Context,
    token_id: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN_ID",
            help="The token's id: the 8 characters after 'sr_' ('tokens list' shows it).",
            show_default=False,
        ),
    ],
) -> None:
    """Revoke an API token; it stops working at once. Idempotent."""
    with _opened(ctx) as vault:
        info = token_store(vault).revoke(token_id)
    stdout().print(Text(f"revoked token {info.id} of principal {info.principal_id}"))


# -- policy ------------------------------------------------------------------------------------
def policy_check(
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]",
            help="A directory of *.cedar policies. Default: the policies shipped with Strongroom.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check Cedar policies: they parse, validate against the schema, and have unique @ids."""
    problems = check_policies(directory)
    if problems:
        out = stdout()
        for problem in problems:
            out.print(Text(problem), soft_wrap=True)
        raise PolicyError(f"{len(problems)} problem(s) in the policies")
    where = shipped_policy_dir() if directory is None else directory
    files = sum(1 for p in where.iterdir() if p.name.endswith(".cedar") and p.is_file())
    stdout().print(Text(f"policies OK ({files} files)"))
