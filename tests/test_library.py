"""The component as a library (docs/library.md): typed args judged like a stack file, passwords
secret from any origin, the package other languages add, and the examples of every language.

Each program here runs under the recording mocks (tests/support/harness.py), so the assertions are
on what the engine would receive.
"""

from __future__ import annotations

import enum
import json
import os
import re
import subprocess
import sys
import typing
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, cast

import grpc
import pulumi
import pytest
import yaml
from google.protobuf import struct_pb2
from pulumi.errors import InputPropertiesError
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema
from pulumi.provider.server import ComponentInitError, ProviderServicer
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc
from pulumi.runtime.sync_await import _sync_await
from pydantic import BaseModel

from openelb_component.component.args import (
    PLAIN_VALUE_NEEDED,
    BgpSettingsArgs,
    BgpTimersArgs,
    LeafArgs,
    Mode,
    NextHops,
    OpenElbHaArgs,
    OpenElbSettingsArgs,
    PeerArgs,
    TopologyArgs,
    TopologyKind,
    Version,
)
from openelb_component.component.openelb_ha import OUTPUTS, TYPE_TOKEN, OpenElbHa
from openelb_component.component.provider import OpenElbHaProvider
from openelb_component.config import models
from openelb_component.config.errors import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.names import PROJECT
from tests.support.harness import (
    ROOT,
    SECRET_SIG,
    SECRET_SIG_VALUE,
    Run,
    is_secret,
    run_program,
    run_under_mocks,
)

BGP_PEER = "kubernetes:network.kubesphere.io/v1alpha2:BgpPeer"
PASSWORD = "s3cret-leaf1-md5"  # noqa: S105 - a test password, to be found nowhere in plaintext
LIBRARY_DOC = ROOT / "docs" / "library.md"
GOLDEN_SCHEMA = ROOT / "tests" / "golden" / "openelb-ha.schema.json"
PACKAGE_VERSION = "0.1.0"


def run_component(
    make_args: Callable[[], Any], config: Mapping[str, Any] | None = None, **kwargs: Any
) -> tuple[Run, Exception | None, dict[str, Any]]:
    """A program that builds one ``OpenElbHa`` from ``make_args()`` and keeps its outputs."""
    outputs: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        component = OpenElbHa("lib", make_args())
        names = ["nodes", "nodes_by_leaf", "replicas", "bgp_peers"]
        return pulumi.Output.all(*(getattr(component, name) for name in names)).apply(
            lambda values: outputs.update(zip(names, values, strict=True))
        )

    # The cluster is at one_leaf()'s BgpConf, as after an earlier up (tests/test_bgpconf_change.py
    # covers the change itself).
    kwargs.setdefault("bgp_conf_of", ONE_LEAF_STACK_KEYS)
    run, error = run_under_mocks(program, config or {}, **kwargs)
    return run, error, outputs


def one_leaf(passwords: dict[str, pulumi.Input[str]] | None = None) -> OpenElbHaArgs:
    args = OpenElbHaArgs(
        topology={
            "kind": TopologyKind.MULTI_LEAF,
            "leaves": [
                {
                    "name": "leaf1",
                    "nodes": ["master1", "worker-p001"],
                    "peer": {"address": "192.0.2.1", "asn": 64601},
                }
            ],
        },
        bgp={"as_": 64600},
    )
    if passwords is not None:
        args["bgp_passwords"] = passwords
    return args


ONE_LEAF_STACK_KEYS: dict[str, Any] = {
    "topology": {
        "kind": "multi-leaf",
        "leaves": [
            {
                "name": "leaf1",
                "nodes": ["master1", "worker-p001"],
                "peer": {"address": "192.0.2.1", "asn": 64601},
            }
        ],
    },
    "bgp": {"as": 64600},
}
"""``one_leaf()`` as a stack file writes it."""


# --- The same judgement as a stack file ------------------------------------------------------

