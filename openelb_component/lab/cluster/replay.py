"""The conflict prediction (desired/conflicts.py) replayed against the real API server.

Each case makes a live object with real writes, the way the situation arises in a cluster (a
kubelet registering its Node, ``kubectl label`` by hand, ``kubectl apply -f openelb.yaml``, an
earlier apply under another field manager, managedFields stripped), reads it back as the
program does, and compares two answers:

- the prediction: ``conflicts(obj, live)``, what ``pulumi preview`` warns about;
- the server's: a dry-run Server-Side Apply of the same object as the field manager the program
  uses (``openelb-ha``), without force: the fields and managers of its ``409 Conflict``. When the
  prediction says the patch forces, the forced dry-run must also succeed (``up`` takes over).

The cases are those of tests/test_conflicts.py and the plan's conflict checks (the ids say which),
plus the situations where the prediction used to be wrong (DESIGN.md §8). Each case gets objects
of its own (a Node ``replay-<case>``, a namespace ``replay-<case>``), so they share one cluster.
``summary`` gives the e2e report's ``{"agree": n, "disagree": [...]}``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openelb_component.desired import DesiredObject, desired_state
from openelb_component.desired.conflicts import conflicts
from openelb_component.desired.ownership import FIELD_MANAGER
from openelb_component.lab.cluster.api import object_path
from openelb_component.lab.cluster.controlplane import ControlPlane
from openelb_component.lab.cluster.nodes import KUBELET, NodeSpec
from openelb_component.plan import upstream
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.stackfile import read_stack

STACKS = Path(__file__).resolve().parents[3] / "stacks"
RACK = "openelb.kubesphere.io/rack"
INSTALLER = "kubectl-client-side-apply"

Finding = tuple[str, str, str]
"""(field path, manager, operation), paths normalised (``normalised``)."""


@dataclass(frozen=True)
class Target:
    """Where a case's object lives, and the cluster to make it in."""

    cluster: ControlPlane
    obj: DesiredObject

    @property
    def ref(self) -> tuple[str, ...]:
        namespace = ("-n", self.obj.namespace) if self.obj.namespace else ()
        return (self.obj.kind.lower(), self.obj.name, *namespace)

    def kubectl(self, *args: str, stdin: str | None = None) -> None:
        self.cluster.kubectl.run(*args, stdin=stdin)


@dataclass(frozen=True)
class Case:
    id: str
    replays: str
    """The test or check whose situation this is."""
    stack: str
    key: str
    """The desired object's key in the stack's state."""
    make: Callable[[Target], None]
    adopt: bool = False


# --- how live objects come to be -----------------------------------------------------------


def registered_node(target: Target, labels: dict[str, str] | None = None) -> None:
    """A Node as its kubelet registers it."""
    node = NodeSpec(target.obj.name, "192.0.2.250", labels or {}).manifest()
    target.kubectl("create", "-f", "-", f"--field-manager={KUBELET}", stdin=json.dumps(node))


def labelled(value: str, manager: str | None = None) -> Callable[[Target], None]:
    """The guide's ``kubectl label node NAME rack=VALUE`` (manager ``kubectl-label``, or the
    runbook's ``--field-manager``)."""

    def make(target: Target) -> None:
        registered_node(target)
        flags = [f"--field-manager={manager}"] if manager else []
        target.kubectl("label", "--overwrite", *flags, *target.ref, f"{RACK}={value}")

    return make


def applied_by(manager: str, value: str) -> Callable[[Target], None]:
    """An earlier Server-Side Apply of the rack label by ``manager``."""

    def make(target: Target) -> None:
        registered_node(target)
        metadata = {"name": target.obj.name, "labels": {RACK: value}}
        patch = {"apiVersion": "v1", "kind": "Node", "metadata": metadata}
        target.kubectl(
            "apply",
            "--server-side",
            f"--field-manager={manager}",
            "-f",
            "-",
            stdin=json.dumps(patch),
        )

    return make


def unrelated_label(target: Target) -> None:
    registered_node(target, {"other": "x"})


def labels_applied_empty(registered: bool) -> Callable[[Target], None]:
    """A tool's Server-Side Apply of ``labels: {}`` to a Node (``registered``: one its kubelet
    made, with labels). The tool then owns the map itself, ``"f:labels": {}`` (the stored object
    keeps no empty map: without a kubelet the Node has no labels)."""

    def make(target: Target) -> None:
        if registered:
            registered_node(target)
        name = target.obj.name
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {}}}
        target.kubectl(
            "apply",
            "--server-side",
            "--field-manager=node-tool",
            "-f",
            "-",
            stdin=json.dumps(node),
        )

    return make


def strip_managed_fields(target: Target) -> None:
    """What an object made before Server-Side Apply tracked fields looks like (documented way
    to clear them: a write of ``managedFields: [{}]``)."""
    patch = json.dumps({"metadata": {"managedFields": [{}]}})
    target.kubectl("patch", *target.ref, "--type=merge", "-p", patch)


