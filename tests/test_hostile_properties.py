"""Arbitrary text in every string a stack, a nodes file or a password can carry (control
characters, unicode, shell, YAML, FRR and BIRD syntax): either one clean error naming the key,
or artifacts that carry every value as exactly that value.

For a stack the models accept, with its passwords and its nodes' InternalIPs:

- the kubectl runbook passes ``sh -n``, and ``apply`` then ``rollback`` run under ``sh`` with a
  PATH holding only a recording fake ``kubectl`` and the runbook's own helpers (``sed``, ``cat``,
  ``mv``, recorded too): nothing else runs, every ``kubectl`` call names exactly the planned
  objects and labels, and every document fed to ``kubectl apply`` is exactly a planned object,
  passwords included;
- the YAML plan, its references filled in as its fill line does, parses to exactly the planned
  objects;
- every router configuration passes the router's own parser (``vtysh -C -f``, ``bird -p -c``)
  and names exactly the neighbors whose InternalIP is a plain address (the neighbor lines read
  here, one statement per line, which is what the parsers accepted).

``make test`` runs a few examples; ``make test-slow`` (CI) runs ``SLOW_EXAMPLES`` of them, both
derandomized (the ``ci`` profile, tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from openelb_component.config.addresses import endpoint
from openelb_component.config.errors import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.secrets import REDACTED
from openelb_component.desired import DesiredObject, desired_state
from openelb_component.desired.ownership import FIELD_MANAGER, without_pulumi_annotations
from openelb_component.plan.build import Plan, build_plan
from openelb_component.plan.render import ENVSUBST_GUARD, render_yaml
from openelb_component.plan.runbook import CONFIRM_VARIABLE, render_kubectl, secret_variables
from openelb_component.plan.stackfile import StackFile
from openelb_component.routers import configs
from tests.support.tools import require
from tests.test_router_injection import neighbors
from tests.test_routers import PARSERS, parse

FAST_EXAMPLES = 6
SLOW_EXAMPLES = 120
MARK = "Zq9"
"""Starts every password, so a message that shows one can be told from one that shows "a"."""

# --- what goes into the slots ------------------------------------------------------------------

PAYLOADS = [
    "$(touch PWNED)", "`touch PWNED`", "\n", "\r", '"', "'", "\\", ";", "%", "%x", " ", "\t",
    "\x00", "\x1b[2J", "{", "}", "#", "!", "<", ">", "*", "~", "é", "\u2028", "::ffff:", "/24",
    "\n neighbor 192.0.2.66 remote-as 666", '" ; } protocol bgp evil { #', ":", "- x",
]  # fmt: skip
TEXT = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from("\x00\x1b\n\r\t\"'\\$`")),
    max_size=12,
)


def hostile(valid: str) -> st.SearchStrategy[str]:
    """The valid value with hostile text before or after it, or any text."""
    around = st.builds(
        lambda before, payload, after: before + payload + after,
        st.sampled_from(["", valid]),
        st.one_of(st.sampled_from(PAYLOADS), TEXT),
        st.sampled_from(["", valid]),
    )
    return st.one_of(around, TEXT)


NODES = ["master1", "worker-p001", "worker-p002", "worker-p003"]
PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) not in '"\\')
SLOTS = {
    "namespace": "openelb-system",
    "routerId": "192.0.2.250",
    "eips0": "198.51.100.0/24",
    "eips1": "203.0.113.10-203.0.113.20",
    "leaf0": "leaf1",
    "leaf1": "leaf2",
    "peer0": "192.0.2.1",
    "peer1": "192.0.2.2",
    "peerName": "bgppeer-leaf2",
    **{f"node{index}": node for index, node in enumerate(NODES)},
    **{f"address{index}": f"192.0.2.{11 + index}" for index in range(len(NODES))},
    "password0": "s3cret",
    "password1": "s3cret",
}
"""Every string slot and its valid value; an example makes up to three of them hostile."""


def example_of(values: Mapping[str, str], passwords: tuple[str, str]) -> dict[str, Any]:
    """The two-leaf example with the given slot values: {config, addresses}."""
    nodes = [values[f"node{index}"] for index in range(len(NODES))]
    leaves = [values["leaf0"], values["leaf1"]]
    config: dict[str, Any] = {
        "openelb": {"namespace": values["namespace"]},
        "bgp": {"as": 64600, "routerId": values["routerId"]},
        "eips": [values["eips0"], values["eips1"]],
        "topology": {
            "kind": "multi-leaf",
            "replicasPerLeaf": 1,
            "leaves": [
                {
                    "name": leaves[0],
                    "nodes": nodes[:2],
                    "peer": {"address": values["peer0"], "asn": 65001},
                },
                {
                    "name": leaves[1],
                    "nodes": nodes[2:],
                    "peer": {"address": values["peer1"], "asn": 65001, "name": values["peerName"]},
                },
            ],
        },
        "bgpPasswords": dict(zip(leaves, passwords, strict=True)),
    }
    addresses = {node: values[f"address{index}"] for index, node in enumerate(nodes)}
    return {"config": config, "addresses": addresses}


@st.composite
def stacks(draw: st.DrawFn) -> dict[str, Any]:
    """The two-leaf example, up to three slots hostile. Passwords are drawn from everything a
    password may hold (every character a shell, YAML, FRR or BIRD treats specially) unless
    hostile."""
    chosen = draw(st.sets(st.sampled_from(sorted(SLOTS)), max_size=3))
    values = {
        name: draw(hostile(valid)) if name in chosen else valid for name, valid in SLOTS.items()
    }

    def password(name: str) -> str:
        if name in chosen:
            return MARK + values[name]
        return MARK + draw(st.text(alphabet=PRINTABLE, min_size=1, max_size=60))

    return example_of(values, (password("password0"), password("password1")))


# --- the runbook, under sh, with nothing but kubectl ------------------------------------------

FAKE_KUBECTL = """#!/bin/sh
{ printf '%s\\0' "$#"; printf '%s\\0' "$@"; } >> "$CALLS"
case "$1 $2" in
  "apply -f") cat >> "$APPLIED"; printf '\\n---\\n' >> "$APPLIED" ;;
  "get "*) case "$*" in *" -o name") printf '%s\\n' "$2/$3" ;; esac ;;
