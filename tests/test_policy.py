"""Policy: the shipped Cedar policies (table-driven), fail-closed loading, purposes, masks."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cedarpy
import pytest

import strongroom.policy as policy
from strongroom.errors import StrongroomError
from strongroom.policy import (
    AccessRequest,
    AllOf,
    Decision,
    DeniedError,
    FieldLevel,
    PolicyEngine,
    PolicyError,
    Principal,
    PurposeDef,
    PurposeRegistry,
    RecordFacts,
    UnsafeAllowAll,
    apply,
    authorize,
    check_policies,
    mask_date_of_birth,
    mask_name,
    mask_phone,
    mask_resident_id,
    shipped_policy_dir,
)

NOW = dt.datetime(2025, 3, 14, 10, 30, tzinfo=dt.UTC)
REGION = "110000"
PURPOSES = PurposeRegistry.load()
ENGINE = PolicyEngine.from_directory()

PERSON = ("name", "resident_id", "phones", "date_of_birth", "place_of_birth", "sex", "region")
INCIDENT = (
    "received_at",
    "channel",
    "category",
    "location",
    "narrative",
    "parties",
    "case_ref",
    "status",
    "region",
)


def _all(level: FieldLevel, names: tuple[str, ...]) -> dict[str, FieldLevel]:
    return dict.fromkeys(names, level)


PERSON_FULL = _all("full", PERSON)
INCIDENT_FULL = _all("full", INCIDENT)
#: what a call taker sees of a person
PERSON_CALL_VIEW: dict[str, FieldLevel] = {
    "name": "masked",
    "resident_id": "masked",
    "phones": "masked",
    "date_of_birth": "masked",
    "place_of_birth": "hidden",
    "sex": "full",
    "region": "full",
}
PERSON_REVEAL_VIEW: dict[str, FieldLevel] = {**PERSON_CALL_VIEW, "phones": "full"}

COLLECTION_ACTIONS = {"search", "export", "admin"}


@dataclass(frozen=True)
class Case:
    """One row of the policy table."""

    role: str
    action: str
    collection: str
    purpose: str
    allowed: bool
    fields: dict[str, FieldLevel] = field(default_factory=dict)
    case_ref: str | None = None
    #: the principal's assignments
    assigned: frozenset[str] = frozenset()
    unit: str = "U1"
    token: str = ""
    #: the record's facts (ignored for collection actions)
    record_cases: frozenset[str] = frozenset({"C1"})
    record_unit: str = "U1"
    record_region: str = REGION
    protected: bool = False
    subject: str = "T-OTHER"
    break_glass: bool = False
    justification: str | None = None
    index: str | None = None
    #: policy ids that must be among the decision's reasons
    because: tuple[str, ...] = ()
    label: str = ""

    @property
    def id(self) -> str:
        parts = [self.role, self.action, self.collection, self.purpose]
        if self.label:
            parts.append(self.label)
        parts.append("allow" if self.allowed else "deny")
        return "-".join(parts)

    def request(self) -> AccessRequest:
        principal = Principal(
            id=f"{self.role}-1",
            role=self.role,
            unit=self.unit,
            region=REGION,
            case_refs=self.assigned,
            resident_id_token=self.token,
        )
        record = None
        if self.action not in COLLECTION_ACTIONS:
            record = RecordFacts(
                id="r-1",
                region=self.record_region,
                unit=self.record_unit,
                protected=self.protected,
                case_refs=self.record_cases,
                subject_token=self.subject,
            )
        return AccessRequest(
            principal=principal,
            action=self.action,
            collection=self.collection,
            record=record,
            purpose=PURPOSES.get(self.purpose),
            case_ref=self.case_ref,
            break_glass=self.break_glass,
            justification=self.justification,
            now=NOW,
            index=self.index,
        )


C1 = frozenset({"C1"})
C2 = frozenset({"C2"})
JUST = "caller reports an armed man at the address now"

TABLE: list[Case] = [
    # -- call_taker ------------------------------------------------------------------------
    Case("call_taker", "search", "person", "CALL", True, index="phone", label="by-phone"),
    Case("call_taker", "search", "person", "DEMO", True, index="resident_id", label="by-id"),
    Case("call_taker", "search", "person", "CALL", False, index="name_dob", label="by-name"),
    Case("call_taker", "read", "person", "CALL", True, PERSON_CALL_VIEW, label="masked"),
    Case("call_taker", "read", "person", "DEMO", True, PERSON_CALL_VIEW, label="masked"),
    Case("call_taker", "read", "person", "CASE", False, case_ref="C1", assigned=C1),
    Case(
        "call_taker",
        "reveal",
        "person",
        "CALL",
        True,
        PERSON_REVEAL_VIEW,
        justification="call back: line dropped",
        because=("call_taker.reveal_person", "call_taker.reveal_phones"),
        label="justified-phones-full",
    ),
    Case("call_taker", "reveal", "person", "CALL", False, label="no-justification"),
    Case(
        "call_taker",
        "read",
        "person",
        "CALL",
        False,
        protected=True,
        because=("guard.protected_record",),
        label="protected",
    ),
    Case(
        "call_taker",
        "read",
        "person",
        "CALL",
        False,
        record_region="310000",
        because=("guard.record_region",),
        label="other-region",
    ),
    Case("call_taker", "create", "incident", "CALL", True),
    Case("call_taker", "create", "person", "CALL", False),
    Case("call_taker", "update", "incident", "CALL", False, case_ref="C1", assigned=C1),
    Case("call_taker", "delete", "person", "CALL", False),
    Case("call_taker", "export", "person", "CALL", False),
    Case(
        "call_taker",
        "read",
        "incident",
        "CALL",
        True,
        INCIDENT_FULL,
        case_ref="C1",
        assigned=C1,
        label="own-case",
    ),
    Case("call_taker", "read", "incident", "CALL", False, case_ref="C1", label="not-assigned"),
    Case(
        "call_taker",
        "read",
        "incident",
        "CALL",
        False,
        case_ref="C1",
        assigned=C1,
        record_cases=C2,
        label="record-of-other-case",
    ),
    Case(
        "call_taker",
        "search",
        "incident",
        "CALL",
        True,
        case_ref="C1",
        assigned=C1,
        index="case_ref",
        label="own-case",
    ),
    Case(
        "call_taker",
        "read",
        "person",
        "COVERT-CASE",
        False,
        case_ref="C1",
        assigned=C1,
        because=("guard.covert_purposes",),
        label="covert",
    ),
    Case(
        "call_taker",
        "read",
        "person",
        "CALL",
        False,
        break_glass=True,
        justification=JUST,
        because=("guard.break_glass",),
        label="break-glass",
    ),
    # -- investigator ----------------------------------------------------------------------
    Case("investigator", "read", "person", "CASE", True, PERSON_FULL, "C1", C1),
    Case("investigator", "read", "incident", "CASE", True, INCIDENT_FULL, "C1", C1),
    Case("investigator", "reveal", "person", "CASE", True, PERSON_FULL, "C1", C1),
    Case(
        "investigator", "read", "person", "COVERT-CASE", True, PERSON_FULL, "C1", C1, label="covert"
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C2",
        assigned=C1,
        record_cases=C2,
        label="not-assigned",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        record_cases=C2,
        label="record-not-linked",
    ),
    Case("investigator", "read", "person", "CALL", False, assigned=C1, label="wrong-purpose"),
    Case(
        "investigator",
        "read",
        "person",
        "SELF",
        False,
        assigned=C1,
        because=("guard.self_only_for_citizens",),
    ),
    Case(
        "investigator",
        "read",
        "person",
        "STATS",
        False,
        assigned=C1,
        because=("guard.no_records_for_system_purposes",),
    ),
    Case("investigator", "update", "incident", "CASE", True, case_ref="C1", assigned=C1),
    Case("investigator", "create", "incident", "CASE", True, case_ref="C1", assigned=C1),
    Case("investigator", "create", "person", "CASE", True, case_ref="C1", assigned=C1),
    Case("investigator", "delete", "incident", "CASE", False, case_ref="C1", assigned=C1),
    Case("investigator", "export", "person", "CASE", False, case_ref="C1", assigned=C1),
    Case("investigator", "search", "person", "CASE", True, case_ref="C1", assigned=C1),
    Case(
        "investigator",
        "search",
        "person",
        "CASE",
        False,
        case_ref="C2",
        assigned=C1,
        label="not-assigned",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        True,
        PERSON_FULL,
        case_ref="C2",
        assigned=C1,
        record_cases=C2,
        break_glass=True,
        justification=JUST,
        because=("case.break_glass",),
        label="break-glass",
    ),
    Case(
        "investigator",
        "read",
        "incident",
        "CASE",
        True,
        INCIDENT_FULL,
        case_ref="C2",
        record_cases=frozenset(),
        break_glass=True,
        justification=JUST,
        label="break-glass",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C2",
        record_cases=C2,
        break_glass=True,
        justification="   ",
        because=("guard.break_glass",),
        label="break-glass-no-justification",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "COVERT-CASE",
        False,
        case_ref="C2",
        record_cases=C2,
        break_glass=True,
        justification=JUST,
        because=("guard.break_glass",),
        label="break-glass-covert",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        protected=True,
        break_glass=True,
        justification=JUST,
        because=("guard.protected_record",),
        label="break-glass-protected",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        protected=True,
        label="protected",
    ),
    Case(
        "investigator",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        record_region="310000",
        label="other-region",
    ),
    Case(
        "investigator",
        "admin",
        "users",
        "ADMIN",
        False,
        because=("guard.admin_action_only_for_admins",),
    ),
    # -- supervisor ------------------------------------------------------------------------
    Case(
        "supervisor",
        "read",
        "incident",
        "CASE",
        True,
        INCIDENT_FULL,
        case_ref="C7",
        record_cases=frozenset({"C7"}),
        because=("case.supervisor_unit_records",),
        label="own-unit",
    ),
    Case(
        "supervisor",
        "read",
        "incident",
        "COVERT-CASE",
        True,
        INCIDENT_FULL,
        case_ref="C7",
        record_cases=frozenset({"C7"}),
        label="own-unit-covert",
    ),
    Case(
        "supervisor",
        "read",
        "incident",
        "CASE",
        False,
        case_ref="C7",
        record_cases=frozenset({"C7"}),
        record_unit="U2",
        label="other-unit",
    ),
    Case(
        "supervisor",
        "read",
        "person",
        "CASE",
        True,
        PERSON_FULL,
        case_ref="C1",
        assigned=C1,
        record_unit="U2",
        label="assigned-other-unit",
    ),
    Case(
        "supervisor",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        protected=True,
        break_glass=True,
        justification=JUST,
        because=("guard.protected_record",),
        label="break-glass-protected",
    ),
    Case(
        "supervisor",
        "read",
        "person",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        protected=True,
        label="protected",
    ),
    Case("supervisor", "search", "person", "CASE", True, case_ref="C9", label="any-case"),
    Case("supervisor", "delete", "incident", "CASE", True, case_ref="C1", assigned=C1),
    Case(
        "supervisor",
        "delete",
        "incident",
        "CASE",
        False,
        case_ref="C2",
        assigned=C1,
        label="not-assigned",
    ),
    Case(
        "supervisor",
        "delete",
        "incident",
        "COVERT-CASE",
        False,
        case_ref="C1",
        assigned=C1,
        label="covert",
    ),
    # -- auditor ---------------------------------------------------------------------------
    Case("auditor", "search", "audit", "AUDIT", True),
    Case("auditor", "search", "audit", "leak-investigation", True),
    Case("auditor", "search", "audit", "CALL", False),
    Case(
        "auditor",
        "read",
        "person",
        "AUDIT",
        False,
        because=("guard.no_records_for_auditor_admin_analyst",),
    ),
    Case(
        "auditor",
        "read",
        "incident",
        "CASE",
        False,
        case_ref="C1",
        assigned=C1,
        because=("guard.no_records_for_auditor_admin_analyst",),
        label="assigned",
    ),
    Case(
        "auditor",
        "search",
        "person",
        "AUDIT",
        False,
        because=("guard.only_system_collections_for_auditor_admin_analyst",),
    ),
    # -- admin -----------------------------------------------------------------------------
    Case("admin", "admin", "users", "ADMIN", True, because=("admin.manage",)),
    Case("admin", "admin", "tokens", "ADMIN", True),
    Case("admin", "admin", "keys", "ADMIN", True),
    Case("admin", "admin", "policies", "ADMIN", True),
    Case("admin", "admin", "users", "CASE", False, case_ref="C1"),
    Case("admin", "admin", "person", "ADMIN", False),
    Case("admin", "read", "person", "ADMIN", False),
    Case("admin", "search", "person", "ADMIN", False),
    Case("admin", "search", "audit", "ADMIN", False, because=("guard.admins_only_admin_action",)),
    # -- citizen ---------------------------------------------------------------------------
    Case("citizen", "read", "person", "SELF", True, PERSON_FULL, token="T-1", subject="T-1"),
    Case("citizen", "read", "person", "SELF", False, token="T-1", label="someone-else"),
    Case(
        "citizen",
        "read",
        "person",
        "CALL",
        False,
        token="T-1",
        subject="T-1",
        because=("guard.citizens_only_self",),
    ),
    Case("citizen", "read", "incident", "SELF", False, token="T-1", subject="T-1"),
    Case("citizen", "reveal", "person", "SELF", False, token="T-1", subject="T-1"),
    Case("citizen", "update", "person", "SELF", False, token="T-1", subject="T-1"),
    Case("citizen", "read", "person", "SELF", False, subject="", label="no-token"),
    Case(
        "citizen",
        "read",
        "person",
        "SELF",
        False,
        token="T-1",
        subject="T-1",
        protected=True,
        label="protected",
    ),
    Case("citizen", "search", "person", "SELF", False, token="T-1", index="resident_id"),
    # -- analyst ---------------------------------------------------------------------------
    Case("analyst", "search", "statistics", "STATS", True),
    Case("analyst", "search", "statistics", "CASE", False, case_ref="C1"),
    Case("analyst", "search", "person", "STATS", False),
    Case("analyst", "read", "person", "STATS", False),
    Case("analyst", "export", "incident", "STATS", False),
    # -- nobody else -----------------------------------------------------------------------
    Case("janitor", "read", "person", "CALL", False),
    Case("Investigator", "read", "person", "CASE", False, case_ref="C1", assigned=C1),
]


def test_table_ids_are_unique() -> None:
    ids = [c.id for c in TABLE]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]


@pytest.mark.parametrize("case", TABLE, ids=lambda c: c.id)
def test_shipped_policies(case: Case) -> None:
    decision = ENGINE.decide(case.request())
    assert decision.allowed is case.allowed, decision.reasons
    if case.allowed:
        assert decision.fields == case.fields
        assert decision.break_glass is case.break_glass
        assert decision.reasons, "an allowed decision names the permits that allowed it"
    else:
        assert set(decision.fields.values()) <= {"hidden"}
        assert decision.break_glass is False
        assert decision.released() == []
    for policy_id in case.because:
        assert policy_id in decision.reasons


def test_every_role_and_purpose_appears_in_the_table() -> None:
    roles = {c.role for c in TABLE if c.allowed}
    assert roles >= {
        "call_taker",
        "investigator",
        "supervisor",
        "auditor",
        "admin",
        "citizen",
        "analyst",
    }
    assert {c.purpose for c in TABLE} == set(PURPOSES.codes())
    assert {c.action for c in TABLE} == set(policy.ACTIONS)


def test_decisions_without_cache_and_with_the_whole_policy_set_agree() -> None:
    """The remembered answers and the field-policy subset change no decision."""
    plain = PolicyEngine.from_directory(cache_size=0)
    plain._field_policies = {a: plain._policies for a in plain._field_policies}
    for case in TABLE:
        request = case.request()
        first, again = ENGINE.decide(request), ENGINE.decide(request)
        assert first == again == plain.decide(request), case.id


def test_masked_view_applied_to_a_person() -> None:
    decision = ENGINE.decide(TABLE[3].request())
    person = {
        "name": "王小明",
        "resident_id": "11010519491231002X",
        "phones": ["+8613812345678", "+8613900001111"],
        "date_of_birth": "1949-12-31",
        "place_of_birth": "北京市东城区",
        "sex": "M",
        "region": REGION,
    }
    assert apply(decision, person) == {
        "name": "王*",
        "resident_id": "110105********002X",
        "phones": ["+86 138****5678", "+86 139****1111"],
        "date_of_birth": "1949",
        "sex": "M",
        "region": REGION,
    }


def test_invariants_over_every_combination() -> None:
    """Role x action x purpose x collection x record kind x break-glass: what must never be."""
    roles = [
        "call_taker",
        "investigator",
        "supervisor",
        "auditor",
        "admin",
        "citizen",
        "analyst",
        "nobody",
    ]
    actions = sorted(policy.ACTIONS)
    records: dict[str, dict[str, Any]] = {
        "on-case": {},
        "protected": {"protected": True},
        "other-region": {"record_region": "310000"},
        "own": {"subject": "T-1"},
    }
    glass = [(False, None), (True, JUST), (True, "")]
    count = 0
    for role, action, purpose, collection, kind, (bg, just) in itertools.product(
        roles, actions, PURPOSES.codes(), ["person", "incident"], records, glass
    ):
        if action in COLLECTION_ACTIONS and kind != "on-case":
            continue  # no record: the record kinds are all the same request
        case = Case(
            role,
            action,
            collection,
            purpose,
            False,
            case_ref="C1",
            assigned=C1,
            token="T-1",
            break_glass=bg,
            justification=just,
            **records[kind],
        )
        d = ENGINE.decide(case.request())
        count += 1
        if not d.allowed:
            assert set(d.fields.values()) <= {"hidden"}
            continue
        where = (role, action, purpose, collection, kind, bg)
        assert role in {"call_taker", "investigator", "supervisor", "citizen"}, where
        assert kind != "other-region", where
        assert kind != "protected" or (role == "supervisor" and bg), where
        assert not PURPOSES.get(purpose).covert or role in {"investigator", "supervisor"}, where
        assert (purpose == "SELF") == (role == "citizen"), where
        assert purpose not in {"AUDIT", "ADMIN", "STATS"}, where
        assert d.break_glass == bg, where
        if bg:
            assert role in {"investigator", "supervisor"} and just, where
        if role == "citizen":
            assert kind == "own" and collection == "person" and action == "read", where
        if role == "call_taker" and collection == "person" and action == "read":
            assert d.fields == PERSON_CALL_VIEW, where
        if action in {"read", "reveal"}:
            assert d.fields, where
        else:
            assert d.fields == {}, where
    assert count == 8 * (5 * 4 + 3) * len(PURPOSES.codes()) * 2 * 3


# -- fail closed ---------------------------------------------------------------------------


def _allowed_cases() -> list[Case]:
    return [c for c in TABLE if c.allowed]


def test_an_empty_policy_directory_denies_everything(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="strongroom.policy"):
        engine = PolicyEngine.from_directory(tmp_path)
    assert "empty" in caplog.text
    for case in _allowed_cases():
        decision = engine.decide(case.request())
        assert decision.allowed is False, case.id
        assert decision.reasons == []
    assert check_policies(tmp_path) == [f"{tmp_path}: no policies: every request would be denied"]


def test_a_directory_of_comments_only_denies_everything(tmp_path: Path) -> None:
    (tmp_path / "notes.cedar").write_text("// nothing here yet\n")
    engine = PolicyEngine.from_directory(tmp_path)
    assert not any(engine.decide(c.request()).allowed for c in _allowed_cases())
    assert len(check_policies(tmp_path)) == 1


def _copy_shipped(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    target.mkdir()
    for entry in shipped_policy_dir().iterdir():
        if entry.name.endswith(".cedar"):
            (target / entry.name).write_text(entry.read_text("utf-8"))
    return target


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            '@id("x") permit(principal, action, resource) when { principal.role == };',
            "broken.cedar: syntax error",
            id="syntax-error",
        ),
        pytest.param(
            '@id("x") permit(principal, acton, resource);',
            "broken.cedar: syntax error",
            id="bad-scope-variable",
        ),
        pytest.param(
            '@id("x") permit(principal, action, resource is Record) when { resource.owner == "" };',
            "broken.cedar: x: ",
            id="unknown-attribute",
        ),
        pytest.param(
            '@id("x") permit(principal, action == Action::"peek", resource);',
            "broken.cedar: x: ",
            id="unknown-action",
        ),
        pytest.param(
            '@id("x") permit(principal, action, resource) when { context.hour == "ten" };',
            "broken.cedar: x: ",
            id="type-error",
        ),
        pytest.param(
            'permit(principal, action, resource is Collection) when { resource.name == "x" };',
            "broken.cedar: policy 1 (permit) has no @id(...)",
            id="missing-id",
        ),
        pytest.param(
            '@id("guard.record_region") forbid(principal, action, resource) when { false };',
            "guards.cedar: @id('guard.record_region') also used in broken.cedar",
            id="duplicate-id",
        ),
        pytest.param(
            '@id("t") permit(principal == ?principal, action, resource);',
            "broken.cedar: templates",
            id="template",
        ),
    ],
)
def test_a_broken_policy_set_refuses_to_load(tmp_path: Path, text: str, problem: str) -> None:
    directory = _copy_shipped(tmp_path)
    (directory / "broken.cedar").write_text(text)
    problems = check_policies(directory)
    assert any(p.startswith(problem) for p in problems), problems
    with pytest.raises(PolicyError, match="refusing to start"):
        PolicyEngine.from_directory(directory)


def test_shipped_policies_check_clean() -> None:
    assert check_policies() == []
    assert check_policies(Path(str(shipped_policy_dir()))) == []


def test_check_of_a_missing_directory(tmp_path: Path) -> None:
    assert check_policies(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: not a directory of policies"
    ]
    with pytest.raises(PolicyError, match="not a directory"):
        PolicyEngine.from_directory(tmp_path / "nope")


def test_undecodable_policy_file(tmp_path: Path) -> None:
    (tmp_path / "bad.cedar").write_bytes(b"\xff\xfe permit")
    assert "cannot read policies" in check_policies(tmp_path)[0]
    with pytest.raises(PolicyError, match="cannot read policies"):
        PolicyEngine.from_directory(tmp_path)


def test_deny_wins_over_a_permit_everything(tmp_path: Path) -> None:
    directory = _copy_shipped(tmp_path)
    (directory / "zz_open.cedar").write_text('@id("open") permit(principal, action, resource);\n')
    engine = PolicyEngine.from_directory(directory)
    for case in TABLE:
        if not case.because or case.allowed:
            continue  # only rows denied by a named forbid stay denied
        decision = engine.decide(case.request())
        assert decision.allowed is False, case.id
        assert "open" not in decision.reasons
    # and where nothing forbids, the permit-everything now allows (it is a real permit)
    analyst_search = Case("analyst", "search", "statistics", "CASE", False, case_ref="C1")
    assert engine.decide(analyst_search.request()).allowed


def test_deny_wins_in_one_text() -> None:
    engine = PolicyEngine.from_text(
        '@id("all") permit(principal, action, resource);\n'
        '@id("no-phones") forbid(principal, action == Action::"read_full", resource is Field)'
        ' when { resource.name == "phones" };\n'
    )
    request = replace(TABLE[0], action="read", label="x").request()
    decision = engine.decide(request)
    assert decision.allowed
    assert decision.fields["phones"] == "masked"
    assert decision.fields["name"] == "full"
    assert "no-phones" not in decision.reasons  # a forbid that capped a field is not a reason


def test_a_cedar_failure_is_a_denial(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = PolicyEngine.from_directory(cache_size=0)
    request = TABLE[3].request()
    assert engine.decide(request).allowed

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", boom)
    with caplog.at_level(logging.WARNING, logger="strongroom.policy"):
        decision = engine.decide(request)
    assert decision == Decision.deny(PERSON)
    assert "RuntimeError" in caplog.text
    assert "exploded" not in caplog.text


def test_a_failure_in_the_field_phase_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = PolicyEngine.from_directory(cache_size=0)
    request = TABLE[3].request()
    real = cedarpy.is_authorized_batch

    def second_call_fails(queries: list[dict[str, Any]], *args: Any, **kw: Any) -> Any:
        if queries[0]["resource"]["type"] == "Field":
            raise ValueError("bad entities")
        return real(queries, *args, **kw)

    monkeypatch.setattr(cedarpy, "is_authorized_batch", second_call_fails)
    decision = engine.decide(request)
    assert decision.allowed is False
    assert set(decision.fields.values()) == {"hidden"}


def test_an_answer_with_evaluation_errors_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = PolicyEngine.from_directory(cache_size=0)
    request = TABLE[3].request()
    real = cedarpy.is_authorized_batch

    def allow_with_error(*args: Any, **kw: Any) -> list[cedarpy.AuthzResult]:
        results = real(*args, **kw)
        return [
            cedarpy.AuthzResult(
                {"decision": "Allow", "diagnostics": {"reason": [], "errors": ["overflow"]}}
            )
            for _ in results
        ]

    monkeypatch.setattr(cedarpy, "is_authorized_batch", allow_with_error)
    assert engine.decide(request).allowed is False


def test_a_wrong_number_of_answers_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = PolicyEngine.from_directory(cache_size=0)
    monkeypatch.setattr(cedarpy, "is_authorized_batch", lambda *a, **k: [])
    assert engine.decide(TABLE[3].request()).allowed is False


# -- malformed requests raise ----------------------------------------------------------------


def _good() -> AccessRequest:
    return TABLE[3].request()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"action": "peek"}, "action: unknown action", id="unknown-action"),
        pytest.param({"record": None}, "record: action read needs", id="record-missing"),
        pytest.param(
            {"action": "search", "index": "phone"},
            "record: action search is on a collection",
            id="record-on-collection-action",
        ),
        pytest.param(
            {"now": dt.datetime(2025, 1, 1, 10)}, "now: must be a timezone-aware", id="naive-now"
        ),
        pytest.param(
            {"purpose": PURPOSES.get("CASE"), "case_ref": None},
            "purpose.case_ref: purpose CASE requires a case ref",
            id="case-ref-missing",
        ),
        pytest.param(
            {"purpose": PURPOSES.get("COVERT-CASE"), "case_ref": "  "},
            "purpose.case_ref",
            id="case-ref-blank",
        ),
        pytest.param({"purpose": "CALL"}, "purpose: every request", id="purpose-not-registered"),
        pytest.param({"break_glass": 1}, "break_glass: must be", id="break-glass-not-bool"),
        pytest.param({"collection": ""}, "collection: must be", id="no-collection"),
        pytest.param({"principal": None}, "principal: every request", id="no-principal"),
    ],
)
def test_malformed_requests_raise(change: dict[str, Any], message: str) -> None:
    request = replace(_good(), **change)
    with pytest.raises(PolicyError, match=message):
        ENGINE.decide(request)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"id": ""}, "principal.id"),
        ({"role": 3}, "principal.role"),
        ({"case_refs": "C1"}, "principal.case_refs"),
        ({"case_refs": [1]}, "principal.case_refs"),
    ],
)
def test_malformed_principal(kwargs: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {"id": "u", "role": "investigator", "unit": "U1", "region": REGION}
    with pytest.raises(PolicyError, match=message):
        Principal(**{**base, **kwargs})


def test_principal_and_record_normalise_sets() -> None:
    p = Principal("u", "investigator", "U1", REGION, case_refs=["C1", "", "C1"])  # type: ignore[arg-type]
    assert p.case_refs == frozenset({"C1"})
    r = RecordFacts("r", REGION, case_refs={"C2"})  # type: ignore[arg-type]
    assert r.case_refs == frozenset({"C2"})
    with pytest.raises(PolicyError, match=r"record\.protected"):
        RecordFacts("r", REGION, protected="yes")  # type: ignore[arg-type]


# -- purposes --------------------------------------------------------------------------------


def test_shipped_purposes() -> None:
    assert PURPOSES.codes() == [
        "CASE",
        "COVERT-CASE",
        "CALL",
        "SELF",
        "AUDIT",
        "ADMIN",
        "STATS",
        "leak-investigation",
        "DEMO",
    ]
    case = PURPOSES.get("CASE")
    assert case.case_ref_required and not case.covert
    covert = PURPOSES.get("COVERT-CASE")
    assert covert.case_ref_required and covert.covert
    assert not PURPOSES.get("leak-investigation").covert
    assert [p.code for p in PURPOSES if p.covert] == ["COVERT-CASE"]
    assert all(p.description and p.legal_basis for p in PURPOSES)
    assert len(PURPOSES) == 9


def test_purpose_lookup_ignores_case_and_returns_the_registered_spelling() -> None:
    assert PURPOSES.get("demo").code == "DEMO"
    assert PURPOSES.get(" Leak-Investigation ").code == "leak-investigation"
    assert "case" in PURPOSES
    assert "nope" not in PURPOSES


@pytest.mark.parametrize("code", ["investigation", "", "   ", "CASE2"])
def test_unknown_purpose(code: str) -> None:
    with pytest.raises(PolicyError, match=r"^purpose: "):
        PURPOSES.get(code)


def test_resolve_checks_the_case_ref() -> None:
    assert PURPOSES.resolve("CASE", "C1").code == "CASE"
    assert PURPOSES.resolve("CALL", None).code == "CALL"
    with pytest.raises(PolicyError, match=r"purpose\.case_ref"):
        PURPOSES.resolve("COVERT-CASE", None)
    with pytest.raises(PolicyError, match="unknown purpose code 'x'"):
        PURPOSES.resolve("x", "C1")


def test_purpose_error_is_a_strongroom_error() -> None:
    assert issubclass(PolicyError, StrongroomError)
    assert issubclass(DeniedError, PolicyError)
    assert PolicyError.exit_code == DeniedError.exit_code == 9


_GOOD_PURPOSE = """
[[purpose]]
code = "X"
description = "d"
legal_basis = "l"
case_ref_required = false
covert = false
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("", "declares no", id="empty"),
        pytest.param("[[purpose]\n", "cannot read", id="bad-toml"),
        pytest.param(_GOOD_PURPOSE + "[other]\n", "unknown table", id="unknown-table"),
        pytest.param(_GOOD_PURPOSE + _GOOD_PURPOSE.replace('"X"', '"x"'), "twice", id="dupe"),
        pytest.param(_GOOD_PURPOSE.replace("covert = false", ""), "covert: missing", id="miss"),
        pytest.param(_GOOD_PURPOSE.replace("covert = false", 'covert = "no"'), "true or false"),
        pytest.param(_GOOD_PURPOSE + "extra = 1\n", "extra: unknown key", id="unknown-key"),
        pytest.param(_GOOD_PURPOSE.replace('"X"', '"a b"'), "code: letters", id="bad-code"),
        pytest.param(_GOOD_PURPOSE.replace('"d"', '" "'), "description: must", id="blank"),
        pytest.param("purpose = 3\n", "declares no", id="not-a-list"),
        pytest.param("purpose = [3]\n", "must be a table", id="not-a-table"),
    ],
)
def test_broken_purpose_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "purposes.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message):
        PurposeRegistry.load(path)


