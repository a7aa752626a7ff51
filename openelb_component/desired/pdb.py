"""The PodDisruptionBudget of OpenELB's replicated Deployment (v0.5 manager, v0.6 controller).

``maxUnavailable: 1`` rather than ``minAvailable``: a drain evicts one replica at a time and
waits for it to be replaced, and a single replica can still be evicted, so a drain never blocks
forever. DaemonSet pods are not protected by any PDB (``kubectl drain --ignore-daemonsets``
skips them), so there is no budget for the v0.6 speakers.
"""

from __future__ import annotations

from openelb_component.config import names
from openelb_component.desired.model import DesiredObject
from openelb_component.desired.workloads import Workload

PDB_KEY = "pdb"


def pdb_name(workload: Workload) -> str:
    # openelb-ha-manager / openelb-ha-controller: ours, never a name the installer might use.
    return f"{names.PROJECT}-{workload.name.removeprefix('openelb-')}"


def pod_disruption_budget(workload: Workload, namespace: str, workload_key: str) -> DesiredObject:
    return DesiredObject(
        key=PDB_KEY,
        action="create",
        manifest={
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": pdb_name(workload), "namespace": namespace},
            "spec": {
                "maxUnavailable": 1,
                # Exactly the workload's pods: the full pod template labels (checked against the
                # upstream manifests), never the other OpenELB workload's.
                "selector": {"matchLabels": dict(workload.pod_labels)},
            },
        },
        # After the read and patch of the workload: nothing is created for a missing workload.
        depends_on=(workload_key,),
        on_destroy="deleted: drains are no longer held back for this workload's replicas",
    )