def labelled_without_managed_fields(target: Target) -> None:
    labelled("rack-z")(target)
    strip_managed_fields(target)


def installer_workload(version: str, change: Callable[[dict[str, Any]], None] | None = None) -> Any:
    """The upstream workload as ``kubectl apply -f openelb.yaml`` leaves it (client-side), in
    the case's own namespace; ``change`` edits the manifest first."""

    def make(target: Target) -> None:
        documents = upstream.load_documents(upstream.manifest_path(version))
        workload = copy.deepcopy(upstream.find(documents, target.obj.kind, target.obj.name))
        workload["metadata"]["namespace"] = target.obj.namespace
        if change is not None:
            change(workload)
        target.kubectl("create", "namespace", str(target.obj.namespace))
        target.kubectl("apply", "-f", "-", stdin=json.dumps(workload))

    return make


def spread_created_empty(target: Target) -> None:
    """The installed workload, then a tool's Server-Side Apply of ``topologySpreadConstraints:
    []``. On a built-in kind the API server keeps no owner for that empty list (the stored
    Deployment drops it, and the tool's managedFields entry with it), so DESIGN.md §8's "list
    first created empty" cannot arise on the objects whose conflicts are predicted; replayed to
    show that nothing is predicted either."""
    installer_workload("0.5")(target)
    obj = target.obj
    empty = {
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "metadata": {"name": obj.name, "namespace": obj.namespace},
        "spec": {"template": {"spec": {"topologySpreadConstraints": []}}},
    }
    # Through the API itself: kubectl apply --server-side would also move the installer's
    # fields to this manager (kubectl's client-side-apply upgrade), which is another situation.
    path = object_path(obj.api_version, obj.kind, obj.name, obj.namespace)
    answer = target.cluster.api.apply(path, empty, "spread-tool", force=False, dry_run=False)
    if answer.status != 200:
        raise RuntimeError(f"the spread-tool apply was refused: {answer.body}")


def edited_spread(target: Target) -> None:
    """``kubectl edit`` (manager ``kubectl-edit``) gave the rack spread constraint maxSkew 3."""
    installer_workload("0.5")(target)
    spread = copy.deepcopy(target.obj.manifest["spec"]["template"]["spec"])
    constraint = spread["topologySpreadConstraints"][0]
    patch = {
        "spec": {
            "template": {"spec": {"topologySpreadConstraints": [{**constraint, "maxSkew": 3}]}}
        }
    }
    target.kubectl(
        "patch",
        *target.ref,
        "--type=strategic",
        "--field-manager=kubectl-edit",
        "-p",
        json.dumps(patch),
    )


def workload_without_managed_fields(target: Target) -> None:
    installer_workload("0.5")(target)
    strip_managed_fields(target)


NODE = "node-node-a1"
CASES = (
    Case(
        "kubectl-label-other-rack",
        "test_conflicts: kubectl-label-other-rack; the plan's failing node check; docs/plan.md",
        "racks",
        NODE,
        labelled("rack-z"),
    ),
    Case(
        "kubectl-label-same-rack",
        "test_conflicts: kubectl-label-same-rack-co-owned",
        "racks",
        NODE,
        labelled("rack-a"),
    ),
    Case(
        "own-apply", "test_conflicts: own-apply", "racks", NODE, applied_by(FIELD_MANAGER, "rack-z")
    ),
    Case(
        "runbook-update",
        "test_conflicts: runbook-update-is-another-manager",
        "racks",
        NODE,
        labelled("rack-z", FIELD_MANAGER),
    ),
    Case(
        "lost-state-manager",
        "test_conflicts: lost-state-random-manager",
        "racks",
        NODE,
        applied_by("pulumi-kubernetes-1a2b3c4d", "rack-z"),
    ),
    Case(
        "label-nobody-else-owns",
        "test_conflicts: label-nobody-else-owns",
        "racks",
        NODE,
        unrelated_label,
    ),
    Case(
        "adopt-takes-over",
        "test_conflicts: adopt forces the node labels",
        "racks",
        NODE,
        labelled("rack-z"),
        adopt=True,
    ),
    Case(
        "labels-applied-empty",
        "DESIGN.md §8: a label map owned as an empty leaf, labels added to it",
        "racks",
        NODE,
        labels_applied_empty(registered=True),
    ),
    Case(
        "labels-appear",
        "DESIGN.md §8: a label map owned as an empty leaf appears with the apply",
        "racks",
        NODE,
        labels_applied_empty(registered=False),
    ),
    Case(
        "node-without-managed-fields",
        "DESIGN.md §8: before-first-apply",
        "racks",
        NODE,
        labelled_without_managed_fields,
    ),
    Case(
        "installer-0-5",
        "test_conflicts: the installer owns replicas and nodeSelector; the "
        "plan's forced takeover check",
        "racks",
        "workload",
        installer_workload("0.5"),
    ),
    Case(
        "keyed-list-item",
        "test_conflicts: a keyed list item conflicts by its key",
        "racks",
        "workload",
        edited_spread,
    ),
    Case(
        "spread-created-empty",
        "DESIGN.md §8: a list first created empty (no owner kept on a Deployment)",
        "racks",
        "workload",
        spread_created_empty,
    ),
    Case(
        "workload-without-managed-fields",
        "DESIGN.md §8: before-first-apply",
        "racks",
        "workload",
        workload_without_managed_fields,
    ),
    Case(
        "installer-0-6-speaker",
        "the installer case on OpenELB 0.6's speaker DaemonSet",
        "dev-v06",
        "workload",
        installer_workload("0.6"),
    ),
    Case(
        "installer-0-6-controller",
        "the installer case on OpenELB 0.6's controller",
        "dev-v06",
        "controller",
        installer_workload("0.6"),
    ),
)


