"""The background sequencer of a serving process: integrates pending audit entries every
``interval`` seconds and signs a checkpoint every ``checkpoint_every`` seconds when the tree
has grown. Failures are logged (by type) and retried; entries wait in ``audit_pending``."""

from __future__ import annotations

import logging
import threading
import time

from strongroom.audit._log import AuditLog
from strongroom.errors import StrongroomError

log = logging.getLogger("strongroom.audit")


class Sequencer:
    def __init__(
        self, audit: AuditLog, *, interval: float = 1.0, checkpoint_every: float = 10.0
    ) -> None:
        self.audit = audit
        self.interval = interval
        self.checkpoint_every = checkpoint_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="audit-sequencer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        try:
            self.audit.checkpoint()  # what was appended last is integrated and signed
        except StrongroomError as exc:
            log.error("final audit checkpoint failed: %s", type(exc).__name__)

    def _run(self) -> None:
        last_checkpoint = 0.0
        while not self._stop.wait(self.interval):
            try:
                self.audit.sequence()
                now = time.monotonic()
                if now - last_checkpoint >= self.checkpoint_every:
                    self.audit.checkpoint()
                    last_checkpoint = now
            except StrongroomError as exc:
                log.error("audit sequencing failed (%s); will retry", type(exc).__name__)
