"""BgpPeers: one per router, never a router without its peer, and no password left in the open.

OpenELB keys GoBGP neighbors by address: a speaker deletes a neighbor by ``neighborAddress``
when its peer is deleted or stops matching (pkg/speaker/bgp/peers.go:136-140@v0.5.1,
pkg/speaker/bgp/bgp/peers.go:146-150@v0.6.0). So the peers are keyed by router address, in
Pulumi and in the cluster: a leaf rename or a router moving between leaves updates the same
peer, and never creates one and deletes another for the same address (which, deleted last,
would take the neighbor the new one had just added).
"""

from __future__ import annotations

import copy
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from openelb_component.plan.build import build_plan
from openelb_component.plan.render import RENDERERS
from openelb_component.plan.runbook import CONFIRM_VARIABLE
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import (
    ROOT,
    SECRET_SIG,
    SECRET_SIG_VALUE,
    FakeCluster,
    Run,
    preview_diff,
    run_program,
    run_program_capturing,
    stack_config,
)

PEER = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
PEER_PATCH = f"{PEER}Patch"
PASSWORD = "s3cret-md5-password"  # noqa: S105 - a test value
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

TWO_LEAVES: dict[str, Any] = {
    "topology": {
        "kind": "multi-leaf",
        "replicasPerLeaf": 1,
        "leaves": [
            {"name": "leaf1", "nodes": ["n1"], "peer": {"address": "192.0.2.1", "asn": 65001}},
            {"name": "leaf2", "nodes": ["n2"], "peer": {"address": "192.0.2.2", "asn": 65001}},
        ],
    }
}


def peers(run: Run) -> dict[str, dict[str, Any]]:
    """Pulumi name -> inputs, of every BgpPeer (created or patched)."""
    return {r.name: r.inputs for r in run.resources if r.type in (PEER, PEER_PATCH)}


def changed(config: dict[str, Any], change: Any) -> dict[str, Any]:
    after = copy.deepcopy(config)
    change(after["topology"]["leaves"])
    return after


def rename(leaves: list[dict[str, Any]]) -> None:
    leaves[0]["name"] = "rack-a"


def swap_routers(leaves: list[dict[str, Any]]) -> None:
    leaves[0]["peer"], leaves[1]["peer"] = leaves[1]["peer"], leaves[0]["peer"]


def move_router(leaves: list[dict[str, Any]]) -> None:
    """leaf2's router now serves leaf1 too: leaf2 is merged into leaf1, its router kept."""
    leaves[0]["nodes"] += leaves[1]["nodes"]
    leaves[0]["peer"] = leaves[1]["peer"]
    del leaves[1]


@pytest.mark.parametrize(
    ("change", "updated"),
    [
        (rename, ["openelb-ha-bgppeer-192-0-2-1"]),
        (swap_routers, ["openelb-ha-bgppeer-192-0-2-1", "openelb-ha-bgppeer-192-0-2-2"]),
    ],
    ids=["leaf-rename", "routers-swap-leaves"],
)
def test_a_rename_or_a_move_updates_the_routers_own_peer_in_place(
    change: Any, updated: list[str]
) -> None:
    before, after = run_program(TWO_LEAVES), run_program(changed(TWO_LEAVES, change))
    diff = preview_diff(before, after)
    assert [name for name in diff.created + diff.deleted if "bgppeer" in name] == []
    assert [name for name in diff.updated if "bgppeer" in name] == updated
    # Same object in the cluster: the name is the router's, not the leaf's.
    for name in updated:
        assert peers(before)[name]["metadata"]["name"] == peers(after)[name]["metadata"]["name"]


def test_a_router_leaving_is_the_only_peer_deleted() -> None:
    before, after = run_program(TWO_LEAVES), run_program(changed(TWO_LEAVES, move_router))
    diff = preview_diff(before, after)
    assert [n for n in diff.deleted if "bgppeer" in n] == ["openelb-ha-bgppeer-192-0-2-1"]
    assert [n for n in diff.created if "bgppeer" in n] == []
    assert [n for n in diff.updated if "bgppeer" in n] == ["openelb-ha-bgppeer-192-0-2-2"]


