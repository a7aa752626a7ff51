"""Changes of the applied objects: what the speakers and routers do when the program changes
node membership (``membership-change``) or the BgpConf (``bgpconf-change``), as
``routers/openelb.change_effects`` derives it from the desired states before and after, carried
out on the real GoBGP speakers and routers.

How each effect is carried out, and why that is faithful:

- ``neighbor-reset`` (a BgpPeer spec change: OpenELB's ``UpdatePeer``, which GoBGP v2.23.0 turns
  into ``deleteNeighbor`` with a CEASE and ``addNeighbor``, pkg/server/server.go:3031-3063):
  ``Speakers.reset_neighbors``, on every affected speaker at the same moment;
- ``bgp-restart`` (a BgpConf spec change: ``StopBgp`` then ``StartBgp`` on every speaker,
  pkg/speaker/bgp/conf.go:9-25@v0.5.1, bgp/conf.go:11-35@v0.6.0): every speaker's gobgpd stops
  (its shutdown runs StopBgp: a CEASE to every neighbor) and starts with an empty RIB, all at
  once; it announces again by itself only where ``reannounces`` (v0.5);
- ``roll`` (a pod-template change of the announcing workload): the workload's rollout as its
  controller does it (``kube.Workload.roll``).

Pulumi applies the Nodes' labels first, then the BgpPeers and the BgpConf, then the workload
patch (``PULUMI_NEXT``): the effects run in that order.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from openelb_component.config.models import MultiLeafTopology, StackConfig
from openelb_component.desired import DesiredState, desired_state
from openelb_component.desired import bgpconf_change as gate
from openelb_component.lab.layout import LabNode
from openelb_component.lab.scenarios.base import (
    Lab,
    LabResult,
    Phase,
    Session,
    converge,
    converged_first,
)
from openelb_component.lab.verdicts import Allowance
from openelb_component.routers import openelb

MEMBER_LABEL = "openelb-ha/node"
"""The label the earlier design's BgpPeers listed a leaf's members by."""
PULUMI_NEXT = float(gate.WORKLOAD_APPLIED_AFTER_SECONDS)
"""Seconds between Pulumi's apply of the BgpPeers or the BgpConf and its apply of the workload
patch that depends on them (the next resource in the same update)."""
JOINED_NODE = "lab-joined-node"


# --- carrying out the effects ------------------------------------------------------------------


def _each(nodes: Sequence[LabNode], action: Callable[[LabNode], object]) -> None:
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(nodes)))) as pool:
        list(pool.map(action, nodes))


def restart_bgp(lab: Lab, reannounce: bool) -> None:
    """StopBgp and StartBgp on every speaker at once; paths again only with ``reannounce``."""
    assert lab.workload is not None  # noqa: S101 - up() made it
    nodes = [lab.layout.node(name) for name in lab.workload.running_nodes]
    _each(nodes, lambda n: lab.fabric.stop(n.namespace or "", graceful=True))
    _each(nodes, lambda n: lab.speakers.start(n, lab.paths(n) if reannounce else []))


def carry_out(
    lab: Lab,
    effects: Sequence[openelb.Effect],
    after: tuple[StackConfig, DesiredState] | None = None,
) -> list[str]:
    """The effects on the running speakers (resets and BGP restarts first, then the roll, as
    Pulumi applies the BgpPeers and the BgpConf before the workload); what was done. Real
    OpenELB (``lab.speakers.decides``) gets the changed objects (``after``) instead and makes
    its resets and restarts itself; the roll stays Kubernetes' doing."""
    assert lab.workload is not None  # noqa: S101 - up() made it
    done: list[str] = []
    running = set(lab.workload.running_nodes)
    if lab.speakers.decides:
        if after is not None:
            lab.speakers.apply(*after)
            done.append("the changed stack applied by its runbook; OpenELB reacts by itself")
            lab.event(done[-1])
        effects = [effect for effect in effects if effect.kind == "roll"]
    for effect in effects:
        if effect.kind == "neighbor-reset":
            nodes = [lab.layout.node(n) for n in effect.nodes if n in running]
            lab.speakers.reset_neighbors(nodes)
            done.append(f"leaf {effect.leaf}: every session reset at once")
            lab.event(done[-1] + " (BgpPeer spec changed: UpdatePeer on every speaker)")
        elif effect.kind == "bgp-restart":
            restart_bgp(lab, effect.reannounces)
            again = "re-announced" if effect.reannounces else "nothing re-announced"
            done.append(f"BGP restarted on every speaker at once, {again}")
            lab.event(done[-1])
    if any(effect.kind == "roll" for effect in effects):
        time.sleep(PULUMI_NEXT)
        lab.workload.roll()
        done.append("every speaker rolled, as the workload's rollout does")
    if lab.speakers.decides:
        lab.speakers.wait_applied()  # the change is done when its runbook is
        lab.event("the runbook's apply finished")
    return done


