"""Every module imports; the public surface is exactly what __all__ says."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import strongroom


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(strongroom.__path__, "strongroom.")
        if ".migrations" not in m.name
    )


@pytest.mark.parametrize("name", _modules())
def test_every_module_imports(name: str) -> None:
    importlib.import_module(name)


def test_public_names() -> None:
    assert sorted(strongroom.__all__) == [
        "AccessError",
        "Actor",
        "Client",
        "ConfigError",
        "ConflictError",
        "FieldError",
        "KeyringError",
        "NotFoundError",
        "OpenError",
        "PassphraseError",
        "Purpose",
        "RecordView",
        "StoreError",
        "StrongroomError",
        "ValidationError",
        "Vault",
    ]
    for name in strongroom.__all__:
        assert getattr(strongroom, name) is not None


@pytest.mark.parametrize(
    "package",
    [
        "strongroom.crypto",
        "strongroom.crypto.hazmat",
        "strongroom.crypto.kms",
        "strongroom.schema",
        "strongroom.store",
        "strongroom.batch",
        "strongroom.synth",
        "strongroom.policy",
        "strongroom.auth",
        "strongroom.scan",
        "strongroom.audit",
        "strongroom.api",
    ],
)
def test_all_lists_only_existing_names(package: str) -> None:
    mod = importlib.import_module(package)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{package}.__all__ names missing {name}"


def test_every_error_has_an_exit_code_and_diagnostics() -> None:
    from strongroom import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, errors.StrongroomError):
            assert isinstance(cls.exit_code, int) and cls.exit_code != 0
