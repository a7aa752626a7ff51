"""The lab's connection to FRR's vty socket (``lab/fabric.py``, ``Vty``), against a socket that
behaves as FRR's does at start: its file appears when the daemon binds it, and connections are
refused until it listens (lib/vty.c:1939-1947@frr-8.4.4). A real-mode run at load 17 stopped
in its set-up with "[Errno 111] Connection refused" from that window (docs/lab.md, "Real
OpenELB", difference 5). No root needed: a Unix socket in the test's folder.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from openelb_component.lab.fabric import Vty

REPLY = b"\0\0\0\0"
"""An empty reply with status 0 (success), as bgpd ends every reply."""


def bound_not_listening(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    return server


def answer_one_command(server: socket.socket, after: float) -> threading.Thread:
    """Listen ``after`` seconds from now, then answer one command as bgpd does."""

    def serve() -> None:
        time.sleep(after)
        server.listen(1)
        client, _ = server.accept()
        with client:
            while not client.recv(100).endswith(b"\0"):
                pass
            client.sendall(b"hello" + REPLY)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_socket_that_listens_late_is_connected_to_once_it_does(tmp_path: Path) -> None:
    server = bound_not_listening(tmp_path / "bgpd.vty")
    serving = answer_one_command(server, after=0.3)
    vty = Vty(tmp_path / "bgpd.vty", timeout=5.0)
    try:
        assert vty.command("show version") == "hello"
    finally:
        vty.close()
        serving.join(5)
        server.close()


def test_a_socket_that_never_listens_is_refused_after_the_timeout(tmp_path: Path) -> None:
    server = bound_not_listening(tmp_path / "bgpd.vty")
    started = time.monotonic()
    try:
        with pytest.raises(ConnectionRefusedError):
            Vty(tmp_path / "bgpd.vty", timeout=0.3)
    finally:
        server.close()
    assert time.monotonic() - started >= 0.3  # it kept trying for the whole timeout


def test_a_socket_file_that_never_appears_is_not_found_after_the_timeout(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Vty(tmp_path / "bgpd.vty", timeout=0.2)
