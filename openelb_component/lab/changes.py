"""Lab scenarios for changes of the applied objects (issue 11): what the speakers do when the
program changes node membership or the BgpConf, as ``routers/openelb.change_effects`` derives it
from the desired states before and after, carried out on the real GoBGP speakers.

How each effect is carried out, and why that is faithful:

- ``neighbor-reset`` (a BgpPeer spec change: OpenELB's ``UpdatePeer``, which GoBGP v2.23.0 turns
  into ``deleteNeighbor`` with a CEASE and ``addNeighbor``, pkg/server/server.go:3031-3063):
  gobgpd's own configuration reload (SIGHUP) without the neighbor, then with it again, which
  makes the same two server calls (``DeletePeer``, ``AddPeer``), on every affected speaker at
  the same moment;
- ``bgp-restart`` (a BgpConf spec change: ``StopBgp`` then ``StartBgp`` on every speaker,
  pkg/speaker/bgp/conf.go:9-25@v0.5.1, bgp/conf.go:11-35@v0.6.0): every speaker's gobgpd stops
  (its shutdown runs StopBgp: a CEASE to every neighbor) and starts with an empty RIB, all at
  once; it announces again by itself only where ``reannounces`` (v0.5);
- ``roll`` (a pod-template change of the announcing workload): the rollout, one speaker at a
  time, the next one once the new one answers its API plus ``minReadySeconds``.
"""

from __future__ import annotations

import copy
import json
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from openelb_component.config.models import MultiLeafTopology, StackConfig
from openelb_component.desired import DesiredState, desired_state
from openelb_component.lab.fabric import API, run
from openelb_component.lab.layout import LabNode, announcements
from openelb_component.lab.scenarios import (
    OBSERVE,
    Lab,
    LabResult,
    converge,
    converged_first,
    leaves_left_without_path,
    phase_stats,
)
from openelb_component.routers import openelb

MEMBER_LABEL = "openelb-ha/node"
"""The label the earlier design's BgpPeers listed a leaf's members by."""
WATCH_WITHOUT_ROLL = 12.0
"""After a BgpConf change, how long the lab waits for the speakers to announce by themselves
before the roll (v0.5 does within seconds; v0.6 never does)."""
RELOAD_TIMEOUT = 5.0
JOINED_NODE = "lab-joined-node"


# --- carrying out the effects ------------------------------------------------------------------