esac
exit 0
"""
HELPERS = ("sed", "cat", "mv")
"""The only programs besides kubectl the runbook runs (on its own backup files)."""


def shims(folder: Path) -> dict[str, str]:
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(FAKE_KUBECTL)
    for name in HELPERS:
        real = shutil.which(name)
        assert real is not None
        (bin_dir / name).write_text(
            f'#!/bin/sh\nprintf "%s\\n" {name} >> "$PROGRAMS"\nexec {real} "$@"\n'
        )
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    return {
        "PATH": str(bin_dir),
        "CALLS": str(folder / "calls"),
        "APPLIED": str(folder / "applied.yaml"),
        "PROGRAMS": str(folder / "programs"),
        CONFIRM_VARIABLE: "yes",
    }


def recorded_calls(folder: Path) -> list[list[str]]:
    path = folder / "calls"
    parts = path.read_bytes().decode().split("\0") if path.exists() else []
    calls, index = [], 0
    while index < len(parts) - 1:
        count = int(parts[index])
        calls.append(parts[index + 1 : index + 1 + count])
        index += 1 + count
    return calls


def filled(obj: DesiredObject, passwords: dict[str, str]) -> dict[str, Any]:
    """An object as kubectl must receive it: Pulumi's annotations dropped, secrets filled."""
    manifest = {**obj.manifest, "metadata": without_pulumi_annotations(obj.manifest["metadata"])}
    return obj.with_secrets(manifest, passwords)


