"""``RealSpeakers``: the lab's speaker seam (``lab/speakers.py``) served by OpenELB itself.

The scenarios drive pods (start, stop, power loss) and Kubernetes' timing exactly as in the
modelled lab; what the speakers announce, when they reset a neighbor or restart BGP, is OpenELB's
own doing, from the objects in the control plane: the stack's, applied by the plan's runbook
(``apply``), the Services' addresses, the Nodes' readiness (``not_ready``).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from openelb_component.config.models import StackConfig, eip_networks
from openelb_component.desired import DesiredState
from openelb_component.lab.fabric import Fabric
from openelb_component.lab.layout import Faults, LabNode, Layout, lab_state
from openelb_component.lab.leftovers import Run
from openelb_component.lab.real.binaries import find
from openelb_component.lab.real.openelb import LabNodeSpec, RealOpenElb

Paths = Sequence[tuple[str, str]]
ANNOUNCE_TIMEOUT = 60.0
"""A restarted speaker announces within seconds (its BgpConf, then its Eip reconcile)."""


class RealSpeakers:
    decides = True

    def __init__(self, real: RealOpenElb, layout: Layout, stack: str, faults: Faults) -> None:
        self.real = real
        self.layout = layout
        self.stack = stack
        self.faults = faults
        self.errors: list[str] = []
        """Runbook applies that failed (they run beside the scenario: they wait for rollouts)."""
        self._applies: list[threading.Thread] = []

    def applied(self, state: DesiredState) -> DesiredState:
        """The state as the lab applies it: BgpPeers pointing at the lab's routers."""
        routers = {leaf.name: leaf.router_address for leaf in self.layout.leaves}
        return lab_state(state, routers, self.faults)[0]

    def apply(self, config: StackConfig, state: DesiredState) -> None:
        """The runbook's apply of ``state``, in the background: it waits for the workload's
        rollout in the control plane (kwok's pods), while the scenario rolls the real
        processes as the modelled Kubernetes timing says."""

        def run() -> None:
            try:
                self.real.apply_state(
                    self.stack, config, self.applied(state), self.layout.passwords
                )
            except Exception as error:  # reported with the result, never lost
                self.errors.append(str(error))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._applies.append(thread)
        # The runbook writes the BgpConf before it waits for the workload's rollout: the
        # scenario goes on once OpenELB can see it (the change the speakers react to).
        for obj in self.applied(state).objects:
            if obj.kind == "BgpConf" and not self.real.wait_spec(
                "bgpconfs.network.kubesphere.io", obj.name, obj.manifest.get("spec") or {}
            ):
                self.errors.append(f"the BgpConf {obj.name} was not written in time")

    def wait_applied(self, timeout: float = 900.0) -> None:
        for thread in self._applies:
            thread.join(timeout)
        self._applies = [thread for thread in self._applies if thread.is_alive()]

    def not_ready(self, nodes: Sequence[str]) -> None:
        self.real.set_not_ready(nodes)

    def start(self, node: LabNode, paths: Paths) -> None:
        self.real.start_speaker(node.name)

    def stop(self, node: LabNode) -> None:
        self.real.stop_speaker(node.name)

    def freeze(self, node: LabNode) -> None:
        self.real.freeze_speaker(node.name)

    def probe(self, node: LabNode) -> bool:
        return self.real.ready(node.name)

    def withdraw(self, node: LabNode, paths: Paths) -> None:
        """OpenELB withdraws by itself (or not): nothing to do."""

    def reset_neighbors(self, nodes: Sequence[LabNode]) -> None:
        """OpenELB resets its neighbors by itself (or not): nothing to do."""

    def observations(self, dead: set[str]) -> tuple[dict[str, Any], list[str]]:
        """Each running speaker's paths (its GoBGP RIB), its pods' lives, the binaries; a
        problem for every live speaker that holds no path: its router gets the rack's next hops
        only from the others, so losing them leaves the leaf dark."""
        paths = {
            name: self.real.announced(name)
            for name in sorted(self.real.speakers)
            if name not in dead
        }
        observed: dict[str, Any] = {
            "mode": "real",
            "speakerPaths": paths,
            "pods": self.real.pod_events(),
            "binaries": dict(self.real.binaries.sha256),
        }
        problems = [
            f"speaker {name} announces nothing (0 paths in its RIB) while it runs"
            for name, count in paths.items()
            if count == 0 and self._leaf_announces(name)
        ]
        # The speakers copy GoBGP's view of each session into the BgpPeer's status, readable
        # by whoever may read BgpPeers: the lab's passwords must not be in it (the component
        # leaves status outputs unmarked on that ground: component/openelb_ha.py).
        statuses = self.real.bgp_peer_statuses()
        observed["bgpPeerStatusNodes"] = {
            name: sorted(status.get("nodesPeerStatus") or {}) for name, status in statuses.items()
        }
        secrets = [password for password in self.layout.passwords.values() if password]
        problems += [
            f"BgpPeer {name}'s status holds a BGP password"
            for name, status in statuses.items()
            if any(password in json.dumps(status) for password in secrets)
        ]
        if self.errors:
            observed["runbookErrors"] = list(self.errors)
            problems += [f"the runbook's apply failed: {error}" for error in self.errors]
        return observed, problems

    def silent(self) -> list[str]:
        return [
            name
            for name in sorted(self.real.speakers)
            if self._leaf_announces(name) and self.real.announced(name) == 0
        ]

    def wait_announcing(self, node: LabNode) -> None:
        deadline = time.monotonic() + ANNOUNCE_TIMEOUT
        while time.monotonic() < deadline and not self.real.announced(node.name):
            time.sleep(0.5)

    def _leaf_announces(self, name: str) -> bool:
        leaf = self.layout.node(name).leaf
        return any(other.name == leaf and other.announced for other in self.layout.leaves)


def eips_to_announce(layout: Layout, config: StackConfig) -> tuple[list[str], list[str]]:
    """(Eip ranges, the address each one's Service asks for): every address the routers are
    read for, with the lab's range holding it (a stack without eips: the address alone)."""
    ranges = [layout.eip_map.get(value, value) for value in (config.eips or [])]
    pairs: dict[str, str] = {}
    for address in dict.fromkeys(a for leaf in layout.leaves for a in leaf.announced):
        ip = ipaddress.ip_address(address)
        holder = next((r for r in ranges if any(ip in net for net in eip_networks(r))), address)
        pairs.setdefault(holder, address)
    return list(pairs), list(pairs.values())


@contextlib.contextmanager
def real_speakers(
    layout: Layout,
    fabric: Fabric,
    record: Run,
    binaries: Path | None,
    stack: str,
    config: StackConfig,
    state: DesiredState,
    faults: Faults,
) -> Iterator[RealSpeakers]:
    """The control plane with OpenELB and the stack (``config``/``state``: what the lab
    starts from), for the lab of ``layout``; stopped and removed when the block ends."""
    found = find(layout.version, binaries)
    nodes = [LabNodeSpec(n.name, n.address, n.namespace) for n in layout.nodes]
    real = RealOpenElb(found, nodes, record, fabric.workdir / "real", layout.prefix)
    with real:
        speakers = RealSpeakers(real, layout, stack, faults)
        ranges, addresses = eips_to_announce(layout, config)
        real.start(stack, config, speakers.applied(state), layout.passwords, ranges, addresses)
        try:
            yield speakers
        finally:
            speakers.wait_applied()
