"""What a speaker is, in one place: how a node's speaker starts, stops, freezes, answers its
readiness probe and announces.

``ModelledSpeakers`` runs GoBGP (Debian's ``gobgpd``) configured as OpenELB configures its
embedded GoBGP, from the model of OpenELB (``routers/openelb.py``): the BgpConf's global settings,
one neighbor per selected BgpPeer, and the paths OpenELB's decisions give (the scenarios pass
them). Real OpenELB speakers (``lab --openelb real``) are another implementation of the same
methods, given to a run as ``LabOptions(speakers=factory)`` (``factory(fabric, layout)``); the
scenarios only ever call these. Such an implementation starts its process with
``fabric.spawn`` (recorded for the cleanup), stops it with ``fabric.stop`` and may ignore
``paths`` (real OpenELB decides its own).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any, Protocol

from openelb_component.config.models import StackConfig
from openelb_component.desired import DesiredState
from openelb_component.lab.fabric import COMMAND_TIMEOUT, Fabric, run
from openelb_component.lab.layout import LabNode, Layout, gobgpd_toml, path_identifier
from openelb_component.routers import openelb

API = ("-u", "127.0.0.1", "-p", "50051")
"""Every node namespace has its own loopback, so every speaker serves its API there."""
START_TIMEOUT = 10.0
RELOAD_TIMEOUT = 5.0

Paths = Sequence[tuple[str, str]]
"""(announced address, next hop) pairs."""


class Speakers(Protocol):
    """The seam: every scenario starts, stops and freezes speakers through this."""

    decides: bool
    """True when the speakers are OpenELB itself (``lab --openelb real``): they take the paths
    to announce, the neighbor resets and the BGP restarts from the objects ``apply`` writes,
    not from the model, so the scenarios carry out no modelled effect on them."""

    def apply(self, config: StackConfig, state: DesiredState) -> None:
        """The stack's objects changed to ``state`` (nothing to do for modelled speakers: the
        scenario carries out the model's effects)."""

    def wait_applied(self) -> None:
        """Until every ``apply`` has finished (a runbook waits for rollouts, then writes the
        BgpPeers, as ``pulumi up`` does)."""

    def not_ready(self, nodes: Sequence[str]) -> None:
        """The node lifecycle controller marked these Nodes NotReady."""

    def silent(self) -> list[str]:
        """Running speakers that announce nothing although their leaf has addresses (real
        OpenELB's start-up race; never a modelled speaker)."""

    def wait_announcing(self, node: LabNode) -> None:
        """Until the node's speaker announces (or a timeout)."""

    def observations(self, dead: set[str]) -> tuple[dict[str, Any], list[str]]:
        """What the speakers themselves report for the result (nothing for modelled ones), and
        the problems it shows (a live speaker with sessions but nothing to announce)."""

    def start(self, node: LabNode, paths: Paths) -> None:
        """The speaker process starts on the node and announces ``paths`` once it can."""

    def stop(self, node: LabNode) -> None:
        """The pod stops, as the OpenELB version stops on SIGTERM."""

    def freeze(self, node: LabNode) -> None:
        """The node lost power: the speaker sends nothing more, not even a FIN."""

    def probe(self, node: LabNode) -> bool:
        """OpenELB's readiness probe, once."""

    def withdraw(self, node: LabNode, paths: Paths) -> None:
        """OpenELB takes these paths back (0.5: a next hop whose node turned NotReady)."""

    def reset_neighbors(self, nodes: Sequence[LabNode]) -> None:
        """Every neighbor of ``nodes`` deleted (CEASE) and added again, on all at once."""


