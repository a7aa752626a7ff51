"""The Pulumi program: read the stack's config, validate all of it, build the component, export.

Kept apart from ``__main__.py`` so tests and other projects can run it under mocks.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from openelb_component.component.args import args_from_config
from openelb_component.component.openelb_ha import OUTPUTS, OpenElbHa
from openelb_component.config import names
from openelb_component.config.engine import decode_engine_text, misplaced_keys
from openelb_component.config.errors import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.secrets import REDACTED


def _every_key() -> set[str]:
    # The engine hands config over in PULUMI_CONFIG; tests and other hosts use set_all_config.
    return set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())


def _shown(key: str) -> Any:
    """A key's value as an error may show it: a secret never."""
    if pulumi.runtime.is_config_secret(key):
        return REDACTED
    return decode_engine_text(runtime_config.get_config(key) or "")


def project_keys(config: pulumi.Config) -> list[str]:
    """Every key the stack sets under this project's prefix, known or not: the models refuse
    unknown ones (``adpot``, ``bgpPassword``) instead of the program silently ignoring them."""
    prefix = f"{config.name}:"
    return sorted(key.removeprefix(prefix) for key in _every_key() if key.startswith(prefix))


def read_raw_config(config: pulumi.Config) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in project_keys(config):
        text = config.get(key)
        if text is not None:
            raw[key] = decode_engine_text(text)
    return raw


def secret_keys(config: pulumi.Config) -> list[str]:
    """The keys the stack file holds as secrets (``secure:``), without the project prefix."""
    return [
        key for key in project_keys(config) if pulumi.runtime.is_config_secret(config.full_key(key))
    ]


def main() -> OpenElbHa:
    config = pulumi.Config()
    # A key with a misspelt prefix (openelb_ha:topology) reaches the program too: named.
    misplaced = misplaced_keys({key: _shown(key) for key in _every_key()})
    try:
        stack_config = load_config(read_raw_config(config), secret_keys(config))
    except ConfigError as error:
        # RunError: Pulumi prints the message without a stack trace and registers nothing.
        raise pulumi.RunError(ConfigError([*error.problems, *misplaced]).render()) from None
    if misplaced:
        raise pulumi.RunError(ConfigError(misplaced).render())
    # The stack-only rule (passwords stored as secrets) was checked above; the component
    # checks everything else again, as for any other program that uses it.
    component = OpenElbHa(names.PROJECT, args_from_config(stack_config))
    for output, attribute in OUTPUTS:
        pulumi.export(output, getattr(component, attribute))
    return component
