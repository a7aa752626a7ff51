"""OpenELB high availability as a Pulumi component.

The package is layered (each layer imports only the ones below it; ``tests/test_layers.py``
enforces it):

- ``config``: stack keys -> validated config (pure; no Pulumi);
- ``desired``: validated config -> the objects to apply, as plain data (pure; no Pulumi);
- ``component``: the Pulumi ``ComponentResource`` and the program; ``plan``: the offline plan;
- ``cli``: the offline commands (``python -m openelb_component``).

Other Pulumi programs can use the component directly::

    from openelb_component import OpenElbHa, load_config

    OpenElbHa("openelb-ha", load_config({"topology": {"kind": "single-router",
                                                       "nodes": ["master1", "worker-p002"]}}))

``OpenElbHa`` is imported lazily, so ``import openelb_component.config`` (or the offline tools)
never loads the Pulumi SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openelb_component.config.errors import ConfigError, Problem
from openelb_component.config.loading import load_config
from openelb_component.config.models import StackConfig

if TYPE_CHECKING:
    from openelb_component.component.openelb_ha import OpenElbHa

__all__ = ["ConfigError", "OpenElbHa", "Problem", "StackConfig", "load_config"]


def __getattr__(name: str) -> Any:
    # PEP 562: the component (and with it the Pulumi SDK) loads only when asked for.
    if name == "OpenElbHa":
        from openelb_component.component.openelb_ha import OpenElbHa

        return OpenElbHa
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
