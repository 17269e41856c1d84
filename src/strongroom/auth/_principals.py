"""Principals — users and service accounts — and the store that keeps them.

A principal is *who* asks: an id (a short, pseudonymous code, never a name or an e-mail
address), a kind, a set of roles, an organisational unit, a home region, the case references
it is assigned to, and — for citizens only — ``citizen_subject``, the HMAC token of the
citizen's resident ID (computed elsewhere; the resident ID itself never reaches this module).
"""

from __future__ import annotations

import builtins
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from strongroom.auth._tables import principal_cases, principals
from strongroom.auth._time import from_ms, to_ms, utc_now
from strongroom.errors import ConflictError, FieldError, NotFoundError, StoreError, ValidationError

#: every role a principal can hold (what each may do is the policy's business)
ROLES: Final = frozenset(
    {
        "call_taker",
        "investigator",
        "supervisor",
        "auditor",
        "admin",
        "citizen",
        "analyst",
        "approver",
    }
)
#: the kinds of principal
PRINCIPAL_KINDS: Final = frozenset({"user", "service"})

PrincipalKind = Literal["user", "service"]

# lower-case only, so that "Admin" and "admin" cannot be two principals; no "@" (ids are
# pseudonymous codes, not e-mail addresses) and no ":" (reserved for "oidc:<sub>")
_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_UNIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,31}")
_REGION = re.compile(r"[A-Z0-9][A-Z0-9-]{1,15}")  # as the ``region`` field type
_CASE = re.compile(r"[^\W_][\w/.:()\[\]-]{0,63}")  # as the ``code`` field type (case_ref)
_RESIDENT_ID_LIKE = re.compile(rb"\s*\d{17}[\dXx]\s*")
_SUBJECT_MIN, _SUBJECT_MAX = 16, 64


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated (or stored) user or service account. Immutable.

    ``id`` is ``oidc:<sub>`` for principals that came from an OIDC bearer token; those are not
    in the :class:`PrincipalStore`.
    """

    id: str
    kind: PrincipalKind
    roles: frozenset[str]
    unit: str | None
    home_region: str | None
    case_refs: frozenset[str] = frozenset()
    #: HMAC token of the citizen's resident ID (citizens only); opaque, never the ID itself
    citizen_subject: bytes | None = field(default=None, repr=False)
    disabled: bool = False
    created_at: datetime | None = None

    def has_role(self, role: str) -> bool:
        return role in self.roles


# -- validation (each raises ValidationError naming the field) ----------------------------
def check_principal_id(value: Any, field: str = "id") -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValidationError.single(
            field,
            "must be 1-64 lower-case letters, digits, '_', '.' or '-', starting with a letter "
            "or digit",
        )
    return value


def check_roles(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError.single("roles", "must be a set of role names")
    try:
        roles = frozenset(value)
    except TypeError:
        raise ValidationError.single("roles", "must be a set of role names") from None
    if not roles:
        raise ValidationError.single("roles", "must name at least one role")
    if not roles <= ROLES:
        raise ValidationError.single(
            "roles", f"unknown role; each must be one of: {', '.join(sorted(ROLES))}"
        )
    return roles


def check_unit(value: Any, field: str = "unit") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _UNIT.fullmatch(value.strip()):
        raise ValidationError.single(
            field, "must be an organisational code: 1-32 letters, digits, '_', '.', '/' or '-'"
        )
    return value.strip()


def check_region(value: Any, field: str = "home_region") -> str | None:
    if value is None:
        return None
    v = unicodedata.normalize("NFKC", value).strip().upper() if isinstance(value, str) else None
    if v is None or not _REGION.fullmatch(v):
        raise ValidationError.single(
            field, "must be a jurisdiction code of 2-16 letters, digits or '-'"
        )
    return v


def check_case_ref(value: Any, field: str = "case_ref") -> str:
    """Normalised as the ``code`` field type normalises an incident's ``case_ref``."""
    v = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else None
    if v is None or not _CASE.fullmatch(v):
        raise ValidationError.single(
            field,
            "must be a case reference of at most 64 letters, digits and / _ . : - ( ) [ ] "
            "(starting with a letter or digit)",
        )
    return v