# (what the library user passes, the same settings as stack keys)
BAD_ARGS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "one node, five replicas": (
        {"topology": {"kind": TopologyKind.SINGLE_ROUTER, "nodes": ["master1"], "replicas": 5}},
        {"topology": {"kind": "single-router", "nodes": ["master1"], "replicas": 5}},
    ),
    "a node in two leaves": (
        {
            "topology": {
                "kind": TopologyKind.MULTI_LEAF,
                "replicas_per_leaf": 1,
                "leaves": [
                    {"name": "leaf1", "nodes": ["master1", "worker-p001"]},
                    {"name": "leaf2", "nodes": ["worker-p001"]},
                ],
            }
        },
        {
            "topology": {
                "kind": "multi-leaf",
                "replicasPerLeaf": 1,
                "leaves": [
                    {"name": "leaf1", "nodes": ["master1", "worker-p001"]},
                    {"name": "leaf2", "nodes": ["worker-p001"]},
                ],
            }
        },
    ),
    "a misspelt key and a field of the other kind": (
        {
            "topology": {
                "kind": TopologyKind.MULTI_LEAF,
                "nodes": ["master1"],
                "leaves": [{"name": "leaf1", "nodes": ["master1", "worker-p001"]}],
            },
            "adpot": True,
        },
        {
            "topology": {
                "kind": "multi-leaf",
                "nodes": ["master1"],
                "leaves": [{"name": "leaf1", "nodes": ["master1", "worker-p001"]}],
            },
            "adpot": True,
        },
    ),
    "layer2 across leaves, same ASN as the peer, a bad node name": (
        {
            "openelb": {"mode": Mode.LAYER2, "version": Version.V0_5},
            "topology": {
                "kind": TopologyKind.MULTI_LEAF,
                "leaves": [
                    {
                        "name": "leaf1",
                        "nodes": ["Master_1", "worker-p001"],
                        "peer": {"address": "192.0.2.1", "asn": 64600},
                    }
                ],
            },
            "bgp": {"as_": 64600, "listen_port": 70000},
        },
        {
            "openelb": {"mode": "layer2", "version": "0.5"},
            "topology": {
                "kind": "multi-leaf",
                "leaves": [
                    {
                        "name": "leaf1",
                        "nodes": ["Master_1", "worker-p001"],
                        "peer": {"address": "192.0.2.1", "asn": 64600},
                    }
                ],
            },
            "bgp": {"as": 64600, "listenPort": 70000},
        },
    ),
    "passwords: an unknown leaf, an empty one": (
        {**one_leaf(), "bgp_passwords": {"leaf1": "", "leaf9": PASSWORD}},
        {**ONE_LEAF_STACK_KEYS, "bgpPasswords": {"leaf1": "", "leaf9": PASSWORD}},
    ),
}