class ModelledSpeakers:
    decides = False

    def __init__(self, fabric: Fabric, layout: Layout) -> None:
        self.fabric = fabric
        self.layout = layout
        self.cease = openelb.SENDS_CEASE_ON_STOP[layout.version]

    def apply(self, config: StackConfig, state: DesiredState) -> None:
        pass

    def wait_applied(self) -> None:
        pass

    def not_ready(self, nodes: Sequence[str]) -> None:
        pass

    def observations(self, dead: set[str]) -> tuple[dict[str, Any], list[str]]:
        return {}, []

    def silent(self) -> list[str]:
        return []

    def wait_announcing(self, node: LabNode) -> None:
        pass

    def _config(self, node: LabNode) -> str:
        assert node.speaker is not None and node.namespace is not None  # noqa: S101
        return gobgpd_toml(node.speaker, self.layout.passwords)

    def start(self, node: LabNode, paths: Paths) -> None:
        assert node.namespace is not None  # noqa: S101
        config = self.fabric.workdir / f"{node.namespace}.toml"
        config.write_text(self._config(node))
        config.chmod(0o600)
        self.fabric.spawn(
            node.namespace,
            [
                *("ip", "netns", "exec", node.namespace),
                *("gobgpd", "-f", str(config), "--api-hosts", "127.0.0.1:50051"),
                *("--pprof-disable", "-l", "warn"),
            ],
            self.fabric.workdir / f"{node.namespace}.out",
        )
        # OpenELB announces once its BGP server runs: here, once the API answers.
        deadline = time.monotonic() + START_TIMEOUT
        while not self.probe(node):
            if time.monotonic() > deadline:
                raise RuntimeError(f"gobgpd on {node.name} did not answer in {START_TIMEOUT} s")
            time.sleep(0.05)
        self._rib(node, "add", paths)

    def _rib(self, node: LabNode, verb: str, paths: Paths) -> None:
        assert node.namespace is not None  # noqa: S101
        for address, next_hop in paths:
            run(
                [
                    *("ip", "netns", "exec", node.namespace, "gobgp", *API),
                    *("global", "rib", verb, f"{address}/32", "nexthop", next_hop),
                    *("identifier", str(path_identifier(next_hop)), "-a", "ipv4"),
                ]
            )

    def withdraw(self, node: LabNode, paths: Paths) -> None:
        self._rib(node, "del", paths)

    def stop(self, node: LabNode) -> None:
        """v0.6 stops gracefully (StopBgp: a CEASE to every neighbor); v0.5's BGP server never
        sees the signal and ends with the process: the router sees the TCP connection close
        (``openelb.SENDS_CEASE_ON_STOP``)."""
        assert node.namespace is not None  # noqa: S101
        self.fabric.stop(node.namespace, graceful=self.cease)

    def freeze(self, node: LabNode) -> None:
        assert node.namespace is not None  # noqa: S101
        self.fabric.send(node.namespace, signal.SIGSTOP)

    def probe(self, node: LabNode) -> bool:
        """``gobgp -p 50051 global`` answers (openelb.yaml:1180-1189@v0.5.1)."""
        assert node.namespace is not None  # noqa: S101
        if not self.fabric.running(node.namespace):
            return False
        done = subprocess.run(
            ["ip", "netns", "exec", node.namespace, "gobgp", *API, "global"],
            capture_output=True,
            timeout=COMMAND_TIMEOUT,
        )
        return done.returncode == 0

    def _neighbor_count(self, node: LabNode) -> int:
        assert node.namespace is not None  # noqa: S101
        out = run(
            ["ip", "netns", "exec", node.namespace, "gobgp", *API, "neighbor", "-j"], check=False
        )
        return len(json.loads(out or "null") or [])

    def _reload(self, node: LabNode, text: str) -> None:
        assert node.namespace is not None  # noqa: S101
        (self.fabric.workdir / f"{node.namespace}.toml").write_text(text)
        self.fabric.send(node.namespace, signal.SIGHUP)

    def reset_neighbors(self, nodes: Sequence[LabNode]) -> None:
        """gobgpd's own configuration reload (SIGHUP) without the neighbors, then with them:
        the ``DeletePeer`` (CEASE) and ``AddPeer`` calls GoBGP's ``UpdatePeer`` makes
        (pkg/server/server.go:3031-3063@v2.23.0)."""
        full = {n.name: self._config(n) for n in nodes}
        for node in nodes:
            self._reload(node, full[node.name].split("[[neighbors]]", 1)[0])
        deadline = time.monotonic() + RELOAD_TIMEOUT
        while any(self._neighbor_count(n) for n in nodes) and time.monotonic() < deadline:
            time.sleep(0.05)
        for node in nodes:
            self._reload(node, full[node.name])