def test_a_stack_applied_with_leaf_keyed_peers_keeps_them_and_replaces_delete_first() -> None:
    """Stacks applied before peers were keyed by router have ``<component>-bgppeer-<leaf>`` in
    their state: the alias keeps that resource (no create of a second peer for the router);
    its cluster name changes, so Pulumi replaces it, deleting the old object first."""
    run = run_program(TWO_LEAVES)
    (peer,) = [r for r in run.resources if r.name == "openelb-ha-bgppeer-192-0-2-1"]
    assert f"openelb-ha-bgppeer-leaf1|{PEER}" in peer.aliases
    assert peer.delete_before_replace is True


@pytest.mark.parametrize("adopt", [False, True], ids=["created", "adopted"])
def test_switching_adopt_keeps_the_same_peer(adopt: bool) -> None:
    """With adopt a peer is a BgpPeerPatch, without it a BgpPeer: each aliases the other type,
    so switching is an update, not a create (AlreadyExists) plus a delete (of the object)."""
    run = run_program({**TWO_LEAVES, "adopt": adopt})
    (peer,) = [r for r in run.resources if r.name == "openelb-ha-bgppeer-192-0-2-1"]
    own, other = (PEER_PATCH, PEER) if adopt else (PEER, PEER_PATCH)
    assert peer.type == own
    assert f"openelb-ha-bgppeer-192-0-2-1|{other}" in peer.aliases


# --- adopting a hand-made peer without its password in the open --------------------------------


def hand_made_peer(name: str) -> dict[str, Any]:
    """A BgpPeer as `kubectl apply -f peer.yaml` (client-side) leaves it: the whole applied
    object, password included, in the last-applied-configuration annotation."""
    spec = {"conf": {"peerAs": 65001, "neighborAddress": "192.0.2.1", "authPassword": PASSWORD}}
    applied: dict[str, Any] = {
        "apiVersion": "network.kubesphere.io/v1alpha2",
        "kind": "BgpPeer",
        "metadata": {"name": name},
        "spec": spec,
    }
    return {
        **applied,
        "metadata": {"name": name, "annotations": {LAST_APPLIED: json.dumps(applied)}},
    }


HAND_MADE = "bgppeer-leaf1"
"""What the peer made by hand is called; the stack names it in ``peer.name``."""


def adopting_run() -> Run:
    config = copy.deepcopy(TWO_LEAVES)
    config["topology"]["leaves"][0]["peer"]["name"] = HAND_MADE
    config |= {"adopt": True, "bgpPasswords": {"leaf1": {"secure": "v1:x"}}}
    name = HAND_MADE
    # What the apply answers before this project's fields land: the object as its maker left it.
    cluster = FakeCluster(live={(PEER_PATCH, "openelb-ha-bgppeer-192-0-2-1"): hand_made_peer(name)})
    return run_program(config, cluster=cluster, secret_keys=["bgpPasswords"])


def test_adopting_takes_the_hand_made_peer_over_with_a_forced_patch() -> None:
    run = adopting_run()
    (peer,) = [r for r in run.resources if r.name == "openelb-ha-bgppeer-192-0-2-1"]
    assert peer.type == PEER_PATCH
    assert peer.inputs["metadata"]["name"] == HAND_MADE
    annotations = peer.inputs["metadata"]["annotations"]
    assert annotations == {
        "pulumi.com/patchFieldManager": "openelb-ha",
        "pulumi.com/patchForce": "true",
        # The forced patch owns the annotation from now on, empty: the cluster's copy of the
        # password is gone, and so is Pulumi's.
        LAST_APPLIED: "",
    }


