"""``strongroom demo``: a throwaway vault with synthetic records, imported and searched.

Idempotent: a second run reuses ``demo-vault`` and the data files, and skips an import whose
collection already holds the records (an interrupted import resumes).
"""

from __future__ import annotations

import csv
import json
import shlex
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from strongroom._access import Actor, Purpose
from strongroom.cli._access import principal_store, token_store
from strongroom.cli._bulk import report_summary, run_import, synthesise
from strongroom.cli._io import note, record_table, stdout, warn
from strongroom.cli._options import FileFormat, settings_of
from strongroom.cli._serve import DEFAULT_PORT, run_server
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.errors import ConfigError, NotFoundError
from strongroom.gate import SUBJECT_KEY, subject_token
from strongroom.vault import RecordView, Vault

DEMO_PASSPHRASE = "strongroom-demo-only"  # noqa: S105 - public, documented, demo only
DEMO_PURPOSE = "demo"
_MARKER = "synth.json"


def _ensure_data(data_dir: Path, persons: int, incidents: int, seed: int) -> tuple[Path, Path]:
    """Synthesise the files unless this very set is already there (its marker says so).

    Rewriting an unchanged file would make it a new import (imports are keyed by the file's
    size and modification time) and spoil resuming.
    """
    p_file, i_file = data_dir / "persons.csv", data_dir / "incidents.csv"
    marker = data_dir / _MARKER
    wanted = {"persons": persons, "incidents": incidents, "seed": seed, "format": "csv"}
    try:
        have = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        have = None
    if have == wanted and p_file.is_file() and (i_file.is_file() or not incidents):
        note(f"reusing the synthetic data in {data_dir}")
        return p_file, i_file
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        marker.unlink(missing_ok=True)
        synthesise(persons, incidents, seed, FileFormat.csv, p_file, i_file)
        marker.write_text(json.dumps(wanted) + "\n", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the demo data in {data_dir}: {exc.strerror}") from exc
    note(f"wrote {persons:,} synthetic persons and {incidents:,} incidents to {data_dir}")
    return p_file, i_file


def _first_party(incidents_file: Path) -> str | None:
    """The resident ID of the first party of the first incident (a person with incidents)."""
    with incidents_file.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            parties = (row.get("parties") or "").split(";")
            return parties[0].split(":")[0] or None
    return None


def _timed(label: str, call: Callable[[], list[RecordView]]) -> list[RecordView]:
    t0 = time.perf_counter()
    views = call()
    ms = (time.perf_counter() - t0) * 1000
    first = f"first: {views[0].ref}" if views else ""
    stdout().print(Text(f"  {label:<31} {len(views):>3} match(es) {ms:6.1f} ms  {first}"))
    return views


def demo(
    ctx: typer.Context,
    persons: Annotated[int, typer.Option("--persons", min=1, help="Synthetic persons.")] = 20000,
    incidents: Annotated[
        int, typer.Option("--incidents", min=0, help="Synthetic incidents among them.")
    ] = 60000,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 7,
    base: Annotated[
        Path,
        typer.Option(
            "--dir", file_okay=False, help="Where demo-vault, demo-vault-keys and demo-data go."
        ),
    ] = Path("."),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the API on 127.0.0.1 with a token per demo role (make demo does).",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port for --serve.")
    ] = DEFAULT_PORT,
) -> None:
    """Try Strongroom on synthetic data: create a demo vault, import, and search it.

    Creates DIR/demo-vault (keys in DIR/demo-vault-keys, fast UNSAFE key derivation) with
    the passphrase from STRONGROOM_PASSPHRASE or the documented demo passphrase
    'strongroom-demo-only', synthesises records into DIR/demo-data, imports them and runs a
    few searches. Running it again reuses all of it. The global --data and --keys do not
    apply; --purpose defaults to 'demo'. Never put real data in a demo vault.

    With --serve it then adds a demo principal per role, prints a fresh token for each and
    three example curl commands, and serves the HTTP API on 127.0.0.1 until interrupted.
    """
    s = settings_of(ctx)
    purpose, actor = s.purpose(fallback=DEMO_PURPOSE), s.actor()
    vault_dir, keys_dir = base / "demo-vault", base / "demo-vault-keys"
    passphrase = s.passphrase(fallback=DEMO_PASSPHRASE)
    out = stdout()
    out.print(Text("Strongroom demo: synthetic data only, throwaway vault.", style="bold"))
    if passphrase == DEMO_PASSPHRASE:
        warn(f"using the demo passphrase '{DEMO_PASSPHRASE}': never for real data")
    if (vault_dir / "vault.toml").exists():
        note(f"reusing the demo vault in {vault_dir}")
        vault = Vault.open(vault_dir, keys_dir, passphrase)
    else:
        vault = Vault.init(vault_dir, keys_dir, passphrase, argon2=UNSAFE_FAST_ARGON2)
        note(f"created the demo vault in {vault_dir} (keys in {keys_dir}, fast key derivation)")
    with vault:
        counts = vault.counts()
        wanted = {"person": persons, "incident": incidents}
        if any(counts.get(c, 0) < n for c, n in wanted.items()):
            p_file, i_file = _ensure_data(base / "demo-data", persons, incidents, seed)
            for coll, path in (("person", p_file), ("incident", i_file)):
                if counts.get(coll, 0) >= wanted[coll]:
                    continue
                summary = run_import(
                    vault, coll, path, actor=actor, purpose=purpose, again="'strongroom demo'"
                )
                report_summary(summary, json_out=False)
            counts = vault.counts()
        else:
            note("the demo vault already holds the records; skipping synthesis and import")
        out.print(
            Text(
                f"vault holds {counts.get('person', 0):,} persons and "
                f"{counts.get('incident', 0):,} incidents"
            )
        )
        person, case_ref = _searches(
            vault, base / "demo-data" / "incidents.csv", actor=actor, purpose=purpose
        )
        if serve:
            _print_cli_hints(vault_dir, keys_dir, purpose, passphrase, person)
            _serve_demo(vault, person, case_ref, port)
            return
    _print_cli_hints(vault_dir, keys_dir, purpose, passphrase, person)