@pytest.mark.parametrize(("args", "stack_keys"), BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_bad_args_get_the_stack_files_error_and_register_nothing(
    args: dict[str, Any], stack_keys: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError) as from_stack:
        load_config(stack_keys)

    run, error, _ = run_component(lambda: cast(OpenElbHaArgs, args))

    assert isinstance(error, pulumi.RunError)
    assert str(error) == from_stack.value.render()
    assert run.registrations == []
    assert PASSWORD not in str(error)


def test_the_stack_files_model_is_refused_with_the_way_to_the_args() -> None:
    stack_config = load_config(ONE_LEAF_STACK_KEYS)

    run, error, _ = run_component(lambda: stack_config)

    assert isinstance(error, TypeError)
    assert str(error) == (
        "OpenElbHa takes OpenElbHaArgs (the stack keys in snake_case), not StackConfig; see "
        "docs/library.md"
    )
    assert run.registrations == []


def test_an_output_where_a_plain_value_belongs_is_refused_with_the_reason() -> None:
    def args() -> OpenElbHaArgs:
        nodes = pulumi.Output.from_input(["master1", "worker-p001"])
        return cast(
            OpenElbHaArgs, {"topology": {"kind": TopologyKind.SINGLE_ROUTER, "nodes": nodes}}
        )

    run, error, _ = run_component(args)

    assert isinstance(error, pulumi.RunError)
    assert str(error).splitlines()[1:] == [
        "  - topology.nodes = (an Output): a plain value is needed here, not an Output: this value "
        "decides which resources exist, and resources registered inside an apply are invisible "
        "to pulumi preview; pass the value itself (e.g. read it from config); only "
        "bgp_passwords may be Outputs"
    ]
    assert run.registrations == []


def test_good_args_register_what_the_same_stack_registers() -> None:
    stack = {"openelb": {"version": "0.6", "controllerReplicas": 2}, **ONE_LEAF_STACK_KEYS}
    from_stack = run_program(stack)
    library, error, _ = run_component(
        lambda: {"openelb": {"version": Version.V0_6, "controller_replicas": 2}, **one_leaf()},
        bgp_conf_of=stack,
    )

    assert error is None
    assert len(library.registrations) == len(from_stack.registrations) > 1
    assert {r.name.removeprefix("lib"): (r.type, r.inputs) for r in library.registrations} == {
        r.name.removeprefix(PROJECT): (r.type, r.inputs) for r in from_stack.registrations
    }


# --- Passwords, whatever their origin ------------------------------------------------------

PASSWORD_ORIGINS: dict[str, Callable[[], pulumi.Input[str]]] = {
    "a plain string": lambda: PASSWORD,
    "an Output": lambda: pulumi.Output.from_input(PASSWORD),
    "config.require_secret": lambda: pulumi.Config().require_secret("leaf1Password"),
}


def plaintext_paths(value: Any, needle: str, path: str = "") -> Iterator[str]:
    """Where ``needle`` appears outside a secret, in a value as sent on the wire."""
    if is_secret(value):
        return
    if isinstance(value, str) and needle in value:
        yield path or "."
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from plaintext_paths(item, needle, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from plaintext_paths(item, needle, f"{path}[{index}]")


def assert_password_is_only_a_secret(run: Run, outputs: Mapping[str, Any]) -> None:
    (peer,) = run.of_type(BGP_PEER)
    sent = peer.wire_inputs["spec"]["conf"]["authPassword"]
    assert sent == {SECRET_SIG: SECRET_SIG_VALUE, "value": PASSWORD}
    leaks = [
        f"{r.name}{path}"
        for r in run.registrations
        for path in plaintext_paths(r.wire_inputs, PASSWORD)
    ]
    assert leaks == []
    assert PASSWORD not in json.dumps(outputs)


@pytest.mark.parametrize("origin", PASSWORD_ORIGINS.values(), ids=PASSWORD_ORIGINS.keys())
def test_a_password_is_a_secret_in_the_bgp_peer_whatever_its_origin(
    origin: Callable[[], pulumi.Input[str]],
) -> None:
    run, error, outputs = run_component(
        lambda: one_leaf({"leaf1": origin()}),
        {"leaf1Password": PASSWORD},
        secret_keys=["leaf1Password"],
    )

    assert error is None
    assert outputs["bgp_peers"]
    assert_password_is_only_a_secret(run, outputs)


def test_an_empty_password_from_an_output_fails_once_known_without_showing_it() -> None:
    run, error, _ = run_component(lambda: one_leaf({"leaf1": pulumi.Output.from_input("")}))

    assert isinstance(error, pulumi.RunError)
    assert str(error).splitlines()[1].startswith("  - bgpPasswords.leaf1 = [secret]: ")
    assert run.of_type(BGP_PEER) == []


def test_a_whole_password_map_as_an_output_is_refused_before_registering() -> None:
    """The leaf names decide which BgpPeers carry a password, so they must be known now."""

    def args() -> OpenElbHaArgs:
        passwords = pulumi.Config().require_secret_object("passwords")
        return cast(OpenElbHaArgs, {**one_leaf(), "bgp_passwords": passwords})

    run, error, _ = run_component(
        args, {"passwords": {"leaf1": PASSWORD}}, secret_keys=["passwords"]
    )

    assert isinstance(error, pulumi.RunError)
    assert str(error).splitlines()[1] == (
        "  - bgpPasswords = [secret]: give a map from leaf name to password; only the passwords "
        "may be Outputs (the leaf names decide which BgpPeers carry one)"
    )
    assert run.registrations == []


# --- The package other languages add -------------------------------------------------------


def _numbers(value: Any, convert: Callable[[int | float], int | float]) -> Any:
    """``value`` with every number (not a bool) converted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return convert(value)
    if isinstance(value, Mapping):
        return {key: _numbers(item, convert) for key, item in value.items()}
    if isinstance(value, list):
        return [_numbers(item, convert) for item in value]
    return value


def as_doubles(value: Any) -> Any:
    """A value as it crosses the wire: every number a double."""
    return _numbers(value, float)


def as_ints(value: Any) -> Any:
    """A value as the stack file holds it: whole numbers back to ints."""
    return _numbers(value, lambda n: int(n) if float(n).is_integer() else n)


ENGINE_INPUTS: dict[str, Any] = {
    **as_doubles(ONE_LEAF_STACK_KEYS),
    # A secret inside the map, as every language's SDK sends config.requireSecret(...).
    "bgpPasswords": {"leaf1": {SECRET_SIG: SECRET_SIG_VALUE, "value": PASSWORD}},
}


def test_construct_from_another_language_keeps_the_password_secret() -> None:
    provider = ComponentProvider([OpenElbHa], PROJECT)
    received: dict[str, Any] = {}
    state: dict[str, Any] = {}

    def program() -> pulumi.Output[None]:
        wire = struct_pb2.Struct()
        wire.update(ENGINE_INPUTS)
        # The provider server's own decoding, as in ProviderServicer.Construct.
        inputs = _sync_await(ProviderServicer._construct_inputs(wire, {}))
        received.update(inputs)
        result = provider.construct("lib", TYPE_TOKEN, inputs)
        state.update(result.state)
        return pulumi.Output.all(*result.state.values()).apply(lambda _: None)

    run, error = run_under_mocks(program, {}, bgp_conf_of=ONE_LEAF_STACK_KEYS)

    assert error is None
    # The SDK lifts the nested secret to the whole map: the component has to split it.
    assert isinstance(received["bgpPasswords"], pulumi.Output)
    assert sorted(state) == sorted(output for output, _ in OUTPUTS)
    assert_password_is_only_a_secret(run, {})


class _Aborted(Exception):
    pass


class _RecordingContext:
    """What gRPC's servicer context does on abort: keeps the status sent to the engine."""

    status: Any = None

    async def abort_with_status(self, status: Any) -> None:
        self.status = status
        raise _Aborted


def construct_from_another_language(
    inputs: dict[str, Any], dependencies: Mapping[str, list[str]] | None = None
) -> tuple[Run, Exception | None]:
    """``ComponentProvider.construct`` of the package's provider, on inputs decoded by the SDK's
    own provider server from what another language sent (``dependencies``: input -> the URNs
    of the resources its value comes from)."""
    provider = OpenElbHaProvider([OpenElbHa], PROJECT)

    def program() -> pulumi.Output[None]:
        wire = struct_pb2.Struct()
        wire.update(inputs)
        deps = {
            key: provider_pb2.ConstructRequest.PropertyDependencies(urns=urns)
            for key, urns in (dependencies or {}).items()
        }
        decoded = _sync_await(ProviderServicer._construct_inputs(wire, deps))
        result = provider.construct("lib", TYPE_TOKEN, decoded)
        return pulumi.Output.all(*result.state.values()).apply(lambda _: None)

    return run_under_mocks(program, {})


def what_the_engine_gets(error: Exception) -> str:
    """The status text the provider server sends for ``error`` raised by construct
    (``ProviderServicer.Construct``, pulumi 3.272.0), as the engine shows it."""
    servicer = ProviderServicer(OpenElbHaProvider([OpenElbHa], PROJECT), [], "")

    async def failing(request: Any, context: Any) -> Any:
        raise error

    servicer._construct = failing  # type: ignore[method-assign]
    context = _RecordingContext()
    try:
        _sync_await(servicer.Construct(provider_pb2.ConstructRequest(), context))
    except _Aborted:
        assert context.status.code == grpc.StatusCode.INVALID_ARGUMENT
        return str(context.status.details)
    except Exception as raised:
        return str(raised)
    pytest.fail("Construct returned although construct failed")


def with_bad_node_and_router() -> dict[str, Any]:
    inputs: dict[str, Any] = as_doubles(ONE_LEAF_STACK_KEYS)
    (leaf,) = inputs["topology"]["leaves"]
    leaf["nodes"][0] = "Worker_1"
    leaf["peer"]["address"] = "192.168.0.300"
    return inputs


INVALID_FROM_ANOTHER_LANGUAGE: dict[str, tuple[dict[str, Any], dict[str, list[str]]]] = {
    "bad-node-and-router": (with_bad_node_and_router(), {}),
    "bad-password": (
        {
            **ENGINE_INPUTS,
            "bgpPasswords": {
                "leaf1": {SECRET_SIG: SECRET_SIG_VALUE, "value": f"{PASSWORD} with spaces"}
            },
        },
        {},
    ),
}


@pytest.mark.parametrize(
    ("inputs", "dependencies"),
    INVALID_FROM_ANOTHER_LANGUAGE.values(),
    ids=INVALID_FROM_ANOTHER_LANGUAGE.keys(),
)
def test_invalid_inputs_from_another_language_get_the_message_without_a_traceback(
    inputs: dict[str, Any], dependencies: dict[str, list[str]]
) -> None:
    run, error = construct_from_another_language(inputs, dependencies)

    assert isinstance(error, InputPropertiesError)
    shown = what_the_engine_gets(error)
    # The stack file's own message for the same keys, and nothing else.
    stack_keys = {key: value for key, value in as_ints(inputs).items() if key != "bgpPasswords"}
    if "bgpPasswords" in inputs:
        stack_keys["bgpPasswords"] = {"leaf1": f"{PASSWORD} with spaces"}
    with pytest.raises(ConfigError) as from_stack:
        load_config(stack_keys)
    assert shown == from_stack.value.render()
    assert "Traceback" not in shown and 'File "' not in shown
    assert PASSWORD not in shown
    assert run.registrations == []


def test_an_input_from_another_resource_is_named_as_an_output_where_a_value_is_needed() -> None:
    urn = "urn:pulumi:stack::project::kubernetes:core/v1:Namespace::elsewhere"
    run, error = construct_from_another_language(ENGINE_INPUTS, {"topology": [urn]})

    assert isinstance(error, InputPropertiesError)
    assert what_the_engine_gets(error).splitlines() == [
        "openelb-ha: the stack configuration has 1 problem; nothing was applied.",
        f"  - topology = (an Output): {PLAIN_VALUE_NEEDED}",
    ]
    assert run.registrations == []


def test_without_the_packages_provider_the_caller_would_get_a_traceback() -> None:
    """Why provider/__main__.py serves OpenElbHaProvider: the stock ComponentProvider wraps the
    component's refusal in ComponentInitError, which the server sends with the traceback."""
    provider = ComponentProvider([OpenElbHa], PROJECT)
    inputs, _ = INVALID_FROM_ANOTHER_LANGUAGE["bad-node-and-router"]

    def program() -> None:
        wire = struct_pb2.Struct()
        wire.update(inputs)
        decoded = _sync_await(ProviderServicer._construct_inputs(wire, {}))
        provider.construct("lib", TYPE_TOKEN, decoded)

    _, error = run_under_mocks(program, {})

    assert isinstance(error, ComponentInitError)
    assert 'File "' in what_the_engine_gets(error)


def test_the_plugin_serves_the_packages_provider() -> None:
    text = (ROOT / "provider" / "__main__.py").read_text()
    assert 'main(OpenElbHaProvider([OpenElbHa], PROJECT, None, version("openelb-ha"))' in text


def analyzed_schema() -> dict[str, Any]:
    result = Analyzer(PROJECT).analyze([OpenElbHa])
    schema = generate_schema(
        PROJECT,
        PACKAGE_VERSION,
        None,
        result["component_definitions"],
        result["type_definitions"],
        sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}"),
    )
    return schema.to_json()


def test_the_inferred_schema_is_the_golden_file() -> None:
    schema = json.dumps(analyzed_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN_SCHEMA.write_text(schema)
    assert GOLDEN_SCHEMA.is_file(), f"no {GOLDEN_SCHEMA}; create it with UPDATE_GOLDEN=1"
    assert schema == GOLDEN_SCHEMA.read_text(), "args changed: UPDATE_GOLDEN=1 and review the diff"


def test_the_plugin_serves_the_golden_schema_as_the_language_host_runs_it() -> None:
    # The Python language host runs `python <plugin folder> <engine address>` (RunPlugin in
    # sdk/python/cmd/pulumi-language-python/main.go@v3.259.0); GetSchema needs no engine.
    with subprocess.Popen(
        [sys.executable, str(ROOT / "provider"), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as plugin:
        try:
            assert plugin.stdout is not None
            port = plugin.stdout.readline().strip()
            assert port.isdigit(), plugin.communicate(timeout=10)[1]
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = provider_pb2_grpc.ResourceProviderStub(channel)
                reply = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=30)
        finally:
            plugin.terminate()
            plugin.communicate(timeout=10)
    assert json.loads(reply.schema) == json.loads(GOLDEN_SCHEMA.read_text())


def test_the_plugin_folder_is_a_python_plugin_beside_the_program() -> None:
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin["runtime"]["name"] == "python"
    requirements = (ROOT / "provider" / "requirements.txt").read_text().split()
    assert "-r" in requirements and "../requirements.txt" in requirements and ".." in requirements
    assert (ROOT / "Pulumi.yaml").is_file() and (ROOT / "__main__.py").is_file()


# --- Args and stack keys do not drift apart -------------------------------------------------

ARGS_OF_MODELS: list[tuple[type, list[type[BaseModel]]]] = [
    (OpenElbHaArgs, [models.StackConfig]),
    (OpenElbSettingsArgs, [models.OpenElbSettings]),
    (TopologyArgs, [models.SingleRouterTopology, models.MultiLeafTopology]),
    (LeafArgs, [models.Leaf]),
    (PeerArgs, [models.Peer]),
    (BgpSettingsArgs, [models.BgpSettings]),
    (BgpTimersArgs, [models.BgpTimers]),
]


def _stack_key(field: str) -> str:
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), field).rstrip("_")


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models_in(field.annotation)
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)