# --- the states compared --------------------------------------------------------------------


def with_joined_node(config: StackConfig) -> StackConfig:
    """The stack with one more node in its first leaf."""
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
    """The desired state as the earlier design made it: each BgpPeer also listed its
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


# --- the scenarios --------------------------------------------------------------------------


def reconfigure_routers(lab: Lab) -> list[str]:
    """The routers get what `router-config` prints for the stack after the change (a neighbor
    for the joining node, maximum-paths), merged into the running configuration."""
    changed = []
    for leaf in lab.layout.leaves:
        bird = lab.fabric.router == "bird"
        old = leaf.initial_bird_config if bird else leaf.initial_frr_config
        new = leaf.bird_config if bird else leaf.frr_config
        if old and old != new:
            # BIRD reloads its whole file; FRR takes router-config's default (mergeable) output.
            lab.fabric.reconfigure_router(leaf, new if bird else leaf.frr_merge)
            changed.append(leaf.name)
    if changed:
        lab.event(f"router-config's new output merged into router(s) {', '.join(changed)}")
    return changed


def _join(lab: Lab, before: DesiredState, after: DesiredState, baseline: bool) -> Phase:
    """From the running fabric (the stack before), the whole change: routers reconfigured, the
    joining node labelled (0.6: the DaemonSet starts its speaker), the design's effects."""
    assert lab.workload is not None  # noqa: S101 - up() made it
    speakers = lab.speakers_by_leaf()
    effects = openelb.change_effects(lab.layout.version, before, after)
    if baseline:
        # The earlier design had no membership hash in the pod template: no roll.
        effects = [e for e in effects if e.kind == "neighbor-reset"]
    since = lab.begin()
    routers = reconfigure_routers(lab)
    for node in lab.layout.nodes:
        if node.joins:
            lab.event(f"{node.name} labelled: it joins leaf {node.leaf}")
            lab.workload.add_node(node.leaf, node.name)
    assert lab.config is not None  # noqa: S101 - the session's labs have their stack
    done = carry_out(lab, effects, (lab.config, after))
    lab.workload.settle()
    took = converge(lab)
    return lab.phase(
        since,
        lab.allowance(Allowance()) if not baseline else Allowance(baseline=True),
        speakers,
        {
            "effects": [f"{e.kind}: {e.reason}" for e in effects],
            "done": done,
            "routersReconfigured": routers,
            "settledAfterSeconds": took,
        },
        "earlier design" if baseline else "",
    )


def membership_change(session: Session) -> LabResult:
    """A node joins the first leaf, the whole change, on a fresh fabric for each design: the
    earlier design (each BgpPeer listed its leaf's members: that leaf's sessions all
    reset at once), a baseline; then this program (no BgpPeer changes; the workload rolls)."""
    before_config, before_state = session.config, session.state
    after_config = with_joined_node(before_config)
    after_state = desired_state(after_config)
    initial = (before_config, before_state)
    with session.lab(after_config, after_state, initial) as lab:
        failed = converged_first(lab, "membership-change")
        if failed:
            return failed
        earlier = _join(lab, earlier_design(before_state), earlier_design(after_state), True)
    with session.lab(after_config, after_state, initial) as lab:
        failed = converged_first(lab, "membership-change")
        if failed:
            return failed
        phase = _join(lab, before_state, after_state, False)
        result = lab.result("membership-change", phase)
    result.comparisons["earlierDesign"] = earlier
    result.details.update(
        change=f"{JOINED_NODE} joins leaf {lab.layout.leaves[0].name}",
        minReadySeconds=lab.layout.rollout.min_ready_seconds,
    )
    return result


BASELINE_ALLOWANCE = 20.0
"""bgpconf-change: how long a leaf may be without a path in the baseline (every speaker replaced
at once, the design until 2026-12-03, fifth session). The program's own change is judged by the
outage its preview states for each leaf (``BgpConfChange.outages``): a BgpConf change silences
every speaker at once whatever the program does (``desired/bgpconf_change.py``), and ``up``
applies one only when acknowledged with that figure in front of the operator."""