def _print_cli_hints(
    vault_dir: Path, keys_dir: Path, purpose: Purpose, passphrase: str, person: RecordView | None
) -> None:
    ref = person.ref if person else "REF"
    out = stdout()
    # the command as it was run (make demo runs .venv/bin/strongroom, which is not on PATH)
    exe = (
        shlex.quote(sys.argv[0])
        if sys.argv and sys.argv[0].endswith("strongroom")
        else ("strongroom")
    )
    out.print(
        Text(
            "\nTry it yourself (ID is a placeholder; the reference is real):\n"
            f"  export STRONGROOM_DATA={shlex.quote(str(vault_dir))} "
            f"STRONGROOM_KEYS={shlex.quote(str(keys_dir))} STRONGROOM_PURPOSE={purpose.code}"
            + (f" STRONGROOM_PASSPHRASE={DEMO_PASSPHRASE}" if passphrase == DEMO_PASSPHRASE else "")
            + "\n"
            f"  {exe} status\n"
            f"  {exe} find person --resident-id ID\n"
            f"  {exe} get person {ref} --history\n"
            f"  {exe} find incident --person {ref} --json"
        )
    )


def _searches(
    vault: Vault, incidents_file: Path, *, actor: Actor, purpose: Purpose
) -> tuple[RecordView | None, str | None]:
    """A few searches on a person who has incidents; prints refs, counts and one record.

    Returns that person and the case ref of one of their incidents.
    """
    resident_id = _first_party(incidents_file) if incidents_file.is_file() else None
    if resident_id is None:
        note("no demo data file to take an example from; skipping the searches")
        return None, None
    out = stdout()
    out.print(Text("\nSearches (exact match through blind indexes; values not shown):"))
    found = _timed(
        "person by resident ID",
        lambda: vault.find("person", {"resident_id": resident_id}, actor=actor, purpose=purpose),
    )
    if not found:
        return None, None
    person = found[0]
    phones = person.fields.get("phones") or []
    if phones:
        _timed(
            "person by phone",
            lambda: vault.find("person", {"phones": phones[0]}, actor=actor, purpose=purpose),
        )
    if person.fields.get("date_of_birth"):
        crit = {"name": person.fields["name"], "date_of_birth": person.fields["date_of_birth"]}
        _timed(
            "person by name + date of birth",
            lambda: vault.find("person", crit, actor=actor, purpose=purpose),
        )
    incidents = _timed(
        "incidents of that person",
        lambda: vault.incidents_of(person.ref, actor=actor, purpose=purpose),
    )
    case_ref = next((i.fields["case_ref"] for i in incidents if i.fields.get("case_ref")), None)
    if case_ref:
        _timed(
            "incidents by case reference",
            lambda: vault.find("incident", {"case_ref": case_ref}, actor=actor, purpose=purpose),
        )
    out.print(record_table(person, title=f"one example record (synthetic): person {person.ref}"))
    return person, case_ref