def _each(nodes: Sequence[LabNode], action: Callable[[LabNode], object]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
        list(pool.map(action, nodes))


def _neighbor_count(node: LabNode) -> int:
    assert node.namespace is not None  # noqa: S101
    out = run(["ip", "netns", "exec", node.namespace, "gobgp", *API, "neighbor", "-j"], check=False)
    return len(json.loads(out or "null") or [])


def _reload(lab: Lab, node: LabNode, text: str) -> None:
    assert node.namespace is not None  # noqa: S101
    (lab.fabric.workdir / f"{node.namespace}.toml").write_text(text)
    lab.fabric.processes[node.namespace].send_signal(signal.SIGHUP)


def reset_sessions(lab: Lab, nodes: Sequence[LabNode]) -> None:
    """Every neighbor of ``nodes`` deleted (CEASE) and added again, on all of them at once."""
    full = {n.name: (lab.fabric.workdir / f"{n.namespace}.toml").read_text() for n in nodes}
    _each(nodes, lambda n: _reload(lab, n, full[n.name].split("[[neighbors]]", 1)[0]))
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while any(_neighbor_count(n) for n in nodes) and time.monotonic() < deadline:
        time.sleep(0.05)
    _each(nodes, lambda n: _reload(lab, n, full[n.name]))


def restart_bgp(lab: Lab, reannounce: bool) -> None:
    """StopBgp and StartBgp on every speaker at once; paths again only with ``reannounce``."""
    nodes = list(lab.layout.speaker_nodes)
    _each(nodes, lambda n: lab.fabric.stop_speaker(n, cease=True))
    _each(
        nodes,
        lambda n: lab.fabric.start_speaker(
            n, announcements(lab.layout, n, lab.ready) if reannounce else []
        ),
    )


def carry_out(lab: Lab, effects: Sequence[openelb.Effect]) -> list[str]:
    """The effects on the running speakers (resets and BGP restarts first, then the roll, as
    Pulumi applies the BgpPeers and the BgpConf before the workload); what was done."""
    done: list[str] = []
    running = {n.name: n for n in lab.layout.speaker_nodes}
    for effect in effects:
        if effect.kind == "neighbor-reset":
            nodes = [running[n] for n in effect.nodes if n in running]
            reset_sessions(lab, nodes)
            time.sleep(OBSERVE)
            done.append(f"leaf {effect.leaf}: every session reset at once")
        elif effect.kind == "bgp-restart":
            restart_bgp(lab, effect.reannounces)
            again = "re-announced" if effect.reannounces else "nothing re-announced"
            done.append(f"BGP restarted on every speaker at once, {again}")
            time.sleep(WATCH_WITHOUT_ROLL)
    if any(effect.kind == "roll" for effect in effects):
        lab.roll()
        done.append("every speaker rolled, one at a time")
    return done


# --- the states compared --------------------------------------------------------------------


def with_joined_node(config: StackConfig) -> StackConfig:
    """The stack with one more node in its first leaf. The lab does not run that node: what is
    measured is what the running speakers do about it."""
    topology = config.topology
    assert isinstance(topology, MultiLeafTopology)  # noqa: S101 - leaves exist: the lab has peers
    first, *rest = topology.leaves
    grown = first.model_copy(update={"nodes": [*first.nodes, JOINED_NODE]})
    return config.model_copy(
        update={"topology": topology.model_copy(update={"leaves": [grown, *rest]})}
    )


def with_bgp_conf_changed(config: StackConfig) -> tuple[StackConfig, str] | None:
    """A BgpConf change the routers do not see: ``listenPort`` written out as its default, or
    (when it is set) a ``routerId``, which asPerRack makes OpenELB ignore on every node."""
    bgp = config.bgp
    if bgp is None:
        return None
    if bgp.listen_port is None:
        changed, what = bgp.model_copy(update={"listen_port": openelb.BGP_PORT}), "listenPort: 179"
    else:
        changed, what = bgp.model_copy(update={"router_id": "192.0.2.254"}), "routerId set"
    return config.model_copy(update={"bgp": changed}), what


def earlier_design(state: DesiredState) -> DesiredState:
    """The desired state as the release before issue 11 made it: each BgpPeer also listed its
    leaf's members by name (``openelb-ha/node In [...]``), each member carrying that label."""
    leaf_of = {name: leaf for leaf, name in state.peer_by_leaf.items()}
    objects = []
    for obj in state.objects:
        manifest = copy.deepcopy(obj.manifest)
        if obj.kind == "BgpPeer":
            members = state.nodes_by_leaf.get(leaf_of[obj.name], ())
            manifest["spec"]["nodeSelector"]["matchExpressions"] = [
                {"key": MEMBER_LABEL, "operator": "In", "values": sorted(members)}
            ]
        elif obj.kind == "Node":
            manifest["metadata"]["labels"][MEMBER_LABEL] = obj.name
        objects.append(replace(obj, manifest=manifest))
    return replace(state, objects=tuple(objects))


# --- judging ---------------------------------------------------------------------------------


# --- the scenarios --------------------------------------------------------------------------


def membership_change(lab: Lab) -> LabResult:
    """A node joins the first leaf. First, for comparison, what the earlier design made the
    speakers do (the leaf's BgpPeer spec changed: every session of that leaf reset at once);
    then what this program makes them do (no BgpPeer changes; the workload rolls)."""
    failed = converged_first(lab, "membership-change")
    if failed:
        return failed
    assert lab.config is not None and lab.state is not None  # noqa: S101
    version = lab.layout.version
    before, after = lab.state, desired_state(with_joined_node(lab.config))
    earlier = [
        effect
        for effect in openelb.change_effects(version, earlier_design(before), earlier_design(after))
        if effect.kind == "neighbor-reset"
    ]
    earlier_since = time.monotonic()
    earlier_done = carry_out(lab, earlier)
    converge(lab)
    earlier_leaves = phase_stats(lab, earlier_since)

    effects = openelb.change_effects(version, before, after)
    since = time.monotonic()
    done = carry_out(lab, effects)
    took = converge(lab)
    result = lab.result("membership-change", since)
    stats = phase_stats(lab, since)
    result.problems += leaves_left_without_path(stats)
    result.ok = result.ok and not result.problems
    result.details.update(
        change=f"{JOINED_NODE} joins leaf {lab.layout.leaves[0].name}",
        effects=[f"{e.kind}: {e.reason}" for e in effects],
        done=done,
        minReadySeconds=lab.layout.rollout.min_ready_seconds,
        settledAfterSeconds=took,
        leaves=stats,
        earlierDesign={"done": earlier_done, "leaves": earlier_leaves},
    )
    return result


def bgpconf_change(lab: Lab) -> LabResult:
    """A BgpConf change: every speaker restarts BGP at once; the result shows that the
    announcements come back, by themselves (v0.5) or through the roll that the BgpConf hash in
    the speakers' pod template causes (v0.6), and how long each leaf was without a path."""
    failed = converged_first(lab, "bgpconf-change")
    if failed:
        return failed
    assert lab.config is not None and lab.state is not None  # noqa: S101
    changed = with_bgp_conf_changed(lab.config)
    if changed is None:
        result = lab.result("bgpconf-change", time.monotonic())
        result.notes.append("the stack does not manage the BgpConf (no openelb-ha:bgp)")
        return result
    after, what = changed
    effects = openelb.change_effects(lab.layout.version, lab.state, desired_state(after))
    since = time.monotonic()
    done = carry_out(lab, effects)
    took = converge(lab)
    result = lab.result("bgpconf-change", since)
    result.details["leaves"] = phase_stats(lab, since)
    back = all(all(leaf.paths.values()) for leaf in result.leaves.values())
    if not back:
        result.problems.append("the announcements did not come back")
        result.ok = False
    result.details.update(
        change=what,
        effects=[f"{e.kind}: {e.reason}" for e in effects],
        done=done,
        watchedBeforeRollSeconds=WATCH_WITHOUT_ROLL,
        announcementsBack=back,
        settledAfterSeconds=took,
    )
    return result
