"""The serving certificate OpenELB's webhook server insists on.

Both the 0.5 manager and the 0.6 controller register an admission webhook
(``Eip{}.SetupWebhookWithManager``: cmd/manager/app/manager.go:96@v0.5.1,
cmd/controller/app/manager.go:89@v0.6.0), so controller-runtime starts its webhook server, which
reads ``tls.crt`` and ``tls.key`` from its certificate folder and fails the manager's start
without them (pkg/webhook/server.go:158-159 of controller-runtime v0.6.0). In a cluster the
manifest's certgen Job makes them; here a certificate of the lab's own authority does. The API
server never calls this webhook: the control plane removes the manifest's webhook configurations
(openelb_component/lab/cluster/openelb.py says why).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from openelb_component.lab.cluster.pki import Authority


def certificate_folder(folder: Path) -> Path:
    """A folder with ``tls.crt`` and ``tls.key`` for 127.0.0.1, made under ``folder``."""
    pair = Authority(folder / "pki").serving("openelb-webhook")
    certs = folder / "serving-certs"
    certs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pair.cert, certs / "tls.crt")
    shutil.copyfile(pair.key, certs / "tls.key")
    return certs
