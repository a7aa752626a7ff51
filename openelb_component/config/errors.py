"""The project's one exception type: every problem in a stack's configuration, found at once.

Users fix a stack file faster from one list than from a fix-rerun-fix loop, so validation
never stops at the first problem. Each problem carries the key path as written in the stack
file (``topology.leaves[1].nodes[0]``), the value received and how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openelb_component.config.secrets import REDACTED

Loc = tuple[str | int, ...]


def format_path(loc: Loc) -> str:
    """``("topology", "leaves", 1, "nodes", 0)`` -> ``topology.leaves[1].nodes[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def value_at(value: Any, loc: Loc) -> Any:
    """The value at a key path inside nested mappings and lists; KeyError or IndexError (or
    TypeError, where a part crosses a scalar) when the path is not there."""
    for part in loc:
        value = value[part]
    return value


def value_at_or_none(value: Any, loc: Loc) -> Any:
    """``value_at``, or None when the path is not there."""
    try:
        return value_at(value, loc)
    except (KeyError, IndexError, TypeError):
        return None


_SHOWN = 80
_SECRET_LOOKING = re.compile(r"pass(word|wd|phrase)?|pwd|secret|token|credential", re.IGNORECASE)


def looks_secret(key: object) -> bool:
    """A key whose value may be a password (``bgpPassword``, ``password``, ``authPassword``,
    ``secret``...), wherever it is: its value is never shown."""
    return isinstance(key, str) and _SECRET_LOOKING.search(key) is not None


class _Full(Exception):
    """Enough text to show: stop walking the value (it may be large)."""


def _show(value: Any) -> str:
    """``repr(value)``, shortened to 80 characters, every value under a secret-looking key
    replaced by ``[secret]``; only as much of the value is walked as is shown."""
    parts: list[str] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        parts.append(text)
        size += len(text)
        if size > _SHOWN:
            raise _Full

    def walk(item: Any) -> None:
        if isinstance(item, Mapping):
            emit("{")
            for index, (key, inner) in enumerate(item.items()):
                emit(f"{', ' if index else ''}{key!r}: ")
                if looks_secret(key):
                    emit(repr(REDACTED))
                else:
                    walk(inner)
            emit("}")
        elif isinstance(item, list | tuple):
            emit("[")
            for index, inner in enumerate(item):
                if index:
                    emit(", ")
                walk(inner)
            emit("]")
        else:
            emit(repr(item))

    try:
        walk(value)
    except _Full:
        pass
    text = "".join(parts)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def kind_of(value: Any) -> str:
    """What a value is, in the stack file's words, for a problem that must not show it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    loc: Loc
    message: str
    """What is wrong and how to fix it, as one sentence a user can act on."""
    value: Any = None
    has_value: bool = True
    secret: bool = False
    shown_as: str | None = None
    """How the value is shown when it is neither missing nor printable as it is (an Output,
    whose value is not known yet)."""
    kind_only: bool = False
    """Show what kind of value it is, never the value: a key no model knows (its value may be a
    password under a misspelt key)."""

    @property
    def path(self) -> str:
        return format_path(self.loc)

    @property
    def shown(self) -> str:
        """The value as the message shows it: ``(missing)``, the secret placeholder, what
        ``shown_as`` says, or its repr (shortened)."""
        if self.shown_as is not None:
            return self.shown_as
        if not self.has_value:
            return "(missing)"
        if self.secret or any(looks_secret(part) for part in self.loc):
            return REDACTED
        if self.kind_only:
            return f"({kind_of(self.value)}, not shown)"
        return _show(self.value)

    def render(self) -> str:
        return f"{self.path} = {self.shown}: {self.message}"


class ConfigError(Exception):
    """The stack configuration is invalid; ``problems`` lists everything that is wrong."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(_unique(problems))
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"openelb-ha: the stack configuration has {count} {noun}; nothing was applied."]
        lines += [f"  - {problem.render()}" for problem in self.problems]
        return "\n".join(lines)

    @property
    def paths(self) -> list[str]:
        return [problem.path for problem in self.problems]


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out: list[Problem] = []
    for problem in problems:
        key = (problem.path, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out
