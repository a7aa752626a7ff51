"""One example stack, end to end, against a fresh control plane, as its users would run it.

The steps, each reported (``Report.step``) and followed by its checks (``checks.py``):

1. ``preview``: ``pulumi preview --refresh --diff`` (what ``make preview`` runs); it must write
   nothing to the cluster;
2. ``up``: ``pulumi up --refresh`` (``make up``); the cluster then holds what ``make plan``
   shows, owned by ``openelb-ha``, rolled out;
3. (brownfield) ``adopt-off``: ``adopt`` set back to false after the take-over, as the docs
   say, and ``up``: nothing is re-created (the adopted BgpPeer keeps its uid);
4. ``preview-no-change``: ``pulumi preview --refresh --expect-no-changes`` succeeds;
5. ``membership-preview`` and ``membership-up``: a node joins and one leaves (``variants.py``);
6. ``destroy``: ``pulumi destroy``; the created objects are gone, the patched ones remain with
   nothing owned by ``openelb-ha``.

Every Pulumi command runs as the identity of ``deploy/rbac.yaml`` (the ServiceAccount
``openelb-ha-deployer``, with a token): if the program needed more, a step would fail with the
API server's Forbidden. The admin only sets the cluster up (nodes, OpenELB, the hand-made
configuration of the brownfield variant).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from e2e import bgpconf, checks, handmade, variants
from e2e.engine import Completed, Engine
from e2e.kube import cluster_view, node_specs
from e2e.project import PreparedStack, prepare_stack, stack_config, update_stack_file
from e2e.report import Report
from openelb_component.desired import DesiredObject, desired_state
from openelb_component.desired.bgpconf_change import CHANGE_ROLL_MIN_READY_SECONDS
from openelb_component.desired.workloads import WORKLOAD_KEY
from openelb_component.lab.cluster import ControlPlane
from openelb_component.lab.leftovers import Run
from openelb_component.plan import upstream
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import read_stack

DEPLOYER = ("openelb-system", "openelb-ha-deployer")
"""deploy/rbac.yaml's ServiceAccount (namespace, name)."""
JOINING = "worker-join"
SPARE = "worker-spare"
"""A node of the cluster that no stack lists: nothing of the project may land on it."""
ROLLOUT_GRACE = 300.0
"""How long a rollout that ``up`` left unfinished may take to complete (``early_return``)."""


@dataclass
class Context:
    report: Report
    run: Run
    project: Path
    engine: Engine
    notes: list[str] = field(default_factory=list)


def desired(config: Mapping[str, Any], folder: Path) -> list[DesiredObject]:
    """The offline plan's objects for ``config`` (a stack file's ``config``, secure values as
    the repository writes them), read as ``make plan`` reads a stack file."""
    import yaml

    path = Path(tempfile.mkdtemp(dir=folder)) / "Pulumi.check.yaml"
    path.write_text(yaml.safe_dump({"config": dict(config)}, sort_keys=False))
    return list(desired_state(load_stack_config(read_stack(path))).objects)


def early_return(
    report: Report, view: checks.Cluster, objects: list[DesiredObject], name: str, step: str
) -> None:
    """The workloads' pods may still be rolling when ``up`` returns: a workload whose spec the
    run does not change is not awaited at all (on 0.6 a node joining starts its speaker through
    its new label alone). Before each Deployment patch carried ``pulumi.com/waitFor``
    (``desired/workloads.py`` ``deployment_rolled_out``), the provider's own Deployment wait
    also passed on the previous generation's status, seen here under load. The rollout is then
    waited for (``ROLLOUT_GRACE`` at most) and the wait kept as a finding; a rollout that never
    completes fails the checks."""
    pending = checks.rollouts_pending(view, objects)
    if not pending:
        return
    started = time.monotonic()
    while pending and time.monotonic() - started < ROLLOUT_GRACE:
        time.sleep(2)
        pending = checks.rollouts_pending(view, objects)
    if not pending:
        waited = time.monotonic() - started
        report.finding(name, step, f"the rollout completed {waited:.0f} s after up returned")


