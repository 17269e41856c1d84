"""The HTTP API (FastAPI, under ``/v1``): see ``docs/api.md`` and ``docs/openapi.json``.

Build an app with :func:`build_service` and :func:`create_app`; ``strongroom serve`` runs it
under uvicorn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from strongroom.api._app import Service, create_app
from strongroom.api._middleware import MAX_BODY_BYTES
from strongroom.api._openapi import openapi_document, openapi_text
from strongroom.auth import Authenticator, FailureLimiter, OidcVerifier, PrincipalStore, TokenStore
from strongroom.gate import Gate
from strongroom.guard import Guard, GuardConfig
from strongroom.policy import Policy, PurposeRegistry
from strongroom.vault import Vault

#: the service key under which API token hashes are keyed (shared with the CLI)
TOKEN_HASH_KEY = "api-token-hash"  # noqa: S105 - the name of a service key, not a secret


def build_service(
    vault: Vault,
    *,
    policy: Policy | None = None,
    purposes: PurposeRegistry | None = None,
    oidc: OidcVerifier | None = None,
    limiter: FailureLimiter | None = None,
    guard: GuardConfig | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Service:
    """The gate (guarded as the vault's ``[guard]`` settings, or ``guard``, say),
    authenticator and stores over an open vault. ``clock`` is a test seam."""
    engine = vault.engines()[0]
    tokens = TokenStore(engine, vault.keyring.service_key(TOKEN_HASH_KEY))
    return Service(
        gate=Gate(
            vault,
            policy=policy,
            purposes=purposes,
            clock=clock,
            guard=Guard(vault, guard, tokens=tokens, clock=clock),
        ),
        authenticator=Authenticator(tokens, oidc=oidc, limiter=limiter),
        principals=PrincipalStore(engine),
        tokens=tokens,
        witnesses=vault.config.witnesses,
        required_cosignatures=vault.config.required_cosignatures,
    )


__all__ = [
    "MAX_BODY_BYTES",
    "TOKEN_HASH_KEY",
    "Service",
    "build_service",
    "create_app",
    "openapi_document",
    "openapi_text",
]
