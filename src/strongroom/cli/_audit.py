"""``strongroom audit`` and ``strongroom witness``: the tamper-evident log, from the outside.

``audit key|checkpoint|proof|consistency|verify|search`` open the vault (the checkpoint key is
in its keyring); ``audit verify-receipt`` and ``witness`` need no vault: only public keys.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.text import Text

from strongroom.audit._log import AuditLog, Logged
from strongroom.audit._note import (
    CosignatureSigner,
    KeyStringError,
    NoteVerifier,
    generate_cosigner,
    signer_from_key,
    verifier_from_key,
)
from strongroom.audit._receipt import verify_receipt
from strongroom.audit._witness import Witness
from strongroom.cli._access import _read_resident_id
from strongroom.cli._io import note, print_json, stderr, stdout
from strongroom.cli._options import JsonFlag, settings_of
from strongroom.errors import ConfigError, StrongroomError
from strongroom.gate import SUBJECT_KEY, subject_token


class LogTamperedError(StrongroomError):
    """``audit verify`` found the log modified, deleted from, inserted into or reordered."""

    exit_code = 11


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _audit(ctx: typer.Context) -> Any:
    return settings_of(ctx).open_vault()


def key(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Print the checkpoint verifier key (a C2SP note verifier key: name+hex8+base64)."""
    with _audit(ctx) as vault:
        vkey = str(vault.audit.verifier)
    if json_out:
        print_json({"origin": vault.audit.origin, "verifier_key": vkey})
    else:
        stdout().print(Text(vkey), soft_wrap=True)


def checkpoint(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Integrate pending entries, sign a checkpoint if the log grew, print the latest one."""
    with _audit(ctx) as vault:
        text = vault.audit.checkpoint()
        size, root = vault.audit.state()
    if json_out:
        print_json({"size": size, "root": _b64(root), "note": text})
    else:
        typer.echo(text, nl=False)


def proof(
    ctx: typer.Context,
    index: Annotated[int, typer.Option("--index", min=0, help="The entry's index.")],
    size: Annotated[
        int | None,
        typer.Option("--size", min=1, help="Tree size to prove against (default: current)."),
    ] = None,
    json_out: JsonFlag = True,
) -> None:
    """Print an inclusion proof as JSON: leaf_index, tree_size, root, leaf, inclusion."""
    with _audit(ctx) as vault:
        vault.audit.sequence()
        tree_size, root, hashes = vault.audit.inclusion(index, size)
        leaf = vault.audit.entry(index)
    print_json(
        {
            "leaf_index": index,
            "tree_size": tree_size,
            "root": _b64(root),
            "leaf": _b64(leaf),
            "inclusion": [_b64(h) for h in hashes],
        }
    )


def consistency(
    ctx: typer.Context,
    old: Annotated[int, typer.Option("--old", min=1, help="The older tree size.")],
    new: Annotated[
        int | None, typer.Option("--new", min=1, help="The newer size (default: current).")
    ] = None,
    json_out: JsonFlag = True,
) -> None:
    """Print a consistency proof as JSON: old_size, old_root, new_size, new_root, proof."""
    with _audit(ctx) as vault:
        vault.audit.sequence()
        old_size, old_root, new_size, new_root, hashes = vault.audit.consistency(old, new)
    print_json(
        {
            "old_size": old_size,
            "old_root": _b64(old_root),
            "new_size": new_size,
            "new_root": _b64(new_root),
            "proof": [_b64(h) for h in hashes],
        }
    )


def verify(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Recompute the tree from the stored entries; check tiles, state and every signed
    checkpoint. Exits 11 naming the first index where the log was changed."""
    with _audit(ctx) as vault:
        audit: AuditLog = vault.audit
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=stderr(), transient=True
        ) as bar:
            task = bar.add_task("verifying the audit log", total=None)
            report = audit.verify(
                progress=lambda n: bar.update(task, description=f"verified {n:,} entries")
            )
    if json_out:
        print_json(
            {
                "ok": report.ok,
                "entries": report.entries,
                "checkpoints": report.checkpoints,
                "problems": [{"index": p.index, "what": p.what} for p in report.problems],
            }
        )
    if not report.ok:
        first = report.problems[0]
        raise LogTamperedError(f"the audit log does not verify: {first}")
    if not json_out:
        stdout().print(
            Text(f"ok: {report.entries:,} entries, {report.checkpoints} signed checkpoint(s)")
        )