def test_every_stack_model_has_an_args_type() -> None:
    covered = {model for _, mapped in ARGS_OF_MODELS for model in mapped}
    assert set(_models_in(models.StackConfig)) == covered


@pytest.mark.parametrize(
    ("args_type", "stack_models"), ARGS_OF_MODELS, ids=[a.__name__ for a, _ in ARGS_OF_MODELS]
)
def test_the_args_have_exactly_the_stack_keys(
    args_type: type, stack_models: list[type[BaseModel]]
) -> None:
    args_keys = {_stack_key(field) for field in args_type.__annotations__}
    stack_keys = {
        field.alias or name for model in stack_models for name, field in model.model_fields.items()
    }
    assert args_keys == stack_keys


def _literal_values(model: type[BaseModel], field: str) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))


@pytest.mark.parametrize(
    ("enum_type", "values"),
    [
        (Version, _literal_values(models.OpenElbSettings, "version")),
        (Mode, _literal_values(models.OpenElbSettings, "mode")),
        (
            TopologyKind,
            _literal_values(models.SingleRouterTopology, "kind")
            | _literal_values(models.MultiLeafTopology, "kind"),
        ),
        (NextHops, _literal_values(models.BgpSettings, "next_hops")),
    ],
    ids=["version", "mode", "topology kind", "next hops"],
)
def test_each_enum_has_the_words_of_its_stack_key(
    enum_type: type[enum.Enum], values: set[str]
) -> None:
    assert {member.value for member in enum_type} == values
    # A string enum, as Pulumi generates them for Python SDKs (`class X(builtins.str, Enum)`,
    # pkg/codegen/python/gen.go:2291-2299@v3.259.0): each member is its word.
    assert issubclass(enum_type, str)
    assert all(member == member.value for member in enum_type)


