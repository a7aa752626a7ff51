"""OpenELB high availability as a Pulumi component.

The package is layered (each layer imports only the ones below it; ``tests/test_layers.py``
enforces it):

- ``config``: stack keys -> validated config (pure; no Pulumi);
- ``desired``: validated config -> the objects to apply, as plain data (pure; no Pulumi);
- ``component``: the Pulumi ``ComponentResource`` and the program; ``plan``: the offline plan;
- ``cli``: the offline commands (``python -m openelb_component``).

Other Pulumi programs use the component with typed args (docs/library.md)::

    from openelb_component import OpenElbHa, OpenElbHaArgs, TopologyKind

    OpenElbHa("openelb-ha", OpenElbHaArgs(
        topology={"kind": TopologyKind.SINGLE_ROUTER, "nodes": ["master1", "worker-p002"]}))

The component and its args are imported lazily, so ``import openelb_component.config`` (or the
offline tools) never loads the Pulumi SDK. The stack file's internals (``StackConfig``,
``load_config``) are not part of the library's interface: the offline tools import them from
``openelb_component.config``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from openelb_component.config.errors import ConfigError, Problem

if TYPE_CHECKING:
    from openelb_component.component.args import (
        BgpSettingsArgs,
        BgpTimersArgs,
        LeafArgs,
        Mode,
        NextHops,
        OpenElbHaArgs,
        OpenElbSettingsArgs,
        PeerArgs,
        TopologyArgs,
        TopologyKind,
        Version,
    )
    from openelb_component.component.openelb_ha import OpenElbHa

# What loads the Pulumi SDK, by the module that defines it.
_LAZY = {
    "OpenElbHa": "openelb_component.component.openelb_ha",
    **dict.fromkeys(
        [
            "OpenElbHaArgs",
            "OpenElbSettingsArgs",
            "TopologyArgs",
            "LeafArgs",
            "PeerArgs",
            "BgpSettingsArgs",
            "BgpTimersArgs",
            "NextHops",
            "Version",
            "Mode",
            "TopologyKind",
        ],
        "openelb_component.component.args",
    ),
}

__all__ = [
    "BgpSettingsArgs",
    "BgpTimersArgs",
    "ConfigError",
    "LeafArgs",
    "Mode",
    "NextHops",
    "OpenElbHa",
    "OpenElbHaArgs",
    "OpenElbSettingsArgs",
    "PeerArgs",
    "Problem",
    "TopologyArgs",
    "TopologyKind",
    "Version",
]


def __getattr__(name: str) -> Any:
    # PEP 562: the component (and with it the Pulumi SDK) loads only when asked for.
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