DEMO_ROLES = (
    "call_taker",
    "investigator",
    "supervisor",
    "auditor",
    "admin",
    "citizen",
    "analyst",
    "approver",
)


def demo_principals(
    vault: Vault, person: RecordView | None, case_ref: str | None
) -> dict[str, str]:
    """A principal ``demo-<role>`` per role (created once, in the example person's region,
    the case workers on the example case, the citizen bound to the example person) and a
    fresh one-day token each; earlier demo tokens are revoked. Returns role -> token."""
    region = person.region if person else None
    principals = principal_store(vault)
    tokens = token_store(vault)
    out: dict[str, str] = {}
    for role in DEMO_ROLES:
        pid = "demo-" + role.replace("_", "-")
        try:
            principals.get(pid)
        except NotFoundError:
            subject = None
            if role == "citizen":
                if person is None:
                    continue
                key = vault.keyring.service_key(SUBJECT_KEY)
                subject = subject_token(key, str(person.fields["resident_id"]))
            cases = (case_ref,) if case_ref and role in ("investigator", "supervisor") else ()
            principals.add(
                pid,
                roles=[role],
                unit="DEMO",
                home_region=region,
                case_refs=cases,
                citizen_subject=subject,
            )
        for old in tokens.list(pid):
            if old.revoked_at is None:
                tokens.revoke(old.id)
        out[role], _ = tokens.issue(pid, "demo", timedelta(days=1))
    return out


def _serve_demo(vault: Vault, person: RecordView | None, case_ref: str | None, port: int) -> None:
    tokens = demo_principals(vault, person, case_ref)
    base = f"http://127.0.0.1:{port}"
    out = stdout()
    out.print(Text("\nDemo API tokens (synthetic vault; valid one day; shown once):", style="bold"))
    for role, token in tokens.items():
        out.print(Text(f"  {role:<13} {token}"), soft_wrap=True)
    if person is not None:
        rid = str(person.fields["resident_id"])
        ct, inv = tokens["call_taker"], tokens["investigator"]
        case_h = f" -H 'Strongroom-Case-Ref: {case_ref}'" if case_ref else ""
        out.print(
            Text(
                "\nTry the API (a call taker sees the person masked; the investigator of the "
                "case sees it in full; no purpose, no answer):\n"
                f"  curl -s -X POST {base}/v1/persons/search -H 'Authorization: Bearer {ct}' "
                "-H 'Strongroom-Purpose: CALL' -H 'Content-Type: application/json' "
                f'-d \'{{"resident_id": "{rid}"}}\'\n'
                f"  curl -s {base}/v1/persons/{person.ref} -H 'Authorization: Bearer {inv}' "
                f"-H 'Strongroom-Purpose: CASE'{case_h}\n"
                f"  curl -s -i {base}/v1/persons/{person.ref} -H 'Authorization: Bearer {ct}'"
            ),
            soft_wrap=True,
        )
    note("docs/api.md describes every route; docs/openapi.json is the OpenAPI document")
    run_server(vault, host="127.0.0.1", port=port)
