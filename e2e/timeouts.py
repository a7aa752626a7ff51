"""A rollout that cannot finish: ``pulumi up`` must fail at the workload patch's annotated
timeout (``pulumi.com/timeoutSeconds``, ``desired/workloads.py``), naming why the pods wait.

The ``dev`` stack on a fresh control plane whose listed nodes are cordoned (``kubectl cordon``,
as before maintenance): the patched Deployment's new pods may run only on those nodes, so they
stay Pending; pulumi-kubernetes waits for the patch's ``pulumi.com/waitFor`` conditions
(``desired/workloads.py`` ``deployment_rolled_out``) until its timeout and no longer
(``provider/pkg/await/await.go:438-472``, ``internal/awaiter.go:47-96@v4.25.0``). The step
fails when ``up`` succeeds, ends before the timeout or long after it, or says nothing about the
pods' scheduling. Before the patch carried ``waitFor``, the provider's own Deployment wait let
``up`` succeed here in 1 CI run of several (2026-12-03): that wait can pass on the previous
generation's status (``deployment_rolled_out`` has the source).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from e2e import variants
from e2e.kube import node_specs
from e2e.project import prepare_stack, stack_config
from e2e.stackrun import DEPLOYER, SPARE, desired
from openelb_component.desired.workloads import TIMEOUT_ANNOTATION
from openelb_component.lab.cluster import ControlPlane
from openelb_component.plan import upstream

if TYPE_CHECKING:
    from e2e.stackrun import Context

STACK = "dev"
NAME = "dev-stuck-rollout"
LATE = 180.0
"""Seconds after the timeout by which ``up`` must have ended (the engine's own wind-down)."""
TIMED_OUT = re.compile(
    r"failed to fully initialize or become live: timed out waiting for the condition"
)
"""What the provider says when a ``waitFor`` wait reaches its timeout, on a create or an update
(provider/pkg/provider/provider.go:1716-1723, 2194-2201@v4.25.0): the awaiter keeps
apimachinery's ``wait.ErrorInterrupted`` text (internal/awaiter.go:89-95@v4.25.0)."""
REASON = re.compile(r"Node \S+ is cordoned")


def run(ctx: Context) -> None:
    started = time.monotonic()
    problems: list[str] = []
    config = stack_config(STACK)
    try:
        with ControlPlane(recorder=ctx.run) as cluster:
            listed = variants.listed_nodes(config)
            cluster.add_nodes(node_specs([*listed, SPARE]))
            cluster.install_openelb(upstream.manifest_path(variants.openelb_version(config)))
            cluster.kubectl.run("apply", "-f", str(ctx.project / "deploy" / "rbac.yaml"))
            deployer = cluster.kubeconfig_for_service_account(*DEPLOYER)
            cluster.kubectl.run("cordon", *listed)
            _, steps = prepare_stack(ctx.engine, ctx.project, NAME, config)
            problems += [done.failure() for done in steps if not done.ok]
            workload = next(o for o in desired(config, cluster.folder) if o.key == "workload")
            timeout = float(workload.manifest["metadata"]["annotations"][TIMEOUT_ANNOTATION])
            done = ctx.engine.run(
                "up",
                "--yes",
                "--skip-preview",
                "--stack",
                NAME,
                cwd=ctx.project,
                kubeconfig=deployer,
                timeout=timeout + LATE + 120,
            )
            said = done.stdout + done.stderr
            if done.ok:
                problems.append("up succeeded although no listed node can take the pods")
            elif done.timed_out:
                problems.append(f"up still running {timeout + LATE + 120:.0f} s later: killed")
            else:
                after = f"up failed after {done.seconds:.0f} s"
                expected = f"the {timeout:.0f} s timeout"
                if done.seconds < timeout:
                    problems.append(f"{after}, before {expected}: {done.failure()}")
                if done.seconds > timeout + LATE:
                    problems.append(f"{after}, long after {expected}")
                if not TIMED_OUT.search(said):
                    problems.append(f"up did not fail on the rollout's timeout: {done.failure()}")
                if not REASON.search(said):
                    # pulumi-kubernetes drops a Pending pod's scheduling message (a status, not a
                    # warning: checker/pod/check.go:40-57, deployment.go:811-835@v4.32.0), so
                    # the reason is the program's own warning (desired/schedulable.py).
                    problems.append(f"up did not say why the pods wait: {done.failure()}")
            ctx.notes.append(
                f"stuck rollout: up failed after {done.seconds:.0f} s (timeout {timeout:.0f} s)"
            )
            ctx.engine.run("stack", "rm", "--yes", "--force", "--stack", NAME, cwd=ctx.project)
    except Exception as error:  # the step's verdict
        problems.append(f"{type(error).__name__}: {error}")
    ctx.report.step(NAME, "up-fails-at-timeout", problems, time.monotonic() - started)
