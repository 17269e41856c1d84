"""`strongroom scan`: finds plaintext, finds nothing in a vault's own files."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from strongroom import Actor, Purpose, Vault
from strongroom.batch import import_file
from strongroom.cli._app import app
from strongroom.crypto.kms._local import UNSAFE_FAST_ARGON2
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
