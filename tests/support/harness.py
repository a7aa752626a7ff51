"""Run the Pulumi program under Pulumi's mocks and record everything it registers.

The mock monitor is the engine's own test seam (docs/design.md §4-5): the program runs unchanged,
and each registration is captured with its type, name, parent, dependencies and inputs. A fake
cluster answers reads, so a patch of a node that does not exist fails as it would for real.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from openelb_component.config.engine import decode_engine_text, engine_text
from openelb_component.config.errors import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.models import StackConfig
from openelb_component.config.names import PROJECT
from openelb_component.config.secrets import PASSWORDS_KEY
from openelb_component.desired import desired_state
from openelb_component.desired.workloads import WORKLOAD_KEY
from openelb_component.plan.stackfile import load_stack_yaml, project_entries, stack_paths

STACK = "test"
ROOT = Path(__file__).resolve().parents[2]
STACKS_DIR = ROOT / "stacks"
SECRET_SIG = rpc._special_sig_key
SECRET_SIG_VALUE = rpc._special_secret_sig


def plain(value: Any) -> Any:
    """Engine values as a test would write them: whole floats back to ints (the wire format has
    only doubles)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def is_secret(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get(SECRET_SIG) == SECRET_SIG_VALUE


def revealed(value: Any) -> Any:
    """Inputs with every secret marker replaced by its value: what the API server receives."""
    if is_secret(value):
        return revealed(value["value"])
    if isinstance(value, Mapping):
        return {key: revealed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revealed(item) for item in value]
    return value


@dataclass
class Registration:
    """One resource the program registered (or read)."""

    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    inputs: dict[str, Any]
    read_id: str | None = None
    wire_inputs: dict[str, Any] = field(default_factory=dict)
    """The inputs exactly as sent: the SDK's deserializer lifts a nested secret to its top-level
    property (``spec``), while the wire, and the engine, keep it where it is."""
    additional_secret_outputs: list[str] = field(default_factory=list)
    provider: str = ""
    """The provider reference the engine would use ("" for the default provider)."""
    delete_before_replace: bool = False
    aliases: list[str] = field(default_factory=list)
    """Each alias as the engine gets it: a URN, or ``name|type`` of an alias spec."""

    @property
    def is_read(self) -> bool:
        return self.read_id is not None


@dataclass
class FakeCluster:
    """What `Node.get` / `Deployment.get` find. None means: every read succeeds."""

    objects: set[tuple[str, str]] | None = None
    """(resource type, id) pairs that exist, e.g. ("kubernetes:core/v1:Node", "master1")."""
    live: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    """(resource type, id) -> the object a read returns, as the API server would (with
    ``metadata.managedFields``); (resource type, resource name) -> the object a registration
    returns as its outputs. Anything else returns only its inputs."""

    node_addresses: Mapping[str, str] = field(default_factory=dict)
    """Node -> the InternalIP its read reports (no status when absent)."""
    bgp_conf_applied: bool = True
    """The announcing workload's read carries the record of the stack's own BgpConf and BgpPeers
    (annotations ``openelb-ha/bgpconf*``, ``openelb-ha/bgppeers``), as after an earlier
    ``pulumi up`` of the same stack: no BgpConf change is pending. False: the workload has no
    record, as before a first ``up``."""

    def exists(self, typ: str, object_id: str) -> bool:
        return self.objects is None or (typ, object_id) in self.objects


class ObjectNotFound(Exception):
    pass


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, cluster: FakeCluster) -> None:
        self.cluster = cluster
        self.outputs: dict[str, dict[str, Any]] = {}
        """Resource or read name -> the outputs the engine would store in its state."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id and not self.cluster.exists(args.typ, args.resource_id):
            raise ObjectNotFound(f"{args.typ} {args.resource_id!r} does not exist")
        # A read finds its object by ID; a registration (an apply) returns what the object
        # would be afterwards, looked up by the resource's name.
        live = self.cluster.live.get((args.typ, args.resource_id or args.name))
        state = dict(live) if live is not None else dict(args.inputs)
        address = self.cluster.node_addresses.get(args.resource_id or "")
        if args.typ == "kubernetes:core/v1:Node" and address is not None:
            state["status"] = {"addresses": [{"type": "InternalIP", "address": address}]}
        self.outputs[args.name] = state
        return (args.resource_id or f"{args.name}-id", state)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return ({}, [])


def _aliases(request: Any) -> list[str]:
    urns = [str(urn) for urn in getattr(request, "aliasURNs", [])]
    specs = [
        f"{alias.spec.name}|{alias.spec.type}" if alias.HasField("spec") else str(alias.urn)
        for alias in getattr(request, "aliases", [])
    ]
    return sorted(urns + specs)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, also keeping each request's parent and dependencies."""

    def __init__(self, mocks: RecordingMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.registered_outputs: dict[str, Any] = {}

    def _record(self, request: Any, read_id: str | None, inputs_field: Any) -> None:
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=self.make_urn(request.parent, request.type, request.name),
                parent=request.parent,
                dependencies=sorted(getattr(request, "dependencies", [])),
                inputs=plain(rpc.deserialize_properties(inputs_field, keep_unknowns=True)),
                read_id=read_id,
                wire_inputs=plain(json_format.MessageToDict(inputs_field)),
                additional_secret_outputs=sorted(getattr(request, "additionalSecretOutputs", [])),
                delete_before_replace=bool(getattr(request, "deleteBeforeReplace", False)),
                aliases=_aliases(request),
                provider=getattr(request, "provider", ""),
            )
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if "$openelb-ha:index:OpenElbHa::" in request.urn:
            self.registered_outputs = plain(json_format.MessageToDict(request.outputs))
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    def RegisterResource(self, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, None, request.object)
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    def ReadResource(self, request: Any) -> Any:
        self._record(request, request.id, request.properties)
        return super().ReadResource(request)  # type: ignore[no-untyped-call]


