"""Real infrastructure built from Go modules: where each tool's binaries are, and building them.

Each tool is a Go module of the project's own under ``e2e/tools/<tool>/``: a ``go.mod`` whose
``tool`` directives name the ``main`` packages to build (Go 1.24+), and its ``go.sum``. One module
per tool, not one for all: Go's minimal version selection would otherwise build every tool with
the newest ``k8s.io/*`` libraries any of them asks for.

Binaries are cached outside the repository, in a folder keyed by what decides them (the module's
``go.mod`` and ``go.sum``, the Go version, the toolchain setting), so a second run builds nothing
and a changed pin builds afresh beside the old one. ``OPENELB_HA_TOOLS_CACHE`` moves the cache.

    python -m openelb_component.lab.gotools build [TOOL...]   # every tool when none is named
    python -m openelb_component.lab.gotools path TOOL         # its bin folder, when built
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parents[2] / "e2e" / "tools"
COMPLETE = ".complete"
"""Written last in a tool's cache folder: a folder without it is a build that did not finish."""
BUILD_TIMEOUT = 3600.0


class ToolUnavailable(Exception):
    """A tool is not built (or cannot be): the message says which and how to build it."""


def cache_root() -> Path:
    configured = os.environ.get("OPENELB_HA_TOOLS_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "openelb-ha" / "tools"


def tool_names() -> list[str]:
    return sorted(path.parent.name for path in TOOLS_DIR.glob("*/go.mod"))


def _module_dir(tool: str) -> Path:
    module = TOOLS_DIR / tool
    if not (module / "go.mod").is_file():
        raise ToolUnavailable(f"no Go module for {tool!r} in {TOOLS_DIR} (known: {tool_names()})")
    return module


def _go_version() -> str:
    done = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise ToolUnavailable(f"go env GOVERSION failed: {done.stderr.strip()}")
    return done.stdout.strip()


def cache_key(tool: str) -> str:
    """Hash of what decides the binaries: go.mod, go.sum, the Go version and GOTOOLCHAIN."""
    module = _module_dir(tool)
    digest = hashlib.sha256()
    for name in ("go.mod", "go.sum"):
        path = module / name
        digest.update(name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"")
    digest.update(_go_version().encode() + b"\0")
    digest.update(os.environ.get("GOTOOLCHAIN", "").encode())
    return digest.hexdigest()[:16]


def bin_dir(tool: str) -> Path:
    """The folder of a built tool's binaries; ``ToolUnavailable`` naming the build command."""
    folder = cache_root() / f"{tool}-{cache_key(tool)}"
    if not (folder / COMPLETE).is_file():
        raise ToolUnavailable(
            f"{tool} is not built for this checkout: make tools (or python -m "
            f"openelb_component.lab.gotools build {tool})"
        )
    return folder / "bin"


def binary(tool: str, name: str) -> Path:
    path = bin_dir(tool) / name
    if not path.is_file():
        raise ToolUnavailable(f"{tool} was built but has no binary {name!r} in {path.parent}")
    return path


def build(tool: str) -> Path:
    """Build every ``tool`` package of the tool's module into its cache folder (once)."""
    try:
        return bin_dir(tool)
    except ToolUnavailable:
        pass
    folder = cache_root() / f"{tool}-{cache_key(tool)}"
    out = folder / "bin"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # -trimpath: the binaries do not record this machine's paths; go.sum is checked (-mod=readonly).
    command = ["go", "build", "-trimpath", "-mod=readonly", "-o", f"{out}/", "tool"]
    print(f"building {tool} ({TOOLS_DIR / tool}) into {out}", file=sys.stderr, flush=True)
    done = subprocess.run(
        command, cwd=_module_dir(tool), timeout=BUILD_TIMEOUT, check=False, text=True
    )
    if done.returncode != 0:
        raise ToolUnavailable(f"{tool}: {' '.join(command)} exited {done.returncode}")
    (folder / COMPLETE).write_text(f"built in {time.monotonic() - started:.0f} s\n")
    print(f"built {tool} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return out


def main(argv: Sequence[str]) -> int:
    if len(argv) >= 1 and argv[0] == "build":
        for tool in argv[1:] or tool_names():
            try:
                build(tool)
            except ToolUnavailable as error:
                print(f"gotools: {error}", file=sys.stderr)
                return 1
        return 0
    if len(argv) == 2 and argv[0] == "path":
        try:
            print(bin_dir(argv[1]))
        except ToolUnavailable as error:
            print(f"gotools: {error}", file=sys.stderr)
            return 1
        return 0
    print("usage: python -m openelb_component.lab.gotools build [TOOL...] | path TOOL")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
