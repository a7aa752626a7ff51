"""A stack file read as the Pulumi CLI reads it, with bounded work on any input.

The CLI (``github.com/pulumi/pulumi/sdk/v3`` at v3.276.0) reads ``Pulumi.<stack>.yaml`` with
``gopkg.in/yaml.v3`` v3.0.1 (``go/common/encoding/marshal.go:27``, ``go.mod:34``) in two passes
(``go/common/workspace/loaders.go:173-232``): the file into plain Go values, then, re-marshalled,
each config value into an ``object`` (``go/common/resource/config/object.go:467-520``) whose JSON
text is what the program receives (``MarshalString``, ``object.go:403-423``; ``Map.Decrypt``,
``map.go:31``). This module reproduces that, so ``validate`` and ``plan`` see what ``pulumi up``
sees; ``tests/test_stack_loader.py`` compares it with the CLI's own loader
(``e2e/tools/stackconfig``):

- **Encoding**: a UTF-8 byte-order mark is dropped (``readFileStripUTF8BOM``,
  ``loaders.go:31-49``); a UTF-16 one selects UTF-16 (``yaml_parser_determine_encoding``,
  yaml.v3 ``readerc.go:47-75``); anything else must be UTF-8.
- **Scalars** as yaml.v3 resolves them (``resolve.go:149-262``), YAML 1.2-like: only
  ``true``/``false`` (three spellings) are booleans (``yes``, ``on`` are text); no base-60
  (``65:01`` is text); ``1e3`` is a number; ``0x1F``, ``0o17`` and ``017`` are integers; ``_``
  between digits is dropped. A plain ``2024-01-01`` is a timestamp, which the second pass turns
  into Go's ``time.Time.String()`` text (``object.go:490``): ``2024-01-01 00:00:00 +0000 UTC``.
  ``!!binary`` is decoded (``decode.go:565-580``); an unknown tag (``!!set``, ``!foo``) leaves the
  node as it is (a mapping stays a mapping).
- **Numbers reach the program through JSON**: a float that is a whole number below 1e21 arrives
  as an integer (Go's ``encoding/json`` writes ``1000``), NaN and infinities make the CLI refuse
  the file (JSON has no such number).
- **Keys**: a key defined twice in one mapping is an error (``decode.go:769-782``, compared as
  written, so ``a`` and ``"a"`` clash); merge keys (``<<``) merge as yaml.v3 does: the mapping's
  own keys win, then the merged mappings in order (``decode.go:828-868, 959-996``). A config key
  without a namespace is the project's (``stackConfigNamespacedWithProject``,
  ``loaders.go:61-90``).
- **Aliases** are expanded, and refused beyond ``ALIAS_BUDGET`` nodes reached through them.
  yaml.v3 refuses "excessive aliasing" only past a ratio of its decode operations, 99% of up
  to 400,000 decodes for a small document (``decode.go:454-491``), which lets a 600-byte file
  cost hundreds of thousands of values in every later step; the budget here is far smaller,
  so every command answers quickly on any stack file. A recursive alias is refused as yaml.v3
  refuses it ("anchor 'a' value contains itself", ``decode.go:537-546``).

Syntax is parsed by PyYAML (a YAML 1.1 parser; its node graph carries no meaning yet), which
the checks above never let resolve a value. Every failure is a ``StackFileError`` with the line.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from openelb_component.config.errors import Loc, Problem

ALIAS_BUDGET = 10_000
"""Nodes a document may reach through aliases: a stack's honest reuse (a peer or a node list
shared by a few leaves) is a few hundred."""

_TAG = "tag:yaml.org,2002:"
_PLAIN = "!openelb-ha/plain"
"""The tag this parser gives an untagged plain scalar: resolved below as yaml.v3 resolves it."""


class StackFileError(ValueError):
    """The file cannot be read as the Pulumi CLI reads it (encoding, syntax, a value the CLI
    refuses, the alias budget); the message says where."""


# --- bytes -----------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: a UTF-8 BOM dropped, UTF-16 after its BOM, else UTF-8."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as error:
                raise StackFileError(
                    f"not valid UTF-16 after its byte-order mark (byte {error.start + 2}): "
                    "save the file as UTF-8"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StackFileError(
            f"line {line}: not UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}), "
            "which the Pulumi CLI requires: save the file as UTF-8"
        ) from None


# --- syntax ----------------------------------------------------------------------------------


class _Rules:
    """What the parser and PyYAML's composer are told: every untagged plain scalar is tagged
    ``_PLAIN`` (no YAML 1.1 resolution), and an anchor may be defined again (yaml.v3 allows it;
    the later definition counts)."""

    anchors: dict[Any, Any]

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return str(super().resolve(kind, value, implicit))  # type: ignore[misc]

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, yaml.AliasEvent):
            self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)  # type: ignore[misc]


class _PythonParser(_Rules, yaml.SafeLoader):
    """PyYAML's own parser."""


