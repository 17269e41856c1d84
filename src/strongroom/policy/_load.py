"""Reading and checking policy sets: ``*.cedar`` files validated against the shipped schema."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import cedarpy

from strongroom.policy._errors import PolicyError
from strongroom.policy._files import SCHEMA_FILE, shipped_policy_dir, shipped_schema_text


def policy_dir(directory: Path | str | None) -> Path | Traversable:
    """``directory`` as a path; ``None`` is the shipped policy directory."""
    return shipped_policy_dir() if directory is None else Path(directory)


def read_dir(directory: Path | Traversable) -> dict[str, str]:
    """``{file name: text}`` of the ``*.cedar`` files in ``directory``, sorted by name."""
    try:
        if not directory.is_dir():
            raise PolicyError(f"{directory}: not a directory of policies")
        files = sorted(
            (p for p in directory.iterdir() if p.name.endswith(".cedar") and p.is_file()),
            key=lambda p: p.name,
        )
        return {p.name: p.read_text(encoding="utf-8") for p in files}
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{directory}: cannot read policies: {exc}") from exc


def load_schema() -> cedarpy.Schema:
    """The shipped Cedar schema, parsed."""
    try:
        return cedarpy.Schema.from_str(shipped_schema_text())
    except (OSError, ValueError) as exc:  # a broken installation, not an operator error
        raise PolicyError(f"{SCHEMA_FILE}: the shipped Cedar schema is unusable: {exc}") from exc


def _file_problems(name: str, text: str, schema: cedarpy.Schema) -> tuple[list[str], list[str]]:
    """Problems of one policy file, and the ``@id`` of its policies."""
    try:
        doc = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        return [f"{name}: syntax error: {exc}"], []
    problems: list[str] = []
    if doc.get("templates"):
        problems.append(f"{name}: templates (?principal / ?resource slots) are not supported")
    ids: list[str] = []
    by_pid: dict[str, str] = {}
    for n, (pid, policy) in enumerate(doc.get("staticPolicies", {}).items(), start=1):
        annotated = policy.get("annotations", {}).get("id")
        if not annotated:
            problems.append(f"{name}: policy {n} ({policy.get('effect')}) has no @id(...)")
            continue
        ids.append(annotated)
        by_pid[pid] = annotated
    try:
        result = cedarpy.validate_policies(text, schema)
    except ValueError as exc:
        return [*problems, f"{name}: cannot validate: {exc}"], ids
    for error in result.errors:
        label = by_pid.get(error.policy_id, error.policy_id or "policies")
        problems.append(f"{name}: {label}: {error.error}")
    if not result.validation_passed and not result.errors:
        problems.append(f"{name}: validation against the schema failed")
    return problems, ids


def problems_of(files: Mapping[str, str], schema: cedarpy.Schema) -> list[str]:
    """Every problem of a policy set given as ``{file name: text}``."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name, text in files.items():
        file_problems, ids = _file_problems(name, text, schema)
        problems += file_problems
        for policy_id in ids:
            if policy_id in seen:
                problems.append(f"{name}: @id({policy_id!r}) also used in {seen[policy_id]}")
            else:
                seen[policy_id] = name
    return problems


def check_policies(directory: Path | str | None = None) -> list[str]:
    """Validate a policy directory against the schema; returns the problems (empty = OK).

    ``None`` checks the shipped policies. Every ``*.cedar`` file must parse, validate against
    the shipped schema (strict mode), and give every policy a unique ``@id``. A directory with
    no policy at all is reported too: the engine would load it, but deny every request.
    """
    where = policy_dir(directory)
    try:
        files = read_dir(where)
        problems = problems_of(files, load_schema())
    except PolicyError as exc:
        return [str(exc)]
    if not problems and not any(len(cedarpy.PolicySet.from_str(t)) for t in files.values()):
        problems.append(f"{where}: no policies: every request would be denied")
    return problems


def _may_match_action(scope: Mapping[str, Any], action: str) -> bool:
    op = scope.get("op")
    if op == "==":
        return bool(scope.get("entity", {}).get("id") == action)
    if op == "in" and "entities" in scope:
        return any(e.get("id") == action for e in scope["entities"])
    return True  # "All", an action group, or anything newer: keep


def _may_match_field(scope: Mapping[str, Any]) -> bool:
    op = scope.get("op")
    if op == "==":
        return bool(scope.get("entity", {}).get("type") == "Field")
    if op == "is":
        return bool(scope.get("entity_type") == "Field")
    return True  # "All", "in", or anything newer: keep


def field_subset(text: str, action: str) -> cedarpy.PolicySet:
    """The policies of ``text`` whose scope can match a field-level request: a ``Field``
    resource and ``action`` (``read_full`` or ``read_masked``).

    Exact, not a heuristic: Cedar ignores a policy whose scope does not match the request, so
    dropping those policies changes no decision; it only saves evaluating them. Any scope
    form this function does not recognise keeps the policy.
    """
    doc = json.loads(cedarpy.policies_to_json_str(text))
    kept = {
        pid: p
        for pid, p in doc.get("staticPolicies", {}).items()
        if _may_match_action(p.get("action", {}), action)
        and _may_match_field(p.get("resource", {}))
    }
    return cedarpy.PolicySet.from_json_str(
        json.dumps({"staticPolicies": kept, "templates": {}, "templateLinks": []})
    )
