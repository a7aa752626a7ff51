"""Read ``stacks/Pulumi.<stack>.yaml`` directly, as the offline plan and ``validate`` do.

The Pulumi CLI is not needed: the file is read as the CLI reads it (``plan/stackyaml.py``:
its encodings, yaml.v3's scalars, keys defined twice, merge keys, aliases within a budget), a
config key without a namespace is the project's as the CLI makes it
(``stackConfigNamespacedWithProject``, sdk ``go/common/workspace/loaders.go:61-90@v3.276.0``),
and a key the program would never see (a misspelt namespace, outside ``config:``) is reported
with its fix. A value written as ``{secure: <text>}`` is Pulumi ciphertext
(``isSecureValue``, ``go/common/resource/config/object.go:541-550@v3.276.0``); it is never
decrypted (that needs the stack's secrets provider) and becomes the ``[secret]`` placeholder, its
key path kept in ``secure`` so checks that require a secret can tell a secret from a plain value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openelb_component.config.engine import PREFIX, engine_text, misplaced_keys
from openelb_component.config.errors import Loc, Problem
from openelb_component.config.names import PROJECT
from openelb_component.config.secrets import PASSWORDS_KEY, REDACTED, password_config_path
from openelb_component.plan import stackyaml
from openelb_component.plan.stackyaml import StackFileError

# The top-level keys of a stack file the Pulumi CLI reads (sdk/go/common/workspace/project.go,
# ProjectStack); anything else there is ignored by it.
STACK_FILE_KEYS = ("config", "environment", "secretsprovider", "encryptedkey", "encryptionsalt")

STACKS_DIR = Path("stacks")

__all__ = ["StackFileError"]


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


def _user_path(path: Loc) -> Loc:
    """``config``, ``openelb-ha:topology``, ``nodes`` -> ``topology``, ``nodes``, as every other
    problem names a key; paths elsewhere in the file stay as they are."""
    if len(path) >= 2 and path[0] == "config":
        key = _namespaced(str(path[1]))
        if key.startswith(PREFIX):
            return (key.removeprefix(PREFIX), *path[2:])
    return path


def load_stack_yaml(data: str | bytes) -> tuple[Any, list[Problem]]:
    """A stack file's document as the Pulumi CLI reads it, and its keys defined twice;
    ``StackFileError`` when the CLI could not read it."""
    raw = data.encode() if isinstance(data, str) else data
    return stackyaml.load(raw, to_path=_user_path)


def _namespaced(key: str) -> str:
    """A config key as the CLI keys it: ``topology`` is the project's (``loaders.go:61-90``),
    ``openelb-ha:config:topology`` the old spelling of ``openelb-ha:topology`` (``ParseKey``,
    ``go/common/resource/config/key.go:45-70@v3.276.0``)."""
    if ":" not in key:
        return f"{PROJECT}:{key}"
    parts = key.split(":")
    if len(parts) == 3 and parts[1] == "config":
        return f"{parts[0]}:{parts[2]}"
    return key


def config_entries(document: Any) -> tuple[dict[str, Any], list[Problem]]:
    """The document's ``config:`` as the CLI keys it (every namespace), and the keys it would
    read twice (``topology`` beside ``openelb-ha:topology``: the CLI keeps one at random)."""
    entries = document.get("config") if isinstance(document, Mapping) else None
    found: dict[str, Any] = {}
    written: dict[str, str] = {}
    problems: list[Problem] = []
    for key, value in (entries if isinstance(entries, Mapping) else {}).items():
        full = _namespaced(str(key))
        if full in found:
            problems.append(
                Problem(
                    ("config", str(key)),
                    f"the same key as config.{written[full]} (both are {full}); the Pulumi CLI "
                    "keeps one of them at random: keep one",
                    _redact(value, (), set()),
                )
            )
            continue
        found[full] = value
        written[full] = str(key)
    return found, problems


def _is_secure(value: Any) -> bool:
    """``{secure: <text>}`` and nothing else (``{secure: 123}`` is a plain object to the CLI)."""
    return (
        isinstance(value, Mapping)
        and list(value) == ["secure"]
        and isinstance(value["secure"], str)
    )


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
            value,
            kind_only=True,
        )
        for key, value in document.items()
        if key not in STACK_FILE_KEYS
    ]


def project_entries(document: Any) -> dict[str, Any]:
    """A stack document's ``openelb-ha:`` keys without the prefix, values as written."""
    entries, _ = config_entries(document)
    return {
        key.removeprefix(PREFIX): value for key, value in entries.items() if key.startswith(PREFIX)
    }


def _top_level(value: Any) -> Any:
    """A config key's own value as the program receives it: a null one arrives as the empty
    text (the CLI never calls the value's decoder for a null node), and what is below it as
    the CLI passes it on (``stackyaml.nested_numbers``)."""
    if value is None:
        return ""
    return stackyaml.nested_numbers(value) if isinstance(value, dict | list) else value


def read_document(path: Path) -> Any:
    """The file's document as the CLI reads it; ``OSError`` or ``StackFileError``."""
    document, _ = load_stack_yaml(path.read_bytes())
    return document


def _checked_root(document: Any) -> Mapping[Any, Any]:
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise StackFileError(
            "the file is not a mapping (config: ...), so the Pulumi CLI cannot read it"
        )
    return document


def read_stack(path: Path) -> StackFile:
    """The stack's ``openelb-ha:`` keys; ``OSError`` or ``StackFileError`` when it is
    unreadable."""
    document, problems = load_stack_yaml(path.read_bytes())
    document = _checked_root(document)
    entries, twice = config_entries(document)
    problems += twice
    problems += _outside_config(document)
    problems += misplaced_keys({key: _redact(v, (), set()) for key, v in entries.items()})
    ours = {
        key.removeprefix(PREFIX): _top_level(value)
        for key, value in entries.items()
        if key.startswith(PREFIX)
    }
    problems += _empty_secure_values(ours)
    secure: set[Loc] = set()
    config = {key: _redact(value, (key,), secure) for key, value in ours.items()}
    return StackFile(path, config, frozenset(secure), tuple(problems))


def engine_view(data: bytes) -> tuple[dict[str, str], list[str]]:
    """Every config key of a stack file, as the CLI hands it to a program: key -> text
    (``Map.Decrypt``, ``go/common/resource/config/map.go:31@v3.276.0``; a secure value as
    ``[secret]``), and the keys holding a secure value. What ``e2e/tools/stackconfig`` prints."""
    document, problems = load_stack_yaml(data)
    if problems:
        raise StackFileError("; ".join(problem.render() for problem in problems))
    entries, twice = config_entries(_checked_root(document))
    if twice:
        raise StackFileError("; ".join(problem.render() for problem in twice))
    view: dict[str, str] = {}
    secret: list[str] = []
    for key, value in entries.items():
        found: set[Loc] = set()
        redacted = _redact(_top_level(value), (), found)
        view[key] = engine_text(redacted)
        if found:
            secret.append(key)
    return view, sorted(secret)