def test_purpose_file_missing(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the purpose registry"):
        PurposeRegistry.load(tmp_path / "nope.toml")


def test_own_purpose_file(tmp_path: Path) -> None:
    path = tmp_path / "purposes.toml"
    path.write_text(_GOOD_PURPOSE)
    registry = PurposeRegistry.load(path)
    assert registry.codes() == ["X"]
    assert repr(registry) == "PurposeRegistry(['X'])"
    assert registry.get("x") == PurposeDef("X", "d", "l", False, False)


# -- masks -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("11010519491231002X", "110105********002X"),
        ("110105491231002", "110105*****1002"),
        ("1234", "****"),
        ("", "****"),
    ],
)
def test_mask_resident_id(value: str, masked: str) -> None:
    assert mask_resident_id(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+8613812345678", "+86 138****5678"),
        ("+861012345678", "+86 101***5678"),
        ("+4930123456", "+49 301*3456"),
        ("+3545512345", "+354 *****45"),
        ("not a phone", "****"),
        ("+86", "****"),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("王小明", "王*"),
        ("Anna Müller", "A*"),
        (" 欧阳娜娜 ", "欧*"),
        ("王", "王*"),
        ("", "*"),
    ],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1949-10-01", "1949"),
        (dt.date(1949, 10, 1), "1949"),
        ("1949-10-01T00:00:00", "1949"),
        ("October 1949", "****"),
    ],
)
def test_mask_date_of_birth(value: str | dt.date, masked: str) -> None:
    assert mask_date_of_birth(value) == masked


