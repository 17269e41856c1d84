"""Tests for the ``strongroom`` command line (strongroom.cli).

One vault is created, filled with 300 synthetic persons and 300 incidents and shared by the
module; tests that change records change different ones. Every invocation goes through
Typer's CliRunner except one real run of the installed console script.
"""

from __future__ import annotations

import csv
import json
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from strongroom.cli import app
from strongroom.cli._io import redact_url
from strongroom.synth import generate_persons, write_persons_csv

PASSPHRASE = "correct horse battery staple"
PURPOSE = "investigation"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
ENV_NAMES = (
    "STRONGROOM_DATA",
    "STRONGROOM_KEYS",
    "STRONGROOM_PASSPHRASE",
    "STRONGROOM_PASSPHRASE_FILE",
    "STRONGROOM_ACTOR",
    "STRONGROOM_PURPOSE",
    "STRONGROOM_CASE_REF",
    "STRONGROOM_DATABASE_URL",
    "STRONGROOM_KEYSTORE_URL",
)

runner = CliRunner()


def env_for(**values: str | None) -> dict[str, str | None]:
    """Every Strongroom variable set explicitly (None = unset), whatever the caller's shell has."""
    env: dict[str, str | None] = dict.fromkeys(ENV_NAMES)
    env["COLUMNS"] = "200"
    env.update(values)
    return env


@dataclass
class Vault:
    root: Path
    data: Path
    keys: Path
    persons: list[dict[str, str]]
    incidents: list[dict[str, str]]

    def env(self, **overrides: str | None) -> dict[str, str | None]:
        values: dict[str, str | None] = {
            "STRONGROOM_DATA": str(self.data),
            "STRONGROOM_KEYS": str(self.keys),
            "STRONGROOM_PASSPHRASE": PASSPHRASE,
            "STRONGROOM_ACTOR": "officer-17",
            "STRONGROOM_PURPOSE": PURPOSE,
        }
        return env_for(**{**values, **overrides})

    def run(self, *args: str, input: str | None = None, **env: str | None) -> Result:
        return runner.invoke(app, list(args), env=self.env(**env), input=input)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)  # stdout holds the JSON and nothing else

    def ref_of(self, person: dict[str, str]) -> str:
        found = self.json("find", "person", "--resident-id", person["resident_id"])
        assert len(found) == 1
        return str(found[0]["ref"])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Vault:
    root = tmp_path_factory.mktemp("cli")
    v = Vault(root, root / "data", root / "keys", [], [])
    result = v.run("init", "--fast-kdf")
    assert result.exit_code == 0, result.output
    persons, incidents = root / "persons.csv", root / "incidents.csv"
    result = v.run(
        "synth", "persons", "300", "--seed", "11", "--out", str(persons),
        "--incidents", "300", "--incidents-out", str(incidents),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for collection, path in (("person", persons), ("incident", incidents)):
        summary = v.json("import", collection, str(path))
        assert (summary["accepted"], summary["rejected"]) == (300, 0)
        assert summary["already_done"] is False
    v.persons, v.incidents = read_csv(persons), read_csv(incidents)
    return v


# -- the command tree, its help and its docs ---------------------------------------------------
def command_paths() -> Iterator[tuple[str, ...]]:
    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name, sub in sorted(getattr(cmd, "commands", {}).items()):
            yield from walk(sub, (*path, name))

    yield from walk(get_command(app), ())


def _lookup(path: tuple[str, ...]) -> Any:
    cmd: Any = get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


ALL_COMMANDS = list(command_paths())
LEAF_COMMANDS = [p for p in ALL_COMMANDS if p and not hasattr(_lookup(p), "commands")]


def test_command_tree_is_the_documented_one() -> None:
    names = {" ".join(p) for p in LEAF_COMMANDS}
    assert names == {
        "init", "status", "demo", "get", "find person", "find incident", "update", "delete",
        "import", "synth persons", "users add", "users list", "users disable", "tokens issue",
        "tokens list", "tokens revoke", "policy check", "scan", "synth leak-corpus", "serve",
        "audit key", "audit checkpoint", "audit proof", "audit consistency", "audit verify",
        "audit search", "audit verify-receipt", "witness keygen", "witness run",
        "erase", "backup", "restore", "retention run", "hold add", "hold release", "hold list",
        "keys rotate", "keys rekey", "keys retire", "keys status", "keys rotate-root",
        "honeytokens plant", "honeytokens status",
    }  # fmt: skip


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "strongroom")
def test_help_renders(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], env=env_for())
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert " ".join(("strongroom", *path)) in result.output


