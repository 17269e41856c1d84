"""The purpose registry: why an access is made.

Purposes are declared in a TOML file (the shipped default is
``strongroom/policies/purposes.toml``)::

    [[purpose]]
    code = "CASE"
    description = "Investigation of a case"
    legal_basis = "..."
    case_ref_required = true
    covert = false

Codes are looked up ignoring case and returned in their registered spelling; two codes that
differ only by case are refused, so a lookup is never ambiguous.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.policy._errors import PolicyError
from strongroom.policy._files import shipped_policy_dir

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_KEYS = {"code", "description", "legal_basis", "case_ref_required", "covert"}


@dataclass(frozen=True, slots=True)
class PurposeDef:
    """One registered purpose."""

    code: str
    description: str
    legal_basis: str
    case_ref_required: bool
    covert: bool

    def check_case_ref(self, case_ref: str | None) -> None:
        """Raise :class:`PolicyError` when this purpose needs a case ref and none is given."""
        if self.case_ref_required and not (case_ref and case_ref.strip()):
            raise PolicyError(f"purpose.case_ref: purpose {self.code} requires a case ref")


def _shown(code: object) -> str:
    """A code for an error message: repr, bounded (codes are not personal data)."""
    text = repr(code)
    return text if len(text) <= 40 else text[:37] + "..."


class PurposeRegistry:
    """The configured purposes, by code (lookups ignore case). Iterating yields the purposes."""

    __slots__ = ("_by_fold", "_ordered")

    def __init__(self, purposes: list[PurposeDef]) -> None:
        self._ordered: dict[str, PurposeDef] = {}
        self._by_fold: dict[str, PurposeDef] = {}
        for p in purposes:
            fold = p.code.casefold()
            if fold in self._by_fold:
                raise PolicyError(f"purposes: code {p.code} is declared twice (ignoring case)")
            self._by_fold[fold] = p
            self._ordered[p.code] = p

    @classmethod
    def load(cls, path: Path | None = None) -> PurposeRegistry:
        """Read a purposes TOML file; ``None`` reads the shipped default."""
        where = str(path) if path is not None else "purposes.toml"
        try:
            if path is None:
                text = shipped_policy_dir().joinpath("purposes.toml").read_text("utf-8")
            else:
                text = path.read_text(encoding="utf-8")
            doc = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PolicyError(f"{where}: cannot read the purpose registry: {exc}") from exc
        return cls.from_dict(doc, where)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], where: str = "purposes") -> PurposeRegistry:
        """Build a registry from a parsed TOML document (``{"purpose": [...]}``)."""
        extra = set(doc) - {"purpose"}
        if extra:
            raise PolicyError(f"{where}: unknown table {sorted(extra)[0]!r}; expected [[purpose]]")
        raw = doc.get("purpose")
        if not isinstance(raw, list) or not raw:
            raise PolicyError(f"{where}: declares no [[purpose]]")
        return cls([_parse(item, f"{where}: purpose[{i}]") for i, item in enumerate(raw)])

    def get(self, code: str) -> PurposeDef:
        """The purpose registered under ``code`` (ignoring case).

        There is no default: an unknown or missing code raises :class:`PolicyError`, so that
        a request can never proceed without a registered purpose.
        """
        if not isinstance(code, str) or not code.strip():
            raise PolicyError("purpose: every request must state a purpose code")
        found = self._by_fold.get(code.strip().casefold())
        if found is None:
            raise PolicyError(f"purpose: unknown purpose code {_shown(code)}")
        return found

    def resolve(self, code: str, case_ref: str | None) -> PurposeDef:
        """:meth:`get` the purpose and check that a required case ref is given."""
        purpose = self.get(code)
        purpose.check_case_ref(case_ref)
        return purpose

    def codes(self) -> list[str]:
        """The registered codes, in file order."""
        return list(self._ordered)

    def __iter__(self) -> Iterator[PurposeDef]:
        return iter(self._ordered.values())

    def __len__(self) -> int:
        return len(self._ordered)

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and code.strip().casefold() in self._by_fold

    def __repr__(self) -> str:
        return f"PurposeRegistry({list(self._ordered)})"


def _parse(item: object, where: str) -> PurposeDef:
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: must be a table")
    unknown = set(item) - _KEYS
    if unknown:
        raise PolicyError(f"{where}.{sorted(unknown)[0]}: unknown key")
    missing = _KEYS - set(item)
    if missing:
        raise PolicyError(f"{where}.{sorted(missing)[0]}: missing")
    code = item["code"]
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise PolicyError(f"{where}.code: letters, digits, '-' and '_' (at most 64)")
    for key in ("description", "legal_basis"):
        if not isinstance(item[key], str) or not item[key].strip():
            raise PolicyError(f"{where}.{key}: must be a non-empty string")
    for key in ("case_ref_required", "covert"):
        if not isinstance(item[key], bool):
            raise PolicyError(f"{where}.{key}: must be true or false")
    return PurposeDef(
        code=code,
        description=item["description"].strip(),
        legal_basis=item["legal_basis"].strip(),
        case_ref_required=item["case_ref_required"],
        covert=item["covert"],
    )
