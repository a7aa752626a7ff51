"""Kubeconfig files: the admin's, the components', and one per identity a test acts as.

Written with the YAML emitter (never pasted text), self-contained (certificates inline), mode
0600: they hold keys and tokens.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

CLUSTER = "openelb-ha-controlplane"


def _inline(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def document(
    server: str,
    ca: Path,
    user: str,
    *,
    cert: Path | None = None,
    key: Path | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """A kubeconfig for one user of ``server``: a client certificate, or a bearer token."""
    credentials: dict[str, str] = {}
    if cert is not None and key is not None:
        credentials = {"client-certificate-data": _inline(cert), "client-key-data": _inline(key)}
    elif token is not None:
        credentials = {"token": token}
    else:
        raise ValueError("a kubeconfig user needs a certificate and key, or a token")
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER,
                "cluster": {"server": server, "certificate-authority-data": _inline(ca)},
            }
        ],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": user, "context": {"cluster": CLUSTER, "user": user}}],
        "current-context": user,
    }


def write(path: Path, config: dict[str, Any]) -> Path:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "w") as out:
        yaml.safe_dump(config, out, sort_keys=False)
    return path
