"""Readiness probes: one HTTP GET, true on 200, false on anything else (not up yet)."""

from __future__ import annotations

import http.client
import socket
import ssl

PROBE_TIMEOUT = 2.0


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (etcd's client endpoint here)."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=PROBE_TIMEOUT)
        self.path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(PROBE_TIMEOUT)
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _ok(connection: http.client.HTTPConnection, path: str) -> bool:
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def unix_ok(socket_path: str, path: str) -> bool:
    return _ok(_UnixConnection(socket_path), path)


def http_ok(port: int, path: str) -> bool:
    return _ok(http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT), path)


def https_ok(port: int, path: str, context: ssl.SSLContext) -> bool:
    connection = http.client.HTTPSConnection(
        "127.0.0.1", port, timeout=PROBE_TIMEOUT, context=context
    )
    return _ok(connection, path)


def client_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """TLS that trusts only the run's authority, presenting a client certificate if given."""
    context = ssl.create_default_context(cafile=ca)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context
