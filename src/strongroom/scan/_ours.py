"""Is it ours? Look found resident IDs and mobiles up in a vault, and keep only counts.

Each validated resident ID is resolved through the vault's unique ``resident_id`` blind index
(in batches), each mobile through the ``phone`` index (``Vault.find``), as the calling
principal with the purpose ``leak-investigation``. What comes back is a count of distinct
records of this vault — never a record, a reference or a value: the references are compared
in memory and dropped.

Honeytokens: every found resident ID and mobile is also checked against the key store's
canary marks (``strongroom honeytokens plant``; see docs/guard.md). A canary's values exist
nowhere but in this vault, so one in a file proves the file is a copy of the vault's data;
the report says how many were found, never which.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from strongroom._access import Actor, Purpose
from strongroom.errors import ValidationError
from strongroom.scan._model import Kind
from strongroom.vault import Vault

__all__ = ["PURPOSE", "Ownership", "look_up"]

PURPOSE: Final = "leak-investigation"
_BATCH: Final = 500


@dataclass(frozen=True, slots=True)
class Ownership:
    """Counts only: how many found values were looked up, how many people they are."""

    resident_ids: int  # distinct validated resident IDs looked up
    mobiles: int  # distinct validated mobiles looked up
    people: int  # distinct person records of this vault that hold one of them
    by_resident_id: int  # of those, found through a resident ID
    by_mobile: int  # of those, found through a mobile
    #: found values that belong to a planted canary of this vault
    canaries: int = 0
    #: canary records (persons and incidents) this vault has planted
    planted: int = 0

    @property
    def honeytokens(self) -> str:
        if self.planted == 0:
            return "not checked: this vault has planted no honeytokens"
        if self.canaries == 0:
            return f"none found (the vault has {self.planted:,} canary records)"
        return (
            f"{self.canaries:,} value(s) of planted canaries found: the file holds a copy "
            "of this vault's data"
        )


def look_up(vault: Vault, values: Iterable[tuple[Kind, str]], *, actor: Actor) -> Ownership:
    """Count the vault's person records behind the found resident IDs and mobiles."""
    purpose = Purpose(PURPOSE)
    pairs = set(values)
    ids = sorted(v for k, v in pairs if k == "resident_id")
    phones = sorted(v for k, v in pairs if k == "mobile")
    by_id: set[str] = set()
    for i in range(0, len(ids), _BATCH):
        found = vault.resolve_unique(
            "person", "resident_id", ids[i : i + _BATCH], actor=actor, purpose=purpose
        )
        by_id.update(found.values())
    by_phone: set[str] = set()
    for phone in phones:
        try:
            views = vault.find("person", {"phone": phone}, actor=actor, purpose=purpose)
        except ValidationError:  # a number the vault's phone type refuses: not one of ours
            continue
        by_phone.update(view.ref for view in views)
    from strongroom.guard import HONEYTOKEN_KEY, Honeytokens

    canaries = Honeytokens(vault.engines()[1], vault.keyring.service_key(HONEYTOKEN_KEY))
    planted = canaries.count()
    canary_values = 0
    if planted:
        canary_values = len(canaries.known("resident_id", ids)) + len(
            canaries.known("phone", phones)
        )
    return Ownership(
        len(ids),
        len(phones),
        len(by_id | by_phone),
        len(by_id),
        len(by_phone),
        canaries=canary_values,
        planted=planted,
    )
