"""The one path by which text reaches a router configuration (FRR, BIRD 2): checked tokens.

A line is a sequence of ``Token``s, and a token is made only by a constructor that checked its
text for the place it goes: syntax the code writes, a number, an address or network (from an
``ipaddress`` object, so always canonical), a name or symbol of the dialect, a password, a
string. A value a constructor cannot carry raises ``Unrenderable`` instead of being pasted, so
no text from a stack, the cluster or the environment can become another statement.

What each dialect's parser does with a token, as checked with the real parsers (FRR 8.4
``vtysh -C -f``, BIRD 2.0.12 ``bird -p -c``): FRR splits a line on whitespace and reads ``!`` or
``#`` as a comment only at the start of a line; a BIRD string runs from ``"`` to the next ``"``
with no escapes; a BIRD symbol is at most 64 characters ("Symbol too long").

Placeholders (a value the user must fill in) are made so that neither parser accepts them: an
FRR ``neighbor WORD`` would read any single word as an interface name, so a placeholder is
several words in angle brackets, which FRR refuses ("% Unknown command") and BIRD too (``<``
starts no statement or value).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openelb_component.config.addresses import Address, IpNetwork
from openelb_component.config.secrets import password_problem


class Unrenderable(ValueError):
    """A value that a router configuration cannot carry; the message names what it is for,
    never the text of a secret."""


@dataclass(frozen=True)
class Token:
    """One checked piece of a configuration line; made by the constructors below only."""

    text: str


_SYNTAX = re.compile(r"[A-Za-z0-9_{}();,~=\[\]-]+")
_NUMBER_MAX = 4_294_967_295
_FRR_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_BIRD_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
BIRD_SYMBOL_MAX = 64
_WORD = re.compile(r"[!-~]+")
_STRING_TEXT = re.compile(r"[ !#-\[\]-~]*")
_PLACEHOLDER_TEXT = re.compile(r"[A-Za-z0-9_.-]+(?: [A-Za-z0-9_.-]+)+")


def syntax(text: str) -> Token:
    """A keyword or punctuation of the dialect, written by this code."""
    if not _SYNTAX.fullmatch(text):
        raise Unrenderable(f"not syntax: {text!r}")
    return Token(text)


def number(value: int) -> Token:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _NUMBER_MAX:
        raise Unrenderable(f"not a number a router reads: {value!r}")
    return Token(str(value))


def address(value: Address) -> Token:
    """An address in its canonical text (``ipaddress`` prints no zone, no mapped form)."""
    text = str(value)
    if "%" in text:
        raise Unrenderable("an address with a zone")
    return Token(text)


def network(value: IpNetwork) -> Token:
    return Token(f"{address(value.network_address).text}/{value.prefixlen}")


def bird_prefix_pattern(value: IpNetwork, length: int) -> Token:
    """``198.51.100.0/24{32,32}``: the prefixes of exactly ``length`` inside a network."""
    return Token(f"{network(value).text}{{{number(length).text},{number(length).text}}}")


def frr_name(text: str) -> Token:
    """A peer-group, route-map or prefix-list name: one FRR word of safe characters."""
    if not _FRR_NAME.fullmatch(text):
        raise Unrenderable(f"not an FRR name: {text!r}")
    return Token(text)


def bird_symbol(text: str) -> Token:
    if not _BIRD_SYMBOL.fullmatch(text):
        raise Unrenderable(f"not a BIRD symbol: {text!r}")
    return Token(text)


def word(text: str) -> Token:
    """One FRR word of free text (a description), printable ASCII without spaces."""
    if not _WORD.fullmatch(text):
        raise Unrenderable(f"not one word of printable ASCII: {text!r}")
    return Token(text)


def words(text: str) -> list[Token]:
    return [word(part) for part in text.split(" ")]


def bird_string(text: str) -> Token:
    """A BIRD string: no ``"`` (BIRD 2.0.12 strings have no escapes), no ``\\``, one line."""
    if not _STRING_TEXT.fullmatch(text):
        raise Unrenderable(f"not text a BIRD string can hold: {text!r}")
    return Token(f'"{text}"')


def frr_password(value: str) -> Token:
    problem = password_problem(value)
    if problem is not None:
        raise Unrenderable(f"the password {problem}")
    return Token(value)


def bird_password(value: str) -> Token:
    problem = password_problem(value)
    if problem is not None:
        raise Unrenderable(f"the password {problem}")
    return Token(f'"{value}"')


def placeholder(what: str) -> Token:
    """``<InternalIP of node-a1>``: several words, so no parser takes it for a value."""
    if not _PLACEHOLDER_TEXT.fullmatch(what):
        raise Unrenderable(f"not a placeholder text: {what!r}")
    return Token(f"<{what}>")


# --- lines ---------------------------------------------------------------------------------

_CLOSERS = frozenset({";", ","})
_COMMENT_TEXT = re.compile(r"[ -~]*")


@dataclass(frozen=True)
class Line:
    indent: int
    tokens: tuple[Token, ...]


@dataclass(frozen=True)
class Comment:
    text: str


def line(indent: int, *tokens: Token | Sequence[Token]) -> Line:
    flat: list[Token] = []
    for item in tokens:
        flat.extend([item] if isinstance(item, Token) else item)
    return Line(indent, tuple(flat))


def comment(text: str) -> Comment:
    if not _COMMENT_TEXT.fullmatch(text):
        raise Unrenderable(f"not comment text: {text!r}")
    return Comment(text)


def render(lines: Iterable[Line | Comment], comment_mark: str, indent_width: int) -> str:
    """The configuration text: tokens joined by one space (none before ``;`` or ``,``), a
    comment after ``comment_mark``. Every token is checked once more for a line break or a
    control character, which no constructor lets through."""
    out: list[str] = []
    for item in lines:
        if isinstance(item, Comment):
            out.append(f"{comment_mark} {item.text}".rstrip())
            continue
        text = ""
        for token in item.tokens:
            if not token.text or any(ord(c) < 0x20 or ord(c) > 0x7E for c in token.text):
                raise Unrenderable("a token with a control or non-ASCII character")
            text += token.text if not text or token.text in _CLOSERS else f" {token.text}"
        out.append(" " * (item.indent * indent_width) + text)
    return "\n".join(out) + "\n"
