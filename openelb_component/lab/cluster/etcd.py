"""etcd: the API server's store, on a Unix socket in the run's folder.

A socket instead of a TCP port leaves nothing to race for with other runs; Kubernetes' own
integration fixture does the same (test/integration/framework/etcd.go:112-135@v1.37.2,
including the unused peer listener on port 0 and the placeholder advertise URL, which etcd
requires to be host:port). ``--unsafe-no-fsync``: the data is thrown away with the run.
"""

from __future__ import annotations

from pathlib import Path

from openelb_component.lab.cluster import probes
from openelb_component.lab.cluster.process import Daemon, Recorder

START_TIMEOUT = 60.0


class Etcd:
    def __init__(self, binary: Path, folder: Path) -> None:
        self.binary = binary
        self.folder = folder
        self.socket = folder / "etcd.sock"
        self.daemon: Daemon | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, recorder: Recorder, timeout: float = START_TIMEOUT) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        argv = [
            str(self.binary),
            "--name=openelb-ha",
            f"--data-dir={self.folder / 'data'}",
            f"--listen-client-urls={self.url}",
            "--advertise-client-urls=http://127.0.0.111:0",
            "--listen-peer-urls=http://127.0.0.1:0",
            "--log-level=warn",
            "--unsafe-no-fsync",
        ]
        self.daemon = Daemon("etcd", argv, self.folder.parent / "etcd.log", recorder)
        self.daemon.start()
        self.daemon.wait_ready(lambda: probes.unix_ok(str(self.socket), "/health"), timeout)

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop()