def search(
    ctx: typer.Context,
    actor: Annotated[str | None, typer.Option("--actor-id", help="Entries by this actor.")] = None,
    subject_file: Annotated[
        Path | None,
        typer.Option(
            "--subject-file",
            metavar="PATH",
            help="Entries about the person with the resident ID on the first line of PATH "
            "('-': stdin).",
            show_default=False,
        ),
    ] = None,
    purpose: Annotated[
        str | None, typer.Option("--purpose-code", help="Entries under this purpose.")
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="read, search, ...")] = None,
    since: Annotated[
        datetime | None, typer.Option("--since", help="From this time (ISO 8601, UTC).")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option("--until", help="Before this time (ISO 8601, UTC).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="At most.")] = 100,
    json_out: JsonFlag = False,
) -> None:
    """Search the audit log (for auditors): entries never hold record contents."""
    resident_id = _read_resident_id(subject_file) if subject_file else None
    with _audit(ctx) as vault:
        vault.audit.sequence()
        subject = (
            subject_token(vault.keyring.service_key(SUBJECT_KEY), resident_id)
            if resident_id
            else None
        )
        found: list[Logged] = vault.audit.search(
            actor=actor,
            subject=subject,
            purpose=purpose,
            action=action,
            since=since,
            until=until,
            limit=limit,
        )
    if json_out:
        print_json([{"index": x.index, "entry": x.json()} for x in found])
        return
    out = stdout()
    for x in found:
        doc = x.json()
        who = doc.get("actor") or {}
        why = doc.get("purpose") or {}
        out.print(
            Text(
                f"{x.index:>8}  {doc.get('time')}  {doc.get('action'):<12} "
                f"{doc.get('outcome'):<8} {who.get('id')} ({who.get('role')}) "
                f"{why.get('code')} {why.get('case_ref') or ''} "
                f"{doc.get('collection')} x{len(doc.get('records') or [])}"
            ),
            soft_wrap=True,
        )
    note(f"{len(found)} entr{'y' if len(found) == 1 else 'ies'}")


def _verifiers(keys: list[str] | None, option: str) -> list[NoteVerifier]:
    out = []
    for k in keys or []:
        try:
            out.append(verifier_from_key(k))
        except KeyStringError as exc:
            raise ConfigError(f"{option}: not a verifier key ({exc})") from None
    return out


def verify_receipt_cmd(
    receipt: Annotated[Path, typer.Argument(metavar="FILE", help="A receipt (.tlog-proof).")],
    log_key: Annotated[
        str, typer.Option("--log-key", help="The vault's checkpoint verifier key ('audit key').")
    ],
    witness_keys: Annotated[
        list[str] | None,
        typer.Option("--witness-key", help="A trusted witness's verifier key; repeat."),
    ] = None,
    required: Annotated[
        int, typer.Option("--required", min=0, help="Witness cosignatures required.")
    ] = 0,
    json_out: JsonFlag = False,
) -> None:
    """Check a receipt offline, with only the vault's and the witnesses' public keys."""
    (log,) = _verifiers([log_key], "--log-key")
    witnesses = _verifiers(witness_keys, "--witness-key")
    try:
        text = receipt.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"cannot read the receipt {receipt}") from None
    ok = verify_receipt(text, log, witnesses, required=required, origin=log.name)
    doc = json.loads(ok.entry)
    if json_out:
        print_json(
            {
                "ok": True,
                "index": ok.index,
                "tree_size": ok.checkpoint.size,
                "witnesses": list(ok.witnesses),
                "entry": doc,
            }
        )
        return
    stdout().print(
        Text(
            f"ok: entry {ok.index} is in the log of size {ok.checkpoint.size} signed by "
            f"{log.name}; cosigned by {', '.join(ok.witnesses) or 'no witness'}; "
            f"{doc.get('time')} {doc.get('action')} by {doc.get('actor', {}).get('id')} "
            f"({doc.get('purpose', {}).get('code')})"
        ),
        soft_wrap=True,
    )


# -- witness -----------------------------------------------------------------------------------
def witness_keygen(
    name: Annotated[str, typer.Argument(help="The witness's name (e.g. oversight.example/w1).")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the secret key (mode 600).")],
) -> None:
    """Make a witness key: the secret to --out, the verifier key (for the vault's
    [audit] witnesses) on stdout."""
    if out.exists():
        raise ConfigError(f"--out: {out} exists; not overwriting a key")
    skey, vkey = generate_cosigner(name)
    out.touch(mode=0o600)
    out.write_text(skey + "\n", encoding="utf-8")
    stdout().print(Text(vkey), soft_wrap=True)


def witness_run(
    url: Annotated[str, typer.Option("--url", help="The vault API's base URL.")],
    token_file: Annotated[
        Path, typer.Option("--token-file", help="An auditor token (first line).")
    ],
    key_file: Annotated[Path, typer.Option("--key", help="The witness's secret key file.")],
    log_key: Annotated[str, typer.Option("--log-key", help="The vault's verifier key.")],
    state: Annotated[
        Path, typer.Option("--state", help="The witness's state file (last cosigned).")
    ],
    alarm: Annotated[Path, typer.Option("--alarm", help="Alarms are appended here (JSON).")],
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between polls.")
    ] = 10.0,
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """Poll the vault, verify consistency with the last checkpoint cosigned, cosign, post.
    On a rollback or fork: refuse, write an alarm, exit 12."""
    try:
        secret = key_file.read_text(encoding="utf-8").strip()
        token = token_file.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError, UnicodeDecodeError):
        raise ConfigError("cannot read --key or --token-file") from None
    signer = signer_from_key(secret)
    if not isinstance(signer, CosignatureSigner):
        raise ConfigError("--key: not a witness (cosignature) key")
    (log,) = _verifiers([log_key], "--log-key")
    witness = Witness(url, token, signer, log, state, alarm)
    try:
        while True:
            size = witness.round()
            note(f"cosigned the checkpoint of size {size}")
            if once:
                return
            time.sleep(interval)
    finally:
        witness.close()
