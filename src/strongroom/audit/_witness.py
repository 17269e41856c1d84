"""A witness: an oversight body's small process that cosigns the vault's checkpoints.

Each round it fetches the vault's latest signed checkpoint (``GET /v1/audit/checkpoint?latest``),
checks the log's signature, and compares it with the last checkpoint it cosigned (its state
file): a smaller tree is a **rollback**, the same size with another root or a consistency proof
that fails is a **fork**. On either it refuses, writes an alarm line (JSON) to its alarm file
and stops with :class:`WitnessAlarm`. Otherwise it fetches a consistency proof
(``GET /v1/audit/consistency``), verifies it, cosigns (C2SP ``cosignature/v1``) and posts the
signature line (``POST /v1/audit/cosignatures``). The first checkpoint it sees is trusted on
first use (there is no proof from an empty tree).
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from strongroom.audit._merkle import ProofError, verify_consistency
from strongroom.audit._note import (
    CosignatureSigner,
    NoteError,
    NoteVerifier,
    open_checkpoint,
    signature_for,
)
from strongroom.errors import StrongroomError


class WitnessAlarm(StrongroomError):
    """The log rolled back or forked: the witness refused to cosign."""

    exit_code = 12


@dataclass
class WitnessState:
    size: int = 0
    root: bytes = b""

    @classmethod
    def load(cls, path: Path) -> WitnessState:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(int(doc["size"]), base64.b64decode(doc["root"]))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, KeyError) as exc:
            raise StrongroomError(
                f"witness state {path} is unreadable ({type(exc).__name__})"
            ) from None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"size": self.size, "root": base64.b64encode(self.root).decode()}) + "\n",
            encoding="utf-8",
        )
        os.replace(tmp, path)


class Witness:
    def __init__(
        self,
        base_url: str,
        token: str,
        signer: CosignatureSigner,
        log: NoteVerifier,
        state_file: Path,
        alarm_file: Path,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.signer = signer
        self.log = log
        self.state_file = state_file
        self.alarm_file = alarm_file
        self._http = http or httpx.Client(base_url=base_url, timeout=10.0)
        self._headers = {"Authorization": f"Bearer {token}", "Strongroom-Purpose": "AUDIT"}

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> httpx.Response:
        r = self._http.get(path, params=params, headers=self._headers)
        if r.status_code != 200:
            raise StrongroomError(f"the vault answered {r.status_code} to {path}")
        return r

    def alarm(self, kind: str, detail: str) -> WitnessAlarm:
        line = {"time": int(time.time()), "alarm": kind, "detail": detail, "log": self.log.name}
        with self.alarm_file.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
        return WitnessAlarm(
            f"{kind}: {detail}; refused to cosign (alarm written to {self.alarm_file})"
        )

    def round(self) -> int:
        """One poll: verify, cosign, post. Returns the size cosigned."""
        note = self._get("/v1/audit/checkpoint", latest="true").text
        try:
            cp, _ = open_checkpoint(note, self.log, origin=self.log.name)
        except NoteError as exc:
            raise self.alarm("bad-signature", str(exc)) from None
        state = WitnessState.load(self.state_file)
        if state.size:
            if cp.size < state.size:
                raise self.alarm("rollback", f"size {cp.size} after cosigning size {state.size}")
            if cp.size == state.size and cp.root != state.root:
                raise self.alarm("fork", f"two roots for size {cp.size}")
            if cp.size > state.size:
                doc = self._get("/v1/audit/consistency", old=state.size, new=cp.size).json()
                proof = [base64.b64decode(h) for h in doc["proof"]]
                try:
                    verify_consistency(state.size, cp.size, proof, state.root, cp.root)
                except ProofError:
                    raise self.alarm(
                        "fork", f"no consistency from size {state.size} to {cp.size}"
                    ) from None
        line = signature_for(cp.text, self.signer).line
        r = self._http.post(
            "/v1/audit/cosignatures",
            json={"size": cp.size, "signature": line},
            headers=self._headers,
        )
        if r.status_code not in (200, 201):
            raise StrongroomError(f"the vault refused the cosignature ({r.status_code})")
        WitnessState(cp.size, cp.root).save(self.state_file)
        return cp.size
