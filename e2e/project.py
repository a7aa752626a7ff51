"""The project as the engine runs it in the end-to-end run: a copy, its virtual environment, and
stacks prepared the way a user prepares them.

The copy holds the repository's files (tracked and not ignored, as a clone would), with one
change: ``requirements.txt`` pins the Python SDK ``pulumi-kubernetes`` to the provider the Go
module proxy serves (4.25.0; the product pins 4.34.2, whose provider is not served: see
docs/verification.md). The SDK decides which provider plugin the engine loads, so the pair is
always a matching one; the copy's ``requirements.txt`` says so in a comment.

A stack file's ``{secure: ...}`` values are the project's own example ciphertexts, readable by no
passphrase; each is replaced as the documentation tells users (``pulumi config set --secret
--path``) with a password made for the run, which the checks then look for: in the BgpPeer, and
nowhere in plaintext in Pulumi's state.
"""

from __future__ import annotations

import copy
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from e2e.engine import PROVIDER_VERSION, Completed, Engine
from openelb_component.config.names import PROJECT
from openelb_component.plan.stackfile import stack_path

ROOT = Path(__file__).resolve().parents[1]
_PIN = re.compile(r"^pulumi-kubernetes==\S+$", re.MULTILINE)


def repository_files(root: Path = ROOT) -> list[Path]:
    """The files a clone of the repository has: tracked, plus new ones not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=root,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    return [Path(name) for name in listed.split("\0") if name and (root / name).is_file()]


def pinned_requirements(text: str, version: str = PROVIDER_VERSION) -> str:
    """``requirements.txt`` with the Python SDK of the provider the run has."""
    if not _PIN.search(text):
        raise ValueError("requirements.txt pins no pulumi-kubernetes version")
    note = (
        f"# e2e: the Python SDK of the provider built from the Go module proxy ({version});"
        " the product's pin is in the repository.\n"
    )
    return _PIN.sub(note + f"pulumi-kubernetes=={version}", text, count=1)


def copy_project(into: Path, root: Path = ROOT) -> Path:
    """A copy of the repository in ``into`` (module docstring), returned."""
    for name in repository_files(root):
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    requirements = into / "requirements.txt"
    requirements.write_text(pinned_requirements(requirements.read_text()))
    return into


def secure_paths(
    config: Mapping[str, Any], path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Key paths of the ``{secure: ...}`` values in a stack file's ``config``."""
    for key, value in config.items():
        here = (*path, str(key))
        if isinstance(value, Mapping):
            if list(value) == ["secure"]:
                yield here
            else:
                yield from secure_paths(value, here)


def _without(config: dict[str, Any], path: tuple[str, ...]) -> None:
    *parents, last = path
    node = config
    for key in parents:
        node = node[key]
    del node[last]
    if not node and parents:
        _without(config, tuple(parents))


def cli_path(path: tuple[str, ...]) -> str:
    """A key path as ``pulumi config set --path`` reads it: ``bgpPasswords.leaf1``; a part that
    is not a plain name is quoted (``bgpPasswords["rack.a"]``), as ``password_config_path``."""
    first, *rest = path
    text = first
    for part in rest:
        text += f".{part}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part) else f'["{part}"]'
    return text


@dataclass(frozen=True)
class PreparedStack:
    name: str
    passwords: dict[str, str]
    """Config path without the project prefix (``bgpPasswords.leaf1``, the name a desired
    object's ``secrets`` use) -> the password set for the run."""


def prepare_stack(
    engine: Engine, project: Path, stack: str, config: Mapping[str, Any]
) -> tuple[PreparedStack, list[Completed]]:
    """Write ``config`` as the stack's file without its secure values, create the stack with the
    passphrase secrets provider, and set each secure value with ``pulumi config set --secret``."""
    document = {"config": copy.deepcopy(dict(config))}
    found = list(secure_paths(document["config"]))  # listed before the removals
    for path in found:
        _without(document["config"], path)
    stack_path(stack, project / "stacks").write_text(yaml.safe_dump(document, sort_keys=False))
    steps = [engine.run("stack", "init", stack, "--secrets-provider", "passphrase", cwd=project)]
    passwords: dict[str, str] = {}
    for path in found:
        first, *rest = path
        name = cli_path((first.removeprefix(f"{PROJECT}:"), *rest))
        key = f"{PROJECT}:{name}" if first.startswith(f"{PROJECT}:") else cli_path(path)
        password = secrets.token_urlsafe(18)
        passwords[name] = password
        # The value goes in on stdin, never on a command line another user could read.
        steps.append(
            engine.run(
                "config",
                "set",
                "--secret",
                "--path",
                "--stack",
                stack,
                key,
                cwd=project,
                stdin=password,
            )
        )
    return PreparedStack(stack, passwords), steps


def update_stack_file(project: Path, stack: str, config: Mapping[str, Any]) -> None:
    """Edit the stack's file as a user does: every key of ``config`` written over the file's,
    except the secure values, which stay as the CLI encrypted them (with the file's salt)."""
    path = stack_path(stack, project / "stacks")
    document = yaml.safe_load(path.read_text()) or {}
    current = document.setdefault("config", {})
    secure = set(secure_paths(current))
    plain = copy.deepcopy(dict(config))
    for found in list(secure_paths(plain)):
        _without(plain, found)
    merged = {**current, **plain}
    for found in secure:
        if found[0] not in plain:
            continue
        node_from, node_to = current, merged
        for key in found[:-1]:
            node_from = node_from[key]
            node_to = node_to.setdefault(key, {})
        node_to[found[-1]] = node_from[found[-1]]
    document["config"] = merged
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def stack_config(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The ``config`` of the repository's ``stacks/Pulumi.<stack>.yaml`` as written (secure
    values as they are). Read from the repository, not the copy: the run writes its own stack
    files there, and ``pulumi stack rm`` deletes a stack's file."""
    document = yaml.safe_load(stack_path(stack, root / "stacks").read_text()) or {}
    return dict(document.get("config") or {})


def project_key(key: str) -> str:
    return f"{PROJECT}:{key}"
