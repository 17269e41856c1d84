"""Collections declared in TOML: the built-ins, a user's own, and broken files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import ConfigError, ValidationError
from strongroom.schema import (
    FIELD_TYPES,
    Collection,
    builtin_collection,
    load_collection_file,
)

VEHICLE = """
[collection]
name = "vehicle"
version = 1
key_scope = "subject"

[[fields]]
name = "plate"
type = "code"
required = true
max_length = 12

[[fields]]
name = "owner_phone"
type = "phone"

[[fields]]
name = "region"
type = "region"
required = true

[[indexes]]
name = "plate"
fields = ["plate"]
unique = true
"""


def test_a_users_own_collection(tmp_path: Path) -> None:
    f = tmp_path / "vehicle.toml"
    f.write_text(VEHICLE, encoding="utf-8")
    coll = Collection(load_collection_file(f))
    rec = coll.validate({"plate": "京A12345", "owner_phone": "13812345678", "region": "110000"})
    assert rec["owner_phone"] == "+8613812345678"
    assert coll.index_values(rec) == [("plate", "京A12345")]
    assert coll.from_canonical(coll.canonical(rec), "110000") == rec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[collection]\nname='x'", "version"),
        ("[collection]\nname='x'\nversion=1\n", "region"),
        ("[collection]\nname='x'\nversion=1\nkey_scope='forever'", "key_scope"),
        (
            "[collection]\nname='x'\nversion=1\nkey_scope='month'\n[[fields]]\nname='region'\n"
            "type='region'\nrequired=true",
            "month_field",
        ),
        (
            "[collection]\nname='x'\nversion=1\n[[fields]]\nname='region'\ntype='region'\n"
            "required=true\n[[fields]]\nname='a'\ntype='colour'",
            "unknown field type",
        ),
        (
            "[collection]\nname='x'\nversion=1\n[[fields]]\nname='region'\ntype='region'\n"
            "required=true\n[[indexes]]\nname='i'\nfields=['nope']",
            "unknown field",
        ),
        (
            "[collection]\nname='x'\nversion=1\n[[fields]]\nname='region'\ntype='region'\n"
            "required=true\ncolour='red'",
            "unknown keys",
        ),
        ("not toml [", "cannot read"),
    ],
)
def test_broken_schema_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "x.toml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Collection(load_collection_file(f))


def test_builtin_collections() -> None:
    person = builtin_collection("person")
    assert [f.name for f in person.fields][:2] == ["name", "resident_id"]
    assert {ix.name for ix in person.indexes} == {"resident_id", "phone", "name", "name_dob"}
    incident = builtin_collection("incident")
    assert incident.key_scope == "month"
    assert {ix.name for ix in incident.indexes} == {"case_ref", "party"}
    assert set(FIELD_TYPES) >= {"resident_id", "phone", "name", "timestamp", "ref"}


def test_all_errors_reported_at_once() -> None:
    person = Collection(builtin_collection("person"))
    with pytest.raises(ValidationError) as err:
        person.validate(
            {"name": "", "resident_id": "123", "phones": ["1", "13812345678", "2"], "region": "x"}
        )
    fields = [e.field for e in err.value.errors]
    assert fields == ["name", "resident_id", "phones[0]", "phones[2]", "region"]


def test_incident_parties_and_month() -> None:
    incident = Collection(builtin_collection("incident"))
    ref = "01a22758-1ea3-7ddd-951f-1819bda37d38"
    rec = incident.validate(
        {
            "received_at": "2020-01-31T23:30:00-02:00",
            "channel": "Call",
            "category": "theft",
            "parties": [{"person": ref.upper(), "role": "witness"}],
            "status": "open",
            "region": "110000",
        }
    )
    assert rec["channel"] == "call"
    assert rec["parties"] == [{"person": ref, "role": "witness"}]
    assert incident.month_of(rec) == "2020-02"  # UTC month of a zoned timestamp
    assert incident.index_values(rec) == [("party", ref)]
    with pytest.raises(ValidationError, match="time zone"):
        incident.validate({**rec, "received_at": "2020-01-31T23:30:00"})
    with pytest.raises(ValidationError, match=r"parties\[0\]\.role"):
        incident.validate({**rec, "parties": [{"person": ref, "role": "bystander"}]})


_text = st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=30)


@settings(max_examples=150, database=None)
@given(
    name=_text,
    place=st.none() | _text,
    phones=st.lists(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), max_size=4),
)
def test_canonical_round_trip(name: str, place: str | None, phones: list[str]) -> None:
    person = Collection(builtin_collection("person"))
    raw: dict[str, Any] = {
        "name": name,
        "resident_id": "11010519491231002X",
        "region": "110000",
        "phones": phones,
        "place_of_birth": place,
    }
    try:
        rec = person.validate(raw)
    except ValidationError:
        return  # not every generated string is a valid name or phone; that is tested elsewhere
    assert person.from_canonical(person.canonical(rec), "110000") == rec
