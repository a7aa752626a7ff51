"""How the Pulumi engine hands a stack's configuration to a program, as pure functions.

The offline tools read the stack file themselves; the program gets what the engine made of it.
Both apply these functions, so ``validate`` and ``pulumi up`` judge a stack the same way:

- a top-level scalar reaches the program as text (``adopt: true`` and ``adopt: "true"`` both
  arrive as ``true``: pulumi ``sdk/go/common/resource/config/object.go``, ``MarshalString``),
  and the program decodes it as JSON, so both are the boolean; ``yes`` stays the text ``yes``
  and is refused (the engine parses stack files with ``gopkg.in/yaml.v3``, YAML 1.2, where
  ``yes`` is not a boolean);
- an object reaches the program as JSON, its values keeping their YAML types (``"2"`` stays text);
- keys are ``<namespace>:<name>``; this project's are ``openelb-ha:<name>``, and the CLI makes a
  key written without a namespace the project's (``stackConfigNamespacedWithProject``, sdk
  ``go/common/workspace/loaders.go:61-90@v3.276.0``). A key the program cannot see (a misspelt
  namespace) is reported, naming the key and the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from openelb_component.config.errors import Problem
from openelb_component.config.models import StackConfig
from openelb_component.config.names import PROJECT

PREFIX = f"{PROJECT}:"


def engine_text(value: Any) -> str:
    """A key's value as the engine hands it over: a string as it is, anything else (an object,
    a list, a boolean, a number) as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def decode_engine_text(text: str) -> Any:
    """What the program makes of a key's text: JSON when it parses (objects, numbers,
    ``true``), else the string itself, which the models then refuse or accept with its path."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _squashed(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


STACK_KEYS = tuple(sorted(field.alias or name for name, field in StackConfig.model_fields.items()))
"""This project's stack keys, without the prefix (``topology``, ``bgpPasswords``...)."""


def misplaced_keys(entries: Mapping[str, Any]) -> list[Problem]:
    """Keys of a stack's ``config:`` that the program never reads but were meant for it.

    ``openelb_ha:topology`` (a misspelt namespace) is otherwise silently ignored, and the user
    only sees "topology is missing". ``entries``: namespaced key -> value as shown (secure values
    already redacted by the caller). A key without a namespace is the project's already.
    """
    problems: list[Problem] = []
    for key, value in sorted(entries.items()):
        namespace, colon, name = key.rpartition(":")
        if key.startswith(PREFIX) or not colon:
            continue
        if namespace != PROJECT and _squashed(namespace) == _squashed(PROJECT):
            problems.append(
                Problem(
                    ("config", key),
                    f"ignored: the prefix {namespace!r} is not this project's name; write it as "
                    f"{PREFIX}{name}",
                    value,
                    kind_only=True,
                )
            )
    return problems
