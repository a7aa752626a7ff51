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


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False)


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
