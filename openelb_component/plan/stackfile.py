"""Read ``stacks/Pulumi.<stack>.yaml`` directly, as the offline plan and ``validate`` do.

The Pulumi CLI is not needed: the ``openelb-ha:`` keys are taken from the file as the engine
reads it (``config/engine.py``): YAML 1.2 booleans (``yes`` is text, as for ``gopkg.in/yaml.v3``,
which the Pulumi CLI parses stack files with), a key defined twice is an error naming both lines
(yaml.v3 refuses it too; PyYAML alone would keep the last silently), and a key the program would
never see (no prefix, a misspelt prefix, outside ``config:``) is reported with its fix. A value
written as ``{secure: ...}`` is Pulumi ciphertext; it is never decrypted (that needs the stack's
secrets provider) and becomes the ``[secret]`` placeholder, its key path kept in ``secure`` so
checks that require a secret can tell a secret from a plain value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openelb_component.config.engine import PREFIX, misplaced_keys
from openelb_component.config.errors import Loc, Problem
from openelb_component.config.secrets import PASSWORDS_KEY, REDACTED, password_config_path

# The top-level keys of a stack file the Pulumi CLI reads (sdk/go/common/workspace/project.go,
# ProjectStack); anything else there is ignored by it.
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")

STACKS_DIR = Path("stacks")


@dataclass(frozen=True)
class StackFile:
    path: Path
    config: dict[str, Any]
    """The ``openelb-ha:`` keys without the prefix; secure values replaced by ``[secret]``."""
    secure: frozenset[Loc]
    """Key paths (``("bgpPasswords", "leaf1")``) of the values that were written as secure."""
    problems: tuple[Problem, ...] = ()
    """What is wrong with the file itself: duplicate keys, keys the program never sees."""

    @property
    def name(self) -> str:
        return stack_name(self.path)


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def stack_path(name: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{name}.yaml"


def stack_paths(stacks_dir: Path = STACKS_DIR) -> list[Path]:
    return sorted(stacks_dir.glob("Pulumi.*.yaml"))


class EngineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, reading a stack file as the Pulumi CLI's YAML 1.2 parser does."""


# YAML 1.1 (PyYAML's default) reads yes/no/on/off as booleans; YAML 1.2 only true and false.
EngineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
EngineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _user_path(path: Loc) -> Loc:
    """``config``, ``openelb-ha:topology``, ``nodes`` -> ``topology``, ``nodes``, as every other
    problem names a key; paths elsewhere in the file stay as they are."""
    if len(path) >= 2 and path[0] == "config" and str(path[1]).startswith(PREFIX):
        return (str(path[1]).removeprefix(PREFIX), *path[2:])
    return path


def _duplicate_keys(node: yaml.Node, path: Loc) -> list[Problem]:
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                problems.append(
                    Problem(
                        _user_path((*path, key)),
                        "defined twice; only the last definition would count (the Pulumi CLI "
                        "refuses the file): keep one of them",
                        f"lines {first_line[key]} and {line}",
                    )
                )
            else:
                first_line[key] = line
            problems += _duplicate_keys(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(item, (*path, index))
    return problems


def load_stack_yaml(text: str) -> tuple[Any, list[Problem]]:
    """A stack file's document as the engine reads it, and its keys defined twice."""
    loader = EngineLoader(text)
    try:
        node = loader.get_single_node()
        document = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return document, _duplicate_keys(node, ()) if node is not None else []


def _is_secure(value: Any) -> bool:
    return isinstance(value, Mapping) and list(value) == ["secure"]


def _empty_secure_values(config: Mapping[str, Any], loc: Loc = ()) -> list[Problem]:
    """``{secure: ''}`` holds no ciphertext: the engine cannot decrypt it, and it was not
    written by ``pulumi config set --secret``; named, never shown."""
    problems: list[Problem] = []
    for key, value in config.items():
        if _is_secure(value) and not value["secure"]:
            path = (
                password_config_path(str(key))
                if loc == (PASSWORDS_KEY,)
                else ".".join(str(part) for part in (*loc, key))
            )
            problems.append(
                Problem(
                    (*loc, key),
                    "an empty secure value, which holds no password; set it with pulumi config "
                    f"set --secret --path '{path}' <password>, or remove the key",
                    secret=True,
                )
            )
        elif isinstance(value, Mapping):
            problems += _empty_secure_values(value, (*loc, key))
    return problems


def _redact(value: Any, loc: Loc, secure: set[Loc]) -> Any:
    if _is_secure(value):
        secure.add(loc)
        return REDACTED
    if isinstance(value, Mapping):
        return {key: _redact(item, (*loc, key), secure) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact(item, (*loc, index), secure) for index, item in enumerate(value)]
    return value


def _outside_config(document: Mapping[str, Any]) -> list[Problem]:
    return [
        Problem(
            (str(key),),
            "ignored: outside config:, so neither Pulumi nor this project reads it; move it "
            f"under config: as {PREFIX}{str(key).removeprefix(PREFIX)}",
            _redact(value, (), set()),
        )
        for key, value in document.items()
        if key not in STACK_FILE_KEYS
    ]


def project_entries(document: Any) -> dict[str, Any]:
    """A stack document's ``openelb-ha:`` keys without the prefix, values as written."""
    entries = document.get("config") if isinstance(document, Mapping) else None
    return {
        key.removeprefix(PREFIX): value
        for key, value in (entries if isinstance(entries, Mapping) else {}).items()
        if isinstance(key, str) and key.startswith(PREFIX)
    }


def read_stack(path: Path) -> StackFile:
    """The stack's ``openelb-ha:`` keys; ``OSError``/``yaml.YAMLError`` when it is unreadable."""
    document, problems = load_stack_yaml(path.read_text())
    document = document or {}
    if not isinstance(document, Mapping):
        document = {}
    entries = document.get("config")
    entries = entries if isinstance(entries, Mapping) else {}
    problems += _outside_config(document)
    problems += misplaced_keys({str(key): _redact(v, (), set()) for key, v in entries.items()})
    ours = project_entries(document)
    problems += _empty_secure_values(ours)
    secure: set[Loc] = set()
    config = {key: _redact(value, (key,), secure) for key, value in ours.items()}
    return StackFile(path, config, frozenset(secure), tuple(problems))
