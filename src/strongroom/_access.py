"""Who asks and why: every Vault call carries an :class:`Actor` and a :class:`Purpose`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from strongroom.errors import AccessError

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}")


@dataclass(frozen=True, slots=True)
class Actor:
    """The principal making a call (policy arrives in a later layer)."""

    id: str
    role: str = "system"
    unit: str | None = None
    region: str | None = None

    def check(self) -> None:
        if not isinstance(self.id, str) or not _TOKEN.fullmatch(self.id):
            raise AccessError("actor.id: every call needs an actor id (letters, digits, _.:@/-)")
        if not _TOKEN.fullmatch(self.role):
            raise AccessError("actor.role: must be a role name")


@dataclass(frozen=True, slots=True)
class Purpose:
    """Why the call is made: a purpose code from the registry, and a case ref where needed."""

    code: str
    case_ref: str | None = None

    def check(self) -> None:
        if not isinstance(self.code, str) or not _TOKEN.fullmatch(self.code):
            raise AccessError("purpose.code: every call needs a stated purpose code")
        if self.case_ref is not None and not _TOKEN.fullmatch(self.case_ref):
            raise AccessError("purpose.case_ref: must be a case reference code")


def check_call(actor: Actor, purpose: Purpose) -> None:
    if not isinstance(actor, Actor):
        raise AccessError("actor: every call needs an Actor")
    if not isinstance(purpose, Purpose):
        raise AccessError("purpose: every call needs a Purpose")
    actor.check()
    purpose.check()