def check_citizen_subject(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            raise ValidationError.single(
                "citizen_subject", "must be bytes or a hex string"
            ) from None
    if not isinstance(value, bytes):
        raise ValidationError.single("citizen_subject", "must be bytes or a hex string")
    if _RESIDENT_ID_LIKE.fullmatch(value):
        raise ValidationError.single(
            "citizen_subject",
            "must be the HMAC token of the resident ID, never the resident ID itself",
        )
    if not _SUBJECT_MIN <= len(value) <= _SUBJECT_MAX:
        raise ValidationError.single(
            "citizen_subject", f"must be {_SUBJECT_MIN}-{_SUBJECT_MAX} bytes (an HMAC token)"
        )
    return value


def _check_combination(
    kind: str, roles: frozenset[str], citizen_subject: bytes | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    if "citizen" in roles:
        if roles != {"citizen"}:
            errors.append(FieldError("roles", "a citizen holds no other role"))
        if kind != "user":
            errors.append(FieldError("kind", "a citizen must be a user, not a service account"))
        if citizen_subject is None:
            errors.append(
                FieldError("citizen_subject", "a citizen must be bound to their resident ID token")
            )
    elif citizen_subject is not None:
        errors.append(FieldError("citizen_subject", "only a citizen has a citizen_subject"))
    return errors


# -- rows ------------------------------------------------------------------------------------
def _row_to_principal(row: Any, case_refs: Iterable[str]) -> Principal:
    return Principal(
        id=row.id,
        kind=row.kind,
        roles=frozenset(r for r in row.roles.split(",") if r),
        unit=row.unit,
        home_region=row.home_region,
        case_refs=frozenset(case_refs),
        citizen_subject=bytes(row.citizen_subject) if row.citizen_subject is not None else None,
        disabled=bool(row.disabled),
        created_at=from_ms(int(row.created_at)),
    )


def load_principal(conn: sa.Connection, principal_id: str) -> Principal | None:
    """The principal with its case assignments, read on ``conn`` (``None`` when unknown)."""
    row = conn.execute(sa.select(principals).where(principals.c.id == principal_id)).first()
    if row is None:
        return None
    refs = conn.execute(
        sa.select(principal_cases.c.case_ref).where(principal_cases.c.principal_id == principal_id)
    ).scalars()
    return _row_to_principal(row, refs)


def _store_error(what: str, exc: SQLAlchemyError) -> StoreError:
    return StoreError(f"{what} failed ({exc.__class__.__name__})")


class PrincipalStore:
    """Users and service accounts in the record database (tables from migration r0002)."""

    def __init__(self, engine: sa.Engine, *, _clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self._clock = _clock

    def add(
        self,
        principal_id: str,
        *,
        roles: Iterable[str],
        kind: PrincipalKind = "user",
        unit: str | None = None,
        home_region: str | None = None,
        case_refs: Iterable[str] = (),
        citizen_subject: bytes | str | None = None,
    ) -> Principal:
        """Create a principal. Raises ValidationError (naming each bad field) or ConflictError
        when the id is taken."""
        errors: list[FieldError] = []
        checked: dict[str, Any] = {}
        checks: Mapping[str, Callable[[], Any]] = {
            "id": lambda: check_principal_id(principal_id),
            "kind": lambda: _check_kind(kind),
            "roles": lambda: check_roles(roles),
            "unit": lambda: check_unit(unit),
            "home_region": lambda: check_region(home_region),
            "case_refs": lambda: _check_case_refs(case_refs),
            "citizen_subject": lambda: check_citizen_subject(citizen_subject),
        }
        for name, check in checks.items():
            try:
                checked[name] = check()
            except ValidationError as exc:
                errors.extend(exc.errors)
        if not errors:
            errors = _check_combination(
                checked["kind"], checked["roles"], checked["citizen_subject"]
            )
        if errors:
            raise ValidationError(errors)
        now = to_ms(self._clock())
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    principals.insert().values(
                        id=checked["id"],
                        kind=checked["kind"],
                        roles=",".join(sorted(checked["roles"])),
                        unit=checked["unit"],
                        home_region=checked["home_region"],
                        citizen_subject=checked["citizen_subject"],
                        disabled=False,
                        created_at=now,
                    )
                )
                for ref in sorted(checked["case_refs"]):
                    conn.execute(
                        principal_cases.insert().values(
                            principal_id=checked["id"], case_ref=ref, assigned_at=now
                        )
                    )
                added = load_principal(conn, checked["id"])
        except IntegrityError:
            raise ConflictError(
                FieldError("id", "a principal with this id already exists")
            ) from None
        except SQLAlchemyError as exc:
            raise _store_error("adding the principal", exc) from exc
        if added is None:  # pragma: no cover - written in the same transaction
            raise StoreError("the principal just added could not be read back")
        return added

    def get(self, principal_id: str) -> Principal:
        """The principal; NotFoundError when there is none with this id."""
        pid = check_principal_id(principal_id, "principal_id")
        try:
            with self.engine.connect() as conn:
                found = load_principal(conn, pid)
        except SQLAlchemyError as exc:
            raise _store_error("reading the principal", exc) from exc
        if found is None:
            raise NotFoundError("no principal with this id")
        return found

    def list(self, *, include_disabled: bool = True) -> builtins.list[Principal]:
        """Every principal, ordered by id."""
        query = sa.select(principals).order_by(principals.c.id)
        if not include_disabled:
            query = query.where(principals.c.disabled == sa.false())
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
                cases: dict[str, builtins.list[str]] = {}
                for pid, ref in conn.execute(
                    sa.select(principal_cases.c.principal_id, principal_cases.c.case_ref)
                ):
                    cases.setdefault(pid, []).append(ref)
        except SQLAlchemyError as exc:
            raise _store_error("listing principals", exc) from exc
        return [_row_to_principal(r, cases.get(r.id, ())) for r in rows]

    def disable(self, principal_id: str) -> Principal:
        """Disable the principal: from now on none of its tokens authenticates. Idempotent."""
        pid = check_principal_id(principal_id, "principal_id")
        return self._change(
            pid,
            "disabling the principal",
            lambda conn: conn.execute(
                principals.update().where(principals.c.id == pid).values(disabled=True)
            ),
        )

    def assign_case(self, principal_id: str, case_ref: str) -> Principal:
        """Assign the principal to a case. Idempotent."""
        pid = check_principal_id(principal_id, "principal_id")
        ref = check_case_ref(case_ref)

        def assign(conn: sa.Connection) -> None:
            present = conn.execute(
                sa.select(principal_cases.c.case_ref).where(
                    principal_cases.c.principal_id == pid, principal_cases.c.case_ref == ref
                )
            ).first()
            if present is None:
                conn.execute(
                    principal_cases.insert().values(
                        principal_id=pid, case_ref=ref, assigned_at=to_ms(self._clock())
                    )
                )

        return self._change(pid, "assigning the case", assign)

    def unassign_case(self, principal_id: str, case_ref: str) -> Principal:
        """Take the principal off a case. Idempotent."""
        pid = check_principal_id(principal_id, "principal_id")
        ref = check_case_ref(case_ref)
        return self._change(
            pid,
            "unassigning the case",
            lambda conn: conn.execute(
                principal_cases.delete().where(
                    principal_cases.c.principal_id == pid, principal_cases.c.case_ref == ref
                )
            ),
        )

    def _change(self, pid: str, what: str, change: Callable[[sa.Connection], object]) -> Principal:
        try:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    sa.select(principals.c.id).where(principals.c.id == pid).with_for_update()
                ).first()
                if exists is None:
                    raise NotFoundError("no principal with this id")
                change(conn)
                changed = load_principal(conn, pid)
        except IntegrityError:
            # a concurrent, identical assignment won the race: the state is what was asked
            return self.get(pid)
        except SQLAlchemyError as exc:
            raise _store_error(what, exc) from exc
        if changed is None:  # pragma: no cover - checked in the same transaction
            raise StoreError("the principal just changed could not be read back")
        return changed


def _check_kind(value: Any) -> str:
    if value not in PRINCIPAL_KINDS:
        raise ValidationError.single("kind", "must be 'user' or 'service'")
    return str(value)


def _check_case_refs(value: Any) -> frozenset[str]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError.single("case_refs", "must be a set of case references")
    return frozenset(check_case_ref(v, "case_refs") for v in value)
