"""Commands on single records: ``get``, ``find person|incident``, ``update``, ``delete``.

Each calls one :class:`~strongroom.vault.Vault` method with the actor and purpose from the
global options; the purpose is checked before the passphrase is asked for.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from strongroom.cli._io import list_table, note, print_json, record_table, stdout
from strongroom.cli._options import CollectionArg, JsonFlag, RefArg, settings_of
from strongroom.schema import Collection
from strongroom.vault import RecordView


def get(
    ctx: typer.Context,
    collection: CollectionArg,
    ref: RefArg,
    history: Annotated[
        bool,
        typer.Option(
            "--history", help="Show every stored version, oldest first (deleted included)."
        ),
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Show one record (its current version), or every version with --history."""
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    with s.open_vault() as vault:
        if history:
            views = vault.history(collection, ref, actor=actor, purpose=purpose)
        else:
            views = [vault.get(collection, ref, actor=actor, purpose=purpose)]
    if json_out:
        print_json([v.to_json() for v in views] if history else views[0].to_json())
        return
    out = stdout()
    for v in views:
        out.print(record_table(v))


def _show(collection: str, views: list[RecordView], json_out: bool) -> None:
    if json_out:
        print_json([v.to_json() for v in views])
    elif views:
        stdout().print(list_table(collection, views))
        note(f"Show a whole record with: strongroom get {collection} REF")
    else:
        note(f"no {collection} record matches")


def _one_selector(selectors: dict[str, Any]) -> None:
    given = [name for name, value in selectors.items() if value is not None]
    if len(given) != 1:
        names = ", ".join(selectors)
        raise typer.BadParameter(
            f"give exactly one of {names} (got {len(given) or 'none'})", param_hint="selector"
        )


def find_person(
    ctx: typer.Context,
    resident_id: Annotated[
        str | None, typer.Option("--resident-id", help="Resident ID number (18 characters).")
    ] = None,
    phone: Annotated[
        str | None, typer.Option("--phone", help="A phone number (any common form).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Full name, exactly.")] = None,
    dob: Annotated[
        str | None,
        typer.Option("--dob", help="Date of birth YYYY-MM-DD; only together with --name."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Find persons by exactly one of --resident-id, --phone, --name (optionally + --dob).

    Exact match through a blind index: nothing is scanned, and a value is never compared
    in plaintext outside the vault.
    """
    _one_selector({"--resident-id": resident_id, "--phone": phone, "--name": name})
    if dob is not None and name is None:
        raise typer.BadParameter("--dob needs --name", param_hint="--dob")
    criteria: dict[str, str]
    if resident_id is not None:
        criteria = {"resident_id": resident_id}
    elif phone is not None:
        criteria = {"phones": phone}
    elif dob is not None and name is not None:
        criteria = {"name": name, "date_of_birth": dob}
    else:
        criteria = {"name": name or ""}
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    with s.open_vault() as vault:
        views = vault.find("person", criteria, actor=actor, purpose=purpose)
    _show("person", views, json_out)


def find_incident(
    ctx: typer.Context,
    case_ref: Annotated[
        str | None, typer.Option("--case-ref", help="The incident's case reference.")
    ] = None,
    person: Annotated[
        str | None,
        typer.Option("--person", metavar="REF", help="A person's reference: their incidents."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Find incidents by exactly one of --case-ref or --person."""
    _one_selector({"--case-ref": case_ref, "--person": person})
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    with s.open_vault() as vault:
        if person is not None:
            views = vault.incidents_of(person, actor=actor, purpose=purpose)
        else:
            views = vault.find(
                "incident", {"case_ref": case_ref or ""}, actor=actor, purpose=purpose
            )
    _show("incident", views, json_out)


def parse_changes(coll: Collection, assignments: list[str]) -> dict[str, Any]:
    """``field=value`` pairs to a changes mapping.

    An empty value clears the field; list fields take ``;``-separated items, and a list of
    objects takes ``a:b`` items in the order of the object's fields (``person:role``).
    """
    changes: dict[str, Any] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            # the message never repeats the argument: it may hold a personal value
            raise typer.BadParameter("write each change as field=value", param_hint="--set")
        spec = coll.field(name)
        if value == "":
            changes[name] = None
        elif spec is not None and spec.list:
            items = [x.strip() for x in value.split(";") if x.strip()]
            if spec.type == "object":
                subs = [s.name for s in spec.fields]
                changes[name] = [
                    {k: v.strip() for k, v in zip(subs, x.split(":"), strict=False)} for x in items
                ]
            else:
                changes[name] = items
        else:
            changes[name] = value
    return changes


def update(
    ctx: typer.Context,
    collection: CollectionArg,
    ref: RefArg,
    assignments: Annotated[
        list[str],
        typer.Option(
            "--set",
            metavar="FIELD=VALUE",
            help="A change; repeat for several. List values are ';'-separated "
            "(phones, parties as person-ref:role); an empty value clears the field.",
            show_default=False,
        ),
    ],
) -> None:
    """Write a new version of a record with the given fields changed.

    The old version is kept (superseded) until retention removes it; see get --history.
    """
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    with s.open_vault() as vault:
        changes = parse_changes(vault.collection(collection), assignments)
        view = vault.update(collection, ref, changes, actor=actor, purpose=purpose)
    stdout().print(Text(f"updated {view.collection} {view.ref}: now version {view.version}"))


def delete(
    ctx: typer.Context,
    collection: CollectionArg,
    ref: RefArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a record: it leaves every index and 'get' no longer finds it.

    Its versions are kept until retention removes them (see get --history); erasure by key
    destruction is a separate operation.
    """
    s = settings_of(ctx)
    purpose, actor = s.purpose(), s.actor()
    if not yes:
        typer.confirm(f"Delete {collection} record {ref}?", abort=True, err=True)
    with s.open_vault() as vault:
        vault.delete(collection, ref, actor=actor, purpose=purpose)
    stdout().print(Text(f"deleted {collection} {ref}"))
