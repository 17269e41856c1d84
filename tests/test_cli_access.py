"""Tests for the access commands of the command line: users, tokens, policy check, and the first
admin token that ``init`` prints."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from strongroom.auth import AuthenticationError, Principal, TokenStore
from strongroom.cli import app
from strongroom.policy import shipped_policy_dir
from strongroom.vault import Vault
from tests.test_cli import ENV_NAMES, PASSPHRASE

TOKEN = re.compile(r"sr_[a-z2-7]{8}_[a-z2-7]{52}")

runner = CliRunner()


@dataclass
class Env:
    data: Path
    keys: Path
    init_stdout: str = ""

    def run(self, *args: str) -> Result:
        env: dict[str, str | None] = dict.fromkeys(ENV_NAMES)
        env.update(
            COLUMNS="200",
            STRONGROOM_DATA=str(self.data),
            STRONGROOM_KEYS=str(self.keys),
            STRONGROOM_PASSPHRASE=PASSPHRASE,
            STRONGROOM_ACTOR="admin-ops",
        )  # no STRONGROOM_PURPOSE: admin commands need none
        return runner.invoke(app, list(args), env=env)

    def json(self, *args: str) -> Any:
        result = self.run(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def verify(self, token: str) -> Principal:
        with Vault.open(self.data, self.keys, PASSPHRASE) as vault:
            store = TokenStore(vault.engines()[0], vault.keyring.service_key("api-token-hash"))
            return store.verify(token)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("cli-access")
    e = Env(root / "data", root / "keys")
    result = e.run("init", "--fast-kdf")
    assert result.exit_code == 0, result.output
    e.init_stdout = result.stdout
    return e


# -- init ----------------------------------------------------------------------------------------
def test_init_prints_a_first_admin_token_that_verifies(env: Env) -> None:
    tokens = TOKEN.findall(env.init_stdout)
    assert len(tokens) == 1
    assert "store it now; it will not be shown again" in env.init_stdout
    principal = env.verify(tokens[0])
    assert principal.id == "admin"
    assert principal.roles == {"admin"}
    assert principal.kind == "user"
    listed = env.json("tokens", "list", "--principal", "admin")
    assert len(listed) == 1
    assert tokens[0].startswith(f"sr_{listed[0]['id']}_")


# -- users ---------------------------------------------------------------------------------------
def test_users_add_list_disable(env: Env) -> None:
    result = env.run(
        "users", "add", "inv-0042", "--role", "investigator", "--role", "supervisor",
        "--unit", "CID-3", "--region", "cn-11", "--case", "A110105-2024-000123",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "inv-0042" in result.stdout
    service = env.run("users", "add", "intake-gw", "--kind", "service", "--role", "call_taker")
    assert service.exit_code == 0, service.output

    by_id = {p["id"]: p for p in env.json("users", "list")}
    assert by_id["inv-0042"] == {
        "id": "inv-0042",
        "kind": "user",
        "roles": ["investigator", "supervisor"],
        "unit": "CID-3",
        "home_region": "CN-11",
        "case_refs": ["A110105-2024-000123"],
        "disabled": False,
        "created_at": by_id["inv-0042"]["created_at"],
    }
    assert by_id["intake-gw"]["kind"] == "service"
    assert by_id["admin"]["roles"] == ["admin"]
    table = env.run("users", "list")
    assert table.exit_code == 0, table.output
    assert "inv-0042" in table.stdout
    assert "investigator, supervisor" in table.stdout

    disabled = env.run("users", "disable", "intake-gw")
    assert disabled.exit_code == 0, disabled.output
    by_id = {p["id"]: p for p in env.json("users", "list")}
    assert by_id["intake-gw"]["disabled"] is True
    assert by_id["inv-0042"]["disabled"] is False


def test_users_add_bad_role_exit_2_names_roles(env: Env) -> None:
    result = env.run("users", "add", "someone", "--role", "overlord")
    assert result.exit_code == 2
    assert "roles" in result.stderr
    assert "Traceback" not in result.output
    assert "someone" not in {p["id"] for p in env.json("users", "list")}


def test_users_add_needs_a_role_and_a_unique_id(env: Env) -> None:
    assert env.run("users", "add", "no-role").exit_code == 2
    assert env.run("users", "add", "dup-1", "--role", "analyst").exit_code == 0
    again = env.run("users", "add", "dup-1", "--role", "analyst")
    assert again.exit_code == 2
    assert "already exists" in again.stderr


def test_users_disable_unknown_exit_6(env: Env) -> None:
    result = env.run("users", "disable", "nobody-here")
    assert result.exit_code == 6
    assert "no principal" in result.stderr


# -- tokens --------------------------------------------------------------------------------------
def test_tokens_issue_list_revoke(env: Env) -> None:
    assert (
        env.run("users", "add", "svc-report", "--kind", "service", "--role", "analyst").exit_code
        == 0
    )

    issued = env.run("tokens", "issue", "svc-report", "--name", "nightly report", "--ttl-days", "7")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert TOKEN.fullmatch(token)
    assert "will not be shown again" in issued.stderr
    assert token not in issued.stderr
    assert env.verify(token).id == "svc-report"

    as_json = env.json("tokens", "issue", "svc-report", "--name", "second")
    assert set(as_json) == {"token", "id", "expires_at"}
    assert as_json["token"].startswith(f"sr_{as_json['id']}_")
    assert env.verify(as_json["token"]).id == "svc-report"

    listing = env.run("tokens", "list")
    assert listing.exit_code == 0, listing.output
    listed_json = env.run("tokens", "list", "--principal", "svc-report", "--json")
    assert listed_json.exit_code == 0, listed_json.output
    for out in (listing.output, listed_json.output):
        assert token not in out
        assert as_json["token"] not in out
        assert token.rsplit("_", 1)[1] not in out  # not even the secret part
    mine = json.loads(listed_json.stdout)
    assert [t["name"] for t in mine] == ["nightly report", "second"]
    assert all(t["principal_id"] == "svc-report" and t["revoked_at"] is None for t in mine)
    first_id = token.split("_")[1]
    assert mine[0]["id"] == first_id

    revoked = env.run("tokens", "revoke", first_id)
    assert revoked.exit_code == 0, revoked.output
    with pytest.raises(AuthenticationError):
        env.verify(token)
    assert env.verify(as_json["token"]).id == "svc-report"  # the other one still works
    after = {t["id"]: t for t in env.json("tokens", "list", "--principal", "svc-report")}
    assert after[first_id]["revoked_at"] is not None
    assert "revoked" in env.run("tokens", "list").stdout


def test_tokens_of_a_disabled_principal_stop_working(env: Env) -> None:
    assert env.run("users", "add", "leaver", "--role", "auditor").exit_code == 0
    token = env.run("tokens", "issue", "leaver", "--name", "laptop").stdout.strip()
    assert env.verify(token).id == "leaver"
    assert env.run("users", "disable", "leaver").exit_code == 0
    with pytest.raises(AuthenticationError):
        env.verify(token)
    refused = env.run("tokens", "issue", "leaver", "--name", "again")
    assert refused.exit_code == 2
    assert TOKEN.search(refused.output) is None


def test_tokens_bad_input(env: Env) -> None:
    unknown = env.run("tokens", "issue", "nobody-here", "--name", "x")
    assert unknown.exit_code == 6
    too_long = env.run("tokens", "issue", "admin", "--name", "x", "--ttl-days", "400")
    assert too_long.exit_code == 2
    assert env.run("tokens", "revoke", "not-an-id").exit_code == 2
    assert env.run("tokens", "revoke", "aaaaaaaa").exit_code == 6


# -- policy check --------------------------------------------------------------------------------
def test_policy_check_shipped_ok() -> None:
    result = runner.invoke(app, ["policy", "check"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    files = [p for p in shipped_policy_dir().iterdir() if p.name.endswith(".cedar")]
    assert result.stdout.strip() == f"policies OK ({len(files)} files)"


def test_policy_check_broken_file(tmp_path: Path) -> None:
    for p in shipped_policy_dir().iterdir():
        if p.name.endswith(".cedar"):
            (tmp_path / p.name).write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    ok = runner.invoke(app, ["policy", "check", str(tmp_path)], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output

    (tmp_path / "zz-broken.cedar").write_text(
        '@id("broken")\npermit (principal, action, resource\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["policy", "check", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 9
    assert "zz-broken.cedar" in result.stdout
    assert "policies OK" not in result.output
    assert "error:" in result.stderr


def test_policy_check_empty_dir_fails(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "check", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 9
    assert "no policies" in result.stdout


def test_users_add_citizen_binds_the_resident_id_without_storing_it(
    env: Env, tmp_path: Path
) -> None:
    rid = "11010519491231002X"
    id_file = tmp_path / "id.txt"
    id_file.write_text(rid.lower() + "\n", encoding="utf-8")
    result = env.run("users", "add", "cit-7", "--role", "citizen", "--region", "110000",
                     "--resident-id-file", str(id_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    with Vault.open(env.data, env.keys, PASSPHRASE) as vault:
        from strongroom.auth import PrincipalStore
        from strongroom.gate import SUBJECT_KEY, subject_token

        stored = PrincipalStore(vault.engines()[0]).get("cit-7")
        key = vault.keyring.service_key(SUBJECT_KEY)
        assert stored.citizen_subject == subject_token(key, rid)
    for f in env.data.iterdir():
        assert rid.encode() not in f.read_bytes()
    unbound = env.run("users", "add", "cit-8", "--role", "citizen")
    assert unbound.exit_code == 2 and "citizen_subject" in unbound.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("\n", encoding="utf-8")
    bad = env.run("users", "add", "cit-9", "--role", "citizen", "--resident-id-file", str(empty))
    assert bad.exit_code == 2 and "--resident-id-file" in bad.stderr
