"""Writers for synthetic persons and incidents: CSV and JSON Lines, UTF-8."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from strongroom.synth._generate import SynthIncident, SynthPerson

__all__ = [
    "INCIDENT_FIELDS",
    "PERSON_FIELDS",
    "write_incidents_csv",
    "write_incidents_jsonl",
    "write_persons_csv",
    "write_persons_jsonl",
]

PERSON_FIELDS: Final[tuple[str, ...]] = (
    "name",
    "resident_id",
    "phones",
    "date_of_birth",
    "place_of_birth",
    "sex",
    "region",
)
INCIDENT_FIELDS: Final[tuple[str, ...]] = (
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


def write_persons_csv(persons: Iterable[SynthPerson], path: Path) -> int:
    """Write persons as CSV (header :data:`PERSON_FIELDS`, phones ``;``-separated).

    Returns the number of rows written (header not counted).
    """
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(PERSON_FIELDS)
        row = writer.writerow
        for p in persons:
            row(
                (
                    p.name,
                    p.resident_id,
                    ";".join(p.phones),
                    p.date_of_birth,
                    p.place_of_birth,
                    p.sex,
                    p.region,
                )
            )
            count += 1
    return count


def write_incidents_csv(incidents: Iterable[SynthIncident], path: Path) -> int:
    """Write incidents as CSV (header :data:`INCIDENT_FIELDS`, parties ``resident_id:role;...``).

    Returns the number of rows written (header not counted).
    """
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(INCIDENT_FIELDS)
        row = writer.writerow
        for i in incidents:
            row(
                (
                    i.received_at,
                    i.channel,
                    i.category,
                    i.location,
                    i.narrative,
                    ";".join(f"{rid}:{role}" for rid, role in i.parties),
                    i.case_ref,
                    i.status,
                    i.region,
                )
            )
            count += 1
    return count


def write_persons_jsonl(persons: Iterable[SynthPerson], path: Path) -> int:
    """Write persons as JSON Lines (``phones`` as a list). Returns the number of lines."""
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8", newline="") as handle:
        write = handle.write
        for p in persons:
            write(
                dumps(
                    {
                        "name": p.name,
                        "resident_id": p.resident_id,
                        "phones": list(p.phones),
                        "date_of_birth": p.date_of_birth,
                        "place_of_birth": p.place_of_birth,
                        "sex": p.sex,
                        "region": p.region,
                    }
                )
                + "\n"
            )
            count += 1
    return count


def write_incidents_jsonl(incidents: Iterable[SynthIncident], path: Path) -> int:
    """Write incidents as JSON Lines (``parties`` as ``[{"resident_id", "role"}]``).

    Returns the number of lines.
    """
    count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with open(path, "w", encoding="utf-8", newline="") as handle:
        write = handle.write
        for i in incidents:
            write(
                dumps(
                    {
                        "received_at": i.received_at,
                        "channel": i.channel,
                        "category": i.category,
                        "location": i.location,
                        "narrative": i.narrative,
                        "parties": [{"resident_id": rid, "role": role} for rid, role in i.parties],
                        "case_ref": i.case_ref,
                        "status": i.status,
                        "region": i.region,
                    }
                )
                + "\n"
            )
            count += 1
    return count
