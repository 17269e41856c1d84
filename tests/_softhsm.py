"""A throwaway SoftHSM2 token for the test session (Debian package softhsm2, real library).

The token lives in its own token directory under a temporary SoftHSM2 configuration that
``SOFTHSM2_CONF`` points at; the developer's or the system's tokens are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
TOKEN = "strongroom-test"
SPARE_TOKEN = "strongroom-spare"
PIN = "1234-test-pin"
SO_PIN = "so-test-pin-5678"


def available() -> bool:
    return Path(MODULE).exists() and shutil.which("softhsm2-util") is not None


class SoftHSM:
    """``softhsm2-util --init-token`` into ``base``; set ``SOFTHSM2_CONF`` before first use."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.conf = base / "softhsm2.conf"
        self.module = MODULE
        self.token = TOKEN
        self.spare_token = SPARE_TOKEN
        self.pin = PIN
        self.pin_file = base / "pin"
        tokens = base / "tokens"
        tokens.mkdir(mode=0o700, parents=True)
        self.conf.write_text(
            f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n",
            encoding="utf-8",
        )
        fd = os.open(self.pin_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(PIN + "\n")

    def env(self) -> dict[str, str]:
        return {**os.environ, "SOFTHSM2_CONF": str(self.conf)}

    def init_token(self, label: str, pin: str = PIN) -> None:
        subprocess.run(
            [
                "softhsm2-util",
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                pin,
            ],
            check=True,
            capture_output=True,
            env=self.env(),
            timeout=30,
        )
