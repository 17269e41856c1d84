"""Schemathesis against the committed ``docs/openapi.json``: generated requests (valid and
invalid), authenticated as several roles, to a real uvicorn server over a SQLite vault.

Every answer must be a documented status with a documented content type and a body that
matches the schema, and none may be a 5xx.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from strongroom import Vault
from strongroom.api import create_app
from tests._server import serving
from tests._world import CASE, PERSON, World, build_world

SCHEMA_PATH: Final = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"

#: the acting roles and the purpose headers each sends
ROLES: Final[dict[str, dict[str, str]]] = {
    "investigator": {"Strongroom-Purpose": "CASE", "Strongroom-Case-Ref": CASE},
    "supervisor": {"Strongroom-Purpose": "CASE", "Strongroom-Case-Ref": CASE},
    "call_taker": {"Strongroom-Purpose": "CALL"},
    "admin": {"Strongroom-Purpose": "ADMIN"},
    "analyst": {"Strongroom-Purpose": "STATS"},
    "citizen": {"Strongroom-Purpose": "SELF"},
    "auditor": {"Strongroom-Purpose": "AUDIT"},
}
#: the roles that may use a route, by path prefix (half of the examples act as one of them,
#: half as any role, so that both the handlers and the refusals are exercised)
FITTING: Final = [
    ("/metrics", ("admin", "auditor")),
    ("/v1/statistics", ("analyst",)),
    ("/v1/users", ("admin",)),
    ("/v1/tokens", ("admin",)),
    ("/v1/persons/{ref}", ("call_taker", "citizen", "investigator", "supervisor")),
    ("/v1/", ("call_taker", "investigator", "supervisor")),
]
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: generated examples per operation and generation mode; some operations have few distinct
#: inputs (``/healthz`` has one), so the total is counted and checked below
EXAMPLES: Final = 50
MIN_REQUESTS: Final = 1000
#: operations that also get the world's real records as path parameters (so that reads,
#: patches and reveals reach the policy and the store, not only a 404)
REAL_REFS: Final = {
    "GET /v1/persons/{ref}": "person",
    "PATCH /v1/persons/{ref}": "person",
    "POST /v1/persons/{ref}/reveal": "person",
    "GET /v1/persons/{ref}/incidents": "person",
    "GET /v1/incidents/{ref}": "incident",
    "PATCH /v1/incidents/{ref}": "incident",
}
#: well-formed bodies from a small pool, tried besides the generated ones: they get past the
#: collection schema, and repeats run into the unique values (409)
BODIES: Final[dict[str, st.SearchStrategy[dict[str, Any]]]] = {
    "POST /v1/users": st.fixed_dictionaries(
        {"id": st.sampled_from(["u1", "u2", "u3"]), "roles": st.sampled_from([["analyst"]])}
    ),
    "POST /v1/persons": st.builds(
        lambda name: {**PERSON, "name": name}, st.sampled_from(["王小明", "李四"])
    ),
    "POST /v1/tokens": st.fixed_dictionaries(
        {"principal": st.sampled_from(["analyst-1", "u1", "nobody"]), "name": st.just("fuzz")}
    ),
}
#: break-glass justifications: percent-encoded text, and percent-encoded bytes that are often
#: not UTF-8
BREAK_GLASS: Final = st.one_of(
    st.none(),
    st.text(max_size=40).map(quote),
    st.binary(max_size=12).map(quote),
)
PROTOCOL_HEADERS: Final = (
    "Authorization",
    "Strongroom-Purpose",
    "Strongroom-Case-Ref",
    "Strongroom-Role",
    "Strongroom-Break-Glass",
)


def _headers(
    case: schemathesis.Case, world: World, role: str, keep_generated: bool, break_glass: str | None
) -> None:
    """The role's credentials and purpose; the generated ``Strongroom-*`` headers are kept
    (so that bad ones are tried) or replaced by the role's (so that requests go deeper)."""
    generated = dict(case.headers or {})
    if keep_generated:
        headers = {**ROLES[role], **generated}
    else:
        headers = {k: v for k, v in generated.items() if k not in PROTOCOL_HEADERS}
        headers.update(ROLES[role])
        if break_glass is not None:
            headers["Strongroom-Break-Glass"] = break_glass
    headers["Authorization"] = f"Bearer {world.tokens[role]}"
    case.headers = headers


def _role(path: str) -> st.SearchStrategy[str]:
    fitting = next((roles for prefix, roles in FITTING if path.startswith(prefix)), ())
    anyone = st.sampled_from(sorted(ROLES))
    return st.one_of(st.sampled_from(fitting), anyone) if fitting else anyone


def _strategy(operation: Any, world: World, mode: GenerationMode) -> st.SearchStrategy[Any]:
    generated = operation.as_strategy(generation_mode=mode)
    kind = REAL_REFS.get(operation.label)
    if kind is None or mode is GenerationMode.NEGATIVE:
        return generated  # type: ignore[no-any-return]
    ref = world.person if kind == "person" else world.incident
    real = operation.as_strategy(generation_mode=mode, path_parameters={"ref": ref})
    return st.one_of(generated, real)


@dataclass
class Run:
    """The server, the world and the tally of one schemathesis run."""

    world: World
    base_url: str
    session: requests.Session
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def fuzz(self, operation: Any, mode: GenerationMode) -> None:
        """``EXAMPLES`` generated requests to one operation, each checked."""

        @given(
            case=_strategy(operation, self.world, mode),
            role=_role(operation.path),
            keep_generated=st.booleans(),
            break_glass=BREAK_GLASS,
            body=st.none() | BODIES.get(operation.label, st.nothing()),
        )
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            # slow only because every example is a request over a socket
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        def run(
            case: schemathesis.Case,
            role: str,
            keep_generated: bool,
            break_glass: str | None,
            body: dict[str, Any] | None,
        ) -> None:
            _headers(case, self.world, role, keep_generated, break_glass)
            if body is not None and mode is GenerationMode.POSITIVE:
                case.body = body
            response = case.call(base_url=self.base_url, session=self.session)
            self.sent[operation.label] += 1
            self.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS)

        run()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
def test_generated_requests_conform_to_the_schema(vault: Vault) -> None:
    world = build_world(vault)
    schema = schemathesis.openapi.from_path(SCHEMA_PATH)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: list[BaseException] = []
    with serving(create_app(world.service)) as base_url, requests.Session() as session:
        run = Run(world, base_url, session)
        for operation in operations:
            raw = operation.definition.raw
            takes_input = bool(raw.get("parameters") or raw.get("requestBody"))
            modes = [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * takes_input
            for mode in modes:
                try:
                    run.fuzz(operation, mode)
                # every operation is tried and all failures reported (schemathesis raises a
                # FailureGroup, which is a BaseExceptionGroup)
                except (Exception, BaseExceptionGroup) as exc:
                    exc.add_note(f"operation: {operation.label} ({mode.value})")
                    failures.append(exc)
    if failures:
        raise BaseExceptionGroup(f"{len(failures)} operations failed", failures)
    total = sum(run.sent.values())
    assert total >= MIN_REQUESTS, f"only {total} requests: {dict(run.sent)}"
    assert len(run.sent) == len(operations), "an operation was not tried"
    # the credentials work: some requests got through authentication and policy
    assert run.statuses[200] + run.statuses[201] > 0, dict(run.statuses)