def test_apply_masks_hides_and_releases() -> None:
    decision = Decision(
        True,
        {
            "name": "masked",
            "phones": "masked",
            "date_of_birth": "masked",
            "narrative": "masked",
            "sex": "full",
            "place_of_birth": "hidden",
        },
    )
    record = {
        "name": "Anna Müller",
        "phones": ["+8613812345678", None],
        "date_of_birth": dt.date(1990, 5, 17),
        "narrative": "no mask exists for free text",
        "sex": "F",
        "place_of_birth": "Berlin",
        "region": REGION,
    }
    assert apply(decision, record) == {
        "name": "A*",
        "phones": ["+86 138****5678", None],
        "date_of_birth": "1990",
        "sex": "F",
    }
    assert apply(decision, {"phones": None}) == {"phones": None}
    assert apply(decision, {"narrative": "x"}, types={"narrative": "name"}) == {"narrative": "x*"}
    assert apply(Decision.deny(["name"]), record) == {}
    assert apply(Decision(False, {"name": "full"}), record) == {}


# -- combinators -----------------------------------------------------------------------------


def test_allof_refuses_to_be_empty() -> None:
    with pytest.raises(PolicyError, match="AllOf"):
        AllOf([])
    with pytest.raises(PolicyError, match="is not a Policy"):
        AllOf([object()])  # type: ignore[list-item]


