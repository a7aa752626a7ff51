"""The component from another language: ``pulumi package add`` of the repository's ``provider/``
into a Pulumi YAML program that deploys one stack's worth of objects, as docs/library.md shows.

The YAML program is the library page's ``staging`` example (an explicit Kubernetes provider and
one ``openelb-ha:OpenElbHa``) with the ``dev`` stack's topology; the cluster must then hold what
the offline plan shows for that topology, owned by ``openelb-ha``, and ``destroy`` must release
it. ``pulumi package add`` generates the SDK and runs the plugin, then asks the YAML host to link
it, which pulumi-yaml v1.25.0 (the newest the proxy serves) cannot: that is kept as a finding and
the ``packages`` entry is written as the CLI would have. TypeScript is not run: the Node.js
language host is not served by the Go module proxy (docs/verification.md has its words).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import yaml

from e2e import checks, variants
from e2e.kube import cluster_view, node_specs
from e2e.stackrun import DEPLOYER, SPARE, desired, early_return
from openelb_component.lab.cluster import ControlPlane
from openelb_component.plan import upstream

if TYPE_CHECKING:
    from pathlib import Path

    from e2e.stackrun import Context

NAME = "yaml-component"
LINK_MISSING = "error: linking package: method Link not implemented"
"""What the CLI v3.276.0 says when the YAML host cannot link the package (packages.go:334-337)."""
NODES = ["master1", "worker-p002"]


def program(kubeconfig: Path) -> dict[str, Any]:
    """docs/library.md's YAML program, its staging half, pointed at this cluster."""
    return {
        "name": "openelb-environments",
        "runtime": "yaml",
        "resources": {
            "staging-cluster": {
                "type": "pulumi:providers:kubernetes",
                "properties": {"kubeconfig": str(kubeconfig)},
            },
            "staging": {
                "type": "openelb-ha:OpenElbHa",
                "properties": {"topology": {"kind": "single-router", "nodes": NODES}},
                "options": {"providers": ["${staging-cluster}"]},
            },
        },
        "outputs": {"stagingNodes": "${staging.nodes}"},
    }


def run(ctx: Context) -> None:
    started = time.monotonic()
    problems: list[str] = []
    config = {variants.TOPOLOGY: {"kind": "single-router", "nodes": NODES}}
    folder = ctx.engine.folder / NAME
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with ControlPlane(recorder=ctx.run) as cluster:
            cluster.add_nodes(node_specs([*NODES, SPARE]))
            cluster.install_openelb(upstream.manifest_path("0.5"))
            cluster.kubectl.run("apply", "-f", str(ctx.project / "deploy" / "rbac.yaml"))
            deployer = cluster.kubeconfig_for_service_account(*DEPLOYER)
            (folder / "Pulumi.yaml").write_text(yaml.safe_dump(program(deployer), sort_keys=False))
            view = cluster_view(cluster)
            objects = desired(config, cluster.folder)
            added = ctx.engine.run("package", "add", str(ctx.project / "provider"), cwd=folder)
            said = added.stdout + added.stderr
            if not added.ok and LINK_MISSING in said:
                # The CLI generated the SDK and ran the plugin (our Python host's
                # InstallDependencies and RunPlugin) but cannot link it into a YAML project:
                # pulumi-yaml v1.25.0 has no Link. Its packages entry is written by hand.
                ctx.report.finding(NAME, "package-add", f"{LINK_MISSING} (pulumi-yaml v1.25.0)")
                document = yaml.safe_load((folder / "Pulumi.yaml").read_text())
                document["packages"] = {"openelb-ha": str(ctx.project / "provider")}
                (folder / "Pulumi.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
            elif not added.ok:
                problems.append(added.failure())
            for args in (
                ("stack", "init", NAME, "--secrets-provider", "passphrase"),
                ("up", "--yes", "--skip-preview", "--stack", NAME),
            ):
                if problems:
                    break
                done = ctx.engine.run(*args, cwd=folder)
                if not done.ok:
                    problems.append(done.failure())
            if not problems:
                early_return(ctx.report, view, objects, NAME, "package-add-up-destroy")
                problems += checks.applied(view, objects, {}, NODES)
                done = ctx.engine.run(
                    "destroy", "--yes", "--skip-preview", "--stack", NAME, cwd=folder
                )
                problems += [done.failure()] if not done.ok else checks.destroyed(view, objects)
            ctx.engine.run("stack", "rm", "--yes", "--force", "--stack", NAME, cwd=folder)
    except Exception as error:  # the step's verdict
        problems.append(f"{type(error).__name__}: {error}")
    ctx.report.step(NAME, "package-add-up-destroy", problems, time.monotonic() - started)