def check_runbook(plan: Plan, passwords: dict[str, str], folder: Path) -> None:
    script = folder / "plan.sh"
    script.write_text(render_kubectl(plan))
    assert subprocess.run(["/bin/sh", "-n", str(script)], check=False).returncode == 0
    variables = secret_variables(passwords)
    env = {**shims(folder), **{variables[name]: value for name, value in passwords.items()}}
    for step in ("apply", "rollback"):
        done = subprocess.run(
            ["/bin/sh", str(script), step],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (step, done.stderr)
    programs = (
        set((folder / "programs").read_text().split()) if (folder / "programs").exists() else set()
    )
    assert programs <= set(HELPERS)
    assert not (folder / "PWNED").exists()
    calls = recorded_calls(folder)
    objects = plan.state.objects
    # Every node labelled with exactly its planned labels, under its own name, in order.
    labelled = [call for call in calls if call[0] == "label"]
    expected_labels = [
        [
            "label", "--overwrite", f"--field-manager={FIELD_MANAGER}", "node", obj.name,
            *(f"{k}={v}" for k, v in obj.manifest["metadata"]["labels"].items()),
        ]
        for obj in objects
        if obj.kind == "Node"
    ]  # fmt: skip
    assert labelled[: len(expected_labels)] == expected_labels
    # Every document applied is exactly a planned object (with its password).
    applied = [
        doc for doc in yaml.safe_load_all((folder / "applied.yaml").read_text()) if doc is not None
    ]
    expected = [
        filled(obj, passwords)
        for obj in objects
        if obj.kind not in ("Node", "Deployment", "DaemonSet")
    ]
    assert applied == expected
    # Every other argument is a planned value, a JSON patch, or a word of the runbook's own
    # (flags, kinds, JSONPath, file names), in which no character of the payloads appears.
    planned = {obj.name for obj in objects} | {obj.namespace for obj in objects if obj.namespace}
    for call in calls:
        for word in call:
            assert (
                word in planned
                or re.fullmatch(r"[-A-Za-z0-9./=_{}\\]+", word)
                or isinstance(json.loads(word), dict)
            ), (call, word)


# --- the YAML plan -----------------------------------------------------------------------------


def check_yaml_plan(plan: Plan, passwords: dict[str, str]) -> None:
    text = render_yaml(plan)
    variables = secret_variables(passwords)
    # What the plan's fill line does: its own variables and the guard, nothing else.
    for name, variable in variables.items():
        text = text.replace(f"${{{variable}}}", passwords[name])
    text = text.replace(ENVSUBST_GUARD, "")
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    assert documents == [obj.with_secrets(obj.manifest, passwords) for obj in plan.state.objects]


# --- router configurations --------------------------------------------------------------------


BIRD_LIVE_ROUTER = "router id 192.0.2.254;\nprotocol device {\n}\n"
"""The least a live BIRD configuration holds, for the mergeable output to be merged into."""


def plain(address: str) -> str | None:
    try:
        return str(endpoint(address))
    except ValueError:
        return None


def check_router_configs(
    raw: dict[str, Any], addresses: dict[str, str], passwords: dict[str, str], folder: Path
) -> None:
    config = load_config(raw)
    state = desired_state(config)
    routers = configs.leaf_routers(config, state, addresses)
    for dialect in sorted(PARSERS):
        require(PARSERS[dialect][0])
        for router in routers:
            expected = sorted(
                address
                for leaf in raw["topology"]["leaves"]
                if leaf["name"] == router.leaf
                for node in leaf["nodes"]
                if (address := plain(addresses[node])) is not None
            )
            for whole in (False, True):
                render = configs.RENDERERS[dialect]
                text = render(router, passwords, whole)
                # Merged into a live router's configuration, which has its own protocols (a
                # BIRD file with none is refused, as when every node of a leaf was left out).
                live = "" if whole or dialect == "frr" else BIRD_LIVE_ROUTER
                done = parse(dialect, live + text, folder)
                assert done.returncode == 0, (dialect, done.stderr, text)
                assert sorted(neighbors(dialect, text)) == expected


# --- the property ----------------------------------------------------------------------------


def check(
    example: dict[str, Any], folder: Path, note: Callable[[str], None] = lambda _: None
) -> None:
    """The property for one example; ``note`` counts the outcomes (Hypothesis' ``event``)."""
    raw, addresses = example["config"], example["addresses"]
    passwords_by_leaf: dict[str, str] = raw["bgpPasswords"]
    try:
        load_config(raw)
    except ConfigError as error:
        note("refused with a clean error")
        message = error.render()
        assert error.problems and all(problem.path for problem in error.problems)
        for password in passwords_by_leaf.values():
            assert password not in message
        return
    secret_names = {f"bgpPasswords.{leaf}": value for leaf, value in passwords_by_leaf.items()}
    stack = StackFile(
        folder / "Pulumi.prop.yaml",
        {**raw, "bgpPasswords": dict.fromkeys(passwords_by_leaf, REDACTED)},
        frozenset(("bgpPasswords", leaf) for leaf in passwords_by_leaf),
    )
    note("accepted: every artifact checked")
    plan = build_plan(stack)
    check_runbook(plan, secret_names, folder)
    check_yaml_plan(plan, secret_names)
    check_router_configs(raw, addresses, secret_names, folder)


def _run(example: dict[str, Any], factory: pytest.TempPathFactory) -> None:
    check(example, factory.mktemp("hostile"), event)


@settings(max_examples=FAST_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(example=stacks())
def test_hostile_text_gives_a_clean_error_or_exact_artifacts(
    tmp_path_factory: pytest.TempPathFactory, example: dict[str, Any]
) -> None:
    _run(example, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=SLOW_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(example=stacks())
def test_hostile_text_gives_a_clean_error_or_exact_artifacts_at_length(
    tmp_path_factory: pytest.TempPathFactory, example: dict[str, Any]
) -> None:
    _run(example, tmp_path_factory)


def test_the_valid_example_itself_makes_every_artifact(tmp_path: Path) -> None:
    """The examples above start from it: its artifacts pass every check, with a node address
    that must be left out and passwords full of shell and YAML syntax."""
    example = example_of(
        {**SLOTS, "address0": "fe80::1%$(touch PWNED)"},
        (MARK + PRINTABLE[:77], MARK + "$(touch${IFS}PWNED)`x`;'#"),
    )
    check(example, tmp_path)
    assert (tmp_path / "applied.yaml").exists()  # valid: every artifact was made and checked