def test_allof_takes_the_least_of_each_field() -> None:
    capped = PolicyEngine.from_text(
        '@id("all") permit(principal, action, resource);\n'
        '@id("cap") forbid(principal, action == Action::"read_full", resource is Field)'
        ' when { resource.name == "name" };\n'
    )
    request = Case("investigator", "read", "person", "CASE", True, case_ref="C1", assigned=C1)
    both = AllOf([ENGINE, capped]).decide(request.request())
    assert both.allowed
    assert both.fields == {**PERSON_FULL, "name": "masked"}
    assert "case.assigned_records" in both.reasons and "all" in both.reasons
    denied = AllOf([ENGINE, PolicyEngine.from_text("")]).decide(request.request())
    assert denied.allowed is False
    assert set(denied.fields.values()) == {"hidden"}


def test_unsafe_allow_all_logs_every_decision(caplog: pytest.LogCaptureFixture) -> None:
    unsafe = UnsafeAllowAll(policy.builtin_fields())
    with caplog.at_level(logging.WARNING, logger="strongroom.policy"):
        decision = unsafe.decide(_good())
    assert decision == Decision(True, PERSON_FULL, False, ["UnsafeAllowAll"])
    assert "UnsafeAllowAll allowed read on person" in caplog.text
    search = Case("analyst", "search", "person", "STATS", False).request()
    assert unsafe.decide(search).fields == {}
    with pytest.raises(PolicyError):
        unsafe.decide(replace(_good(), action="peek"))


