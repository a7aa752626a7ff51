"""kubectl, the real one built with the control plane, bound to one kubeconfig (an identity)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT = 120.0


class KubectlError(Exception):
    """kubectl exited non-zero: the command and kubectl's own words."""

    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        super().__init__(f"kubectl {' '.join(args)} exited {code}: {stderr.strip()}")
        self.command = args
        self.code = code
        self.stderr = stderr


@dataclass(frozen=True)
class Kubectl:
    binary: Path
    kubeconfig: Path

    def as_identity(self, kubeconfig: Path) -> Kubectl:
        return Kubectl(self.binary, kubeconfig)

    def env(self) -> dict[str, str]:
        """The environment a shell script (the runbook) runs kubectl with: only this
        kubeconfig, and no user's ~/.kube cache."""
        return {"KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": str(self.kubeconfig) + ".cache"}

    def run(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), f"--kubeconfig={self.kubeconfig}", *args]
        done = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.kubeconfig.parent), **self.env()},
        )
        if check and done.returncode != 0:
            raise KubectlError(list(args), done.returncode, done.stderr)
        return done

    def json(self, *args: str) -> Any:
        """``kubectl get ... -o json`` with managedFields shown."""
        return json.loads(self.run(*args, "-o", "json", "--show-managed-fields").stdout)

    def apply_json(self, document: Mapping[str, Any], *flags: str) -> str:
        """``kubectl apply -f -`` (client-side unless ``--server-side`` is among ``flags``)."""
        return self.run("apply", "-f", "-", *flags, stdin=json.dumps(document)).stdout
