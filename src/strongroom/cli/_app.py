"""The Typer application: global options, the command tree, and the error boundary.

Every :class:`~strongroom.errors.StrongroomError` that reaches the top is printed as
``error: <diagnostics>`` on stderr (no traceback) and ends the process with the error's
``exit_code``; Ctrl-C ends it with 130. Typer's usage errors keep exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from strongroom.cli import (
    _access,
    _admin,
    _audit,
    _bulk,
    _demo,
    _guard,
    _keys,
    _records,
    _rotate,
    _scan,
    _serve,
)
from strongroom.cli._io import EXIT_INTERRUPTED, note, report_error
from strongroom.cli._settings import Settings
from strongroom.errors import StrongroomError

EXIT_INTERNAL = 70  # EX_SOFTWARE


class _ErrorBoundary(TyperGroup):
    """The root command group: maps library errors to a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except StrongroomError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            note("interrupted")
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            if isinstance(exc, typer.Exit | typer.Abort) or hasattr(exc, "exit_code"):
                raise  # the command line's own exits and usage errors
            # A bug, not bad input. Its message or traceback could quote a personal value,
            # so neither is printed: the type names where to look.
            report_error(StrongroomError(f"unexpected internal error ({type(exc).__name__})"))
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=_ErrorBoundary,
    name="strongroom",
    help="Strongroom: a privacy vault for identity and incident records. Every record is "
    "sealed; every read and write states who asks and why (--actor, --purpose).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals may hold passphrases and personal values
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    data: Annotated[
        Path,
        typer.Option(
            "--data",
            envvar="STRONGROOM_DATA",
            file_okay=False,
            metavar="DIR",
            help="Data directory (vault.toml and, by default, the databases).",
        ),
    ] = Path("vault-data"),
    keys: Annotated[
        Path,
        typer.Option(
            "--keys",
            envvar="STRONGROOM_KEYS",
            file_okay=False,
            metavar="DIR",
            help="Keys directory (root.key); never inside the data directory.",
        ),
    ] = Path("vault-keys"),
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file",
            envvar="STRONGROOM_PASSPHRASE_FILE",
            exists=True,
            dir_okay=False,
            metavar="PATH",
            help="Read the passphrase from the first line of this file. Otherwise "
            "STRONGROOM_PASSPHRASE, otherwise a hidden prompt.",
            show_default=False,
        ),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            envvar="STRONGROOM_ACTOR",
            metavar="ID",
            help="Who is asking. Default: your operating-system user name.",
            show_default=False,
        ),
    ] = None,
    purpose: Annotated[
        str | None,
        typer.Option(
            "--purpose",
            envvar="STRONGROOM_PURPOSE",
            metavar="CODE",
            help="Why you are asking (a purpose code such as investigation). "
            "Required by every command that reads or writes records.",
            show_default=False,
        ),
    ] = None,
    case_ref: Annotated[
        str | None,
        typer.Option(
            "--case-ref",
            envvar="STRONGROOM_CASE_REF",
            metavar="REF",
            help="The case the purpose is about, where there is one.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Options given before the command name; they apply to every command."""
    ctx.obj = Settings(data, keys, passphrase_file, actor, purpose, case_ref)


_VAULT, _RECORDS, _BULK, _ACCESS = "Vault", "Records", "Bulk data", "Access"

app.command("init", rich_help_panel=_VAULT)(_admin.init)
app.command("status", rich_help_panel=_VAULT)(_admin.status)
app.command("demo", rich_help_panel=_VAULT)(_demo.demo)
app.command("serve", rich_help_panel=_VAULT)(_serve.serve)
app.command("backup", rich_help_panel=_VAULT)(_keys.backup)
app.command("restore", rich_help_panel=_VAULT)(_keys.restore)
keys_app = typer.Typer(
    help="Key rotation: rotate, rekey, retire, status, rotate-root.", no_args_is_help=True
)
keys_app.command("rotate")(_rotate.rotate)
keys_app.command("rekey")(_rotate.rekey)
keys_app.command("retire")(_rotate.retire)
keys_app.command("status")(_rotate.status)
keys_app.command("rotate-root")(_rotate.rotate_root)
app.add_typer(keys_app, name="keys", rich_help_panel=_VAULT)

app.command("get", rich_help_panel=_RECORDS)(_records.get)
find_app = typer.Typer(
    help="Find records by an exact value (through a blind index).", no_args_is_help=True
)
find_app.command("person")(_records.find_person)
find_app.command("incident")(_records.find_incident)
app.add_typer(find_app, name="find", rich_help_panel=_RECORDS)
app.command("update", rich_help_panel=_RECORDS)(_records.update)
app.command("delete", rich_help_panel=_RECORDS)(_records.delete)
app.command("erase", rich_help_panel=_RECORDS)(_keys.erase)
retention_app = typer.Typer(help="Retention of incident records.", no_args_is_help=True)
retention_app.command("run")(_keys.retention_run)
app.add_typer(retention_app, name="retention", rich_help_panel=_RECORDS)
hold_app = typer.Typer(help="Legal holds: records retention must keep.", no_args_is_help=True)
hold_app.command("add")(_keys.hold_add)
hold_app.command("release")(_keys.hold_release)
hold_app.command("list")(_keys.hold_list)
app.add_typer(hold_app, name="hold", rich_help_panel=_RECORDS)

app.command("import", rich_help_panel=_BULK)(_bulk.import_records)
app.command("scan", rich_help_panel=_BULK)(_scan.scan)
synth_app = typer.Typer(
    help="Write synthetic (made-up) records for demos, tests and benchmarks.",
    no_args_is_help=True,
)
synth_app.command("persons")(_bulk.synth_persons)
synth_app.command("leak-corpus")(_bulk.synth_leak_corpus)
app.add_typer(synth_app, name="synth", rich_help_panel=_BULK)

users_app = typer.Typer(help="Users and service accounts (principals).", no_args_is_help=True)
users_app.command("add")(_access.users_add)
users_app.command("list")(_access.users_list)
users_app.command("disable")(_access.users_disable)
app.add_typer(users_app, name="users", rich_help_panel=_ACCESS)
tokens_app = typer.Typer(help="API tokens: issue (shown once), list, revoke.", no_args_is_help=True)
tokens_app.command("issue")(_access.tokens_issue)
tokens_app.command("list")(_access.tokens_list)
tokens_app.command("revoke")(_access.tokens_revoke)
app.add_typer(tokens_app, name="tokens", rich_help_panel=_ACCESS)
policy_app = typer.Typer(help="Cedar access policies.", no_args_is_help=True)
policy_app.command("check")(_access.policy_check)
app.add_typer(policy_app, name="policy", rich_help_panel=_ACCESS)

honeytokens_app = typer.Typer(help="Canary records that alarm when anyone touches them.")
honeytokens_app.command("plant")(_guard.honeytokens_plant)
honeytokens_app.command("status")(_guard.honeytokens_status)
app.add_typer(honeytokens_app, name="honeytokens", rich_help_panel=_ACCESS)

_AUDIT = "Audit"
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
audit_app.command("key")(_audit.key)
audit_app.command("checkpoint")(_audit.checkpoint)
audit_app.command("proof")(_audit.proof)
audit_app.command("consistency")(_audit.consistency)
audit_app.command("verify")(_audit.verify)
audit_app.command("search")(_audit.search)
audit_app.command("verify-receipt")(_audit.verify_receipt_cmd)
app.add_typer(audit_app, name="audit", rich_help_panel=_AUDIT)
witness_app = typer.Typer(
    help="A witness that cosigns the vault's checkpoints (run by an oversight body).",
    no_args_is_help=True,
)
witness_app.command("keygen")(_audit.witness_keygen)
witness_app.command("run")(_audit.witness_run)
app.add_typer(witness_app, name="witness", rich_help_panel=_AUDIT)