@dataclass
class Run:
    """Everything one program run registered, and the stack outputs."""

    registrations: list[Registration]
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    secret_outputs: set[str] = field(default_factory=set)
    """Attribute names of the component outputs that are Pulumi secrets."""
    infos: list[str] = field(default_factory=list)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Resource or read name -> the outputs the mocks returned: what Pulumi's state would hold."""
    registered_outputs: dict[str, Any] = field(default_factory=dict)
    """The component's ``register_outputs``, as sent to the engine (secrets still marked)."""

    @property
    def resources(self) -> list[Registration]:
        """Registered resources (reads excluded), in registration order."""
        return [r for r in self.registrations if not r.is_read]

    @property
    def reads(self) -> list[Registration]:
        return [r for r in self.registrations if r.is_read]

    def of_type(self, typ: str) -> list[Registration]:
        return [r for r in self.resources if r.type == typ]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.resources if r.name == name]
        assert len(matches) == 1, f"{len(matches)} resources named {name!r}"
        return matches[0]

    def urn_of(self, name: str) -> str:
        return self.named(name).urn

    def names(self) -> list[str]:
        return [r.name for r in self.resources]


def applied(run: Run) -> FakeCluster:
    """The cluster as ``pulumi up`` of ``run`` left it: each object read before its patch
    reads back as that patch applied it (its annotations included)."""
    patches = {r.name: r for r in run.resources}
    live = {
        (read.type, str(read.read_id)): patches[read.name.removesuffix("-existing")].inputs
        for read in run.reads
    }
    return FakeCluster(live=live)


STAND_IN_PREFIX = "stand-in-plaintext-"
"""Prefix of what the harness "decrypts" a ``{secure: ...}`` value to (see ``decrypted``)."""


def stand_in_plaintext(ciphertext: str) -> str:
    """The plaintext the harness hands the program for a secure value.

    The engine decrypts ``{secure: v1:...}`` with the stack's secrets provider before the program
    runs, and marks the key secret; no provider exists here, so a stand-in takes the plaintext's
    place: derived from the ciphertext (two secrets stay two values), and empty for an empty
    ciphertext, so the program's own refusal of an empty password is what a test sees.
    """
    if not ciphertext:
        return ""
    return STAND_IN_PREFIX + hashlib.sha256(ciphertext.encode()).hexdigest()[:12]


