"""Provider behaviours the documentation states, shown with the real engine and API server on
the ``prod`` stack (Nodes, a workload, the BgpConf, BgpPeers, a PodDisruptionBudget):

- ``preview-lacks-verb``: an identity that may not ``patch`` nodes previews a change of an
  existing NodePatch without an error (the provider drops a Forbidden dry run in a preview:
  ``provider/pkg/provider/provider.go:2455-2458@v4.32.0``, ``:2152-2155@v4.25.0``), and its
  ``up`` then fails with Forbidden;
- releasing a patch is a Server-Side Apply of the object's name and kind only, without reading
  it first (``ssa.Relinquish``, ``provider/pkg/ssa/actions.go:34-57``,
  ``await.go:958-961@v4.32.0``), so when the object is gone the API server decides:
  ``destroy-gone-workload``: the Deployment's release would create a Deployment without a
  selector, which the API server refuses ("Required value"), worded by the provider as a patch
  "managing a required field" (``REQUIRED_FIELD``); ``destroy-gone-node-bgpconf``: the Node's
  release is refused to ``deploy/rbac.yaml`` (no ``create`` on nodes) and the BgpConf is
  created again, empty (its CRD requires nothing);
- ``destroy-after-refresh``: ``pulumi refresh`` drops the gone objects from the state
  (``provider.go:2060-2063@v4.32.0``) and ``destroy`` then succeeds.
"""

from __future__ import annotations

import copy
import json
import re
import time
from typing import TYPE_CHECKING, Any

import yaml

from e2e import bgpconf, variants
from e2e.engine import Completed
from e2e.kube import cluster_view, node_specs
from e2e.project import prepare_stack, stack_config, update_stack_file
from e2e.stackrun import DEPLOYER, JOINING, SPARE, desired
from openelb_component.lab.cluster import ControlPlane
from openelb_component.plan import upstream

if TYPE_CHECKING:
    from e2e.stackrun import Context

STACK = "prod"
NAME = "prod-provider-claims"
NO_PATCH = "openelb-ha-nopatch"
BGP = "network.kubesphere.io/v1alpha2"
REQUIRED_FIELD = (
    "this Patch resource is currently managing a required field, so it can't be deleted directly"
)
"""The provider's rewording of the API server's 422 "Required value" for a release that would
create the object (``provider.go:2627-2634@v4.32.0``, ``:2318-2325@v4.25.0``)."""


def without_node_patch(rbac: str) -> str:
    """deploy/rbac.yaml for another ServiceAccount, ``NO_PATCH``, that may not patch nodes."""
    documents = [doc for doc in yaml.safe_load_all(rbac) if doc]
    changed: list[dict[str, Any]] = []
    for original in documents:
        doc = copy.deepcopy(original)
        doc["metadata"]["name"] = NO_PATCH
        for subject in doc.get("subjects") or []:
            subject["name"] = NO_PATCH
        if "roleRef" in doc:
            doc["roleRef"]["name"] = NO_PATCH
        for rule in doc.get("rules") or []:
            if "nodes" in rule.get("resources", []):
                rule["verbs"] = [verb for verb in rule["verbs"] if verb != "patch"]
        changed.append(doc)
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": changed})