class _LibyamlParser(_Rules, yaml.composer.Composer, yaml._yaml.CParser, yaml.resolver.Resolver):
    """The events from libyaml (yaml.v3 is a port of it), five times faster than PyYAML's
    parser (a 10,000-node stack: 0.46 -> 0.10 s CPU); the composer is still PyYAML's, in Python,
    so the rules above and the alias budget apply to every node alike."""

    def __init__(self, text: str) -> None:
        yaml._yaml.CParser.__init__(self, text)
        yaml.composer.Composer.__init__(self)
        yaml.resolver.Resolver.__init__(self)


_Parser = _LibyamlParser if yaml.__with_libyaml__ else _PythonParser


def compose(text: str) -> yaml.Node | None:
    """The first document's node graph (yaml.v3 reads only the first)."""
    try:
        parser = _Parser(text)  # its reader refuses control characters, as yaml.v3's does
    except yaml.YAMLError as error:
        raise StackFileError(f"not YAML: {error}") from None
    try:
        return parser.get_node() if parser.check_node() else None
    except yaml.YAMLError as error:
        raise StackFileError(f"not YAML: {error}") from None
    finally:
        parser.dispose()


# --- scalars, as yaml.v3 resolves them ---------------------------------------------------------

_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_DOT_FLOAT = re.compile(r"\.[0-9]+([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class GoTime:
    """A yaml.v3 timestamp, kept as the text Go's ``time.Time.String()`` prints."""

    text: str


def _go_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, else ``ParseUint``: base prefixes, a leading 0 for
    octal (YAML 1.1's ``0777``, kept by yaml.v3, ``resolve.go:229-233``)."""
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    prefix = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base is not None:
        value = int(digits[2:], base)
    elif len(digits) > 1 and digits[0] == "0":
        value = int(digits[1:], 8)
    else:
        value = int(digits)
    value *= sign
    if _INT64[0] <= value <= _INT64[1] or (text[0] not in "+-" and 0 <= value < 2**64):
        return value
    return None


def _go_float(text: str) -> float | None:
    """``strconv.ParseFloat``, which fails (as overflow) where Python gives an infinity."""
    value = float(text)
    return value if math.isfinite(value) else None


_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<m>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<H>[0-9]{1,2}):(?P<M>[0-9]{1,2}):(?P<S>[0-9]{1,2})"
    r"(?:\.(?P<frac>[0-9]{1,9}))?(?P<zone>Z|[-+][0-9]{2}:[0-9]{2})?)?"
)


def _go_timestamp(text: str) -> GoTime | None:
    """yaml.v3's timestamp formats (``resolve.go:289-298``) as Go prints them after the CLI's
    second pass: ``2006-01-02 15:04:05.999999999 -0700 MST``; a time without a zone is UTC, an
    offset is a zone without a name (this machine's local zone is assumed to be UTC)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    has_time = parts["sep"] is not None
    if has_time and parts["sep"] in "Tt" and parts["zone"] is None:
        return None  # the T forms need a zone; the space form has none
    if has_time and parts["sep"] == " " and parts["zone"] is not None:
        return None
    try:
        moment = datetime.datetime(
            int(parts["y"]),
            int(parts["m"]),
            int(parts["d"]),
            int(parts["H"] or 0),
            int(parts["M"] or 0),
            int(parts["S"] or 0),
        )
    except ValueError:
        return None
    fraction = (parts["frac"] or "").rstrip("0")
    clock = moment.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "")
    zone = parts["zone"]
    if zone is None or zone == "Z" or zone in ("+00:00", "-00:00"):
        return GoTime(f"{clock} +0000 UTC")
    offset = zone.replace(":", "")
    return GoTime(f"{clock} {offset} {offset}")


def resolve_plain(text: str) -> Any:
    """An untagged plain scalar, as yaml.v3's ``resolve("", text)`` reads it."""
    if text in _MAP:
        return _MAP[text]
    hint = text[:1]
    if hint == ".":
        return _go_float(text) if _DOT_FLOAT.fullmatch(text) else text
    if hint and ((hint.isdigit() and hint.isascii()) or hint in "+-"):
        timestamp = _go_timestamp(text)
        if timestamp is not None:
            return timestamp
        plain = text.replace("_", "")
        number = _go_int(plain)
        if number is not None:
            return number
        if _FLOAT.fullmatch(plain):
            value = _go_float(plain)
            if value is not None:
                return value
    return text


