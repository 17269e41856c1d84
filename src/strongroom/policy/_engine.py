"""The Cedar policy engine: decides each access, per field, from the ``*.cedar`` policy set.

How a request becomes Cedar requests (the schema is ``policies/strongroom.cedarschema``):

1. **Record or collection level.** ``principal`` is the :class:`Principal` entity, ``action``
   the request's action, and ``resource`` the :class:`RecordFacts` as a ``Record`` entity
   (record actions) or the collection as a ``Collection`` entity (search, export, admin).
2. **Field level**, only for the content actions ``read`` and ``reveal`` and only once the
   record-level action is allowed: action ``read_full`` on a ``Field`` entity for every
   top-level field of the collection, then ``read_masked`` for the fields not allowed in full,
   with ``context.operation`` naming the record-level action. A field is ``full`` if
   ``read_full`` is allowed, else ``masked`` if ``read_masked`` is, else ``hidden``.

Deny wins (Cedar ``forbid``); no permit means deny; a result carrying any evaluation error
counts as a deny, and any exception from cedarpy denies the whole request. An empty policy set
therefore denies everything, and a policy set that does not parse, lacks ``@id`` annotations
or fails schema validation is refused when the engine is built. (The requests themselves are
built by this module to the schema's shapes and are not re-validated on every call.)

Speed: the field-level requests of each step go to Cedar in one ``is_authorized_batch``
call, against only the policies whose scope can match a field request (exact: Cedar ignores
the others anyway). Their entities are the principal and the fields only, never the record,
so their answers depend on nothing but (principal, context, collection, record region,
protected flag); the engine remembers them for up to ``cache_size`` such keys. Requests that
carry a justification are never remembered (the text stays out of memory).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cedarpy

from strongroom.policy._errors import PolicyError
from strongroom.policy._load import (
    field_subset,
    load_schema,
    policy_dir,
    problems_of,
    read_dir,
)
from strongroom.policy._model import CONTENT_ACTIONS, AccessRequest, Decision, FieldLevel
from strongroom.schema import builtin_collection

_log = logging.getLogger("strongroom.policy")

_BUILTIN_COLLECTIONS = ("person", "incident")

#: remembered field-level answers: (levels, reasons)
_FieldAnswer = tuple[tuple[tuple[str, FieldLevel], ...], tuple[str, ...]]


def builtin_fields() -> dict[str, tuple[str, ...]]:
    """Top-level field names of the shipped collections, in schema order."""
    return {
        name: tuple(f.name for f in builtin_collection(name).fields)
        for name in _BUILTIN_COLLECTIONS
    }


def _ok(result: cedarpy.AuthzResult) -> bool:
    return result.decision is cedarpy.Decision.Allow and not result.diagnostics.errors


def _reasons(result: cedarpy.AuthzResult) -> list[str]:
    named = result.diagnostics.id_annotations_by_reason
    return sorted(str(named.get(pid, pid)) for pid in result.diagnostics.reasons)


def _count_errors(results: list[cedarpy.AuthzResult]) -> None:
    errors = sum(len(r.diagnostics.errors) for r in results)
    if errors:
        # the messages may quote context values (a justification): log only the count
        _log.warning("policy evaluation had %d error(s): the affected answers are denials", errors)


class PolicyEngine:
    """Decides accesses with a Cedar policy set (see the module docstring).

    Build it with :meth:`from_directory` (the shipped policies by default) or
    :meth:`from_text`; the constructor takes ``{file name: policy text}``. ``collections``
    maps each collection to its top-level field names, in order; the default covers the
    shipped ``person`` and ``incident`` collections, and a content action on a collection not
    listed releases no field. ``cache_size`` bounds the remembered field-level answers
    (``0`` turns remembering off).
    """

    __slots__ = (
        "_cache",
        "_cache_size",
        "_field_policies",
        "_fields",
        "_lock",
        "_policies",
        "source",
    )

    def __init__(
        self,
        policies: Mapping[str, str],
        *,
        collections: Mapping[str, Sequence[str]] | None = None,
        source: str = "<policies>",
        cache_size: int = 4096,
    ) -> None:
        schema = load_schema()
        problems = problems_of(policies, schema)
        if problems:
            shown = "; ".join(problems[:5]) + ("; ..." if len(problems) > 5 else "")
            raise PolicyError(
                f"{source}: {len(problems)} policy problem(s), refusing to start: {shown} "
                "(run 'strongroom policy check' for the full list)"
            )
        text = "\n".join(policies.values())
        try:
            self._policies = cedarpy.PolicySet.from_str(text)
            self._field_policies = {a: field_subset(text, a) for a in ("read_full", "read_masked")}
        except ValueError as exc:
            raise PolicyError(f"{source}: policies do not parse: {exc}") from exc
        if len(self._policies) == 0:
            _log.warning("policy set %s is empty: every request will be denied", source)
        if not isinstance(cache_size, int) or cache_size < 0:
            raise PolicyError("cache_size: must be a whole number, 0 or more")
        fields = builtin_fields() if collections is None else collections
        self._fields: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in fields.items()}
        self._cache: dict[tuple[object, ...], _FieldAnswer] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.source = source

    @classmethod
    def from_directory(
        cls,
        directory: Path | str | None = None,
        *,
        collections: Mapping[str, Sequence[str]] | None = None,
        cache_size: int = 4096,
    ) -> PolicyEngine:
        """Load every ``*.cedar`` file of ``directory`` (a path; ``None``: the shipped set)."""
        where = policy_dir(directory)
        return cls(
            read_dir(where), collections=collections, source=str(where), cache_size=cache_size
        )

    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        collections: Mapping[str, Sequence[str]] | None = None,
        cache_size: int = 4096,
    ) -> PolicyEngine:
        """An engine from one string of Cedar policies (tests, tools)."""
        return cls(
            {"<text>": text}, collections=collections, source="<text>", cache_size=cache_size
        )

    def __repr__(self) -> str:
        return f"PolicyEngine({self.source!r}, {len(self._policies)} policies)"

    def fields_of(self, collection: str) -> tuple[str, ...]:
        """The top-level fields decided for ``collection`` (empty when unknown)."""
        return self._fields.get(collection, ())

    def decide(self, request: AccessRequest) -> Decision:
        """Decide ``request``.

        Raises :class:`PolicyError` only for a malformed request (an unknown action, a
        missing case ref the purpose requires, a naive datetime); every failure inside Cedar
        is a denial.
        """
        request.check()
        content = request.action in CONTENT_ACTIONS
        fields = self.fields_of(request.collection) if content else ()
        principal = self._principal(request)
        context = self._context(request)
        try:
            head = self._record_level(request, principal, context)
        except Exception as exc:  # fail closed on anything cedarpy raises
            _log.warning("policy evaluation failed (%s): denied", type(exc).__name__)
            return Decision.deny(fields)
        _count_errors([head])
        reasons = _reasons(head)
        if not _ok(head):
            return Decision.deny(fields, reasons)
        if not fields:
            return Decision(True, {}, request.break_glass, reasons)
        try:
            levels, field_reasons = self._field_level(request, principal, context, fields)
        except Exception as exc:  # fail closed on anything cedarpy raises
            _log.warning("field policy evaluation failed (%s): denied", type(exc).__name__)
            return Decision.deny(fields)
        return Decision(
            True,
            dict(levels),
            request.break_glass,
            list(dict.fromkeys([*reasons, *field_reasons])),
        )

    # -- building Cedar requests ----------------------------------------------------------

    @staticmethod
    def _principal(request: AccessRequest) -> dict[str, Any]:
        p = request.principal
        return {
            "uid": {"type": "Principal", "id": p.id},
            "attrs": {
                "role": p.role,
                "unit": p.unit,
                "region": p.region,
                "case_refs": sorted(p.case_refs),
                "resident_id_token": p.resident_id_token,
            },
            "parents": [],
        }

    @staticmethod
    def _context(request: AccessRequest) -> str:
        return json.dumps(
            {
                "purpose": request.purpose.code,
                "case_ref": (request.case_ref or "").strip(),
                "covert": request.purpose.covert,
                "break_glass": request.break_glass,
                "justification": (request.justification or "").strip(),
                "hour": request.now.hour,
                "operation": request.action,
                "index": request.index or "",
            },
            ensure_ascii=False,
            sort_keys=True,
        )

    def _record_level(
        self, request: AccessRequest, principal: dict[str, Any], context: str
    ) -> cedarpy.AuthzResult:
        record = request.record
        if record is None:
            uid = {"type": "Collection", "id": request.collection}
            resource = {"uid": uid, "attrs": {"name": request.collection}, "parents": []}
        else:
            uid = {"type": "Record", "id": record.id}
            resource = {
                "uid": uid,
                "attrs": {
                    "collection": request.collection,
                    "region": record.region,
                    "unit": record.unit,
                    "protected": record.protected,
                    "case_refs": sorted(record.case_refs),
                    "subject_token": record.subject_token,
                },
                "parents": [],
            }
        query = {
            "principal": principal["uid"],
            "action": {"type": "Action", "id": request.action},
            "resource": uid,
            "context": context,
        }
        results = cedarpy.is_authorized_batch(
            [query], self._policies, json.dumps([principal, resource])
        )
        if len(results) != 1:
            raise PolicyError("cedar returned the wrong number of answers")
        return results[0]

    def _field_level(
        self,
        request: AccessRequest,
        principal: dict[str, Any],
        context: str,
        fields: tuple[str, ...],
    ) -> _FieldAnswer:
        record = request.record
        if record is None:  # content actions are record actions (checked); defensive
            raise PolicyError("record: content actions need the record's facts")
        p = request.principal
        remember = self._cache_size > 0 and not (request.justification or "").strip()
        key: tuple[object, ...] = (
            p.id,
            p.role,
            p.unit,
            p.region,
            tuple(sorted(p.case_refs)),
            p.resident_id_token,
            context,
            request.collection,
            record.region,
            record.protected,
            fields,
        )
        if remember:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
        entities: list[dict[str, Any]] = [principal]
        for name in fields:
            entities.append(
                {
                    "uid": {"type": "Field", "id": name},
                    "attrs": {
                        "collection": request.collection,
                        "name": name,
                        "region": record.region,
                        "protected": record.protected,
                    },
                    "parents": [],
                }
            )
        parsed = cedarpy.Entities.from_json_str(json.dumps(entities))
        full = self._ask(principal, "read_full", fields, context, parsed)
        rest = [name for name in fields if not _ok(full[name])]
        masked = self._ask(principal, "read_masked", rest, context, parsed) if rest else {}
        levels: list[tuple[str, FieldLevel]] = []
        reasons: list[str] = []
        for name in fields:
            if _ok(full[name]):
                levels.append((name, "full"))
                reasons += _reasons(full[name])
            elif _ok(masked[name]):
                levels.append((name, "masked"))
                reasons += _reasons(masked[name])
            else:
                levels.append((name, "hidden"))
        answer: _FieldAnswer = (tuple(levels), tuple(dict.fromkeys(reasons)))
        if remember:
            with self._lock:
                if len(self._cache) >= self._cache_size:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[key] = answer
        return answer

    def _ask(
        self,
        principal: dict[str, Any],
        action: str,
        fields: Sequence[str],
        context: str,
        entities: cedarpy.Entities,
    ) -> dict[str, cedarpy.AuthzResult]:
        """One field-level action on each of ``fields``, in one batch."""
        queries = [
            {
                "principal": principal["uid"],
                "action": {"type": "Action", "id": action},
                "resource": {"type": "Field", "id": name},
                "context": context,
            }
            for name in fields
        ]
        results = cedarpy.is_authorized_batch(queries, self._field_policies[action], entities)
        if len(results) != len(queries):
            raise PolicyError("cedar returned the wrong number of answers")
        _count_errors(results)
        return dict(zip(fields, results, strict=True))