def run(ctx: Context) -> None:
    started = time.monotonic()
    config = stack_config(STACK)
    checked: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}

    def done_step(step: str, problems: list[str]) -> None:
        nonlocal started
        checked[step] = problems
        seconds[step] = time.monotonic() - started
        started = time.monotonic()

    try:
        with ControlPlane(recorder=ctx.run) as cluster:
            view = cluster_view(cluster)
            cluster.add_nodes(node_specs([*variants.listed_nodes(config), JOINING, SPARE]))
            cluster.install_openelb(upstream.manifest_path(variants.openelb_version(config)))
            rbac = (ctx.project / "deploy" / "rbac.yaml").read_text()
            cluster.kubectl.run("apply", "-f", "-", stdin=rbac)
            cluster.kubectl.run("apply", "-f", "-", stdin=without_node_patch(rbac))
            deployer = cluster.kubeconfig_for_service_account(*DEPLOYER)
            no_patch = cluster.kubeconfig_for_service_account(DEPLOYER[0], NO_PATCH)
            _, steps = prepare_stack(ctx.engine, ctx.project, NAME, config)

            def pulumi(*args: str, identity: Any = deployer) -> Completed:
                return ctx.engine.run(*args, "--stack", NAME, cwd=ctx.project, kubeconfig=identity)

            problems = [done.failure() for done in steps if not done.ok]
            # The first up of a stack with bgp applies a BgpConf: acknowledged as a user does.
            digest = bgpconf.printed(pulumi("preview"))
            up, settings = bgpconf.acknowledged_up(pulumi, digest, "--yes", "--skip-preview")
            problems += [done.failure() for done in (up, *settings) if not done.ok]
            done_step("setup-up", problems)
            if problems:
                raise RuntimeError("; ".join(problems))

            change = variants.membership_change(config, JOINING)
            update_stack_file(ctx.project, NAME, change.config)
            problems = []
            preview = pulumi("preview", "--diff", identity=no_patch)
            if not preview.ok:
                problems.append(f"preview failed (docs: it passes silently): {preview.failure()}")
            refused = pulumi("up", "--yes", "--skip-preview", identity=no_patch)
            if refused.ok or "forbidden" not in (refused.stdout + refused.stderr).lower():
                problems.append(
                    f"up without patch on nodes did not fail Forbidden: {refused.failure()}"
                )
            update_stack_file(ctx.project, NAME, config)
            done_step("preview-lacks-verb", problems)

            objects = {obj.key: obj for obj in desired(config, cluster.folder)}
            workload = objects["workload"]
            cluster.kubectl.run(
                "delete", workload.kind.lower(), workload.name, "-n", str(workload.namespace)
            )
            urn = (
                f"urn:pulumi:{NAME}::openelb-ha::openelb-ha:index:OpenElbHa$"
                f"kubernetes:apps/v1:{workload.kind}Patch::openelb-ha-{workload.key}"
            )
            released = pulumi(
                "destroy", "--yes", "--skip-preview", "--target", urn, "--target-dependents"
            )
            said = released.stdout + released.stderr
            problems = []
            if released.ok:
                problems.append(f"releasing the gone {workload.kind}'s patch succeeded")
            if REQUIRED_FIELD not in said:
                problems.append(f"not the provider's required-field error: {released.failure()}")
            if view.read("apps/v1", workload.kind, workload.name, workload.namespace) is not None:
                problems.append(f"{workload.kind} {workload.name} was created again")
            done_step("destroy-gone-workload", problems)

            refresh = pulumi("refresh", "--yes", "--skip-preview")
            gone_node = variants.leaves(config)[-1].nodes[-1]
            cluster.kubectl.run("delete", "node", gone_node)
            cluster.kubectl.run("delete", "bgpconf", "default")
            destroy = pulumi("destroy", "--yes", "--skip-preview")
            said = destroy.stdout + destroy.stderr
            problems = [] if refresh.ok else [refresh.failure()]
            if destroy.ok:
                problems.append("destroy succeeded although a patched Node was gone")
            if not re.search(rf'nodes "{re.escape(gone_node)}" is forbidden', said):
                problems.append(f"no Forbidden for the gone Node {gone_node}: {destroy.failure()}")
            if view.read("v1", "Node", gone_node, None) is not None:
                problems.append(f"Node {gone_node} was created again")
            conf = view.read(BGP, "BgpConf", "default", None)
            if conf is None:
                problems.append("the gone BgpConf was not created again")
            elif conf.get("spec"):
                problems.append(f"the BgpConf came back with a spec: {conf.get('spec')}")
            else:
                ctx.report.finding(
                    NAME, "destroy-gone-node-bgpconf", f"BgpConf default recreated empty: {conf}"
                )
            done_step("destroy-gone-node-bgpconf", problems)

            refresh = pulumi("refresh", "--yes", "--skip-preview")
            destroy = pulumi("destroy", "--yes", "--skip-preview")
            done_step(
                "destroy-after-refresh",
                [done.failure() for done in (refresh, destroy) if not done.ok],
            )
            ctx.engine.run("stack", "rm", "--yes", "--force", "--stack", NAME, cwd=ctx.project)
    except Exception as error:
        checked.setdefault("setup-up", []).append(f"{type(error).__name__}: {error}")
    for step, problems in checked.items():
        ctx.report.step(NAME, step, problems, seconds.get(step, time.monotonic() - started))
