"""The kubectl runbook against a fake cluster with state (``tests/support/fakecluster.py``), under
``sh``: apply checks every target first, rollback restores exactly what was live before apply
(never the upstream manifest's values), and undoes what an interrupted apply did.

The cluster: the ``racks`` stack's seven nodes, one labelled by hand with OpenELB's guide
(``lb.kubesphere.io/v1alpha1=openelb``); OpenELB 0.5's manager as upstream ships it, then scaled
to 3 by hand and restarted (``kubectl rollout restart`` writes ``restartedAt``), with a zone
spread constraint of its own; no BgpConf.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from openelb_component.cli import UNCHECKED, main
from openelb_component.plan import upstream
from openelb_component.plan.build import build_plan
from openelb_component.plan.render import RENDERERS
from openelb_component.plan.runbook import BGP_RESTART_WARNING, CONFIRM_VARIABLE
from openelb_component.plan.stackfile import read_stack
from tests.support import fakecluster
from tests.support.harness import ROOT
from tests.support.manifests import upstream_documents

STACK = ROOT / "stacks" / "Pulumi.racks.yaml"
NODES = ["node-a1", "node-a2", "node-a3", "node-b1", "node-b2", "node-c1", "node-c2"]
RESTARTED = {"kubectl.kubernetes.io/restartedAt": "2026-11-20T10:00:00Z"}


def cluster() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {"os": "linux"}}}
        for n in NODES
    ]
    nodes[0]["metadata"]["labels"]["lb.kubesphere.io/v1alpha1"] = "openelb"  # the guide's
    found: dict[str, Any] = upstream.find(
        upstream_documents("0.5"), "Deployment", "openelb-manager"
    )
    manager = copy.deepcopy(found)
    manager["spec"]["replicas"] = 3
    # A spread constraint of the cluster's own: rollback restores the list as it was.
    manager["spec"]["template"]["spec"]["topologySpreadConstraints"] = [
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"app": "openelb-manager"}},
        }
    ]
    manager["spec"]["template"]["metadata"].setdefault("annotations", {}).update(RESTARTED)
    return [*nodes, manager]


def runbook(tmp_path: Path) -> Path:
    script = tmp_path / "plan.sh"
    script.write_text(RENDERERS["kubectl"](build_plan(read_stack(STACK))))
    return script


def run(script: Path, step: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(script), step],
        cwd=script.parent,
        # The BgpConf step waits for a typed yes at a terminal: confirmed ahead, as a script does.
        env={CONFIRM_VARIABLE: "yes", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def mutating_calls(tmp_path: Path) -> list[str]:
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return [c for c in calls if c.split()[0] in fakecluster.MUTATING]


def test_apply_then_rollback_gives_back_the_live_cluster(tmp_path: Path) -> None:
    before = cluster()
    env = fakecluster.install(tmp_path, before)
    original = fakecluster.objects(tmp_path)
    script = runbook(tmp_path)
    applied = run(script, "apply", env)
    assert applied.returncode == 0, applied.stderr
    during = fakecluster.objects(tmp_path)
    manager = during["deployment/openelb-system/openelb-manager"]
    assert manager["spec"]["replicas"] == 6
    keys = [
        c["topologyKey"] for c in manager["spec"]["template"]["spec"]["topologySpreadConstraints"]
    ]
    # One rack per node (bgp.nextHops: node): the leaves are named by openelb-ha/leaf.
    assert keys == ["openelb-ha/leaf", "topology.kubernetes.io/zone"]
    labels = during["node//node-b1"]["metadata"]["labels"]
    assert (labels["openelb.kubesphere.io/rack"], labels["openelb-ha/leaf"]) == (
        "node-b1",
        "rack-b",
    )
    peers = build_plan(read_stack(STACK)).state.bgp_peers
    assert sorted(key for key in during if key.startswith(("bgppeer/", "bgpconf/"))) == [
        "bgpconf//default",
        *sorted(f"bgppeer//{name}" for name in peers),
    ]
    assert len(peers) == 3
    rolled = run(script, "rollback", env)
    assert rolled.returncode == 0, rolled.stderr
    # Exactly the cluster before apply: the guide's label, 3 replicas, restartedAt all kept;
    # what this project added (labels, BgpConf, budget, peers, pod template fields) is gone.
    assert fakecluster.objects(tmp_path) == original
    # The undo sets only the fields apply set, to their live values (not upstream's 1 replica).
    (undo,) = [c for c in mutating_calls(tmp_path) if c.startswith("patch deployment")][1:]
    assert '"replicas":3' in undo
    assert '"annotations":{"openelb-ha/membership":null}' in undo  # restartedAt untouched
    assert '"annotations":null' not in undo


def test_the_fake_prints_jsonpath_as_kubectl_does(tmp_path: Path) -> None:
    """The fake's JSONPath against kubectl's own, on the fields the runbook reads."""
    manager = cluster()[-1]
    path = tmp_path / "manager.json"
    path.write_text(json.dumps(manager))
    kubectl = [str(shutil.which("kubectl")), "patch", "--local", "-f", str(path), "-p", "{}"]
    for expression in (
        "{.spec.replicas}",
        "{.spec.strategy}",
        "{.spec.template.spec.nodeSelector}",
        "{.spec.template.spec.affinity}",
        "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}",
        "{.spec.template.spec.topologySpreadConstraints}",
        "{.spec.minReadySeconds}",
    ):
        real = subprocess.run(
            [*kubectl, "-o", f"jsonpath={expression}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert fakecluster.jsonpath(manager, f"jsonpath={expression}") == real, expression


def test_apply_checks_every_target_exists_before_its_first_change(tmp_path: Path) -> None:
    objects = [o for o in cluster() if o["metadata"]["name"] not in ("node-b2", "node-c2")]
    env = fakecluster.install(tmp_path, objects)
    done = run(runbook(tmp_path), "apply", env)
    assert done.returncode == 1
    assert done.stderr.strip().endswith(
        "not in the cluster: node node-b2, node node-c2; nothing was changed"
    )
    assert mutating_calls(tmp_path) == []
    # Nor a workload: a patch would create a bogus one.
    objects = [o for o in cluster() if o["kind"] != "Deployment"]
    env = fakecluster.install(tmp_path, objects)
    done = run(runbook(tmp_path), "apply", env)
    assert "deployment openelb-manager -n openelb-system; nothing was changed" in done.stderr


INTERRUPTIONS: list[tuple[str, int, str | None]] = [
    ("during-the-second-node", 2, "Node node-a3: not changed by apply, nothing to undo"),
    ("during-the-bgpconf", 8, "Deployment openelb-manager: not changed by apply"),
    ("during-the-workload-patch", 9, None),
]


@pytest.mark.parametrize(
    ("cut_at", "untouched"), [c[1:] for c in INTERRUPTIONS], ids=[c[0] for c in INTERRUPTIONS]
)
def test_rollback_undoes_an_interrupted_apply(
    tmp_path: Path, cut_at: int, untouched: str | None
) -> None:
    """The apply is cut off at its ``cut_at``-th change (7 node labels, then the BgpConf, the
    workload, ...): rollback undoes the changes made before it, says which steps apply never
    reached, and leaves the cluster as it was."""
    env = fakecluster.install(tmp_path, cluster())
    original = fakecluster.objects(tmp_path)
    script = runbook(tmp_path)
    cut = run(script, "apply", {**env, "FAIL_AT": str(cut_at)})
    assert cut.returncode != 0
    assert len(mutating_calls(tmp_path)) == cut_at
    rolled = run(script, "rollback", env)
    assert rolled.returncode == 0, rolled.stderr
    if untouched is not None:
        assert untouched in rolled.stderr
    assert fakecluster.objects(tmp_path) == original


def test_rollback_without_any_backup_refuses_before_changing_anything(tmp_path: Path) -> None:
    env = fakecluster.install(tmp_path, cluster())
    done = run(runbook(tmp_path), "rollback", env)
    assert done.returncode == 1
    assert "run rollback where apply ran" in done.stderr
    assert mutating_calls(tmp_path) == []


# --- what the runbook carries, and the BgpConf step -------------------------------------------

LONG_NODE = "n" * 253  # the longest valid node name: its backup file name must still fit


def single_router_stack(tmp_path: Path, nodes: list[str], extra: str = "") -> Path:
    path = tmp_path / "stacks" / "Pulumi.edge.yaml"
    path.parent.mkdir(exist_ok=True)
    listed = "".join(f"      - {node}\n" for node in nodes)
    path.write_text(
        f"config:\n  openelb-ha:topology:\n    kind: single-router\n    nodes:\n{listed}" + extra
    )
    return path


def test_a_node_name_of_253_characters_fits_the_backup_file_names(tmp_path: Path) -> None:
    nodes = [LONG_NODE, "worker-p002"]
    objects = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": n, "labels": {}}} for n in nodes
    ]
    env = fakecluster.install(tmp_path, [*objects, cluster()[-1]])
    original = fakecluster.objects(tmp_path)
    script = tmp_path / "plan.sh"
    script.write_text(
        RENDERERS["kubectl"](build_plan(read_stack(single_router_stack(tmp_path, nodes))))
    )
    applied = run(script, "apply", env)
    assert applied.returncode == 0, applied.stderr
    (backup,) = [p for p in tmp_path.glob("node-nnn*.labels.before")]
    assert len(backup.name) == 255 - len(".tmp")  # it is written through NAME.tmp
    assert backup.name.startswith("node-" + "n" * 200) and backup.name.endswith(".labels.before")
    labels = fakecluster.objects(tmp_path)[f"node//{LONG_NODE}"]["metadata"]["labels"]
    assert labels == {"lb.kubesphere.io/v1alpha1": "openelb"}
    rolled = run(script, "rollback", env)
    assert rolled.returncode == 0, rolled.stderr
    assert fakecluster.objects(tmp_path) == original


def test_the_bgpconf_step_warns_and_waits_for_a_yes(tmp_path: Path) -> None:
    env = fakecluster.install(tmp_path, cluster())
    script = runbook(tmp_path)
    stopped = subprocess.run(
        ["sh", str(script), "apply"],
        cwd=tmp_path,
        env=env,  # no confirmation, and no terminal to type one at
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert stopped.returncode == 1
    assert stopped.stderr.splitlines()[-2:] == [
        BGP_RESTART_WARNING,
        "stopped before the BgpConf: what came before it stays as it is; run again to go on, "
        f"with {CONFIRM_VARIABLE}=yes when not at a terminal",
    ]
    assert "restarts BGP at the same moment" in BGP_RESTART_WARNING
    # The seven node labels were written; nothing of the BgpConf or after it.
    assert [c.split()[0] for c in mutating_calls(tmp_path)] == ["label"] * 7
    # Typed at a terminal, the answer goes on.
    primary, secondary = os.openpty()
    typed = subprocess.Popen(
        ["sh", str(script), "apply"],
        cwd=tmp_path,
        env=env,
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.write(primary, b"yes\n")
    _, err = typed.communicate(timeout=300)
    os.close(primary)
    os.close(secondary)
    assert typed.returncode == 0, err
    assert "Write the BgpConf now? Type yes" in err
    assert "bgpconf//default" in fakecluster.objects(tmp_path)


def test_the_unchecked_line_comes_after_the_shebang(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path / "no-manifests"))
    status = main(["plan", "--stack", "dev", "--format", "kubectl"])
    out = capsys.readouterr().out
    assert status == UNCHECKED
    first, second = out.splitlines()[:2]
    assert first == "#!/bin/sh"
    assert second.startswith("# UNCHECKED: ")
    script = tmp_path / "plan.sh"
    script.write_text(out)
    script.chmod(0o755)
    # Runs as a program (no "Exec format error"): usage, since no step was named.
    done = subprocess.run([str(script)], capture_output=True, text=True, timeout=30, check=False)
    assert (done.returncode, done.stderr.strip()) == (2, f"usage: {script} apply|rollback")
