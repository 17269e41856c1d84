"""Fast, deterministic synthetic persons and incidents.

Faker (``zh_CN``) is used only once per seed to build pools of surnames, given names, street
names and so on; rows are then assembled from those pools with a :class:`random.Random` seeded
from the seed. Nothing iterates over a set or a hash-ordered mapping to decide output order, so
the output does not depend on ``PYTHONHASHSEED``.

The data are synthetic: names are combined at random, resident IDs are built from real address
codes and random birth dates/sequence numbers (any match with a real person is coincidence).
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from faker import Faker
from faker.providers.phone_number.zh_CN import Provider as _PhoneProvider
from faker.providers.ssn.zh_CN import Provider as _SsnProvider

from strongroom.synth import _tables as T

__all__ = [
    "SynthIncident",
    "SynthPerson",
    "generate_incidents",
    "generate_persons",
]

_X = TypeVar("_X")

# GB 11643-1999: ISO 7064 MOD 11-2 weights for the first 17 characters and the check map.
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_MAP: Final = "10X98765432"

_BIRTH_FIRST: Final = _dt.date(1930, 1, 1)
_BIRTH_LAST: Final = _dt.date(2008, 12, 31)
_INCIDENT_FIRST: Final = _dt.date(1995, 1, 1)
_INCIDENT_LAST: Final = _dt.date(2026, 10, 31)

_MINORITY_SHARE: Final = 0.01  # names like "买买提·艾力"
_LATIN_SHARE: Final = 0.02  # names like "Anna Müller"
_MINORITY_IN_XINJIANG: Final = 0.7
_PLACE_OF_BIRTH_SAME_PROVINCE: Final = 0.85
_FOLLOW_UP_SHARE: Final = 0.055  # incidents that reuse an earlier incident's case ref
_HISTORY_SIZE: Final = 5000
_MIN_PARTY_AGE: Final = 16  # years between the youngest party's birth and the incident


@dataclass(frozen=True, slots=True)
class SynthPerson:
    """One synthetic identity record (strings, ready for an importer).

    ``resident_id`` is an 18-character GB 11643-1999 number; ``phones`` holds 1-3 mainland
    mobile numbers, mostly ``"13812345678"``, sometimes ``"+86 138 1234 5678"`` or
    ``"138-1234-5678"``; ``date_of_birth`` is ``YYYY-MM-DD`` and ``sex`` is ``"M"``/``"F"``,
    both agreeing with the ID; ``region`` is the province-level code of the ID's address code
    (``"110000"``).
    """

    name: str
    resident_id: str
    phones: tuple[str, ...]
    date_of_birth: str
    place_of_birth: str
    sex: str
    region: str


@dataclass(frozen=True, slots=True)
class SynthIncident:
    """One synthetic police incident record.

    ``received_at`` is ISO 8601 with a ``+08:00`` offset; ``parties`` are
    ``(resident_id, role)`` pairs; ``case_ref`` looks like ``"A110105-2019-000123"`` (shared
    by follow-up reports); ``region`` is the first party's region.
    """

    received_at: str
    channel: str
    category: str
    location: str
    narrative: str
    parties: tuple[tuple[str, str], ...]
    case_ref: str
    status: str
    region: str


# --------------------------------------------------------------------------------------------
# Seed-independent tables (built once per process)


def _weighted(pairs: Sequence[tuple[_X, int]]) -> tuple[_X, ...]:
    """A lookup table in which each item appears ``weight`` times (index it uniformly)."""
    return tuple(item for item, weight in pairs for _ in range(weight))


def _partial(digits: str, weights: Sequence[int]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


@dataclass(frozen=True, slots=True)
class _Province:
    prefix: str
    region: str
    name: str
    counties: tuple[tuple[str, int], ...]  # (address code, weighted digit sum)
    county_codes: tuple[str, ...]
    places: tuple[str, ...]  # "湖北省武汉市", ...


@dataclass(frozen=True, slots=True)
class _Static:
    provinces: tuple[_Province, ...]
    province_by_prefix: dict[str, _Province]
    province_table: tuple[int, ...]  # weighted province indices
    xinjiang: int
    birth_days: tuple[tuple[tuple[str, str, int], ...], ...]  # per year: (YYYYMMDD, ISO, sum)
    birth_year_table: tuple[int, ...]  # weighted indices into birth_days
    seq: tuple[str, ...]  # "000".."999"
    seq_sums: tuple[int, ...]
    phone_prefixes: tuple[str, ...]
    phone_counts: tuple[int, ...]
    incident_days: tuple[str, ...]  # ISO dates 1995-01-01..2026-10-31
    incident_day_year: tuple[int, ...]
    incident_year_first: dict[int, int]
    hours: tuple[int, ...]  # weighted hours
    two_digits: tuple[str, ...]  # "00".."99"
    channels: tuple[str, ...]
    categories: tuple[str, ...]
    party_counts: tuple[int, ...]
    first_roles: dict[str, tuple[str, ...]]
    other_roles: tuple[str, ...]
    traffic_roles: tuple[str, ...]
    status_old: tuple[str, ...]
    status_recent: tuple[str, ...]


@functools.cache
def _static() -> _Static:
    area_weights = _WEIGHTS[:6]
    date_weights = _WEIGHTS[6:14]
    seq_weights = _WEIGHTS[14:17]

    # County-level codes only: codes ending in "00" are provinces or prefectures, which never
    # appear in a real resident ID. Order follows Faker's list (deterministic). Membership
    # tests against a frozenset are fine; nothing iterates over a set.
    grouped: dict[str, list[str]] = {}
    for code in _SsnProvider.area_codes:
        if code.endswith("00") or code in T.EXCLUDED_AREA_CODES:
            continue
        grouped.setdefault(code[:2], []).append(code)
    unknown = sorted(set(grouped) - set(T.PROVINCES))
    if unknown:  # pragma: no cover - guards against a Faker data change
        raise RuntimeError(f"no province table entry for address prefixes {unknown}")

    provinces: list[_Province] = []
    weights: list[tuple[int, int]] = []
    for prefix, (name, cities, population) in T.PROVINCES.items():
        codes = grouped.get(prefix)
        if not codes:  # pragma: no cover - guards against a Faker data change
            continue
        weights.append((len(provinces), population))
        provinces.append(
            _Province(
                prefix=prefix,
                region=prefix + "0000",
                name=name,
                counties=tuple((c, _partial(c, area_weights)) for c in codes),
                county_codes=tuple(codes),
                places=tuple(name + city for city in cities),
            )
        )
    by_prefix = {p.prefix: p for p in provinces}

    birth_days: list[tuple[tuple[str, str, int], ...]] = []
    for year in range(_BIRTH_FIRST.year, _BIRTH_LAST.year + 1):
        day = _dt.date(year, 1, 1)
        days: list[tuple[str, str, int]] = []
        while day.year == year:
            ymd = day.strftime("%Y%m%d")
            days.append((ymd, day.isoformat(), _partial(ymd, date_weights)))
            day += _dt.timedelta(days=1)
        birth_days.append(tuple(days))
    year_pairs = [
        (year - _BIRTH_FIRST.year, weight)
        for first, last, weight in T.BIRTH_YEAR_WEIGHTS
        for year in range(first, last + 1)
    ]

    incident_days: list[str] = []
    incident_day_year: list[int] = []
    incident_year_first: dict[int, int] = {}
    day = _INCIDENT_FIRST
    while day <= _INCIDENT_LAST:
        incident_year_first.setdefault(day.year, len(incident_days))
        incident_days.append(day.isoformat())
        incident_day_year.append(day.year)
        day += _dt.timedelta(days=1)

    return _Static(
        provinces=tuple(provinces),
        province_by_prefix=by_prefix,
        province_table=_weighted(weights),
        xinjiang=provinces.index(by_prefix["65"]),
        birth_days=tuple(birth_days),
        birth_year_table=_weighted(year_pairs),
        seq=tuple(f"{i:03d}" for i in range(1000)),
        seq_sums=tuple(_partial(f"{i:03d}", seq_weights) for i in range(1000)),
        phone_prefixes=tuple(
            str(p)
            for p in _PhoneProvider.phonenumber_prefixes
            if p not in T.EXCLUDED_PHONE_PREFIXES
        ),
        phone_counts=_weighted([(1, 14), (2, 5), (3, 1)]),
        incident_days=tuple(incident_days),
        incident_day_year=tuple(incident_day_year),
        incident_year_first=incident_year_first,
        hours=_weighted(list(enumerate(T.HOUR_WEIGHTS))),
        two_digits=tuple(f"{i:02d}" for i in range(100)),
        channels=_weighted(list(zip(T.CHANNELS, T.CHANNEL_WEIGHTS, strict=True))),
        categories=_weighted(list(zip(T.CATEGORIES, T.CATEGORY_WEIGHTS, strict=True))),
        party_counts=_weighted(list(zip((1, 2, 3), T.PARTY_COUNT_WEIGHTS, strict=True))),
        first_roles={ch: _weighted(pairs) for ch, pairs in T.FIRST_ROLE_WEIGHTS.items()},
        other_roles=_weighted(T.OTHER_ROLE_WEIGHTS),
        traffic_roles=_weighted(T.TRAFFIC_ROLE_WEIGHTS),
        status_old=_weighted(list(zip(T.STATUSES, T.STATUS_WEIGHTS_OLD, strict=True))),
        status_recent=_weighted(list(zip(T.STATUSES, T.STATUS_WEIGHTS_RECENT, strict=True))),
    )


# --------------------------------------------------------------------------------------------
# Seed-dependent pools (built with Faker once per seed)


@dataclass(frozen=True, slots=True)
class _Pools:
    surnames: tuple[str, ...]
    given_male: tuple[str, ...]
    given_female: tuple[str, ...]
    latin_male: tuple[str, ...]
    latin_female: tuple[str, ...]
    minority_male: tuple[str, ...]
    minority_female: tuple[str, ...]
    streets: tuple[str, ...]


def _given_names(fake: Faker, names: Sequence[str], count: int) -> tuple[str, ...]:
    """Given names: Faker's own (about half) and two-character combinations of its characters."""
    chars = sorted({c for name in names for c in name})
    pick = fake.random_element
    out: list[str] = []
    for _ in range(count):
        if fake.random.random() < 0.45:
            out.append(pick(names))
        else:
            out.append(pick(chars) + pick(chars))
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _pools(seed: int) -> _Pools:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    surnames = tuple(fake.last_name() for _ in range(3000))
    male_src = [fake.first_name_male() for _ in range(400)]
    female_src = [fake.first_name_female() for _ in range(400)]
    given_male = _given_names(fake, male_src, 2000)
    given_female = _given_names(fake, female_src, 2000)
    streets = tuple(fake.street_name() for _ in range(800))

    latin_male: list[str] = []
    latin_female: list[str] = []
    for locale in T.LATIN_LOCALES:
        other = Faker(locale)
        other.seed_instance(seed)
        for _ in range(60):
            latin_male.append(f"{other.first_name_male()} {other.last_name()}")
            latin_female.append(f"{other.first_name_female()} {other.last_name()}")

    rnd = fake.random
    minority_male = tuple(
        f"{rnd.choice(T.MINORITY_MALE)}·{rnd.choice(T.MINORITY_MALE)}" for _ in range(200)
    )
    minority_female = tuple(
        f"{rnd.choice(T.MINORITY_FEMALE)}·{rnd.choice(T.MINORITY_MALE)}" for _ in range(200)
    )
    return _Pools(
        surnames=surnames,
        given_male=given_male,
        given_female=given_female,
        latin_male=tuple(latin_male),
        latin_female=tuple(latin_female),
        minority_male=minority_male,
        minority_female=minority_female,
        streets=streets,
    )