# --- the two answers ---------------------------------------------------------------------


def desired(case: Case) -> DesiredObject:
    """The case's object from its stack, moved to the case's own name or namespace."""
    config = load_stack_config(read_stack(STACKS / f"Pulumi.{case.stack}.yaml"))
    obj = desired_state(config.model_copy(update={"adopt": case.adopt})).by_key(case.key)
    manifest = copy.deepcopy(obj.manifest)
    if obj.namespace is None:
        manifest["metadata"]["name"] = f"replay-{case.id}"
    else:
        manifest["metadata"]["namespace"] = f"replay-{case.id}"
    return dataclasses.replace(obj, manifest=manifest)


_KEYED = re.compile(r"\[([^\[\]]*=[^\[\]]*)\]")
_PAIR = re.compile(r'([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*"|[^,]*)')


def normalised(path: str) -> str:
    """A field path with each keyed list item as sorted JSON: the server writes
    ``[topologyKey="k",whenUnsatisfiable="w"]`` (structured-merge-diff fieldpath), the
    prediction ``[{"topologyKey":"k","whenUnsatisfiable":"w"}]``."""
    path = re.sub(
        r"\[(\{.*?\})\]", lambda m: f"[{json.dumps(json.loads(m[1]), sort_keys=True)}]", path
    )
    return _KEYED.sub(
        lambda m: (
            "["
            + json.dumps({k: json.loads(v) for k, v in _PAIR.findall(m[1])}, sort_keys=True)
            + "]"
        ),
        path,
    )


_MANAGER = re.compile(r'conflict with "((?:[^"\\]|\\.)*)"(?: with subresource "[^"]*")?( using )?')


def server_conflicts(answer_body: Any) -> list[Finding]:
    """The fields and managers of a ``409 Conflict`` Status (apimachinery
    managedfields/internal/conflict.go ``NewConflictError``, ``printManager``@v0.37.2: an
    Update manager is printed with ``using <apiVersion>``)."""
    found = []
    for cause in (answer_body.get("details") or {}).get("causes") or []:
        match = _MANAGER.match(cause.get("message", ""))
        if match is None:
            raise ValueError(f"unexpected conflict cause: {cause}")
        operation = "Update" if match[2] else "Apply"
        found.append((normalised(cause["field"]), json.loads(f'"{match[1]}"'), operation))
    return sorted(found)


@dataclass(frozen=True)
class Outcome:
    case: str
    predicted: list[Finding]
    server: list[Finding]
    forced: bool
    """The prediction says the patch forces."""
    forced_accepted: bool | None
    """A forced dry-run apply succeeded (None when the patch does not force)."""

    @property
    def agrees(self) -> bool:
        return self.predicted == self.server and self.forced_accepted in (None, True)

    def as_json(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "predicted": [list(f) for f in self.predicted],
            "server": [list(f) for f in self.server],
            "forcedAccepted": self.forced_accepted,
        }


def replay(cluster: ControlPlane, case: Case) -> Outcome:
    obj = desired(case)
    target = Target(cluster, obj)
    case.make(target)
    live = cluster.kubectl.json("get", *target.ref)
    predicted = conflicts(obj, live)
    path = object_path(obj.api_version, obj.kind, obj.name, obj.namespace)
    answer = cluster.api.apply(path, obj.manifest, FIELD_MANAGER, force=False, dry_run=True)
    if answer.status == 409:
        server = server_conflicts(answer.body)
    elif answer.status == 200:
        server = []
    else:
        raise RuntimeError(f"{case.id}: the API server answered {answer.status}: {answer.body}")
    forced = bool(predicted) and all(c.forced for c in predicted)
    accepted = None
    if forced:
        accepted = cluster.api.apply(path, obj.manifest, FIELD_MANAGER, True, True).status == 200
    return Outcome(
        case.id,
        sorted((normalised(c.path), c.manager, c.operation) for c in predicted),
        server,
        forced,
        accepted,
    )


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """``{"agree": n, "disagree": [...]}``, as the e2e report carries it."""
    return {
        "agree": sum(1 for o in outcomes if o.agrees),
        "disagree": [o.as_json() for o in outcomes if not o.agrees],
    }