_RESOLVABLE = {"bool", "int", "float", "null", "timestamp"}


def resolve_tagged(tag: str, text: str, line: int) -> Any:
    """A scalar with an explicit tag: ``!!str`` and unknown tags keep the text, ``!!binary`` is
    decoded, a resolvable tag must fit (``resolve.go:133-147``: "cannot decode")."""
    short = tag.removeprefix(_TAG)
    if not tag.startswith(_TAG) or short == "str" or short not in {*_RESOLVABLE, "binary"}:
        return text
    if short == "binary":
        try:
            data = base64.b64decode(re.sub(r"[\r\n]", "", text), validate=True)
        except (binascii.Error, ValueError):
            raise StackFileError(
                f"line {line}: !!binary value contains invalid base64 data"
            ) from None
        # Go keeps the bytes as a string; its JSON writes each invalid byte as U+FFFD.
        decoded = data.decode("utf-8", errors="surrogateescape")
        return re.sub("[\udc80-\udcff]", "\ufffd", decoded)
    value = resolve_plain(text)
    kind = _kind(value)
    if kind == short or (short == "float" and kind == "int"):
        return float(value) if short == "float" else value
    raise StackFileError(f"line {line}: cannot decode !!{kind} `{text}` as a !!{short}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, GoTime):
        return "timestamp"
    return "str"


# --- the document ------------------------------------------------------------------------------


@dataclass
class _Reading:
    budget: int
    problems: list[Problem] = field(default_factory=list)
    reached: int = 0
    """Nodes constructed through an alias so far."""
    depth: int = 0
    """How many aliases deep the construction is."""
    expanding: set[int] = field(default_factory=set)
    """The alias targets being constructed (a target met again is a recursive alias)."""
    checked: set[int] = field(default_factory=set)
    """Mappings whose keys were checked for duplicates (once each, however often reached)."""
    seen: set[int] = field(default_factory=set)
    """Nodes constructed once: met again, they are an alias."""
    to_path: Callable[[Loc], Loc] = field(default=lambda loc: loc)


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _key_text(value: Any) -> Any:
    """A mapping key as the program sees it: text, as Go's ``fmt.Sprintf("%v", k)`` writes a
    key that is not (``object.go:499-504``)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, GoTime):
        return value.text
    if isinstance(value, float):
        return _go_float_text(value)
    return str(value)


def _go_float_text(value: float) -> str:
    """Go's ``%v`` of a float64: the shortest digits, as ``%e`` when the exponent is below -4
    or 21 and more (``strconv.FormatFloat(f, 'g', -1, 64)`` as ``fmt`` uses it)."""
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)  # noqa: S101 - a finite float
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    if point - 1 < -4 or point - 1 >= 21:
        mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
        power = point - 1
        body = f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = f"{text[:point]}.{text[point:]}"
    return ("-" if sign else "") + body


def _program_value(value: Any, line: int) -> Any:
    """A constructed scalar as the program receives it through JSON."""
    if isinstance(value, GoTime):
        return value.text
    if isinstance(value, float):
        if not math.isfinite(value):
            raise StackFileError(
                f"line {line}: {value} is no number JSON can carry, so the Pulumi CLI refuses "
                "the file (json: unsupported value)"
            )
        if value.is_integer() and abs(value) < 1e21:
            # Go's encoding/json writes a whole float64 below 1e21 as its shortest digits,
            # then zeros: 1000.0 as 1000, 9.223372036854776e18 as 9223372036854776000.
            return int(decimal.Decimal(repr(value)))
    return value


def nested_numbers(value: Any) -> Any:
    """A config key's value below its top level, as the CLI passes it on: an integer beyond
    int64 has become a float64 on the way (measured with the CLI's loader: a top-level
    9223372036854775808 arrives as it is, the same number in a list as 9223372036854776000)."""
    if isinstance(value, dict):
        return {key: nested_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [nested_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > _INT64[1]:
        return _program_value(float(value), 0)
    return value


def _construct(node: yaml.Node, loc: Loc, reading: _Reading) -> Any:
    if reading.depth:
        reading.reached += 1
        if reading.reached > reading.budget:
            raise StackFileError(
                f"line {_line(node)}: aliases reach more than {reading.budget} values; a stack "
                "file needs far fewer (an alias bomb?): write the values out, or share less"
            )
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return [_at(item, (*loc, index), reading) for index, item in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        return _mapping(node, loc, reading)
    raise StackFileError(f"line {_line(node)}: an unknown kind of YAML node")


def _at(node: yaml.Node, loc: Loc, reading: _Reading) -> Any:
    """A child node; an alias (a node met before) is constructed again, counted."""
    if id(node) in reading.expanding:
        raise StackFileError(f"line {_line(node)}: an anchor's value contains itself")
    if id(node) not in reading.seen:
        reading.seen.add(id(node))
        reading.expanding.add(id(node))
        try:
            return _construct(node, loc, reading)
        finally:
            reading.expanding.discard(id(node))
    reading.expanding.add(id(node))
    reading.depth += 1
    try:
        return _construct(node, loc, reading)
    finally:
        reading.depth -= 1
        reading.expanding.discard(id(node))


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == _PLAIN:
        value = resolve_plain(node.value)
    else:
        value = resolve_tagged(node.tag, node.value, _line(node))
    return _program_value(value, _line(node))


def _is_merge(node: yaml.Node) -> bool:
    """A plain ``<<`` or one tagged ``!!merge`` (``isMerge``, ``decode.go:998-1000``)."""
    return (
        isinstance(node, yaml.ScalarNode)
        and node.tag in (_PLAIN, f"{_TAG}merge")
        and node.value == "<<"
    )


def _duplicates(node: yaml.MappingNode, loc: Loc, reading: _Reading) -> None:
    """yaml.v3's rule: two keys of one kind written alike (``decode.go:769-782``)."""
    if id(node) in reading.checked:
        return
    reading.checked.add(id(node))
    first: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        written = (type(key_node).__name__, str(key_node.value))
        line = _line(key_node)
        if written in first:
            reading.problems.append(
                Problem(
                    reading.to_path((*loc, str(key_node.value))),
                    "defined twice; only the last definition would count (the Pulumi CLI "
                    "refuses the file): keep one of them",
                    f"lines {first[written]} and {line}",
                )
            )
        else:
            first[written] = line


def _mapping(node: yaml.MappingNode, loc: Loc, reading: _Reading) -> dict[Any, Any]:
    _duplicates(node, loc, reading)
    out: dict[Any, Any] = {}
    merge: yaml.Node | None = None
    for key_node, value_node in node.value:
        if _is_merge(key_node):
            merge = value_node  # the last merge key counts
            continue
        key = _at(key_node, loc, reading)
        if isinstance(key, list | dict):
            raise StackFileError(f"line {_line(key_node)}: a mapping or list as a mapping key")
        text = _key_text(key)
        out[text] = _at(value_node, (*loc, text), reading)
    if merge is not None:
        for source in _merged(merge, loc, reading):
            for key, value in source.items():
                out.setdefault(key, value)
    return out


def _merged(node: yaml.Node, loc: Loc, reading: _Reading) -> list[dict[Any, Any]]:
    """The mappings a merge key names: one, or a sequence of them (earlier ones win)."""
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    found = []
    for item in items:
        if not isinstance(item, yaml.MappingNode):
            raise StackFileError(
                f"line {_line(item)}: map merge requires map or sequence of maps as the value"
            )
        value = _at(item, loc, reading)
        assert isinstance(value, dict)  # noqa: S101 - a mapping node constructs a dict
        found.append(value)
    return found


def construct(
    node: yaml.Node | None,
    budget: int = ALIAS_BUDGET,
    to_path: Callable[[Loc], Loc] = lambda loc: loc,
) -> tuple[Any, list[Problem]]:
    """The document's value as the program would receive it, and its keys defined twice."""
    if node is None:
        return None, []
    reading = _Reading(budget, to_path=to_path)
    value = _at(node, (), reading)
    return value, reading.problems


def load(data: bytes, to_path: Callable[[Loc], Loc] = lambda loc: loc) -> tuple[Any, list[Problem]]:
    """``decode``, ``compose`` and ``construct`` of a stack file's bytes."""
    try:
        return construct(compose(decode(data)), to_path=to_path)
    except RecursionError:
        raise StackFileError(
            "nested deeper than this reader follows; a stack file is a few levels deep"
        ) from None