def _rng(kind: str, seed: int) -> random.Random:
    # A str seed is hashed with SHA-512 by random.Random: independent of PYTHONHASHSEED.
    return random.Random(f"strongroom.synth.{kind}:{seed}")  # noqa: S311 - synthetic data, not security


# --------------------------------------------------------------------------------------------
# Persons


def generate_persons(n: int, *, seed: int) -> Iterator[SynthPerson]:
    """Yield ``n`` synthetic persons, deterministically for ``seed``.

    Resident IDs are valid GB 11643-1999 numbers (real county-level address code, birth date,
    sequence with the sex parity, MOD 11-2 check character) and unique within the run.
    """
    if n < 0:
        raise ValueError("n must not be negative")
    return _persons(n, seed)


def _persons(n: int, seed: int) -> Iterator[SynthPerson]:
    st = _static()
    pools = _pools(seed)
    r = _rng("persons", seed).random

    provinces = st.provinces
    province_table = st.province_table
    n_province_table = len(province_table)
    xinjiang = st.xinjiang
    birth_days = st.birth_days
    year_table = st.birth_year_table
    n_year_table = len(year_table)
    seq_str = st.seq
    seq_sums = st.seq_sums
    check_map = _CHECK_MAP
    prefixes = st.phone_prefixes
    n_prefixes = len(prefixes)
    phone_counts = st.phone_counts
    n_phone_counts = len(phone_counts)
    surnames = pools.surnames
    n_surnames = len(surnames)
    given = (pools.given_female, pools.given_male)
    latin = (pools.latin_female, pools.latin_male)
    minority = (pools.minority_female, pools.minority_male)
    latin_cut = _MINORITY_SHARE + _LATIN_SHARE
    sexes = ("F", "M")

    seen: set[str] = set()
    made = 0
    while made < n:
        x = r()
        male = 1 if r() < 0.5 else 0
        province_index = -1
        if x < _MINORITY_SHARE:
            names = minority[male]
            name = names[int(r() * len(names))]
            if r() < _MINORITY_IN_XINJIANG:
                province_index = xinjiang
        elif x < latin_cut:
            names = latin[male]
            name = names[int(r() * len(names))]
        else:
            names = given[male]
            name = surnames[int(r() * n_surnames)] + names[int(r() * len(names))]
        if province_index < 0:
            province_index = province_table[int(r() * n_province_table)]
        province = provinces[province_index]
        counties = province.counties
        code, code_sum = counties[int(r() * len(counties))]
        days = birth_days[year_table[int(r() * n_year_table)]]
        ymd, iso, date_sum = days[int(r() * len(days))]
        seq = int(r() * 500) * 2 + male  # odd sequence number = male
        resident_id = (
            code + ymd + seq_str[seq] + check_map[(code_sum + date_sum + seq_sums[seq]) % 11]
        )
        if resident_id in seen:
            continue  # astronomically rare; draw a fresh row
        seen.add(resident_id)

        count = phone_counts[int(r() * n_phone_counts)]
        phone_list: list[str] = []
        for _ in range(count):
            prefix = prefixes[int(r() * n_prefixes)]
            tail = f"{int(r() * 100_000_000):08d}"
            y = r()
            if y < 0.9:
                phone_list.append(prefix + tail)
            elif y < 0.95:
                phone_list.append(f"+86 {prefix} {tail[:4]} {tail[4:]}")
            else:
                phone_list.append(f"{prefix}-{tail[:4]}-{tail[4:]}")

        if r() >= _PLACE_OF_BIRTH_SAME_PROVINCE:
            province_of_birth = provinces[province_table[int(r() * n_province_table)]]
        else:
            province_of_birth = province
        places = province_of_birth.places

        made += 1
        yield SynthPerson(
            name,
            resident_id,
            tuple(phone_list),
            iso,
            places[int(r() * len(places))],
            sexes[male],
            province.region,
        )


