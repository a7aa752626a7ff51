"""The policy pack's config for a stack: ``policy/config/<stack>.json``.

A CrossGuard pack cannot read stack config, so each stack tells it what the pack must know:
whether it is a production stack (a choice only its owners make) and whether it adopts (read
from the stack file, so the two never disagree; ``tests/test_policy.py`` checks every stack).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openelb_component.config.models import StackConfig

POLICY_CONFIG_DIR = Path("policy/config")
PRODUCTION_RULE = "openelb-ha-production-replicas"
PATCH_FORCE_RULE = "openelb-ha-no-patch-force"


def policy_config_path(stack: str, folder: Path = POLICY_CONFIG_DIR) -> Path:
    return folder / f"{stack}.json"


def policy_config(config: StackConfig, production: bool | None, existing: Path) -> str:
    """The file's text: ``production`` as given, else as the existing file says (default
    false); ``adopt`` always the stack's."""
    if production is None and existing.is_file():
        current: dict[str, Any] = json.loads(existing.read_text())
        production = bool(current.get(PRODUCTION_RULE, {}).get("production", False))
    rules = {
        PRODUCTION_RULE: {"production": bool(production)},
        PATCH_FORCE_RULE: {"adopt": config.adopt},
    }
    lines = [f"  {json.dumps(name)}: {json.dumps(values)}" for name, values in rules.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"
