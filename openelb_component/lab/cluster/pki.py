"""The run's certificates and keys, made fresh by Debian's ``openssl`` for every control plane.

One certificate authority signs everything: the serving certificates (127.0.0.1 and
``localhost`` only: every component listens on loopback) and the client certificates, whose
subject is the Kubernetes identity (``CN`` the user, ``O`` each group: kube-apiserver's x509
authenticator, staging/src/k8s.io/apiserver/pkg/authentication/request/x509/x509.go
``CommonNameUserConversion``@v1.37.2). The service-account signing key is a key pair of its own.
EC P-256 keys: fast to make, accepted by every component (and for service-account tokens,
ES256). Everything is valid for two days and lives in the run's folder (mode 0700), removed
with it.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL_TIMEOUT = 30.0
DAYS = "2"
# openssl req needs a config naming a distinguished-name section; the subject and extensions
# come from the command line, so no value of ours is ever written into this file.
_CONFIG = "[req]\ndistinguished_name = dn\n[dn]\n"
_IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._@-]{0,127}")
"""User and group names this fixture puts into a certificate subject: what RBAC subjects here
use (``system:masters``, ``system:kube-scheduler``, ``admin``), nothing that means something to
openssl's ``-subj`` syntax (``/``, ``=``, ``+``, ``\\``)."""


class PkiError(Exception):
    """openssl failed (its own words in the message), or an identity is not usable."""


def _identity(value: str, what: str) -> str:
    if _IDENTITY.fullmatch(value) is None:
        raise PkiError(
            f"{what} {value!r} is not usable in a certificate here: letters, digits and "
            f"':._@-', starting with a letter or digit, at most 128 characters"
        )
    return value


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


class Authority:
    """The run's certificate authority, in ``folder``."""

    def __init__(self, folder: Path, openssl: str = "openssl") -> None:
        self.folder = folder
        self.openssl = openssl
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.config = folder / "openssl.cnf"
        self.config.write_text(_CONFIG)
        self.ca = KeyPair(folder / "ca.crt", folder / "ca.key")
        self._req(
            "/CN=openelb-ha-controlplane-ca",
            self.ca,
            ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
            signed=False,
        )

    def _run(self, args: list[str]) -> None:
        try:
            done = subprocess.run(
                [self.openssl, *args],
                capture_output=True,
                text=True,
                timeout=OPENSSL_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as error:
            raise PkiError(f"{self.openssl} not found (apt-get install -y openssl)") from error
        if done.returncode != 0:
            raise PkiError(f"openssl {args[0]} failed: {done.stderr.strip()}")

    def _req(self, subject: str, pair: KeyPair, extensions: list[str], signed: bool) -> KeyPair:
        args = ["req", "-config", str(self.config), "-x509", "-new", "-nodes"]
        args += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        args += ["-keyout", str(pair.key), "-out", str(pair.cert), "-days", DAYS]
        args += ["-subj", subject]
        if signed:
            args += ["-CA", str(self.ca.cert), "-CAkey", str(self.ca.key)]
        for extension in extensions:
            args += ["-addext", extension]
        self._run(args)
        pair.key.chmod(0o600)
        return pair

    def serving(self, name: str) -> KeyPair:
        """A server certificate for 127.0.0.1 and localhost."""
        _identity(name, "certificate name")
        return self._req(
            f"/CN={name}",
            KeyPair(self.folder / f"{name}.crt", self.folder / f"{name}.key"),
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=serverAuth",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ],
            signed=True,
        )

    def client(self, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
        """A client certificate the API server maps to ``user`` in ``groups``."""
        subject = f"/CN={_identity(user, 'user')}" + "".join(
            f"/O={_identity(group, 'group')}" for group in groups
        )
        stem = "client-" + user.replace(":", "_")
        return self._req(
            subject,
            KeyPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key"),
            [
                "basicConstraints=critical,CA:FALSE",
                "keyUsage=critical,digitalSignature",
                "extendedKeyUsage=clientAuth",
            ],
            signed=True,
        )

    def signing_key(self, name: str) -> KeyPair:
        """A bare key pair (``cert`` is the public key): the service-account token signer."""
        _identity(name, "key name")
        pair = KeyPair(self.folder / f"{name}.pub", self.folder / f"{name}.key")
        curve = ["-pkeyopt", "ec_paramgen_curve:P-256"]
        self._run(["genpkey", "-algorithm", "EC", *curve, "-out", str(pair.key)])
        pair.key.chmod(0o600)
        self._run(["pkey", "-in", str(pair.key), "-pubout", "-out", str(pair.cert)])
        return pair
