"""kwok: the cluster's Nodes, kept Ready, and their pods made Running and Ready without running
anything, so Deployments and DaemonSets roll as in a cluster (and nothing leaves loopback).

kwok plays *stages* on Nodes and pods (kwok.x-k8s.io/v1alpha1 ``Stage``). The ``kwok`` binary has
none of its own and refuses to start without (pkg/kwok/cmd/root.go:155-181@v0.8.0); kwokctl
gives it the defaults listed in ``STAGES`` (pkg/kwokctl/runtime/cluster.go:297-339@v0.8.0).
They are read here from the kwok module the Go module proxy served for e2e/tools/kwok (checked
against its go.sum), not copied:

- ``node-initialize``: a Node without a Ready condition gets the conditions, capacity and
  nodeInfo of a healthy node; addresses it already has (the InternalIP given here) are kept
  (kustomize/stage/node/fast/node-initialize.yaml:30-52@v0.8.0);
- ``node-heartbeat-with-lease``: the node's Lease is renewed (``--node-lease-duration-seconds``),
  so the node lifecycle controller never marks it NotReady;
- ``pod-ready``: a scheduled pod becomes Running with Ready containers at once; a hostNetwork
  pod (the speaker) gets its node's IP, the others one from ``--cidr`` (pod/fast/pod-ready.yaml);
- ``pod-complete``: a Job's pod Succeeds; ``pod-delete``: a deleted pod goes away.

``KWOK_WORKDIR`` points into the run's folder: kwok would otherwise also load ~/.kwok/kwok.yaml
when one exists (pkg/config/flags.go:83-97, vars.go:40@v0.8.0).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from openelb_component.lab import gotools
from openelb_component.lab.cluster import probes
from openelb_component.lab.cluster.process import Recorder, Served

POD_CIDR = "198.51.100.128/25"
"""Pod IPs: a documentation range, never routed (nothing dials a pod here)."""
LEASE_SECONDS = 40
STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
MODULE = "sigs.k8s.io/kwok"


def stage_files() -> list[Path]:
    """kwok's default stages, in the module source the proxy served (downloaded if the module
    cache lost it since the build)."""
    try:
        done = subprocess.run(
            ["go", "mod", "download", "-json", MODULE],
            cwd=gotools.TOOLS_DIR / "kwok",
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except FileNotFoundError as error:
        raise gotools.ToolUnavailable(
            "go is not installed: kwok's stages are not at hand"
        ) from error
    if done.returncode != 0:
        raise gotools.ToolUnavailable(f"go mod download {MODULE}: {done.stderr.strip()}")
    folder = Path(json.loads(done.stdout)["Dir"]) / "kustomize" / "stage"
    files = [folder / stage for stage in STAGES]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise gotools.ToolUnavailable(f"kwok's module has no stage {', '.join(missing)}")
    return files


class Kwok(Served):
    name = "kwok"
    start_timeout = 60.0

    def __init__(self, binary: Path, folder: Path, kubeconfig: Path, stages: list[Path]) -> None:
        super().__init__(folder.parent / "kwok.log")
        self.binary = binary
        self.folder = folder
        self.kubeconfig = kubeconfig
        self.stages = stages

    def argv(self, port: int) -> list[str]:
        return [
            str(self.binary),
            f"--kubeconfig={self.kubeconfig}",
            "--manage-all-nodes=true",
            f"--cidr={POD_CIDR}",
            f"--node-lease-duration-seconds={LEASE_SECONDS}",
            f"--server-address=127.0.0.1:{port}",
            *(f"--config={stage}" for stage in self.stages),
        ]

    def env(self) -> dict[str, str]:
        return {"KWOK_WORKDIR": str(self.folder)}

    def ready(self, port: int) -> bool:
        # kwok serves /healthz once its controllers started (pkg/kwok/cmd/root.go:303-312).
        return probes.http_ok(port, "/healthz")

    def start(self, recorder: Recorder) -> None:
        self.folder.mkdir(mode=0o700, exist_ok=True)
        super().start(recorder)