def test_the_package_ships_py_typed() -> None:
    out = ROOT / ".pytest_cache" / "wheel"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = sorted(out.glob("openelb_ha-*.whl"), key=lambda p: p.stat().st_mtime)[-1:]
    assert "openelb_component/py.typed" in zipfile.ZipFile(wheel).namelist()


# --- The examples of every language in docs/library.md -------------------------------------


def doc_block(info: str) -> str:
    (block,) = re.findall(rf"```{re.escape(info)}\n(.*?)```", LIBRARY_DOC.read_text(), re.DOTALL)
    return str(block)


PRODUCTION_STACK_KEYS: dict[str, Any] = {
    "openelb": {"version": "0.6", "controllerReplicas": 2},
    "topology": {
        "kind": "multi-leaf",
        "replicasPerLeaf": 2,
        "leaves": [
            {
                "name": "leaf1",
                "nodes": ["prd-a1", "prd-a2"],
                "peer": {"address": "192.0.2.1", "asn": 64601},
            },
            {
                "name": "leaf2",
                "nodes": ["prd-b1", "prd-b2"],
                "peer": {"address": "198.51.100.1", "asn": 64602},
            },
        ],
    },
    "bgp": {"as": 64600},
}
"""The example's production cluster as a stack file writes it: the cluster is at its BgpConf,
as after its first ``up`` (which needed ``acceptBgpConfChange``: tests/test_bgpconf_change.py)."""


