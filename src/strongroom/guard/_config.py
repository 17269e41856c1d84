"""Guard settings: the ``[guard]`` table of ``vault.toml``.

Every setting has a default, so a vault without the table is guarded as shipped::

    [guard]
    enabled = true                    # false: no quotas, no honeytoken checks, no detectors
    suspend_on_honeytoken = true      # a honeytoken hit also revokes the reader's API tokens
    grant_minutes = 60                # how long an approved grant for a protected person lasts
    honeytoken_phones = ["17000000000", "17000009999"]   # the owned range canaries' phones use
    webhook_url = ""                  # alerts are POSTed here as JSON (empty: none)
    webhook_attempts = 6              # tries per alert, backing off 1, 2, 4 ... seconds
    timezone_offset_hours = 8         # working hours are local time (UTC+8 by default)

    [guard.quotas.call_taker]         # per role; a missing limit is unlimited
    released_per_minute = 20
    released_per_hour = 150
    released_per_day = 600
    subjects_per_day = 400
    misses_per_hour = 30

    [guard.principals."ct-0042"]      # per-principal overrides of the role's limits
    released_per_day = 900

    [guard.detectors]                 # thresholds of the behavioural rules (see _detect.py)
    working_hours = [7, 20]           # local hours [start, end)
    misses_per_hour = 15
    ...

The table is kept as read (``VaultConfig.guard``) and parsed here, so that an unknown key or a
wrong type is a :class:`ConfigError` naming it when the vault opens, not later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from strongroom.errors import ConfigError

#: quota names, as they appear in settings, problem bodies and alerts
QUOTAS: Final = (
    "released_per_minute",
    "released_per_hour",
    "released_per_day",
    "subjects_per_day",
    "misses_per_hour",
)

#: the shipped quotas per role (roles not listed have none: they release no records)
DEFAULT_QUOTAS: Final[dict[str, dict[str, int]]] = {
    "call_taker": {
        "released_per_minute": 20,
        "released_per_hour": 150,
        "released_per_day": 600,
        "subjects_per_day": 400,
        "misses_per_hour": 30,
    },
    "investigator": {
        "released_per_minute": 40,
        "released_per_hour": 300,
        "released_per_day": 1500,
        "subjects_per_day": 800,
        "misses_per_hour": 60,
    },
    "supervisor": {
        "released_per_minute": 40,
        "released_per_hour": 300,
        "released_per_day": 1500,
        "subjects_per_day": 800,
        "misses_per_hour": 60,
    },
    "citizen": {
        "released_per_minute": 30,
        "released_per_hour": 200,
        "released_per_day": 1000,
        "subjects_per_day": 1,
        "misses_per_hour": 20,
    },
}


@dataclass(frozen=True)
class DetectorConfig:
    """Thresholds of the behavioural detectors (``[guard.detectors]``)."""

    #: local working hours [start, end); access outside them is flagged (low severity)
    working_hours: tuple[int, int] = (7, 20)
    #: released records in one day above ``volume_factor`` x the principal's own daily
    #: baseline (or its role's peers' median) and above ``volume_minimum``
    volume_factor: float = 4.0
    volume_minimum: int = 200
    #: searches without a hit in one hour (enumeration of ID or phone numbers)
    misses_per_hour: int = 15
    #: reads of persons with no case and no incident by the same principal within
    #: ``browse_window_minutes`` that name the person, per day
    browse_per_day: int = 25
    browse_window_minutes: int = 60
    #: reads of the same person without a case by one principal in one day
    repeat_reads: int = 5
    #: denied attempts on another region's records by one principal in one day
    cross_region: int = 1
    #: the roles whose actions the detectors watch (citizens, auditors, admins, analysts and
    #: system jobs are left to the quotas and the policy)
    roles: tuple[str, ...] = ("call_taker", "investigator", "supervisor")
    #: the past local days a baseline looks at, and how many of them a principal must have
    #: worked for its own baseline (volume) or learned working hours to count
    baseline_days: int = 14
    baseline_min_days: int = 3
    #: accesses outside working hours (configured or learned) by one principal in one day
    off_hours_minimum: int = 3
    #: reads of one person closer together than this count as one (search, then read)
    repeat_gap_minutes: int = 10

    @classmethod
    def from_table(cls, table: Any) -> DetectorConfig:
        data = _table(table, "[guard.detectors]", cls)
        if "working_hours" in data:
            wh = data["working_hours"]
            if (
                not isinstance(wh, list)
                or len(wh) != 2
                or not all(isinstance(h, int) and not isinstance(h, bool) for h in wh)
                or not 0 <= wh[0] <= 24
                or not 0 <= wh[1] <= 24
            ):
                raise ConfigError("[guard.detectors] working_hours must be [start, end] hours 0-24")
            data["working_hours"] = (wh[0], wh[1])
        if "roles" in data:
            roles = data["roles"]
            if (
                not isinstance(roles, list)
                or not roles
                or not all(isinstance(r, str) and 0 < len(r) <= 17 for r in roles)
            ):
                raise ConfigError("[guard.detectors] roles must be a list of role names")
            data["roles"] = tuple(roles)
        for name in ("volume_factor",):
            if name in data:
                if isinstance(data[name], bool) or not isinstance(data[name], int | float):
                    raise ConfigError(f"[guard.detectors] {name} must be a number")
                data[name] = float(data[name])
        for f in fields(cls):
            if f.name in data and f.name not in ("working_hours", "volume_factor", "roles"):
                _positive_int(data[f.name], f"[guard.detectors] {f.name}")
        return cls(**data)


@dataclass(frozen=True)
class GuardConfig:
    """The parsed ``[guard]`` table (see the module docstring)."""

    enabled: bool = True
    suspend_on_honeytoken: bool = True
    grant_minutes: int = 60
    honeytoken_phones: tuple[str, str] = ("17000000000", "17000009999")
    webhook_url: str = ""
    webhook_attempts: int = 6
    timezone_offset_hours: int = 8
    #: role -> quota name -> limit
    quotas: Mapping[str, Mapping[str, int]] = field(default_factory=lambda: DEFAULT_QUOTAS)
    #: principal id -> quota name -> limit (overrides the role's)
    principals: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    detectors: DetectorConfig = field(default_factory=DetectorConfig)

    def limits(self, principal_id: str, role: str) -> dict[str, int]:
        """The quotas that hold for one principal acting in one role."""
        out = dict(self.quotas.get(role, {}))
        out.update(self.principals.get(principal_id, {}))
        return out

    @classmethod
    def from_table(cls, table: Any) -> GuardConfig:
        """Parse a ``[guard]`` table (``None``: the defaults)."""
        if table is None:
            return cls()
        data = _table(table, "[guard]", cls)
        for name in ("enabled", "suspend_on_honeytoken"):
            if name in data and not isinstance(data[name], bool):
                raise ConfigError(f"[guard] {name} must be true or false")
        for name in ("grant_minutes", "webhook_attempts"):
            if name in data:
                _positive_int(data[name], f"[guard] {name}")
        if "timezone_offset_hours" in data:
            tz = data["timezone_offset_hours"]
            if isinstance(tz, bool) or not isinstance(tz, int) or not -12 <= tz <= 14:
                raise ConfigError("[guard] timezone_offset_hours must be a whole number -12..14")
        if "webhook_url" in data:
            url = data["webhook_url"]
            if not isinstance(url, str) or (url and not url.startswith(("http://", "https://"))):
                raise ConfigError("[guard] webhook_url must be an http(s) URL or empty")
        if "honeytoken_phones" in data:
            data["honeytoken_phones"] = _phone_range(data["honeytoken_phones"])
        quotas = {r: dict(q) for r, q in DEFAULT_QUOTAS.items()}
        for role, limits in _quota_tables(data.pop("quotas", {}), "[guard.quotas]").items():
            quotas[role] = {**quotas.get(role, {}), **limits}
        data["quotas"] = quotas
        data["principals"] = _quota_tables(data.pop("principals", {}), "[guard.principals]")
        data["detectors"] = DetectorConfig.from_table(data.get("detectors", {}))
        return replace(cls(), **data)


def _table(table: Any, where: str, cls: type[Any]) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    known = {f.name for f in fields(cls)}
    unknown = set(table) - known
    if unknown:
        raise ConfigError(f"{where} unknown settings: {', '.join(sorted(unknown))}")
    return dict(table)


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where} must be a whole number of 1 or more")
    return value


def _quota_tables(value: Any, where: str) -> dict[str, dict[str, int]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of tables")
    out: dict[str, dict[str, int]] = {}
    for who, limits in value.items():
        if not isinstance(limits, Mapping):
            raise ConfigError(f"{where}.{who} must be a table")
        unknown = set(limits) - set(QUOTAS)
        if unknown:
            raise ConfigError(
                f"{where}.{who} unknown quotas: {', '.join(sorted(unknown))} "
                f"(known: {', '.join(QUOTAS)})"
            )
        out[str(who)] = {k: _positive_int(v, f"{where}.{who} {k}") for k, v in limits.items()}
    return out


def _phone_range(value: Any) -> tuple[str, str]:
    ok = (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, str) and len(v) == 11 and v.isdigit() and v[0] == "1" for v in value)
        and value[0] <= value[1]
        and value[0][:7] == value[1][:7]
    )
    if not ok:
        raise ConfigError(
            "[guard] honeytoken_phones must be [first, last] 11-digit mobile numbers "
            "sharing their first 7 digits"
        )
    return (value[0], value[1])