@pytest.mark.parametrize("path", LEAF_COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_is_in_the_docs(path: tuple[str, ...]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert f"strongroom {' '.join(path)}" in docs
    assert f"## `strongroom {' '.join(path)}" in docs  # a section of its own


def test_every_option_is_in_the_docs() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for path in ALL_COMMANDS:
        for param in _lookup(path).params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in docs, f"{' '.join(path) or 'global'} {opt}"


def test_console_script_runs() -> None:
    script = Path(sys.executable).with_name("strongroom")
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: strongroom" in result.stdout
    for name in ("init", "import", "find", "demo"):
        assert name in result.stdout


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [], env=env_for())
    assert "Usage" in result.output


# -- init and status ---------------------------------------------------------------------------
def test_init_lays_out_data_and_keys_apart(vault: Vault) -> None:
    assert (vault.data / "vault.toml").is_file()
    key_file = vault.keys / "root.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(vault.keys.stat().st_mode) == 0o700
    assert not any(vault.data.rglob("root.key"))


def test_init_prints_where_things_are(tmp_path: Path) -> None:
    env = env_for(STRONGROOM_PASSPHRASE=PASSPHRASE)
    result = runner.invoke(
        app, ["--data", str(tmp_path / "d"), "--keys", str(tmp_path / "k"), "init", "--fast-kdf"],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert str((tmp_path / "d").resolve()) in result.stdout
    assert str((tmp_path / "k").resolve()) in result.stdout
    assert "throwaway" in result.stderr
    again = runner.invoke(
        app, ["--data", str(tmp_path / "d"), "--keys", str(tmp_path / "k2"), "init", "--fast-kdf"],
        env=env,
    )  # fmt: skip
    assert again.exit_code == 3
    assert "already holds a vault" in again.stderr


def test_init_asks_for_the_passphrase_twice(tmp_path: Path) -> None:
    args = ["--data", str(tmp_path / "d"), "--keys", str(tmp_path / "k"), "init", "--fast-kdf"]
    result = runner.invoke(app, args, env=env_for(), input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert result.exit_code == 0, result.output
    assert "confirmation" in result.output.lower()
    assert PASSPHRASE not in result.output
    status = runner.invoke(
        app, ["--data", str(tmp_path / "d"), "--keys", str(tmp_path / "k"), "status"],
        env=env_for(), input=f"{PASSPHRASE}\n",
    )  # fmt: skip
    assert status.exit_code == 0, status.output


def test_keys_inside_data_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = runner.invoke(
        app, ["--data", str(data), "--keys", str(data / "keys"), "init", "--fast-kdf"],
        env=env_for(),  # no passphrase: the layout is refused before any prompt
    )  # fmt: skip
    assert result.exit_code == 3
    assert "must not be inside the data directory" in result.stderr
    assert "Traceback" not in result.output
    assert not (data / "keys" / "root.key").exists()


def test_status(vault: Vault) -> None:
    report = vault.json("status")
    assert report["counts"] == {"person": 300, "incident": 300}
    assert report["data_dir"] == str(vault.data.resolve())
    assert report["database_url"].startswith("sqlite:///")
    human = vault.run("status")
    assert human.exit_code == 0
    assert "person records" in human.stdout
    assert "300" in human.stdout


def test_status_needs_no_purpose(vault: Vault) -> None:
    assert vault.run("status", STRONGROOM_PURPOSE=None).exit_code == 0


def test_redact_url() -> None:
    shown = redact_url("postgresql://vault:s3cret-pw@db.internal:5432/records")
    assert "s3cret-pw" not in shown
    assert shown == "postgresql://vault:***@db.internal:5432/records"
    assert redact_url("sqlite:////var/lib/x.db") == "sqlite:////var/lib/x.db"
    assert "pw" not in redact_url("::not a url pw")


def test_wrong_passphrase_exit_code_4(vault: Vault) -> None:
    result = vault.run("status", STRONGROOM_PASSPHRASE="not the passphrase")
    assert result.exit_code == 4
    assert result.stderr.startswith("error: ")
    assert "passphrase" in result.stderr
    assert "Traceback" not in result.output


def test_passphrase_file(vault: Vault, tmp_path: Path) -> None:
    pf = tmp_path / "pass"
    pf.write_text(PASSPHRASE + "\n", encoding="utf-8")
    pf.chmod(0o600)
    result = vault.run("--passphrase-file", str(pf), "status", STRONGROOM_PASSPHRASE=None)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    pf.chmod(0o644)
    loose = vault.run("--passphrase-file", str(pf), "status", STRONGROOM_PASSPHRASE=None)
    assert loose.exit_code == 0
    assert "chmod 600" in loose.stderr


def test_vault_missing(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["--data", str(tmp_path / "none"), "--keys", str(tmp_path / "k"), "status"],
        env=env_for(STRONGROOM_PASSPHRASE=PASSPHRASE),
    )  # fmt: skip
    assert result.exit_code == 3
    assert "strongroom init" in result.stderr


# -- find -----------------------------------------------------------------------------------
def test_find_person_by_resident_id(vault: Vault) -> None:
    person = vault.persons[0]
    found = vault.json("find", "person", "--resident-id", person["resident_id"])
    assert len(found) == 1
    assert found[0]["collection"] == "person"
    assert found[0]["fields"]["resident_id"] == person["resident_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", found[0]["ref"])


@pytest.mark.parametrize("selector", ["phone", "name", "name+dob"])
def test_find_person_by_other_selectors(vault: Vault, selector: str) -> None:
    person = vault.persons[1]
    ref = vault.ref_of(person)
    args = {
        "phone": ["--phone", person["phones"].split(";")[-1]],
        "name": ["--name", person["name"]],
        "name+dob": ["--name", person["name"], "--dob", person["date_of_birth"]],
    }[selector]
    found = vault.json("find", "person", *args)
    assert ref in [f["ref"] for f in found]


def test_find_person_table(vault: Vault) -> None:
    person = vault.persons[2]
    ref = vault.ref_of(person)
    result = vault.run("find", "person", "--resident-id", person["resident_id"])
    assert result.exit_code == 0, result.output
    assert ref in result.stdout
    assert person["name"] in result.stdout
    assert person["resident_id"] not in result.stdout  # a listing shows no more than it needs


def test_find_nothing(vault: Vault) -> None:
    found = vault.json("find", "person", "--phone", "13000000000")
    assert found == []
    human = vault.run("find", "person", "--phone", "13000000000")
    assert human.exit_code == 0
    assert "no person record matches" in human.stderr


def test_find_incident_by_case_ref(vault: Vault) -> None:
    case_ref = vault.incidents[0]["case_ref"]
    found = vault.json("find", "incident", "--case-ref", case_ref)
    assert found
    assert {f["fields"]["case_ref"] for f in found} == {case_ref}


def test_find_incidents_of_a_person(vault: Vault) -> None:
    resident_id = vault.incidents[0]["parties"].split(";")[0].split(":")[0]
    ref = vault.json("find", "person", "--resident-id", resident_id)[0]["ref"]
    found = vault.json("find", "incident", "--person", ref)
    assert found
    for incident in found:
        assert ref in [p["person"] for p in incident["fields"]["parties"]]
    human = vault.run("find", "incident", "--person", ref)
    assert found[0]["ref"] in human.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["find", "person"],
        ["find", "person", "--phone", "13800138000", "--name", "x"],
        ["find", "person", "--dob", "1990-01-01"],
        ["find", "incident"],
        ["find", "incident", "--case-ref", "A1", "--person", "x"],
    ],
    ids=["none", "two", "dob-alone", "incident-none", "incident-two"],
)
def test_find_needs_exactly_one_selector(vault: Vault, args: list[str]) -> None:
    result = vault.run(*args)
    assert result.exit_code == 2
    assert "exactly one" in result.output or "--dob needs --name" in result.output


def test_bad_resident_id_in_find(vault: Vault) -> None:
    bad = "11010519491231002Y"
    result = vault.run("find", "person", "--resident-id", bad, "--json")
    assert result.exit_code == 2
    assert "resident_id" in result.stderr
    assert bad not in result.output
    assert result.stdout == ""


def test_bad_person_ref_in_find_incident(vault: Vault) -> None:
    result = vault.run("find", "incident", "--person", "not-a-ref")
    assert result.exit_code == 2
    assert "ref" in result.stderr


# -- the purpose ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["get", "person", "01a2275b-cc38-7f97-96cc-1fba6a153209"],
        ["find", "person", "--phone", "13800138000"],
        ["find", "incident", "--case-ref", "A1"],
        ["update", "person", "01a2275b-cc38-7f97-96cc-1fba6a153209", "--set", "sex=F"],
        ["delete", "person", "01a2275b-cc38-7f97-96cc-1fba6a153209", "--yes"],
        ["import", "person", __file__],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_missing_purpose(vault: Vault, args: list[str]) -> None:
    # no passphrase either: the purpose is checked before anything is asked
    result = vault.run(*args, STRONGROOM_PURPOSE=None, STRONGROOM_PASSPHRASE=None)
    assert result.exit_code == 7
    assert "purpose" in result.stderr
    assert "--purpose" in result.stderr
    assert "Vault passphrase" not in result.output


def test_purpose_option_before_the_command(vault: Vault) -> None:
    person = vault.persons[3]
    result = vault.run(
        "--purpose", "audit", "--case-ref", "CASE-2024-17", "--actor", "auditor-2",
        "find", "person", "--resident-id", person["resident_id"], "--json",
        STRONGROOM_PURPOSE=None,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1


def test_malformed_purpose_and_actor(vault: Vault) -> None:
    person = vault.persons[3]
    bad_purpose = vault.run("find", "person", "--resident-id", person["resident_id"],
                            STRONGROOM_PURPOSE="no spaces allowed")  # fmt: skip
    assert bad_purpose.exit_code == 7
    assert "purpose" in bad_purpose.stderr
    bad_actor = vault.run("find", "person", "--resident-id", person["resident_id"],
                          STRONGROOM_ACTOR="two words")  # fmt: skip
    assert bad_actor.exit_code == 7
    assert "actor" in bad_actor.stderr


# -- get, update, delete -----------------------------------------------------------------------
def test_get(vault: Vault) -> None:
    person = vault.persons[4]
    ref = vault.ref_of(person)
    view = vault.json("get", "person", ref)
    assert view["ref"] == ref
    assert view["version"] == 1
    assert view["fields"]["name"] == person["name"]
    human = vault.run("get", "person", ref)
    assert human.exit_code == 0
    assert person["resident_id"] in human.stdout
    assert "version 1" in human.stdout


def test_get_unknown(vault: Vault) -> None:
    missing = vault.run("get", "person", "01a2275b-cc38-7f97-96cc-1fba6a153209")
    assert missing.exit_code == 6
    assert missing.stderr.startswith("error: no current person record")
    not_a_ref = vault.run("get", "person", "12345")
    assert not_a_ref.exit_code == 2
    unknown_collection = vault.run("get", "people", "01a2275b-cc38-7f97-96cc-1fba6a153209")
    assert unknown_collection.exit_code == 2
    assert "collection" in unknown_collection.stderr


def test_update_and_history(vault: Vault) -> None:
    person = vault.persons[5]
    ref = vault.ref_of(person)
    result = vault.run(
        "update", "person", ref, "--set", "phones=13800138000; +86 139 0013 9000",
        "--set", "place_of_birth=",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "version 2" in result.stdout
    current = vault.json("get", "person", ref)
    assert current["version"] == 2
    assert current["fields"]["phones"] == ["+8613800138000", "+8613900139000"]
    assert "place_of_birth" not in current["fields"]
    history = vault.json("get", "person", ref, "--history")
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["fields"]["place_of_birth"] == person["place_of_birth"]
    assert vault.json("find", "person", "--phone", "139 0013 9000")[0]["ref"] == ref


def test_update_incident_parties(vault: Vault) -> None:
    incident = vault.json("find", "incident", "--case-ref", vault.incidents[1]["case_ref"])[0]
    other = vault.ref_of(vault.persons[6])
    result = vault.run(
        "update", "incident", incident["ref"], "--set", f"parties={other}:witness",
        "--set", "status=closed",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert incident["ref"] in [i["ref"] for i in vault.json("find", "incident", "--person", other)]


def test_update_bad_value_is_not_printed(vault: Vault) -> None:
    ref = vault.ref_of(vault.persons[7])
    result = vault.run(
        "update", "person", ref, "--set", "phones=99912345", "--set", "date_of_birth=1999-02-30"
    )
    assert result.exit_code == 2
    assert "phones[0]" in result.stderr
    assert "date_of_birth" in result.stderr
    assert "99912345" not in result.output
    assert "1999-02-30" not in result.output
    assert vault.json("get", "person", ref)["version"] == 1  # nothing was written


def test_update_needs_field_equals_value(vault: Vault) -> None:
    ref = vault.ref_of(vault.persons[7])
    secret = "110105194912310025"
    result = vault.run("update", "person", ref, "--set", secret)
    assert result.exit_code == 2
    assert "field=value" in result.output
    assert secret not in result.output


def test_delete(vault: Vault) -> None:
    person = vault.persons[8]
    ref = vault.ref_of(person)
    declined = vault.run("delete", "person", ref, input="n\n")
    assert declined.exit_code == 1
    assert vault.json("get", "person", ref)["ref"] == ref
    result = vault.run("delete", "person", ref, input="y\n")
    assert result.exit_code == 0, result.output
    assert vault.run("get", "person", ref).exit_code == 6
    assert vault.json("find", "person", "--resident-id", person["resident_id"]) == []
    assert vault.run("delete", "person", ref, "--yes").exit_code == 6
    assert len(vault.json("get", "person", ref, "--history")) == 1


# -- synth and import ---------------------------------------------------------------------
def test_synth_jsonl(tmp_path: Path) -> None:
    out, inc = tmp_path / "p.jsonl", tmp_path / "i.jsonl"
    result = runner.invoke(
        app, ["synth", "persons", "20", "--out", str(out), "--incidents", "7",
              "--incidents-out", str(inc)],
        env=env_for(),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    persons = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    incidents = [json.loads(line) for line in inc.read_text(encoding="utf-8").splitlines()]
    assert (len(persons), len(incidents)) == (20, 7)
    ids = {p["resident_id"] for p in persons}
    assert all(party["resident_id"] in ids for i in incidents for party in i["parties"])
    assert "20 synthetic persons" in result.stdout


def test_synth_is_deterministic(tmp_path: Path) -> None:
    for name in ("a.csv", "b.csv"):
        args = ["synth", "persons", "50", "--seed", "3", "--out", str(tmp_path / name)]
        assert runner.invoke(app, args, env=env_for()).exit_code == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    bad = runner.invoke(app, ["synth", "persons", "0", "--incidents", "3"], env=env_for())
    assert bad.exit_code == 2


def test_import_already_done(vault: Vault) -> None:
    summary = vault.json("import", "person", str(vault.root / "persons.csv"))
    assert summary["already_done"] is True
    human = vault.run("import", "person", str(vault.root / "persons.csv"))
    assert human.exit_code == 0
    assert "already imported" in human.stderr


def bad_file(tmp_path: Path, seed: int) -> tuple[Path, str]:
    """Five fresh persons; the third data row (line 4) has a wrong check character."""
    path = tmp_path / f"bad-{seed}.csv"
    write_persons_csv(generate_persons(5, seed=seed), path)
    rows = read_csv(path)
    good = rows[2]["resident_id"]
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    path.write_text(path.read_text(encoding="utf-8").replace(good, bad), encoding="utf-8")
    return path, bad


def test_import_bad_row_goes_to_rejects(vault: Vault, tmp_path: Path) -> None:
    path, bad = bad_file(tmp_path, seed=901)
    rejects = tmp_path / "rejects.csv"
    result = vault.run("import", "person", str(path), "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    assert "1 row(s) were rejected" in result.stderr
    assert str(rejects) in result.output
    assert "4" in result.stdout  # accepted
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "line,field,reason"
    assert lines[1].startswith('4,"resident_id",')
    assert len(lines) == 2
    assert bad not in rejects.read_text(encoding="utf-8")
    assert bad not in result.output


def test_import_strict_stops(vault: Vault, tmp_path: Path) -> None:
    path, bad = bad_file(tmp_path, seed=902)
    before = vault.json("status")["counts"]["person"]
    result = vault.run("import", "person", str(path), "--strict")
    assert result.exit_code == 2
    assert "line 4" in result.stderr
    assert "resident_id" in result.stderr
    assert "no batch of this run was committed" in result.stderr
    assert bad not in result.output
    assert vault.json("status")["counts"]["person"] == before


def test_import_jsonl_and_batches(vault: Vault, tmp_path: Path) -> None:
    out = tmp_path / "more.jsonl"
    assert runner.invoke(app, ["synth", "persons", "25", "--seed", "903", "--out", str(out)],
                         env=env_for()).exit_code == 0  # fmt: skip
    summary = vault.json("import", "person", str(out), "--batch-size", "10", "--workers", "2")
    assert (summary["accepted"], summary["rejected"]) == (25, 0)
    assert summary["workers"] == 2
    assert summary["rows_per_second"] is None or summary["rows_per_second"] > 0


def test_import_missing_file(vault: Vault, tmp_path: Path) -> None:
    result = vault.run("import", "person", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2


def test_import_interrupted(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("strongroom.cli._bulk.import_file", interrupted)
    result = vault.run("import", "person", str(vault.root / "persons.csv"))
    assert result.exit_code == 130
    assert "run the same command again" in result.stderr.lower()


def test_progress_goes_to_stderr(vault: Vault, tmp_path: Path) -> None:
    out = tmp_path / "few.csv"
    write_persons_csv(generate_persons(3, seed=904), out)
    result = vault.run("import", "person", str(out), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["accepted"] == 3
    assert "accepted" in result.stderr  # the progress bar


# -- demo ---------------------------------------------------------------------------------
def test_demo_is_idempotent(tmp_path: Path) -> None:
    env = env_for(STRONGROOM_ACTOR="demo-user")
    args = ["demo", "--persons", "40", "--incidents", "60", "--dir", str(tmp_path)]
    first = runner.invoke(app, args, env=env)
    assert first.exit_code == 0, first.output
    assert (tmp_path / "demo-vault" / "vault.toml").is_file()
    assert (tmp_path / "demo-vault-keys" / "root.key").is_file()
    assert "strongroom-demo-only" in first.output  # it says the passphrase is the demo one
    assert "40 persons and 60 incidents" in first.stdout
    assert "incidents of that person" in first.stdout
    assert first.stdout.count("one example record") == 1
    second = runner.invoke(app, args, env=env)
    assert second.exit_code == 0, second.output
    assert "already holds the records" in second.stderr
    assert "40 persons and 60 incidents" in second.stdout
    ref = re.search(r"get person ([0-9a-f-]{36})", second.stdout)
    assert ref is not None
    check = runner.invoke(
        app, ["--data", str(tmp_path / "demo-vault"), "--keys", str(tmp_path / "demo-vault-keys"),
              "--purpose", "demo", "get", "person", ref.group(1), "--json"],
        env=env_for(STRONGROOM_PASSPHRASE="strongroom-demo-only"),
    )  # fmt: skip
    assert check.exit_code == 0, check.output


def test_demo_with_another_passphrase_is_refused(tmp_path: Path) -> None:
    args = ["demo", "--persons", "5", "--incidents", "0", "--dir", str(tmp_path)]
    assert runner.invoke(app, args, env=env_for()).exit_code == 0
    wrong = runner.invoke(app, args, env=env_for(STRONGROOM_PASSPHRASE="something else"))
    assert wrong.exit_code == 4


# -- the error boundary -----------------------------------------------------------------------
def test_errors_have_no_traceback_and_keep_typer_usage_code(vault: Vault) -> None:
    usage = vault.run("get")
    assert usage.exit_code == 2
    unknown = vault.run("frobnicate")
    assert unknown.exit_code == 2


def test_main_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from strongroom.cli import main

    monkeypatch.setattr(sys, "argv", ["strongroom", "--help"])
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 0
    assert "Usage: strongroom" in capsys.readouterr().out


def test_unexpected_error_prints_no_value_and_no_traceback(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    from strongroom.vault import Vault as VaultClass

    def boom(self: object) -> dict[str, int]:
        raise KeyError("11010519491231002X")

    monkeypatch.setattr(VaultClass, "counts", boom)
    result = vault.run("status")
    assert result.exit_code == 70
    assert "KeyError" in result.output
    assert "11010519491231002X" not in result.output
    assert "Traceback" not in result.output