def test_the_two_environment_example_runs_under_mocks() -> None:
    code = doc_block('python title="__main__.py"')
    passwords = {"leaf1Password": PASSWORD, "leaf2Password": "s3cret-leaf2-md5"}

    run, error = run_under_mocks(
        lambda: exec(code, {"__name__": "__main__"}),  # noqa: S102 - the docs' example, verbatim
        passwords,
        secret_keys=list(passwords),
        bgp_conf_of=PRODUCTION_STACK_KEYS,
    )

    assert error is None
    providers = {
        r.name: r.urn for r in run.registrations if r.type == "pulumi:providers:kubernetes"
    }
    assert sorted(providers) == ["production", "staging"]
    components = [r for r in run.registrations if r.type == TYPE_TOKEN]
    assert sorted(c.name for c in components) == ["production", "staging"]
    for component in components:
        children = [r for r in run.registrations if r.parent == component.urn]
        assert children
        assert {r.provider.rsplit("::", 1)[0] for r in children} == {providers[component.name]}
    peers = run.of_type(BGP_PEER)
    assert sorted(p.name for p in peers) == [
        "production-bgppeer-192-0-2-1",
        "production-bgppeer-198-51-100-1",
    ]
    assert [is_secret(p.wire_inputs["spec"]["conf"]["authPassword"]) for p in peers] == [True, True]
    assert [
        leak for r in run.registrations for leak in plaintext_paths(r.wire_inputs, "s3cret")
    ] == []


