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
