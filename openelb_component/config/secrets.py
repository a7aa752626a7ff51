"""Where secrets live in a stack, and how they are shown: one home for both.

BGP passwords are the only secrets: ``openelb-ha:bgpPasswords``, leaf name -> TCP MD5 password,
each set with ``pulumi config set --secret --path``. A secret's name everywhere (desired state,
plan, runbook variables) is its ``--path``, so a user can paste it into that command.
"""

from __future__ import annotations

import re

REDACTED = "[secret]"
"""Shown instead of a value that must never be printed."""

PASSWORDS_KEY = "bgpPasswords"
"""The stack key holding the BGP passwords, without the project prefix."""

_SIMPLE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def password_config_path(leaf: str) -> str:
    """The ``pulumi config --path`` of a leaf's password (a dot in a leaf name would nest)."""
    if _SIMPLE_KEY.fullmatch(leaf):
        return f"{PASSWORDS_KEY}.{leaf}"
    return f'{PASSWORDS_KEY}["{leaf}"]'


MAX_PASSWORD_BYTES = 80
"""Linux's TCP MD5 key limit (``TCP_MD5SIG_MAXKEYLEN``, include/uapi/linux/tcp.h:321@v6.1):
GoBGP hands the password to the kernel, so a longer one never protects a session."""

_PASSWORD = re.compile(rf"[!#-\[\]-~]{{1,{MAX_PASSWORD_BYTES}}}")
"""Printable ASCII without space, ``"`` and ``\\``: one word in FRR (``password WORD``), a BIRD
2.0.12 string (which has no escapes, so ``"`` cannot be carried at all), a one-line YAML
scalar. ``\\`` is an escape in YAML double-quoted scalars and in shell double quotes: refused,
not escaped differently in each place the password goes."""

PASSWORD_RULE = (
    f"a BGP password must be 1 to {MAX_PASSWORD_BYTES} printable ASCII characters without "
    'spaces, " or \\ (FRR reads it as one word, BIRD strings have no escapes, Linux TCP MD5 keys '
    f"are at most {MAX_PASSWORD_BYTES} bytes)"
)


def password_problem(value: object) -> str | None:
    """Why a password cannot be carried to every place it goes, or None; never the value."""
    if not isinstance(value, str):
        return f"not text; {PASSWORD_RULE}"
    if _PASSWORD.fullmatch(value):
        return None
    if not value:
        return f"empty; {PASSWORD_RULE}"
    size = len(value.encode())
    if size > MAX_PASSWORD_BYTES and value.isascii() and value.isprintable() and " " not in value:
        return f"{size} bytes long; {PASSWORD_RULE}"
    return f'holds a space, ", \\, a control or a non-ASCII character; {PASSWORD_RULE}'