# --------------------------------------------------------------------------------------------
# Incidents


def _identity(person: SynthPerson | tuple[str, str]) -> tuple[str, str]:
    if isinstance(person, SynthPerson):
        return person.resident_id, person.region
    return person[0], person[1]


def _birth_year(resident_id: str) -> int:
    try:
        return int(resident_id[6:10])
    except ValueError:
        return _BIRTH_FIRST.year


def generate_incidents(
    m: int,
    persons: Sequence[SynthPerson] | Sequence[tuple[str, str]],
    *,
    seed: int,
) -> Iterator[SynthIncident]:
    """Yield ``m`` synthetic incidents whose parties are drawn from ``persons``.

    ``persons`` is the list from :func:`generate_persons` or ``(resident_id, region)`` pairs.
    About a tenth of the incidents share a case reference with another (follow-up reports).
    """
    if m < 0:
        raise ValueError("m must not be negative")
    if m > 0 and len(persons) == 0:
        raise ValueError("persons must not be empty")
    return _incidents(m, persons, seed)


# A past (non-follow-up) incident: case_ref, category, first party (resident_id, region),
# first party's role, day index, location.
_Past = tuple[str, str, tuple[str, str], str, int, str]


def _incidents(
    m: int,
    persons: Sequence[SynthPerson] | Sequence[tuple[str, str]],
    seed: int,
) -> Iterator[SynthIncident]:
    st = _static()
    pools = _pools(seed)
    r = _rng("incidents", seed).random

    n_persons = len(persons)
    provinces = st.provinces
    province_table = st.province_table
    n_province_table = len(province_table)
    by_prefix = st.province_by_prefix
    streets = pools.streets
    n_streets = len(streets)
    venues = T.VENUE_SUFFIXES
    n_venues = len(venues)
    days = st.incident_days
    n_days = len(days)
    last_day = n_days - 1
    day_year = st.incident_day_year
    year_first = st.incident_year_first
    first_year = _INCIDENT_FIRST.year
    last_year = _INCIDENT_LAST.year
    hours = st.hours
    n_hours = len(hours)
    two = st.two_digits
    channels = st.channels
    n_channels = len(channels)
    categories = st.categories
    n_categories = len(categories)
    party_counts = st.party_counts
    n_party_counts = len(party_counts)
    first_roles = st.first_roles
    other_roles = st.other_roles
    n_other_roles = len(other_roles)
    traffic_roles = st.traffic_roles
    narratives = T.NARRATIVES
    time_words = T.TIME_WORDS
    places = T.PLACES
    n_places = len(places)
    items = T.ITEMS
    n_items = len(items)
    vehicles = T.VEHICLES
    n_vehicles = len(vehicles)
    amounts = T.AMOUNTS
    n_amounts = len(amounts)
    status_old = st.status_old
    status_recent = st.status_recent
    follow_up_share = _FOLLOW_UP_SHARE
    min_age = _MIN_PARTY_AGE
    identity = _identity
    birth_year = _birth_year

    counters: dict[tuple[str, int], int] = {}
    history: list[_Past] = []

    def location_in(region: str) -> str:
        province = by_prefix.get(region[:2])
        if province is None:
            province = provinces[province_table[int(r() * n_province_table)]]
        ps = province.places
        return (
            f"{ps[int(r() * len(ps))]}{streets[int(r() * n_streets)]}{int(r() * 300) + 1}号"
            f"{venues[int(r() * n_venues)]}"
        )

    for i in range(m):
        channel = channels[int(r() * n_channels)]
        if history and r() < follow_up_share:
            case_ref, category, first, first_role, past_day, past_location = history[
                int(r() * len(history))
            ]
            parties: list[tuple[str, str]] = [(first[0], first_role)]
            day = min(past_day + int(r() * 90), last_day)
            if n_persons > 1 and r() < 0.3:
                rid, _region = identity(persons[int(r() * n_persons)])
                if rid != first[0] and birth_year(rid) + min_age <= day_year[day]:
                    parties.append((rid, other_roles[int(r() * n_other_roles)]))
            location = past_location if r() < 0.7 else location_in(first[1])
            follow_up = True
        else:
            category = categories[int(r() * n_categories)]
            count = party_counts[int(r() * n_party_counts)]
            first = identity(persons[int(r() * n_persons)])
            first_role_table = first_roles[channel]
            first_role = first_role_table[int(r() * len(first_role_table))]
            parties = [(first[0], first_role)]
            youngest = birth_year(first[0])
            if count > 1 and n_persons > 1:
                roles = traffic_roles if category == "traffic" else other_roles
                used = [first[0]]
                for _attempt in range(8 * count):  # bounded: ids given by a caller may repeat
                    if len(parties) >= count:
                        break
                    rid, _region = identity(persons[int(r() * n_persons)])
                    if rid in used:
                        continue
                    used.append(rid)
                    parties.append((rid, roles[int(r() * len(roles))]))
                    youngest = max(youngest, birth_year(rid))

            start_year = min(max(first_year, youngest + min_age), last_year)
            lo = year_first[start_year]
            day = lo + int(r() * (n_days - lo))
            location = location_in(first[1])

            year = day_year[day]
            province = by_prefix.get(first[1][:2])
            if province is not None:
                codes = province.county_codes
                code = codes[int(r() * len(codes))]
            else:
                code = first[0][:6]
            key = (code, year)
            serial = counters.get(key, 0) + 1 + int(r() * 5)
            counters[key] = serial
            case_ref = f"A{code}-{year}-{serial:06d}"
            follow_up = False

        hour = hours[int(r() * n_hours)]
        received_at = f"{days[day]}T{two[hour]}:{two[int(r() * 60)]}:00+08:00"
        templates = narratives[category]
        narrative = templates[int(r() * len(templates))].format(
            time=time_words[hour],
            place=places[int(r() * n_places)],
            item=items[int(r() * n_items)],
            vehicle=vehicles[int(r() * n_vehicles)],
            amount=amounts[int(r() * n_amounts)],
        )
        if channel == "patrol":
            narrative = narrative.replace("报警人", "当事人")
        if follow_up:
            narrative = "续报：" + narrative  # noqa: RUF001 - Chinese full-width colon
        statuses = status_old if day_year[day] <= 2024 else status_recent
        status = statuses[int(r() * len(statuses))]

        if not follow_up:
            entry: _Past = (case_ref, category, first, first_role, day, location)
            if len(history) < _HISTORY_SIZE:
                history.append(entry)
            else:
                history[i % _HISTORY_SIZE] = entry

        yield SynthIncident(
            received_at,
            channel,
            category,
            location,
            narrative,
            tuple(parties),
            case_ref,
            status,
            first[1],
        )
