"""Text shared by the plan's renderers (render.py, runbook.py)."""

from __future__ import annotations

import json
import shlex
from typing import Any

import yaml

from openelb_component.config.errors import format_path
from openelb_component.config.secrets import REDACTED
from openelb_component.desired import DesiredObject
from openelb_component.plan.build import Plan


def command(plan: Plan, fmt: str) -> str:
    return f"python -m openelb_component plan --stack {plan.stack} --format {fmt}"


class SecretReference(str):
    """Text standing for a secret (``${VARIABLE}``, a marker): always a double-quoted scalar."""


# libyaml's emitter when PyYAML was built with it (the wheels are): the same safe representer
# and resolver, the emitting itself in C. The pure-Python emitter took 12 of plan --format
# yaml's 16 s of CPU at 10,000 nodes (docs/benchmarks.md); every plan's text is the same from
# both (the golden plans and the formatting tests hold either).
_SafeDumper = yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper


class _Dumper(_SafeDumper):  # type: ignore[misc,valid-type]
    """PyYAML's safe emitter (every scalar quoted and escaped as YAML needs), writing a
    ``SecretReference`` double-quoted."""


def _secret_reference(dumper: yaml.SafeDumper, value: SecretReference) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(SecretReference, _secret_reference)


def dump(value: Any) -> str:
    """YAML from the emitter, never pasted together: the one path for every YAML output."""
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def unused_marker(text: str, index: int) -> str:
    """A marker that occurs nowhere in ``text`` (a placeholder to replace after emitting)."""
    attempt = 0
    while True:
        marker = f"OPENELBHAMARKER{index}X{attempt}"
        if marker not in text:
            return marker
        attempt += 1


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def quoted(value: Any) -> str:
    return shlex.quote(compact_json(value))


def secret_notes(obj: DesiredObject) -> list[str]:
    return [
        f"{format_path(path)} = {REDACTED}: put the value of secret {name} there"
        for path, name in sorted(obj.secrets.items(), key=lambda item: str(item[0]))
    ]


def describe(obj: DesiredObject) -> str:
    how = "Server-Side Apply patch of" if obj.action == "patch" else "create"
    return f"{obj.key}: {how} {obj.kind} {obj.object_id}"