def decrypted(value: Any) -> tuple[Any, bool]:
    """A stack value with every ``{secure: ...}`` replaced by its stand-in plaintext, and
    whether there was one (the engine then marks the whole key secret)."""
    if isinstance(value, Mapping) and list(value) == ["secure"]:
        return stand_in_plaintext(str(value["secure"] or "")), True
    if isinstance(value, Mapping):
        pairs = {key: decrypted(item) for key, item in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [decrypted(item) for item in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def secure_values(value: Any, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Every ``{secure: ...}`` in stack keys, by dotted key path (``bgpPasswords.leaf1``, the
    name a desired object gives its secret): its ciphertext."""
    if isinstance(value, Mapping) and list(value) == ["secure"]:
        return {".".join(path): str(value["secure"] or "")}
    if isinstance(value, Mapping):
        return {
            name: ciphertext
            for key, item in value.items()
            for name, ciphertext in secure_values(item, (*path, str(key))).items()
        }
    return {}


def engine_config(config: Mapping[str, Any]) -> tuple[dict[str, str], set[str]]:
    """Stack keys as the Pulumi engine hands them to a program, and the keys it marks secret.

    Structured values arrive as JSON, scalars as text (``config/engine.py``), secure values
    decrypted (here: ``stand_in_plaintext``). A key without a namespace is this project's
    (``topology`` -> ``openelb-ha:topology``); a namespaced one (``kubernetes:context``) is passed
    as it is, like any other key of the stack.
    """
    entries: dict[str, str] = {}
    secret: set[str] = set()
    for key, value in config.items():
        plaintext, is_secret = decrypted(value)
        entries[_qualified(key)] = engine_text(plaintext)
        if is_secret:
            secret.add(key.removeprefix(f"{PROJECT}:"))
    return entries, secret


def loaded_config(config: Mapping[str, Any]) -> StackConfig:
    """The validated config the program builds from these stack keys (secure values decrypted
    to their stand-ins, their keys secret, as ``run_program`` hands them over)."""
    entries, secret = engine_config(config)
    prefix = f"{PROJECT}:"
    raw = {
        key.removeprefix(prefix): decode_engine_text(text)
        for key, text in entries.items()
        if key.startswith(prefix)
    }
    return load_config(raw, stack_secret_keys=secret)


def config_entries(config: Mapping[str, Any]) -> dict[str, str]:
    """Stack keys as the Pulumi engine hands them to a program (see ``engine_config``)."""
    return engine_config(config)[0]


def _qualified(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


class _WarningCapture:
    """What the program logs as warnings and as information (``pulumi.log``)."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.infos: list[str] = []
        self._original = (pulumi.log.warn, pulumi.log.info)

    def __enter__(self) -> _WarningCapture:
        def capture(into: list[str]) -> Callable[..., None]:
            def log(msg: str, *args: Any, **kwargs: Any) -> None:
                into.append(msg)

            return log

        pulumi.log.warn = capture(self.messages)
        pulumi.log.info = capture(self.infos)
        return self

    def __exit__(self, *exc: object) -> None:
        pulumi.log.warn, pulumi.log.info = self._original


def run_program(
    config: Mapping[str, Any],
    *,
    cluster: FakeCluster | None = None,
    secret_keys: Iterable[str] = (),
    preview: bool = False,
) -> Run:
    """Run ``__main__.py``'s program under mocks with ``config`` as the stack's keys."""
    run, error = run_program_capturing(
        config, cluster=cluster, secret_keys=secret_keys, preview=preview
    )
    if error is not None:
        raise error
    return run


def run_program_capturing(
    config: Mapping[str, Any],
    *,
    cluster: FakeCluster | None = None,
    secret_keys: Iterable[str] = (),
    preview: bool = False,
) -> tuple[Run, Exception | None]:
    """Like ``run_program``, but a failure is returned beside what was registered before it."""
    # imported after set_mocks, as Pulumi requires
    from openelb_component.component.openelb_ha import OUTPUTS
    from openelb_component.component.program import main

    names = [attribute for _, attribute in OUTPUTS]
    outputs: dict[str, Any] = {}
    secret: dict[str, bool] = {}

    def program() -> pulumi.Output[None]:
        component = main()
        values = [getattr(component, name) for name in names]
        flags = [pulumi.Output.from_input(value.is_secret()) for value in values]

        def record(resolved: list[Any]) -> None:
            outputs.update(zip(names, resolved[: len(names)], strict=True))
            secret.update(zip(names, resolved[len(names) :], strict=True))

        return pulumi.Output.all(*values, *flags).apply(record)

    run, error = run_under_mocks(
        program, config, cluster=cluster, secret_keys=secret_keys, preview=preview
    )
    run.outputs = plain(outputs)
    run.secret_outputs = {name for name, flag in secret.items() if flag}
    return run, error


def run_under_mocks(
    program: Callable[[], Any],
    config: Mapping[str, Any],
    *,
    cluster: FakeCluster | None = None,
    secret_keys: Iterable[str] = (),
    preview: bool = False,
    bgp_conf_of: Mapping[str, Any] | None = None,
) -> tuple[Run, Exception | None]:
    """Run any Pulumi program function under the recording mocks, with ``config`` as the
    stack's keys (the benchmark's baseline runs bare resources through the same mocks).
    ``bgp_conf_of``: the stack keys whose BgpConf the cluster is at (default ``config``), for a
    program that builds its component from args rather than from config."""
    stack = config if bgp_conf_of is None else bgp_conf_of
    mocks = RecordingMocks(at_the_stacks_bgp_conf(cluster or FakeCluster(), stack))
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=preview, monitor=monitor)
    entries, secure = engine_config(config)
    pulumi.runtime.set_all_config(
        entries, [_qualified(key) for key in sorted(secure | set(secret_keys))]
    )
    error: Exception | None = None
    with _WarningCapture() as warnings:
        try:
            pulumi.runtime.test(program)()  # type: ignore[no-untyped-call]
        except Exception as exc:
            error = exc
            _collect_failed_run()
        finally:
            pulumi.runtime.set_all_config({}, [])
    run = Run(
        monitor.registrations,
        warnings=warnings.messages,
        infos=warnings.infos,
        state=mocks.outputs,
        registered_outputs=monitor.registered_outputs,
    )
    return run, error


WORKLOAD_TYPES = {
    "Deployment": "kubernetes:apps/v1:Deployment",
    "DaemonSet": "kubernetes:apps/v1:DaemonSet",
}


def at_the_stacks_bgp_conf(cluster: FakeCluster, config: Mapping[str, Any]) -> FakeCluster:
    """``cluster`` whose announcing workload reads back with its metadata, and (unless the
    cluster says otherwise) the record of the stack's own BgpConf: a cluster the stack was
    applied to. A read the cluster gives itself is kept as it is."""
    # The record holds no password, only where one is: any valid stand-in will do.
    entries, _ = engine_config({k: v for k, v in config.items() if k != PASSWORDS_KEY})
    prefix = f"{PROJECT}:"
    raw = {k.removeprefix(prefix): decode_engine_text(t) for k, t in entries.items()}
    passwords = config.get(PASSWORDS_KEY)
    if isinstance(passwords, Mapping):
        raw[PASSWORDS_KEY] = dict.fromkeys(passwords, "stand-in")
    try:
        state = desired_state(load_config(raw))
    except ConfigError:  # an invalid stack: the program refuses it before any read
        return cluster
    workload = state.by_key(WORKLOAD_KEY)
    read = (WORKLOAD_TYPES[workload.kind], workload.object_id)
    if read in cluster.live:
        return cluster
    metadata: dict[str, Any] = {"name": workload.name, "namespace": workload.namespace}
    annotations = workload.manifest["metadata"].get("annotations", {})
    recorded = {k: v for k, v in annotations.items() if k.startswith(f"{PROJECT}/bgp")}
    if recorded and cluster.bgp_conf_applied:
        metadata["annotations"] = recorded
    return dataclasses.replace(cluster, live={**cluster.live, read: {"metadata": metadata}})


def _collect_failed_run() -> None:
    """Finalize a failed run's leftovers now rather than at a random later moment.

    The runtime re-raises the first failed registration; futures of the registrations that
    depended on it hold exceptions nobody retrieves. Collected here, asyncio reports them now; left
    to the garbage collector they are reported from inside whatever runs next, and on CPython
    3.11.7 a report from inside ``ast.parse`` makes that parse fail with "AST constructor
    recursion depth mismatch" (seen when pytest later imported a plugin module).
    """
    gc.collect()


def assert_registers_the_desired_state(run: Run, config: Mapping[str, Any]) -> None:
    """The run registered exactly the desired state's objects (and the component itself)."""
    expected = {f"{PROJECT}-{obj.key}" for obj in desired_state(loaded_config(config)).objects}
    assert {r.name for r in run.resources} == {PROJECT, *expected}


def stack_files() -> list[Path]:
    return stack_paths(STACKS_DIR)


def stack_files_step(stack: str, missing: str) -> str:
    """What a test says when a stack lacks what ``make stack-files`` writes (the add-a-stack
    checklist's step 3, docs/operations.md)."""
    return (
        f"stack {stack!r} has no {missing}: create it with `make stack-files STACK={stack}` "
        '(PRODUCTION=true for a production stack; docs/operations.md, "Add a stack for your '
        'cluster", step 3) and review it'
    )


def stack_config(path: Path) -> dict[str, Any]:
    """A stack file's ``openelb-ha:`` keys, without the prefix (secure values kept as written;
    ``run_program`` decrypts them as the engine would), read as the engine reads the file."""
    document, _ = load_stack_yaml(path.read_text())
    return project_entries(document)


@dataclass(frozen=True)
class PreviewDiff:
    """What ``pulumi preview`` would show between two runs: resources by (type, name)."""

    created: list[str]
    updated: list[str]
    deleted: list[str]

    @property
    def changed(self) -> list[str]:
        return sorted(self.created + self.updated + self.deleted)


def preview_diff(before: Run, after: Run) -> PreviewDiff:
    """Compare two runs as the engine would: a resource whose name is new is created, one that
    disappeared is deleted, one whose inputs differ is updated (reads are not steps that change
    anything, so they are left out)."""
    old = {r.name: r for r in before.resources}
    new = {r.name: r for r in after.resources}
    return PreviewDiff(
        created=sorted(set(new) - set(old)),
        updated=sorted(
            name
            for name in set(old) & set(new)
            if (old[name].type, old[name].inputs) != (new[name].type, new[name].inputs)
        ),
        deleted=sorted(set(old) - set(new)),
    )