def _during_change(
    session: Session, after: StackConfig, after_state: DesiredState
) -> tuple[DesiredState, gate.BgpConfChange | None]:
    """The state the program applies for this change (on 0.6, the speakers rolled one at a time
    without minReadySeconds), and the change as the preview names it."""
    before = session.state
    recorded = gate.Recorded(
        before.bgp_conf_digest,
        next((dict(o.manifest["spec"]) for o in before.objects if o.kind == "BgpConf"), None),
    )
    change = gate.pending_change(
        after.openelb.version,
        after_state,
        recorded,
        after.timers,
        gate.speakers_by_leaf(after_state),
    )
    return gate.carried_out(after_state, change), change


def bgpconf_change(session: Session) -> LabResult:
    """A BgpConf change: every speaker restarts BGP at once; the announcements come back by
    themselves (v0.5) or through the roll that the BgpConf hash in the speakers' pod template
    causes (v0.6), which the program makes one speaker at a time without minReadySeconds. Judged
    against the outage the preview states. On v0.6 with modelled speakers the change back
    follows with every speaker replaced at once (``allAtOnce``, a baseline: the design until
    2026-12-03, fifth session); not with OpenELB's own, whose speakers started together race
    and can stay silent (``ROLL_STEP_SECONDS`` in ``desired/bgpconf_change.py``), which would
    leave the run's end without its announcements."""
    with session.lab() as lab:
        failed = converged_first(lab, "bgpconf-change")
        if failed:
            return failed
        changed = with_bgp_conf_changed(session.config)
        if changed is None:
            result = lab.result("bgpconf-change")
            result.notes.append("the stack does not manage the BgpConf (no openelb-ha:bgp)")
            return result
        after, what = changed
        after_state = desired_state(after)
        applied, change = _during_change(session, after, after_state)
        effects = openelb.change_effects(lab.layout.version, session.state, after_state)
        assert lab.workload is not None  # noqa: S101 - up() made it
        workload = lab.workload
        usual = (workload.max_unavailable, workload.min_ready_seconds)
        during = openelb.rollout(applied)
        workload.max_unavailable = during.max_unavailable
        workload.min_ready_seconds = during.min_ready_seconds
        speakers = lab.speakers_by_leaf()
        since = lab.begin()
        done = carry_out(lab, effects, (after, applied))
        workload.settle()
        took = converge(lab)
        expected = None if change is None else max(o.seconds for o in change.outages)
        allowance = Allowance(gap_seconds=BASELINE_ALLOWANCE if expected is None else expected)
        phase = lab.phase(
            since,
            lab.allowance(allowance),
            speakers,
            {
                "change": what,
                "strategy": None if change is None else change.strategy,
                "maxUnavailableDuringChange": workload.max_unavailable,
                "minReadySecondsDuringChange": workload.min_ready_seconds,
                "expectedOutageSeconds": expected,
                "effects": [f"{e.kind}: {e.reason}" for e in effects],
                "done": done,
                "settledAfterSeconds": took,
            },
        )
        # The next run puts the stack's own settings back.
        workload.max_unavailable, workload.min_ready_seconds = usual
        comparisons: dict[str, Phase] = {}
        real = lab.speakers.decides
        if change is not None and change.strategy == "roll-without-waiting" and not real:
            back = openelb.change_effects(lab.layout.version, after_state, session.state)
            speakers = lab.speakers_by_leaf()
            every_speaker = sum(speakers.values())
            started = lab.begin()
            lab.event("for comparison: the change back, every speaker replaced at once")
            # minReadySeconds 0 too: the speakers the change just replaced would otherwise not
            # count as available yet, and an operator's change finds them long available.
            workload.max_unavailable, workload.min_ready_seconds = every_speaker, 0
            carry_out(lab, back)
            workload.settle()
            converge(lab)
            workload.max_unavailable, workload.min_ready_seconds = usual
            comparisons["allAtOnce"] = lab.phase(
                started,
                Allowance(gap_seconds=BASELINE_ALLOWANCE, baseline=True),
                speakers,
                {"change": f"back from {what}", "maxUnavailableDuringChange": every_speaker},
                "every speaker replaced at once (the design until 2026-12-03, fifth session)",
            )
        result = lab.result("bgpconf-change", phase)
    result.comparisons = comparisons
    back_again = all(all(leaf.paths.values()) for leaf in result.leaves.values())
    if not back_again:
        result.problems.append("the announcements did not come back")
        result.ok = False
    result.details["announcementsBack"] = back_again
    return result