def test_authorize_raises_when_denied() -> None:
    assert authorize(ENGINE, _good()).allowed
    denied = Case("analyst", "read", "person", "STATS", False).request()
    with pytest.raises(DeniedError, match=r"denied: read on person \(guard\."):
        authorize(ENGINE, denied)
    with pytest.raises(DeniedError, match="no policy permits it"):
        authorize(ENGINE, Case("janitor", "read", "person", "CALL", False).request())


def test_engine_is_a_policy_and_describes_itself() -> None:
    assert isinstance(ENGINE, policy.Policy)
    assert repr(ENGINE).endswith("39 policies)")
    assert ENGINE.fields_of("person") == PERSON
    assert ENGINE.fields_of("incident") == INCIDENT
    assert ENGINE.fields_of("vehicle") == ()


def test_own_collections_and_unknown_collection_release_nothing() -> None:
    engine = PolicyEngine.from_text(
        '@id("all") permit(principal, action, resource);', collections={"vehicle": ["plate"]}
    )
    vehicle = replace(_good(), collection="vehicle")
    assert engine.decide(vehicle).fields == {"plate": "full"}
    person = engine.decide(_good())
    assert person.allowed and person.fields == {}


def test_cache_size_is_checked_and_bounded() -> None:
    with pytest.raises(PolicyError, match="cache_size"):
        PolicyEngine.from_text("", cache_size=-1)
    engine = PolicyEngine.from_directory(cache_size=2)
    for case in TABLE:
        engine.decide(case.request())
    assert len(engine._cache) <= 2