def test_the_example_type_checks_and_mypy_catches_a_wrong_arg(tmp_path: Path) -> None:
    """py.typed and the TypedDicts at work: mypy --strict accepts the example and names the
    mistakes a user would make (a number as a string, the stack key ``as`` for ``as_``)."""
    good = doc_block('python title="__main__.py"')
    bad = good.replace('"replicas_per_leaf": 2', '"replicas_per_leaf": "2"').replace(
        'bgp={"as_": 64600}', 'bgp={"as": 64600}'
    )
    assert bad != good
    codes = {}
    for name, code in (("good", good), ("bad", bad)):
        (tmp_path / f"{name}.py").write_text(code)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--cache-dir",
                str(ROOT / ".mypy_cache"),
                str(tmp_path / f"{name}.py"),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        codes[name] = sorted(set(re.findall(r"\[([a-z-]+)\]$", done.stdout, re.MULTILINE)))
    assert codes == {"good": [], "bad": ["typeddict-item", "typeddict-unknown-key"]}


def _checked_against_schema(
    value: Any, spec: Mapping[str, Any], types: Mapping[str, Any], path: str
) -> Iterator[str]:
    """Problems of one value against its schema property: unknown keys, enum words."""
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        type_spec = types[ref.removeprefix("#/types/")]
        if "enum" in type_spec:
            allowed = {member["value"] for member in type_spec["enum"]}
            if value not in allowed:
                yield f"{path}: {value!r} is not one of {sorted(allowed)}"
            return
        yield from _checked_object(value, type_spec, types, path)
    elif spec.get("type") == "array" and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _checked_against_schema(item, spec["items"], types, f"{path}[{index}]")


def _checked_object(
    value: Any, type_spec: Mapping[str, Any], types: Mapping[str, Any], path: str
) -> Iterator[str]:
    if not isinstance(value, Mapping):
        yield f"{path}: expected an object"
        return
    is_resource = "inputProperties" in type_spec
    properties = type_spec["inputProperties"] if is_resource else type_spec["properties"]
    for key, item in value.items():
        if key not in properties:
            yield f"{path}.{key}: not in the schema"
        else:
            yield from _checked_against_schema(item, properties[key], types, f"{path}.{key}")
    for key in type_spec.get("requiredInputs" if is_resource else "required", []):
        if key not in value:
            yield f"{path}.{key}: required"