def test_an_adopted_peers_password_is_secret_in_inputs_and_its_outputs_are_secret_whole() -> None:
    run = adopting_run()
    (peer,) = [r for r in run.resources if r.name == "openelb-ha-bgppeer-192-0-2-1"]
    # Input: the password is a secret exactly where it goes (the wire keeps nested markers).
    password = peer.wire_inputs["spec"]["conf"]["authPassword"]
    assert password[SECRET_SIG] == SECRET_SIG_VALUE
    # Outputs: the engine encrypts these top-level outputs in every checkpoint (pulumi
    # pkg/resource/deploy/step_executor.go:516-554@v3.259.0), whatever the live object holds:
    # the maker's last-applied-configuration (metadata), a password the stack left out (spec).
    assert peer.additional_secret_outputs == ["metadata", "spec"]
    # The mocks did hand the program the hand-made object, password included ...
    assert PASSWORD in json.dumps(run.state["openelb-ha-bgppeer-192-0-2-1"])
    # ... and none of it reaches what the component registers or the stack exports.
    exported = json.dumps([run.registered_outputs, run.outputs])
    assert PASSWORD not in exported
    assert LAST_APPLIED not in exported


def test_a_created_peer_never_holds_a_last_applied_configuration() -> None:
    """Created by the provider (a plain create) or by the runbook (a server-side apply under
    openelb-ha, which the API server syncs into last-applied only for the manager `kubectl`):
    nothing writes the annotation, so nothing needs blanking."""
    run = run_program(TWO_LEAVES)
    for inputs in peers(run).values():
        assert LAST_APPLIED not in inputs["metadata"].get("annotations", {})


def test_two_routers_cannot_share_a_peer_name() -> None:
    config = copy.deepcopy(TWO_LEAVES)
    for leaf in config["topology"]["leaves"]:
        leaf["peer"]["name"] = HAND_MADE
    run, error = run_program_capturing(config)
    assert isinstance(error, pulumi.RunError)
    assert "topology.leaves[1].peer.name = 'bgppeer-leaf1': the same BgpPeer name as leaves[0]" in (
        str(error)
    )
    assert run.registrations == []


@pytest.mark.parametrize("name", ["BgpPeer_Leaf1", "-x", "a" * 254], ids=["case", "dash", "long"])
def test_a_peer_name_must_be_a_valid_object_name(name: str) -> None:
    config = copy.deepcopy(TWO_LEAVES)
    config["topology"]["leaves"][0]["peer"]["name"] = name
    _, error = run_program_capturing(config)
    assert isinstance(error, pulumi.RunError)
    assert "topology.leaves[0].peer.name" in str(error)


FAKE_KUBECTL = """#!/bin/sh
case "$*" in
  "get bgppeer"*) printf 'kind: BgpPeer\\nauthPassword: %s\\n' "$HAND_MADE_PASSWORD" ;;
  "get node "*) echo openelb ;;
esac
[ "$2" = "-f" ] && cat > /dev/null
exit 0
"""


def test_the_runbook_keeps_an_adopted_peers_backup_private(tmp_path: Path) -> None:
    """The runbook's first apply keeps each adopted peer as it was, for rollback: made by hand,
    it holds its password, so the backup file is readable by its owner only."""
    entries = {**stack_config(ROOT / "stacks" / "Pulumi.racks.yaml"), "adopt": True}
    path = tmp_path / "stacks" / "Pulumi.adopt.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"config": {f"openelb-ha:{k}": v for k, v in entries.items()}}))
    script = tmp_path / "runbook.sh"
    script.write_text(RENDERERS["kubectl"](build_plan(read_stack(path))))
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "HAND_MADE_PASSWORD": PASSWORD,
        CONFIRM_VARIABLE: "yes",  # the BgpConf step, confirmed ahead as a script does
    }
    subprocess.run(["sh", str(script), "apply"], env=env, cwd=tmp_path, check=True, timeout=30)
    backup = tmp_path / "bgppeer-openelb-ha-peer-10-1-0-1.before.yaml"
    assert PASSWORD in backup.read_text()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