def test_justified_requests_are_not_remembered() -> None:
    engine = PolicyEngine.from_directory()
    row = next(c for c in TABLE if c.label == "justified-phones-full")
    engine.decide(row.request())
    assert engine._cache == {}
    engine.decide(TABLE[3].request())
    assert len(engine._cache) == 1


def test_public_names() -> None:
    assert sorted(policy.__all__) == sorted(
        [
            "ACTIONS",
            "MASKS",
            "AccessRequest",
            "AllOf",
            "Decision",
            "DeniedError",
            "FieldLevel",
            "Policy",
            "PolicyEngine",
            "PolicyError",
            "Principal",
            "PurposeDef",
            "PurposeRegistry",
            "RecordFacts",
            "UnsafeAllowAll",
            "apply",
            "authorize",
            "builtin_fields",
            "check_policies",
            "mask_date_of_birth",
            "mask_name",
            "mask_phone",
            "mask_resident_id",
            "shipped_policy_dir",
        ]
    )
    for name in policy.__all__:
        assert getattr(policy, name) is not None


def test_shipped_policy_files_are_package_data() -> None:
    names = {entry.name for entry in shipped_policy_dir().iterdir()}
    assert {"strongroom.cedarschema", "purposes.toml", "guards.cedar"} <= names


def test_the_cedar_examples_in_the_docs_check_clean(tmp_path: Path) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "policy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```cedar\n(.*?)```", doc, re.S)
    assert blocks
    directory = _copy_shipped(tmp_path)
    (directory / "local.cedar").write_text("\n".join(blocks))
    assert check_policies(directory) == []
