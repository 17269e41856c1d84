"""Deterministic synthetic identity and incident records for demos, tests and benchmarks.

All data are synthetic (names combined at random from pools, resident IDs built from real
address codes with random dates and sequence numbers); no record describes a real person.
The same ``seed`` always gives the same records and byte-identical files.

Example::

    persons = list(generate_persons(1000, seed=7))
    incidents = list(generate_incidents(300, persons, seed=7))
    write_persons_csv(persons, Path("persons.csv"))
    write_incidents_csv(incidents, Path("incidents.csv"))
"""

from __future__ import annotations

from strongroom.synth._generate import (
    SynthIncident,
    SynthPerson,
    generate_incidents,
    generate_persons,
)
from strongroom.synth._tables import CATEGORIES, CHANNELS, ROLES, STATUSES
from strongroom.synth._write import (
    INCIDENT_FIELDS,
    PERSON_FIELDS,
    write_incidents_csv,
    write_incidents_jsonl,
    write_persons_csv,
    write_persons_jsonl,
)

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "INCIDENT_FIELDS",
    "PERSON_FIELDS",
    "ROLES",
    "STATUSES",
    "SynthIncident",
    "SynthPerson",
    "generate_incidents",
    "generate_persons",
    "write_incidents_csv",
    "write_incidents_jsonl",
    "write_persons_csv",
    "write_persons_jsonl",
]
