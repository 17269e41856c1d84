"""Tests for strongroom.synth: deterministic synthetic persons and incidents."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest
from faker.providers.ssn.zh_CN import Provider as SsnProvider

import strongroom.synth as synth
from strongroom.synth import (
    SynthIncident,
    SynthPerson,
    generate_incidents,
    generate_persons,
    write_incidents_csv,
    write_incidents_jsonl,
    write_persons_csv,
    write_persons_jsonl,
)

N_PERSONS = 20_000
N_INCIDENTS = 5_000

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_MAP = "10X98765432"
AREA_CODES = frozenset(SsnProvider.area_codes)
MOBILE = re.compile(r"1[3-9]\d{9}")
PHONE_FORMS = (
    re.compile(r"1\d{10}"),
    re.compile(r"\+86 1\d{2} \d{4} \d{4}"),
    re.compile(r"1\d{2}-\d{4}-\d{4}"),
)
RECEIVED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")
CASE_REF = re.compile(r"A(\d{6})-(\d{4})-\d{6}")


def expected_check(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_MAP[total % 11]


def digits_only(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if phone.startswith("+86") else digits


@pytest.fixture(scope="module")
def persons() -> list[SynthPerson]:
    return list(generate_persons(N_PERSONS, seed=20240501))


@pytest.fixture(scope="module")
def incidents(persons: list[SynthPerson]) -> list[SynthIncident]:
    return list(generate_incidents(N_INCIDENTS, persons, seed=20240501))


# --- determinism ------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        people = list(generate_persons(2000, seed=7))
        cases = list(generate_incidents(800, people, seed=7))
        files = [
            tmp_path / f"{run}-persons.csv",
            tmp_path / f"{run}-incidents.csv",
            tmp_path / f"{run}-persons.jsonl",
            tmp_path / f"{run}-incidents.jsonl",
        ]
        assert write_persons_csv(people, files[0]) == 2000
        assert write_incidents_csv(cases, files[1]) == 800
        assert write_persons_jsonl(people, files[2]) == 2000
        assert write_incidents_jsonl(cases, files[3]) == 800
        digests.append([sha256(f) for f in files])
    assert digests[0] == digests[1]


def test_different_seeds_differ(tmp_path: Path) -> None:
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    write_persons_csv(generate_persons(500, seed=1), one)
    write_persons_csv(generate_persons(500, seed=2), two)
    assert one.read_bytes() != two.read_bytes()

    people = list(generate_persons(500, seed=1))
    first = list(generate_incidents(200, people, seed=1))
    second = list(generate_incidents(200, people, seed=2))
    assert first != second


def test_output_does_not_depend_on_hash_randomisation() -> None:
    src = Path(synth.__file__).resolve().parents[2]
    script = (
        "import hashlib, json\n"
        "from strongroom.synth import generate_persons, generate_incidents\n"
        "p = list(generate_persons(300, seed=5))\n"
        "i = list(generate_incidents(200, p, seed=5))\n"
        "print(hashlib.sha256(repr((p, i)).encode()).hexdigest())\n"
    )
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout.strip())
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 64


def test_prefix_is_stable() -> None:
    """The first rows do not depend on how many rows are requested."""
    assert list(generate_persons(50, seed=3)) == list(generate_persons(200, seed=3))[:50]


# --- persons ----------------------------------------------------------------------------------


def test_resident_ids_are_valid(persons: list[SynthPerson]) -> None:
    for person in persons:
        rid = person.resident_id
        assert len(rid) == 18
        assert rid[:17].isdigit()
        assert rid[17] == expected_check(rid[:17])
        area = rid[:6]
        assert area in AREA_CODES
        assert not area.endswith("00")  # county level, as on a real card
        assert person.region == area[:2] + "0000"

        born = dt.date(int(rid[6:10]), int(rid[10:12]), int(rid[12:14]))
        assert person.date_of_birth == born.isoformat()
        assert dt.date(1930, 1, 1) <= born <= dt.date(2008, 12, 31)

        assert person.sex == ("M" if int(rid[16]) % 2 == 1 else "F")


def test_resident_ids_agree_with_python_stdnum(persons: list[SynthPerson]) -> None:
    ric = pytest.importorskip("stdnum.cn.ric")
    locations = pytest.importorskip("stdnum.numdb").get("cn/loc")
    for person in persons[:5000]:
        rid = person.resident_id
        assert ric.calc_check_digit(rid) == rid[17]
        assert ric.get_birth_date(rid).isoformat() == person.date_of_birth
        # stdnum knows every address code. (Its is_valid() additionally demands that the code
        # existed in the birth year, a heuristic that real IDs need not meet; not checked.)
        info = {k: v for _part, props in locations.info(rid[:6]) for k, v in props.items()}
        assert info.get("province")
        assert info.get("county")


def test_resident_ids_are_unique(persons: list[SynthPerson]) -> None:
    ids = [p.resident_id for p in persons]
    assert len(set(ids)) == len(ids) == N_PERSONS


def test_some_check_characters_are_x(persons: list[SynthPerson]) -> None:
    share = sum(p.resident_id.endswith("X") for p in persons) / len(persons)
    assert 0.05 < share < 0.14  # about 1 in 11, as in real numbers


def test_sexes_and_regions_are_mixed(persons: list[SynthPerson]) -> None:
    sexes = collections.Counter(p.sex for p in persons)
    assert set(sexes) == {"M", "F"}
    assert 0.45 < sexes["M"] / len(persons) < 0.55
    assert len({p.region for p in persons}) >= 25


def test_phones_are_valid_mainland_mobiles(persons: list[SynthPerson]) -> None:
    forms: collections.Counter[int] = collections.Counter()
    for person in persons:
        assert 1 <= len(person.phones) <= 3
        for phone in person.phones:
            kind = next(i for i, form in enumerate(PHONE_FORMS) if form.fullmatch(phone))
            forms[kind] += 1
            number = digits_only(phone)
            assert MOBILE.fullmatch(number), phone
    for person in persons[:3000]:
        for phone in person.phones:
            parsed = phonenumbers.parse(phone, "CN")
            assert phonenumbers.is_valid_number(parsed), phone
            assert phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
            assert str(parsed.national_number) == digits_only(phone)
    # Mostly plain, but the other spellings occur so that normalisation is exercised.
    assert forms[0] > 5 * (forms[1] + forms[2])
    assert forms[1] > 0
    assert forms[2] > 0
    assert any(len(p.phones) == 3 for p in persons)


def test_names_mix(persons: list[SynthPerson]) -> None:
    han = re.compile(r"[\u4e00-\u9fff]{2,4}")
    minority = re.compile(r"[\u4e00-\u9fff]{2,5}·[\u4e00-\u9fff]{2,5}")
    latin = re.compile(r"[^\W\d_]+(?:[ '-][^\W\d_]+)+")
    counts: collections.Counter[str] = collections.Counter()
    for person in persons:
        if minority.fullmatch(person.name):
            counts["minority"] += 1
        elif han.fullmatch(person.name):
            counts["han"] += 1
        elif latin.fullmatch(person.name) and not re.search(r"[\u4e00-\u9fff]", person.name):
            counts["latin"] += 1
        else:
            pytest.fail(f"unexpected name shape: {person.name!r}")
    assert counts["han"] / N_PERSONS > 0.95
    assert 0.005 < counts["minority"] / N_PERSONS < 0.02
    assert 0.01 < counts["latin"] / N_PERSONS < 0.035
    assert len({p.name for p in persons}) > N_PERSONS / 4


def test_places_of_birth_are_chinese_place_names(persons: list[SynthPerson]) -> None:
    for person in persons:
        assert re.fullmatch(r"[\u4e00-\u9fff]{4,}", person.place_of_birth)
        assert person.place_of_birth.endswith(("市", "区", "州", "地区"))
        assert re.match(r".+?(省|自治区|市)", person.place_of_birth)


def test_zero_and_negative_counts() -> None:
    assert list(generate_persons(0, seed=1)) == []
    with pytest.raises(ValueError, match="negative"):
        generate_persons(-1, seed=1)


# --- incidents --------------------------------------------------------------------------------


def test_incident_parties_refer_to_given_persons(
    persons: list[SynthPerson], incidents: list[SynthIncident]
) -> None:
    by_id = {p.resident_id: p for p in persons}
    for incident in incidents:
        assert 1 <= len(incident.parties) <= 3
        ids = [rid for rid, _role in incident.parties]
        assert len(set(ids)) == len(ids)
        for rid, role in incident.parties:
            assert rid in by_id
            assert role in synth.ROLES
        assert incident.region == by_id[ids[0]].region


def test_incident_fields(persons: list[SynthPerson], incidents: list[SynthIncident]) -> None:
    by_id = {p.resident_id: p for p in persons}
    for incident in incidents:
        assert RECEIVED_AT.fullmatch(incident.received_at)
        received = dt.datetime.fromisoformat(incident.received_at)
        assert received.utcoffset() == dt.timedelta(hours=8)
        assert dt.date(1995, 1, 1) <= received.date() <= dt.date(2026, 10, 31)
        for rid, _role in incident.parties:
            assert dt.date.fromisoformat(by_id[rid].date_of_birth) < received.date()
        assert incident.channel in synth.CHANNELS
        assert incident.category in synth.CATEGORIES
        assert incident.status in synth.STATUSES
        assert incident.location
        assert re.search(r"[\u4e00-\u9fff]", incident.location)
        assert incident.narrative.endswith("。")
        match = CASE_REF.fullmatch(incident.case_ref)
        assert match
        assert match.group(1) in AREA_CODES
        assert match.group(1)[:2] == incident.region[:2]


def test_incident_distributions(incidents: list[SynthIncident]) -> None:
    channels = collections.Counter(i.channel for i in incidents)
    assert channels.most_common(1)[0][0] == "call"
    assert set(channels) == set(synth.CHANNELS)
    assert set(i.category for i in incidents) == set(synth.CATEGORIES)
    assert set(i.status for i in incidents) == set(synth.STATUSES)
    assert {len(i.parties) for i in incidents} == {1, 2, 3}


def test_case_refs_unique_except_shared_follow_ups(incidents: list[SynthIncident]) -> None:
    refs = collections.Counter(i.case_ref for i in incidents)
    shared = sum(1 for i in incidents if refs[i.case_ref] > 1) / len(incidents)
    assert 0.05 < shared < 0.2
    # Incidents sharing a case ref are about the same first party and category.
    groups: dict[str, list[SynthIncident]] = collections.defaultdict(list)
    for incident in incidents:
        groups[incident.case_ref].append(incident)
    for group in groups.values():
        assert len({g.parties[0][0] for g in group}) == 1
        assert len({g.category for g in group}) == 1


def test_narratives_hold_no_personal_data(
    persons: list[SynthPerson], incidents: list[SynthIncident]
) -> None:
    by_id = {p.resident_id: p for p in persons}
    for incident in incidents:
        text = incident.narrative
        assert not re.search(r"\d{7,}", text)  # nothing that looks like a phone or ID number
        for rid, _role in incident.parties:
            person = by_id[rid]
            assert rid not in text
            assert rid[:6] not in text
            assert person.name not in text
            for phone in person.phones:
                assert digits_only(phone) not in text
                assert phone not in text


def test_incidents_accept_id_region_pairs(persons: list[SynthPerson]) -> None:
    pairs = [(p.resident_id, p.region) for p in persons[:3000]]
    from_pairs = list(generate_incidents(500, pairs, seed=11))
    from_persons = list(generate_incidents(500, persons[:3000], seed=11))
    assert from_pairs == from_persons


def test_incidents_with_tiny_population() -> None:
    one = list(generate_persons(1, seed=4))
    cases = list(generate_incidents(50, one, seed=4))
    assert all(len(c.parties) == 1 for c in cases)


def test_incident_argument_errors() -> None:
    assert list(generate_incidents(0, [], seed=1)) == []
    with pytest.raises(ValueError, match="empty"):
        generate_incidents(3, [], seed=1)
    with pytest.raises(ValueError, match="negative"):
        generate_incidents(-1, list(generate_persons(2, seed=1)), seed=1)


# --- writers ----------------------------------------------------------------------------------


def test_persons_csv(tmp_path: Path, persons: list[SynthPerson]) -> None:
    path = tmp_path / "persons.csv"
    assert write_persons_csv(persons[:1000], path) == 1000
    raw = path.read_bytes()
    assert raw.startswith(b"name,resident_id,phones,date_of_birth,place_of_birth,sex,region\r\n")
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "name",
        "resident_id",
        "phones",
        "date_of_birth",
        "place_of_birth",
        "sex",
        "region",
    ]
    assert len(rows) == 1001
    for row, person in zip(rows[1:], persons, strict=False):
        assert row == [
            person.name,
            person.resident_id,
            ";".join(person.phones),
            person.date_of_birth,
            person.place_of_birth,
            person.sex,
            person.region,
        ]
        assert tuple(row[2].split(";")) == person.phones


def test_incidents_csv(tmp_path: Path, incidents: list[SynthIncident]) -> None:
    path = tmp_path / "incidents.csv"
    assert write_incidents_csv(iter(incidents[:500]), path) == 500
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert (
        ",".join(rows[0])
        == "received_at,channel,category,location,narrative,parties,case_ref,status,region"
    )
    assert len(rows) == 501
    for row, incident in zip(rows[1:], incidents, strict=False):
        parties = tuple(tuple(item.split(":")) for item in row[5].split(";"))
        assert parties == incident.parties
        assert row[0] == incident.received_at
        assert row[4] == incident.narrative
        assert row[6] == incident.case_ref


def test_jsonl(tmp_path: Path, persons: list[SynthPerson], incidents: list[SynthIncident]) -> None:
    people_path = tmp_path / "persons.jsonl"
    cases_path = tmp_path / "incidents.jsonl"
    assert write_persons_jsonl(persons[:300], people_path) == 300
    assert write_incidents_jsonl(incidents[:300], cases_path) == 300

    lines = people_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    for line, person in zip(lines, persons, strict=False):
        obj = json.loads(line)
        assert list(obj) == list(synth.PERSON_FIELDS)
        assert obj["phones"] == list(person.phones)
        assert obj["name"] == person.name

    lines = cases_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    for line, incident in zip(lines, incidents, strict=False):
        obj = json.loads(line)
        assert list(obj) == list(synth.INCIDENT_FIELDS)
        assert obj["parties"] == [
            {"resident_id": rid, "role": role} for rid, role in incident.parties
        ]
        assert obj["narrative"] == incident.narrative


def test_public_names() -> None:
    for name in synth.__all__:
        assert hasattr(synth, name)
    assert {"generate_persons", "generate_incidents", "SynthPerson", "SynthIncident"} <= set(
        synth.__all__
    )