def _secret_references_as_values(properties: dict[str, Any]) -> dict[str, Any]:
    """The example's args with ``${...}`` / requireSecret references replaced by the password
    the Python example reads from the same config key."""
    text = json.dumps(properties)
    text = re.sub(r'"\$\{(leaf\dPassword)\}"', r'"<\1>"', text)
    return cast(dict[str, Any], json.loads(text))


def python_example_args() -> dict[str, dict[str, Any]]:
    """The Python example's args per environment, as schema properties (camelCase, enum words)."""
    from openelb_component.component.args import stack_keys

    captured: dict[str, Any] = {}
    code = doc_block('python title="__main__.py"')

    class Recording(OpenElbHa):
        def __init__(self, name: str, args: OpenElbHaArgs, opts: Any = None) -> None:
            passwords = {leaf: f"<{leaf}Password>" for leaf in args.get("bgp_passwords", {})}
            captured[name] = stack_keys(
                {**args, **({"bgp_passwords": passwords} if passwords else {})}
            )
            super().__init__(name, args, opts)

    def program() -> None:
        import openelb_component

        original = openelb_component.OpenElbHa
        try:
            openelb_component.__dict__["OpenElbHa"] = Recording
            exec(code, {"__name__": "__main__"})  # noqa: S102 - the docs' example, verbatim
        finally:
            del openelb_component.__dict__["OpenElbHa"]
            assert openelb_component.OpenElbHa is original

    config = {"leaf1Password": PASSWORD, "leaf2Password": PASSWORD}
    _, error = run_under_mocks(
        program, config, secret_keys=list(config), bgp_conf_of=PRODUCTION_STACK_KEYS
    )
    assert error is None
    return captured


def test_the_yaml_example_uses_the_schema_and_matches_the_python_one() -> None:
    program = yaml.safe_load(_yaml_program())
    schema = json.loads(GOLDEN_SCHEMA.read_text())
    component = schema["resources"][TYPE_TOKEN]
    used = {
        name: resource["properties"]
        for name, resource in program["resources"].items()
        if resource["type"] in ("openelb-ha:OpenElbHa", TYPE_TOKEN)
    }

    problems = [
        problem
        for name, properties in used.items()
        for problem in _checked_object(properties, component, schema["types"], name)
    ]

    assert problems == []
    assert {
        name: _secret_references_as_values(p) for name, p in used.items()
    } == python_example_args()
    assert program["config"]["leaf1Password"]["secret"] is True


def _yaml_program() -> str:
    (block,) = [
        b
        for b in re.findall(r"```yaml\n(.*?)```", LIBRARY_DOC.read_text(), re.DOTALL)
        if b.startswith("name:")
    ]
    return str(block)


def _typescript_args(code: str) -> dict[str, dict[str, Any]]:
    """The object literals passed to ``new openelbha.OpenElbHa(name, {...})``, read as data:
    keys quoted, requireSecret("x") as "<x>", trailing commas dropped."""
    found: dict[str, dict[str, Any]] = {}
    for match in re.finditer(
        r'new openelbha\.OpenElbHa\("([^"]+)", (\{.*?\n\}), \{', code, re.DOTALL
    ):
        literal = re.sub(r'config\.requireSecret\("([^"]+)"\)', r'"<\1>"', match.group(2))
        literal = re.sub(r"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:", r'\1"\2":', literal)
        literal = re.sub(r",(\s*[}\]])", r"\1", literal)
        found[match.group(1)] = json.loads(literal)
    return found


def test_the_typescript_example_uses_the_schema_and_matches_the_python_one() -> None:
    code = doc_block("typescript")
    schema = json.loads(GOLDEN_SCHEMA.read_text())
    used = _typescript_args(code)

    problems = [
        problem
        for name, properties in used.items()
        for problem in _checked_object(
            properties, schema["resources"][TYPE_TOKEN], schema["types"], name
        )
    ]

    assert sorted(used) == ["production", "staging"]
    assert problems == []
    assert used == python_example_args()
    assert 'from "@pulumi/openelb-ha"' in code


def test_the_library_page_lists_every_output_in_order() -> None:
    table = LIBRARY_DOC.read_text().split("### The outputs", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \(`(\w+)`\) \|", table, flags=re.MULTILINE)
    assert listed == [(output, attribute) for output, attribute in OUTPUTS]
