"""A real Kubernetes control plane for tests, one module per component (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok, kubectl), composed by ``ControlPlane``
(controlplane.py). Modelled on Kubernetes' test/integration/framework and controller-runtime's
envtest: real binaries, loopback only, fresh certificates per run, nothing left behind.
"""

from openelb_component.lab.cluster.controlplane import ControlPlane, binaries
from openelb_component.lab.cluster.kubectl import Kubectl, KubectlError
from openelb_component.lab.cluster.nodes import NodeSpec
from openelb_component.lab.cluster.openelb import Installed
from openelb_component.lab.cluster.process import ComponentError

__all__ = [
    "ComponentError",
    "ControlPlane",
    "Installed",
    "Kubectl",
    "KubectlError",
    "NodeSpec",
    "binaries",
]
