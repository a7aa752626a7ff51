"""The one path by which a value reaches the kubectl runbook's shell text.

Every value a script interpolates (an object name, a namespace, a label, a file name, a JSON
patch, a message) is one shell word made by ``shlex.quote``: whatever the text, ``sh`` reads it
back as exactly that word and never as syntax (``tests/test_shell_quoting.py`` runs ``sh`` on
every character). The body of an unquoted here-document, where the shell must expand a secret's
variable and nothing else, has every ``\\``, ``$`` and `````` escaped (the three characters a
here-document body treats specially, POSIX 2.7.4), and the variable references spliced in.

A BGP password reaches the script only through its environment variable; ``password_check``
is the shell function that refuses, before the first change, a value that is not one
(``config/secrets.py``'s rule, in ``case`` patterns, which see a line break like any other
character).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from openelb_component.config.secrets import MAX_PASSWORD_BYTES, PASSWORD_RULE


def word(value: object) -> str:
    """One shell word holding exactly ``value``'s text."""
    return shlex.quote(str(value))


def words(*values: object) -> str:
    return " ".join(word(value) for value in values)


def message(text: str) -> str:
    """A command printing ``text`` and a line break on stderr."""
    return f"printf '%s\\n' {word(text)} >&2"


def heredoc_escaped(text: str) -> str:
    """``text`` as an unquoted here-document body that the shell copies as it is."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")


def heredoc_body(text: str, references: Mapping[str, str]) -> str:
    """``text`` as an unquoted here-document body that the shell copies as it is, except each
    marker (a key of ``references``, found nowhere else in the text) which becomes the
    expansion of its variable (``${VARIABLE}``, expanded once: its value is never read as
    shell syntax)."""
    escaped = heredoc_escaped(text)
    for marker, variable in references.items():
        if marker != word(marker) or escaped.count(marker) != 1:
            raise ValueError(f"not a unique here-document marker: {marker!r}")
        if not variable.replace("_", "").isalnum() or not variable.isascii():
            raise ValueError(f"not a shell variable name: {variable!r}")
        escaped = escaped.replace(marker, f"${{{variable}}}")
    return escaped


def delimiter_for(body: str, base: str = "EOF") -> str:
    """A here-document delimiter that no line of ``body`` is."""
    lines = set(body.splitlines())
    delimiter, index = base, 0
    while delimiter in lines:
        index += 1
        delimiter = f"{base}_{index}"
    return delimiter


def comment(text: str) -> str:
    """A comment line: one line of printable text after ``#``."""
    if not text.isprintable():
        raise ValueError(f"not one line of printable text: {text!r}")
    return f"# {text}".rstrip()


PASSWORD_CHECK = [
    "# password_ok VARIABLE VALUE: a BGP password as docs/security.md describes it, checked",
    "# before the first change: it goes into a YAML document, where anything else could change",
    "# the object.",
    "password_ok() {",
    "  case $2 in",
    "    '' | *[!!-~]* | *[\\\"\\\\]*) bad=yes ;;",
    f"    *) if [ ${{#2}} -le {MAX_PASSWORD_BYTES} ]; then bad=''; else bad=yes; fi ;;",
    "  esac",
    '  [ -z "$bad" ] || { printf \'%s\\n\' "$1"'
    + word(f": not a BGP password this runbook can apply; {PASSWORD_RULE}")
    + " >&2; return 1; }",
    "}",
    "",
]
"""Shell lines defining ``password_ok``; the runbook calls it for every secret variable."""


def password_check(variable: str, secret: str) -> list[str]:
    """The runbook lines that refuse ``variable`` unset, empty or not a password."""
    return [
        comment(f"{variable}: the value of secret {secret}"),
        f': "${{{variable}:?export {variable}}}"; password_ok {word(variable)} "${{{variable}}}"',
    ]
