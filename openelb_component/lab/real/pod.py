"""A pod's one container as the kubelet runs it: restarted when it exits, with the kubelet's
crash-loop back-off.

The upstream workloads restart their containers (``restartPolicy: Always``, the default), and
OpenELB's processes do exit on their own: a 0.5.1 manager that loses the race to create the
keepalive DaemonSet at start exits 1 (``unable to register keepalive speaker``,
pkg/speaker/vip/keepalived.go:77-90 and cmd/manager/app/manager.go:129-133@v0.5.1). The kubelet
waits 10 s before the first restart and doubles the wait up to 300 s
(``backOffPeriod``, pkg/kubelet/kubelet.go:223, and ``MaxCrashLoopBackOff``, :166@v1.37.2).
Every exit and restart is kept in ``events`` for the run's report.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from openelb_component.lab.cluster.process import Daemon

FIRST_BACKOFF = 10.0
MAX_BACKOFF = 300.0
WATCH_INTERVAL = 0.1


@dataclass(frozen=True)
class PodEvent:
    at: float
    """``time.monotonic()``."""
    what: str


class Pod:
    """``make()`` builds the container's process; ``spawn(daemon)`` starts it (from the one
    thread that starts every process of the run)."""

    def __init__(
        self, name: str, make: Callable[[], Daemon], spawn: Callable[[Daemon], None]
    ) -> None:
        self.name = name
        self._make = make
        self._spawn = spawn
        self.daemon: Daemon | None = None
        self.events: list[PodEvent] = []
        self.restarts = 0
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        self._run_container()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    def _run_container(self) -> None:
        daemon = self._make()
        self._spawn(daemon)
        self.daemon = daemon
        self.events.append(PodEvent(time.monotonic(), "started"))

    def _watch(self) -> None:
        backoff = FIRST_BACKOFF
        while not self._stopping.is_set():
            daemon = self.daemon
            if daemon is not None and daemon.popen is not None and daemon.popen.poll() is not None:
                code = daemon.popen.returncode
                daemon.recorder.forget_process(daemon.popen.pid)
                self.events.append(PodEvent(time.monotonic(), f"exited {code}"))
                if self._stopping.wait(backoff):
                    return
                self.restarts += 1
                self._run_container()
                backoff = min(MAX_BACKOFF, backoff * 2)
            self._stopping.wait(WATCH_INTERVAL)

    @property
    def running(self) -> bool:
        return self.daemon is not None and self.daemon.running

    def stop(self, graceful: bool = True) -> None:
        """SIGTERM then SIGKILL (the kubelet's stop), or SIGKILL at once."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        daemon = self.daemon
        if daemon is None or daemon.popen is None:
            return
        if graceful:
            daemon.stop()
        else:
            daemon.popen.kill()
            daemon.popen.wait(10)
            daemon.recorder.forget_process(daemon.popen.pid)
        self.events.append(PodEvent(time.monotonic(), "stopped" if graceful else "killed"))
