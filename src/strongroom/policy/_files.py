"""Where the shipped policy files live."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

SCHEMA_FILE = "strongroom.cedarschema"


def shipped_policy_dir() -> Traversable:
    """The shipped ``strongroom/policies`` directory: ``*.cedar``, the schema, purposes."""
    return resources.files("strongroom").joinpath("policies")


def shipped_schema_text() -> str:
    """The Cedar schema of the requests the engine builds (code, not configuration)."""
    return shipped_policy_dir().joinpath(SCHEMA_FILE).read_text("utf-8")
