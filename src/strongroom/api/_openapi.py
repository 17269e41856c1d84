"""The OpenAPI document of the API, without a vault (``docs/openapi.json`` is this, committed)."""

from __future__ import annotations

import json
from typing import Any, cast

from strongroom.api._app import Service, create_app


class _NoService:
    """Stands in for a :class:`Service` while only the routes' shapes are read."""

    gate = authenticator = principals = tokens = None


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI 3.1 document (not served over HTTP: committed as docs/openapi.json)."""
    return create_app(cast(Service, _NoService())).openapi()


def openapi_text() -> str:
    """The document as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
