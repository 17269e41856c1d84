"""Errors of the policy layer.

Hierarchy::

    StrongroomError              (strongroom.errors)
    └── PolicyError              policy set, purpose registry or access request is unusable
        └── DeniedError          policy denied the access
"""

from __future__ import annotations

from strongroom.errors import StrongroomError


class PolicyError(StrongroomError):
    """The policy set, the purpose registry or an access request cannot be used.

    Raised when a policy file does not parse or validate (the engine then refuses to start),
    when a purpose code is unknown, or when a request lacks what its purpose requires.
    """

    exit_code = 9


class DeniedError(PolicyError):
    """Policy denied the access. The message names the action and the deciding policies."""
