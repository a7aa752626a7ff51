"""One process of the control plane: started with its log in the run's folder, waited for until
its probe answers (failing early, with the log, when it exits), stopped with SIGTERM then SIGKILL.

Each component module (etcd, kube-apiserver, ...) is one ``Daemon`` plus its own arguments and
readiness probe, as in Kubernetes' own integration fixture (test/integration/framework/etcd.go
and cmd/kube-apiserver/app/testing/testserver.go@v1.37.2) and controller-runtime's envtest.

A run leaves nothing behind on any exit path: ``stop`` on normal exit and on failure; the kernel
sends SIGKILL to every daemon when the Python thread that started it dies (``PR_SET_PDEATHSIG``,
so a SIGKILLed test run does not leave an API server eating a core); and the run's record
(``Recorder``) lets the next start remove what a killed run left.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

STOP_WAIT = 5.0
"""SIGTERM, then SIGKILL after this: the run's data is thrown away, so nothing needs a long
graceful shutdown (kube-apiserver's takes 8 s and more while it drains its watches)."""
POLL = 0.1
LOG_TAIL = 25
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class ComponentError(Exception):
    """A component did not start, or stopped working: the message names it and quotes its log."""


class Recorder(Protocol):
    """What a run creates, recorded so the next start can remove it after a SIGKILL
    (``openelb_component/lab/leftovers.py``'s ``Run`` has these methods)."""

    def process(self, pid: int) -> None: ...
    def forget_process(self, pid: int) -> None: ...
    def folder(self, path: Path) -> None: ...
    def forget_folder(self, path: Path) -> None: ...


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on now. Another process may take it before the
    daemon binds it: ``start_on_free_port`` retries then."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _die_with_parent(parent: int) -> Callable[[], None]:
    def prepare() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl: nobody would stop us
            os._exit(1)

    return prepare


class Daemon:
    """A long-running process of the control plane with its log file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        recorder: Recorder,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = None if env is None else {**os.environ, **env}
        self.log = log
        self.recorder = recorder
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            # A session of its own: a terminal's Ctrl-C reaches the test run, which then stops
            # the daemons in order, instead of killing the API server under the controllers.
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=self.env,
                preexec_fn=_die_with_parent(os.getpid()),
            )
        self.recorder.process(self.popen.pid)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, lines: int = LOG_TAIL) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> ComponentError:
        return ComponentError(f"{self.name}: {what}; last lines of {self.log}:\n{self.tail()}")

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> None:
        """Poll ``probe`` until it is true; fail when the process exits or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                code = None if self.popen is None else self.popen.returncode
                raise self.failure(f"exited with status {code} before it was ready")
            if probe():
                return
            if time.monotonic() > deadline:
                raise self.failure(f"not ready after {timeout:.0f} s")
            time.sleep(POLL)

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; idempotent."""
        popen = self.popen
        if popen is None:
            return
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(timeout)
            except subprocess.TimeoutExpired:
                popen.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(timeout)
        if popen.poll() is not None:
            self.recorder.forget_process(popen.pid)


def start_on_free_port(
    make: Callable[[int], Daemon], probe: Callable[[int], bool], timeout: float, attempts: int = 3
) -> tuple[Daemon, int]:
    """Start the daemon ``make(port)`` builds on a free port; another one when the port was taken
    between ``free_port`` and the daemon's bind (several runs share the machine)."""
    while True:
        attempts -= 1
        port = free_port()
        daemon = make(port)
        daemon.start()
        try:
            daemon.wait_ready(functools.partial(probe, port), timeout)
        except ComponentError:
            daemon.stop()
            if attempts > 0 and "address already in use" in daemon.tail():
                continue
            raise
        return daemon, port


class Served:
    """A component that listens on a free loopback port and is ready when ``ready(port)``
    answers; subclasses give its name, log, arguments and probe."""

    name = ""
    start_timeout = 90.0

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = 0
        self.daemon: Daemon | None = None

    def argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def env(self) -> Mapping[str, str] | None:
        return None

    def ready(self, port: int) -> bool:
        raise NotImplementedError

    def start(self, recorder: Recorder) -> None:
        self.daemon, self.port = start_on_free_port(
            lambda port: Daemon(self.name, self.argv(port), self.log, recorder, self.env()),
            self.ready,
            self.start_timeout,
        )

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()


def serving_flags(kubeconfig: Path, port: int, cert: Path, key: Path) -> list[str]:
    """What kube-controller-manager and kube-scheduler share (component-base and
    apiserver's delegating options): their identity, and /healthz on ``port`` of 127.0.0.1 with
    a certificate of the run's authority; one instance, so no leader election."""
    return [
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--tls-cert-file={cert}",
        f"--tls-private-key-file={key}",
        "--leader-elect=false",
        "--profiling=false",
    ]
