"""The package's layers: config and desired state are pure, so they load without the Pulumi SDK.

`lint-imports` (run by `make lint`, contracts in pyproject.toml) checks the import graph
statically; this test checks the same promise at run time, in a fresh interpreter, for the
modules a library user or the offline tools import first.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PURE_ENTRY_POINTS = [
    "openelb_component",
    "openelb_component.config.loading",
    "openelb_component.config.schema",
    "openelb_component.desired",
    "openelb_component.plan.build",
    "openelb_component.plan.render",
    "openelb_component.plan.routerconfig",
    "openelb_component.routers.configs",
    "openelb_component.lab.run",
    "openelb_component.cli",
]


@pytest.mark.parametrize("module", PURE_ENTRY_POINTS)
def test_module_imports_without_the_pulumi_sdk(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "sdk = ('pulumi', 'pulumi_kubernetes')\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in sdk)\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"{module} loaded {out}"


def test_the_component_is_still_reachable_from_the_package_root() -> None:
    import openelb_component
    from openelb_component.component.openelb_ha import OpenElbHa

    assert openelb_component.OpenElbHa is OpenElbHa


def test_the_public_names_are_the_library_interface() -> None:
    import openelb_component

    # The stack file's model is internal: programs pass OpenElbHaArgs. Not exported, and not
    # reachable from the package root either.
    for internal in ("StackConfig", "load_config"):
        assert internal not in openelb_component.__all__
        assert not hasattr(openelb_component, internal)
    assert "OpenElbHaArgs" in openelb_component.__all__
    for name in openelb_component.__all__:
        assert getattr(openelb_component, name) is not None
    assert (Path(openelb_component.__file__).parent / "py.typed").is_file()
