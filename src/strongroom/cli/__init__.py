"""The ``strongroom`` command line: a thin layer over :class:`strongroom.vault.Vault`.

Each command calls one library function and maps :class:`~strongroom.errors.StrongroomError`
to ``error: <diagnostics>`` on stderr and the error's exit code. See ``docs/cli.md``.

Exit codes: 0 done; 1 aborted; 2 usage error or invalid input (ValidationError); 3 config;
4 keys or passphrase; 5 a record did not open; 6 not found; 7 actor or purpose missing;
8 database; 130 interrupted.
"""

from __future__ import annotations

from strongroom.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``strongroom`` console script."""
    app(prog_name="strongroom")
