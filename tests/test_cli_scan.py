"""`strongroom scan`: finds plaintext, finds nothing in a vault's own files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from strongroom import Actor, Purpose, Vault
from strongroom.batch import import_file
from strongroom.cli._app import app
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
from strongroom.scan._corpus_values import national
from strongroom.synth import generate_persons, write_persons_csv

runner = CliRunner()


def _scan(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["scan", *args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_vault_files_hold_nothing_but_a_plaintext_copy_is_found(tmp_path: Path) -> None:
    persons = list(generate_persons(300, seed=77))
    src = tmp_path / "src"
    src.mkdir()
    write_persons_csv(persons, src / "persons.csv")
    data, keys = tmp_path / "data", tmp_path / "keys"
    with Vault.init(data, keys, "a passphrase!", argon2=UNSAFE_FAST_ARGON2) as v:
        s = import_file(v, "person", src / "persons.csv", actor=Actor("t"), purpose=Purpose("T"))
        assert s.accepted == 300
    code, report = _scan(str(data), str(keys), "--fail-on", "0.5")
    assert code == 0
    assert report["counts"] == {}
    # the proof that it would have seen them: the same values in plaintext beside the vault
    code, report = _scan(str(src), "--fail-on", "0.5")
    assert code == 1
    counts = report["counts"]
    assert isinstance(counts, dict)
    assert counts["resident_id"] == 300
    assert counts["mobile"] >= 300
    text = json.dumps(report, ensure_ascii=False)
    assert all(p.resident_id not in text for p in persons)


def test_summary_shows_masked_samples_only(tmp_path: Path) -> None:
    (tmp_path / "leak.csv").write_text(
        "姓名,身份证号,手机\n王小明,11010519491231002X,13812345678\n", encoding="utf-8"
    )
    result = runner.invoke(app, ["scan", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "110105********002X" in result.stdout
    assert "11010519491231002X" not in result.stdout
    assert "13812345678" not in result.stdout


def test_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["scan", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "paths" in result.output


def test_leak_corpus_command_and_sarif(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    result = runner.invoke(app, ["synth", "leak-corpus", "--out", str(corpus), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (corpus / "answers.jsonl").exists()
    sarif = tmp_path / "out.sarif"
    result = runner.invoke(app, ["scan", str(corpus), "--sarif", str(sarif), "--fail-on", "0.9"])
    assert result.exit_code == 1, result.output
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"strongroom.resident_id", "strongroom.mobile"}
    assert all(r["level"] in ("error", "warning") for r in results)
    bad = runner.invoke(app, ["synth", "leak-corpus", "--out", str(corpus), "--size", "huge"])
    assert bad.exit_code == 2
    assert "size" in bad.output


def test_vault_lookup_counts_its_own_people_only(tmp_path: Path) -> None:
    persons = list(generate_persons(40, seed=21))
    src = tmp_path / "src"
    src.mkdir()
    write_persons_csv(persons, src / "persons.csv")
    data, keys = tmp_path / "data", tmp_path / "keys"
    with Vault.init(data, keys, "a passphrase!", argon2=UNSAFE_FAST_ARGON2) as v:
        s = import_file(v, "person", src / "persons.csv", actor=Actor("t"), purpose=Purpose("T"))
        assert s.accepted == 40
        refs = [
            view.ref
            for view in v.find(
                "person",
                {"resident_id": persons[0].resident_id},
                actor=Actor("t"),
                purpose=Purpose("T"),
            )
        ]
    secret = tmp_path / "pass"
    secret.write_text("a passphrase!\n", encoding="utf-8")
    secret.chmod(0o600)
    outsiders = list(generate_persons(4, seed=9_999))
    lines = ["note,number"]
    lines += [f"id,{p.resident_id}" for p in persons[:5]]  # five of ours by resident ID
    lines += [f"phone,{national(p.phones[0])}" for p in persons[5:8]]  # three by mobile
    lines += [f"id,{persons[0].resident_id}", f"phone,{national(persons[0].phones[0])}"]  # again
    lines += [f"id,{p.resident_id}" for p in outsiders]  # not ours
    leak = tmp_path / "leak" / "sample.csv"
    leak.parent.mkdir()
    leak.write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = ["--data", str(data), "--keys", str(keys), "--passphrase-file", str(secret)]
    result = runner.invoke(app, [*base, "--actor", "ana", "scan", str(leak), "--vault", "--json"])
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)["vault"]
    assert ours["people_in_vault"] == 8
    assert ours["resident_ids_looked_up"] == 9 and ours["mobiles_looked_up"] == 4
    assert ours["people_by_resident_id"] == 5 and ours["people_by_mobile"] == 4
    assert "planted no honeytokens" in ours["honeytokens"]
    text = runner.invoke(app, [*base, "scan", str(leak), "--vault"]).stdout
    assert "8 distinct people of this vault" in text and "honeytokens" in text
    for output in (result.stdout, text):
        assert refs[0] not in output
        assert all(p.resident_id not in output for p in persons[:8] + outsiders)
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n", encoding="utf-8")
    wrong.chmod(0o600)
    base[-1] = str(wrong)
    result = runner.invoke(app, [*base, "scan", str(leak), "--vault"])
    assert result.exit_code == 4, result.output


def test_vault_lookup_recognises_planted_honeytokens(tmp_path: Path) -> None:
    from strongroom.guard import Guard, plant

    data, keys = tmp_path / "data", tmp_path / "keys"
    with Vault.init(data, keys, "a passphrase!", argon2=UNSAFE_FAST_ARGON2) as v:
        guard = Guard(v)
        canaries = plant(
            v,
            guard.honeytokens,
            3,
            region="110000",
            phone_range=guard.config.honeytoken_phones,
            actor=Actor("custodian"),
            purpose=Purpose("ADMIN"),
        )
        leaked = [
            v.current("person", c.person_ref).fields for c in canaries[:2]
        ]  # what a thief copied
    secret = tmp_path / "pass"
    secret.write_text("a passphrase!\n", encoding="utf-8")
    secret.chmod(0o600)
    lines = ["name,id,mobile"]
    lines += [f"x,{f['resident_id']},{national(f['phones'][0])}" for f in leaked]
    leak = tmp_path / "leak.csv"
    leak.write_text("\n".join(lines) + "\n", encoding="utf-8")
    base = ["--data", str(data), "--keys", str(keys), "--passphrase-file", str(secret)]
    result = runner.invoke(app, [*base, "--actor", "ana", "scan", str(leak), "--vault", "--json"])
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)["vault"]
    assert ours["honeytoken_values_found"] == 4  # two IDs and two mobiles
    assert "copy of this vault's data" in ours["honeytokens"]
    assert all(f["resident_id"] not in result.stdout for f in leaked)
    clean = tmp_path / "clean.csv"
    clean.write_text("id\n11010519491231002X\n", encoding="utf-8")
    result = runner.invoke(app, [*base, "scan", str(clean), "--vault", "--json"])
    assert json.loads(result.stdout)["vault"]["honeytokens"].startswith("none found")