class StackRun:
    """One stack (or its brownfield variant) on one control plane."""

    def __init__(self, ctx: Context, stack: str, brownfield: bool) -> None:
        self.ctx = ctx
        self.stack = stack
        self.brownfield = brownfield
        self.name = f"{stack}-brownfield" if brownfield else stack
        base = stack_config(stack)
        self.config = variants.brownfield(base) if brownfield else base
        self.prepared: PreparedStack | None = None
        self.deployer = Path()
        self.failed = False
        self.watched: list[DesiredObject] = []
        self.digest: str | None = None
        """The digest the last preview printed for a pending BgpConf change (``bgpconf.py``)."""

    # --- steps ------------------------------------------------------------------------------

    def step(
        self,
        step: str,
        action: Callable[[], list[str]],
        view: checks.Cluster | None = None,
        objects: list[DesiredObject] | None = None,
    ) -> bool:
        """Run one step unless an earlier one failed (then it is reported as not run), and
        record what ``objects`` look like after it."""
        if self.failed:
            self.ctx.report.step(self.name, step, ["not run: an earlier step failed"], 0.0)
            return False
        started = time.monotonic()
        try:
            problems = action()
        except Exception as error:  # a step's crash is its verdict
            problems = [f"{type(error).__name__}: {error}"]
        ok = self.ctx.report.step(self.name, step, problems, time.monotonic() - started)
        if view is not None and objects is not None:
            try:
                self.ctx.report.observe(self.name, step, checks.observe(view, objects))
            except Exception as error:
                self.ctx.report.observe(self.name, step, [f"{type(error).__name__}: {error}"])
        self.failed = not ok
        return ok

    def pulumi(self, *args: str) -> Completed:
        return self.ctx.engine.run(
            *args, "--stack", self.name, cwd=self.ctx.project, kubeconfig=self.deployer
        )

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # the control plane itself failed: the stack's verdict
            text = f"{type(error).__name__}: {error}"
            self.ctx.report.step(self.name, "cluster", [text], 0.0)

    def _run(self) -> None:
        version = variants.openelb_version(self.config)
        namespace = str(
            (self.config.get(variants.OPENELB) or {}).get("namespace", "openelb-system")
        )
        with ControlPlane(recorder=self.ctx.run) as cluster:
            view = cluster_view(cluster)
            objects = desired(self.config, cluster.folder)
            change = variants.membership_change(self.config, JOINING)
            adopted = variants.without_adopt(self.config)
            after_adopt = desired(adopted, cluster.folder) if self.brownfield else objects
            changed = desired(
                variants.membership_change(adopted, JOINING).config
                if self.brownfield
                else change.config,
                cluster.folder,
            )
            # Every object any step touches, observed after each step.
            watched = list({obj.key: obj for obj in [*objects, *after_adopt, *changed]}.values())
            self.watched = watched

            def step(name: str, action: Callable[[], list[str]]) -> None:
                self.step(name, action, view, watched)

            step("cluster", lambda: self._cluster(cluster, version, namespace))
            step("preview", lambda: self._preview(view, "--diff"))
            step("up", lambda: self._up(view, objects, "up"))
            if self.brownfield:
                step("adopt-off", lambda: self._adopt_off(view, adopted, after_adopt))
                self.config = adopted
                change = variants.membership_change(self.config, JOINING)
            step("preview-no-change", lambda: self._preview(view, "--expect-no-changes"))
            step("membership-preview", lambda: self._membership_preview(view, change))
            step("membership-up", lambda: self._up(view, changed, "membership-up"))
            step("destroy", lambda: self._destroy(view, changed))
            self.ctx.engine.run(
                "stack", "rm", "--yes", "--force", "--stack", self.name, cwd=self.ctx.project
            )

    def _cluster(self, cluster: ControlPlane, version: str, namespace: str) -> list[str]:
        names = [*variants.listed_nodes(self.config), JOINING, SPARE]
        cluster.add_nodes(node_specs(names))
        cluster.install_openelb(upstream.manifest_path(version))
        cluster.kubectl.run("apply", "-f", str(self.ctx.project / "deploy" / "rbac.yaml"))
        self.deployer = cluster.kubeconfig_for_service_account(*DEPLOYER)
        if self.brownfield:
            handmade.configure_by_hand(cluster.kubectl, self.config, namespace)
        self.prepared, steps = prepare_stack(
            self.ctx.engine, self.ctx.project, self.name, self.config
        )
        return [done.failure() for done in steps if not done.ok]

    def _passwords(self) -> dict[str, str]:
        return {} if self.prepared is None else self.prepared.passwords

    def _preview(self, view: checks.Cluster, *flags: str) -> list[str]:
        """A preview must write nothing: every watched object's resourceVersion stays. The
        digest it prints for a pending BgpConf change is kept for the next ``up``."""
        before = checks.versions(view, self.watched)
        done = self.pulumi("preview", "--refresh", *flags)
        self.digest = bgpconf.printed(done)
        problems = [] if done.ok else [done.failure()]
        return problems + checks.unchanged(before, checks.versions(view, self.watched))

    def _up(self, view: checks.Cluster, objects: list[DesiredObject], step: str) -> list[str]:
        """``up`` as the docs have a user run it. With a BgpConf change pending (the preview
        printed its digest): first without the acknowledgement, which must be refused with
        nothing written, then with it; on 0.6 that run rolls the speakers one at a time without
        minReadySeconds and the docs say to run ``up`` again right after, which puts the stack's
        minReadySeconds back."""
        args = ("--yes", "--refresh", "--skip-preview")
        problems = [] if self.digest is None else self._refused_without_acknowledgement(view)
        done, settings = bgpconf.acknowledged_up(self.pulumi, self.digest, *args)
        problems += [command.failure() for command in (done, *settings) if not command.ok]
        if problems:
            return problems
        if self.digest is not None and variants.openelb_version(self.config) != "0.5":
            problems += self._speakers_rolled_without_waiting(view, objects)
            again = self.pulumi("up", *args)
            if not again.ok:
                return [*problems, again.failure()]
        self.digest = None
        early_return(self.ctx.report, view, objects, self.name, step)
        stack_nodes = {obj.name for obj in objects if obj.kind == "Node"}
        problems = checks.applied(view, objects, self._passwords(), stack_nodes)
        problems += checks.no_plaintext(self.ctx.engine.state, self._passwords().values())
        return problems

    def _refused_without_acknowledgement(self, view: checks.Cluster) -> list[str]:
        before = checks.versions(view, self.watched)
        done = self.pulumi("up", "--yes", "--refresh", "--skip-preview")
        said = done.stdout + done.stderr
        problems = checks.unchanged(before, checks.versions(view, self.watched))
        if done.ok or bgpconf.REFUSED not in said:
            problems.append(f"a BgpConf change without the acknowledgement: {done.failure()}")
        return problems

    def _speakers_rolled_without_waiting(
        self, view: checks.Cluster, objects: list[DesiredObject]
    ) -> list[str]:
        """The change's run left the DaemonSet one speaker at a time, minReadySeconds 0 (never
        every speaker at once: desired/bgpconf_change.py ``ROLL_STEP_SECONDS``)."""
        speaker = next(obj for obj in objects if obj.key == WORKLOAD_KEY)
        live = view.read(speaker.api_version, speaker.kind, speaker.name, speaker.namespace) or {}
        spec = live.get("spec") or {}
        found = (
            ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("maxUnavailable"),
            spec.get("minReadySeconds"),
        )
        wanted = (1, CHANGE_ROLL_MIN_READY_SECONDS)
        if found == wanted:
            return []
        return [
            f"{speaker.kind} {speaker.name}: (maxUnavailable, minReadySeconds) {found!r} during "
            f"the BgpConf change, not {wanted!r}"
        ]

    def _adopt_off(
        self, view: checks.Cluster, adopted: dict[str, Any], objects: list[DesiredObject]
    ) -> list[str]:
        peer = view.read("network.kubesphere.io/v1alpha2", "BgpPeer", variants.HAND_MADE_PEER, None)
        uid = None if peer is None else (peer.get("metadata") or {}).get("uid")
        update_stack_file(self.ctx.project, self.name, adopted)
        problems = self._up(view, objects, "adopt-off")
        after = view.read(
            "network.kubesphere.io/v1alpha2", "BgpPeer", variants.HAND_MADE_PEER, None
        )
        if uid is not None and (after is None or (after.get("metadata") or {}).get("uid") != uid):
            problems.append(
                f"BgpPeer {variants.HAND_MADE_PEER}: re-created when adopt was set to false"
            )
        return problems

    def _membership_preview(self, view: checks.Cluster, change: variants.Membership) -> list[str]:
        update_stack_file(self.ctx.project, self.name, change.config)
        return self._preview(view, "--diff")

    def _destroy(self, view: checks.Cluster, objects: list[DesiredObject]) -> list[str]:
        done = self.pulumi("destroy", "--yes", "--refresh", "--skip-preview")
        if not done.ok:
            return [done.failure()]
        return checks.destroyed(view, objects)
