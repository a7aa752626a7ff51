"""The link from the lab's node namespaces to the control plane: a TCP relay on loopback.

The API server listens on the host's loopback; a node namespace has its own loopback and no
route out (the lab touches no host network configuration). This process opens, inside each
named namespace, a listening socket on ``127.0.0.1:<port>`` (the API server's own port, so the
one kubeconfig, whose certificate names 127.0.0.1, is valid in every namespace), and relays each
connection to ``127.0.0.1:<port>`` in the namespace it was started in. A socket keeps the
namespace it was created in, so one process serves every namespace: it enters each with
``setns(2)`` only to create the listener, then returns. Stopping the process removes the link.

Run as ``python -m openelb_component.lab.real.apilink PORT NAMESPACE...``; it prints ``ready``
on stdout once every listener is open, and exits on SIGTERM (which its starter arranges to get
when the starter dies: ``cluster/process.py``'s ``Daemon``).
"""

from __future__ import annotations

import ctypes
import os
import selectors
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
LOOPBACK = "127.0.0.1"
BACKLOG = 64
CONNECT_TIMEOUT = 5.0
CHUNK = 65536


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def listen_in(namespaces: Sequence[str], port: int) -> list[socket.socket]:
    """A listener on loopback ``port`` inside each namespace (by its ``ip netns`` name)."""
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    listeners: list[socket.socket] = []
    try:
        for name in namespaces:
            if "/" in name or name in {"", ".", ".."}:
                raise ValueError(f"{name!r} is not a network namespace name")
            target = os.open(NETNS_DIR / name, os.O_RDONLY)
            try:
                _setns(target)
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((LOOPBACK, port))
                listener.listen(BACKLOG)
                listeners.append(listener)
            finally:
                _setns(own)
                os.close(target)
    finally:
        os.close(own)
    return listeners


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (sink, source):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _relay(client: socket.socket, port: int) -> None:
    try:
        upstream = socket.create_connection((LOOPBACK, port), timeout=CONNECT_TIMEOUT)
    except OSError:
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
    back.start()
    _pipe(client, upstream)
    back.join()
    client.close()
    upstream.close()


def serve(listeners: Sequence[socket.socket], port: int, stop: threading.Event) -> None:
    with selectors.DefaultSelector() as selector:
        for listener in listeners:
            selector.register(listener, selectors.EVENT_READ, data=listener)
        while not stop.is_set():
            for key, _ in selector.select(timeout=0.5):
                client, _ = key.data.accept()
                threading.Thread(target=_relay, args=(client, port), daemon=True).start()


def main(argv: Sequence[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: apilink PORT NAMESPACE...", file=sys.stderr)
        return 2
    port = int(argv[0])
    listeners = listen_in(argv[1:], port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    serve(listeners, port, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
