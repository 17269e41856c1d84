"""The background sequencer of a serving process: integrates pending audit entries every
``interval`` seconds and signs a checkpoint every ``checkpoint_every`` seconds when the tree
has grown. Failures are logged (by type) and retried; entries wait in ``audit_pending``."""

from __future__ import annotations

import logging
import time

from strongroom._periodic import Periodic
from strongroom.audit._log import AuditLog
from strongroom.errors import StrongroomError

log = logging.getLogger("strongroom.audit")


class Sequencer(Periodic):
    name = "audit-sequencer"
    retried = (StrongroomError,)

    def __init__(
        self, audit: AuditLog, *, interval: float = 1.0, checkpoint_every: float = 10.0
    ) -> None:
        super().__init__(interval, log)
        self.audit = audit
        self.checkpoint_every = checkpoint_every
        self._last_checkpoint = 0.0

    def tick(self) -> None:
        self.audit.sequence()
        now = time.monotonic()
        if now - self._last_checkpoint >= self.checkpoint_every:
            self.audit.checkpoint()
            self._last_checkpoint = now

    def stop(self) -> None:
        super().stop()
        try:
            self.audit.checkpoint()  # what was appended last is integrated and signed
        except StrongroomError as exc:
            log.error("final audit checkpoint failed: %s", type(exc).__name__)
