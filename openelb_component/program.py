"""The Pulumi program: read the stack's config, validate all of it, build the component, export.

Kept apart from ``__main__.py`` so tests and other projects can run it under mocks.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi

from openelb_component.component import OUTPUTS, OpenElbHa
from openelb_component.errors import ConfigError
from openelb_component.loading import CONFIG_KEYS, load_config


def _decode(text: str) -> Any:
    # Structured values arrive as JSON text; a plain string stays a string and the models
    # reject it with the key path and what was expected.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def read_raw_config(config: pulumi.Config) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        text = config.get(key)
        if text is not None:
            raw[key] = _decode(text)
    return raw


def secret_keys(config: pulumi.Config) -> list[str]:
    """The keys the stack file holds as secrets (``secure:``), without the project prefix."""
    return [key for key in CONFIG_KEYS if pulumi.runtime.is_config_secret(config.full_key(key))]


def main() -> OpenElbHa:
    config = pulumi.Config()
    try:
        stack_config = load_config(read_raw_config(config), secret_keys(config))
    except ConfigError as error:
        # RunError: Pulumi prints the message without a stack trace and registers nothing.
        raise pulumi.RunError(error.render()) from None
    component = OpenElbHa("openelb-ha", stack_config)
    for warning in component.state.warnings:
        pulumi.log.warn(warning, resource=component)
    for output, attribute in OUTPUTS:
        pulumi.export(output, getattr(component, attribute))
    return component
