"""A daemon thread that does one job every ``interval`` seconds until stopped (the audit
sequencer, the guard's detectors). A failing tick is logged by type — never its message,
which could quote a value — and retried on the next one."""

from __future__ import annotations

import logging
import threading


class Periodic:
    """Subclasses define :meth:`tick` (and may extend :meth:`stop` for a last step)."""

    #: the thread's name, and what the log says failed
    name = "periodic"
    #: the exceptions a tick may raise and be retried after
    retried: tuple[type[BaseException], ...] = (Exception,)

    def __init__(self, interval: float, log: logging.Logger) -> None:
        self.interval = interval
        self._log = log
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> None:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except self.retried as exc:
                self._log.error("%s failed (%s); will retry", self.name, type(exc).__name__)
