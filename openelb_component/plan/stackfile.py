"""Read ``stacks/Pulumi.<stack>.yaml`` directly, as the offline plan and ``validate`` do.

The Pulumi CLI is not needed: the ``openelb-ha:`` keys are taken from the file as written. A value
written as ``{secure: ...}`` is Pulumi ciphertext; it is never decrypted (that needs the stack's
secrets provider) and becomes the ``[secret]`` placeholder, its key path kept in ``secure`` so
checks that require a secret can tell a secret from a plain value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openelb_component.config.errors import Loc
from openelb_component.config.names import PROJECT
from openelb_component.config.secrets import REDACTED

STACKS_DIR = Path("stacks")


@dataclass(frozen=True)
class StackFile:
    path: Path
    config: dict[str, Any]
    """The ``openelb-ha:`` keys without the prefix; secure values replaced by ``[secret]``."""
    secure: frozenset[Loc]
    """Key paths (``("bgpPasswords", "leaf1")``) of the values that were written as secure."""

    @property
    def name(self) -> str:
        return stack_name(self.path)


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_path(name: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{name}.yaml"


def stack_paths(stacks_dir: Path = STACKS_DIR) -> list[Path]:
    return sorted(stacks_dir.glob("Pulumi.*.yaml"))


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and list(value) == ["secure"]


def _redact(value: Any, loc: Loc, secure: set[Loc]) -> Any:
    if _is_secure(value):
        secure.add(loc)
        return REDACTED
    if isinstance(value, Mapping):
        return {key: _redact(item, (*loc, key), secure) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, (*loc, index), secure) for index, item in enumerate(value)]
    return value


def read_stack(path: Path) -> StackFile:
    """The stack's ``openelb-ha:`` keys; ``OSError``/``yaml.YAMLError`` when it is unreadable."""
    document = yaml.safe_load(path.read_text()) or {}
    entries = document.get("config") if isinstance(document, Mapping) else None
    prefix = f"{PROJECT}:"
    secure: set[Loc] = set()
    config = {
        key.removeprefix(prefix): _redact(value, (key.removeprefix(prefix),), secure)
        for key, value in (entries if isinstance(entries, Mapping) else {}).items()
        if isinstance(key, str) and key.startswith(prefix)
    }
    return StackFile(path, config, frozenset(secure))
