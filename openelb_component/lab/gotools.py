"""Real infrastructure built from Go modules: where each tool's binaries are, and building them.

Each tool is a Go module of the project's own under ``e2e/tools/<tool>/``: a ``go.mod`` whose
``tool`` directives name the ``main`` packages to build (Go 1.24+), and its ``go.sum``. One module
per tool, not one for all: Go's minimal version selection would otherwise build every tool with
the newest ``k8s.io/*`` libraries any of them asks for.

Binaries are cached outside the repository, in a folder keyed by what decides them (the module's
files: ``go.mod``, ``go.sum``, ``build.toml``, the source of a main package of ours; the Go
version, the toolchain setting), so a second run builds nothing and a changed pin or source
builds afresh beside the old one. ``OPENELB_HA_TOOLS_CACHE`` moves
the cache.

A tool whose upstream release build does more than ``go build`` says so in an optional
``build.toml`` beside its ``go.mod`` (each entry is a step of the upstream release build, so the
binaries are the release's, not a variant):

    ldflags = ["-X", "example.com/m/version.Version=v1.2.3"]   # the release's -ldflags
    tags = ["osusergo"]                                        # the release's build tags
    env = { CGO_ENABLED = "0" }                                # the release's build environment

    [[generate]]            # a dependency's own go:generate program, run in a copy of its package
    package = "example.com/m/cmd/tool"     # folder, writing files a main package embeds
    program = "generate.go"
    env = { VERSION = "1.2.3" }
    outputs = ["schema-embed.json"]
    into = "tool"           # the main package of this module that embeds them

The generated files stay in the cache folder and reach the build through ``-overlay`` as files of
the ``into`` package: Go refuses overlays of files in the module cache ("Files beneath
GOMODCACHE ... must not be replaced"), and the repository gets no copies of upstream files.

    [[files]]               # a file a module ships beside its binaries, copied into the bin folder
    module = "example.com/m"
    path = "cmd/tool-helper"

    python -m openelb_component.lab.gotools build [TOOL...]   # every tool when none is named
    python -m openelb_component.lab.gotools path TOOL         # its bin folder, when built
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TOOLS_DIR = Path(__file__).resolve().parents[2] / "e2e" / "tools"
COMPLETE = ".complete"
"""Written last in a tool's cache folder: a folder without it is a build that did not finish."""
BUILD_TIMEOUT = 3600.0
BUILD_SPEC = "build.toml"


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


@dataclass(frozen=True)
class Generate:
    """A dependency's go:generate program whose outputs its package embeds."""

    package: str
    program: str
    outputs: tuple[str, ...]
    into: str
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ShippedFile:
    """A file of a module that its release ships beside the binaries."""

    module: str
    path: str


@dataclass(frozen=True)
class BuildSpec:
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    generate: tuple[Generate, ...] = ()
    files: tuple[ShippedFile, ...] = ()


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ToolUnavailable(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def _string_map(value: object, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise ToolUnavailable(f"{where} must be a table of strings, got {value!r}")
    return dict(value)


def _entries(value: object, where: str) -> list[object]:
    if not isinstance(value, list):
        raise ToolUnavailable(f"{where} must be an array of tables, got {value!r}")
    return value


def _table(value: object, where: str, keys: set[str]) -> dict[str, object]:
    if not isinstance(value, dict) or not set(value) <= keys:
        raise ToolUnavailable(f"{where} must be a table with keys among {sorted(keys)}: {value!r}")
    return value


def build_spec(tool: str) -> BuildSpec:
    """The tool's ``build.toml`` (module docstring), or plain ``go build`` when it has none."""
    path = _module_dir(tool) / BUILD_SPEC
    if not path.is_file():
        return BuildSpec()
    where = str(path)
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise ToolUnavailable(f"{where}: {error}") from None
    top = _table(raw, where, {"ldflags", "tags", "env", "generate", "files"})
    generate = []
    for index, entry in enumerate(_entries(top.get("generate", []), where)):
        at = f"{where} generate[{index}]"
        step = _table(entry, at, {"package", "program", "env", "outputs", "into"})
        package, program, into = step.get("package"), step.get("program"), step.get("into")
        if not all(isinstance(text, str) for text in (package, program, into)):
            raise ToolUnavailable(f"{at}: package, program and into must be strings")
        generate.append(
            Generate(
                package=str(package),
                program=str(program),
                into=str(into),
                outputs=_strings(step.get("outputs", []), f"{at}.outputs"),
                env=_string_map(step.get("env", {}), f"{at}.env"),
            )
        )
    files = []
    for index, entry in enumerate(_entries(top.get("files", []), where)):
        at = f"{where} files[{index}]"
        shipped = _table(entry, at, {"module", "path"})
        module, relative = shipped.get("module"), shipped.get("path")
        if not isinstance(module, str) or not isinstance(relative, str):
            raise ToolUnavailable(f"{at}: module and path must be strings")
        files.append(ShippedFile(module=module, path=relative))
    return BuildSpec(
        ldflags=_strings(top.get("ldflags", []), f"{where} ldflags"),
        tags=_strings(top.get("tags", []), f"{where} tags"),
        env=_string_map(top.get("env", {}), f"{where} env"),
        generate=tuple(generate),
        files=tuple(files),
    )


def _decisive_files(module: Path) -> list[str]:
    """go.mod and go.sum, then every other file of the module folder (build.toml, the Go source
    of a main package of ours), by relative path. A module of go.mod and go.sum alone keeps the
    key it had before other files counted (and its built binaries)."""
    others = sorted(
        str(path.relative_to(module))
        for path in module.rglob("*")
        if path.is_file() and path.name not in ("go.mod", "go.sum")
    )
    return ["go.mod", "go.sum", *others]


def cache_key(tool: str) -> str:
    """Hash of what decides the binaries: the module's files (go.mod, go.sum, build.toml, our
    own Go source), the Go version and GOTOOLCHAIN."""
    module = _module_dir(tool)
    digest = hashlib.sha256()
    for name in _decisive_files(module):
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


def _go(module: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    command = ["go", *args]
    done = subprocess.run(
        command,
        cwd=module,
        timeout=BUILD_TIMEOUT,
        check=False,
        text=True,
        stdout=subprocess.PIPE,
        env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise ToolUnavailable(f"{module.name}: {' '.join(command)} exited {done.returncode}")
    return done.stdout.strip()


def _generate(module: Path, steps: Sequence[Generate], work: Path) -> dict[str, str]:
    """Run each generator in a writable copy of its package: {path in the embedding package of
    this module: generated file}."""
    replace: dict[str, str] = {}
    for index, step in enumerate(steps):
        package_dir = Path(
            _go(module, "list", "-mod=readonly", "-e", "-f", "{{.Dir}}", step.package)
        )
        copy = work / f"generate-{index}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(package_dir, copy, copy_function=shutil.copyfile)
        for path in (copy, *copy.rglob("*")):  # the module cache's modes are read-only
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        generator = work / f"generator-{index}"
        # Built from the module cache so its imports resolve through this module's go.sum.
        _go(module, "build", "-mod=readonly", "-o", str(generator), str(package_dir / step.program))
        done = subprocess.run(
            [str(generator)],
            cwd=copy,
            timeout=BUILD_TIMEOUT,
            check=False,
            env={**os.environ, **step.env},
        )
        if done.returncode != 0:
            raise ToolUnavailable(f"{step.package}: {step.program} exited {done.returncode}")
        for output in step.outputs:
            if not (copy / output).is_file():
                raise ToolUnavailable(f"{step.package}: {step.program} wrote no {output}")
            replace[str(module / step.into / output)] = str(copy / output)
    return replace


def _ship(module: Path, files: Sequence[ShippedFile], out: Path) -> None:
    for shipped in files:
        source = Path(_go(module, "list", "-mod=readonly", "-m", "-f", "{{.Dir}}", shipped.module))
        target = out / Path(shipped.path).name
        shutil.copyfile(source / shipped.path, target)
        target.chmod(0o755)


def build(tool: str) -> Path:
    """Build every ``tool`` package of the tool's module into its cache folder (once)."""
    try:
        return bin_dir(tool)
    except ToolUnavailable:
        pass
    module = _module_dir(tool)
    spec = build_spec(tool)
    folder = cache_root() / f"{tool}-{cache_key(tool)}"
    out = folder / "bin"
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # -trimpath: the binaries do not record this machine's paths; go.sum is checked (-mod=readonly).
    command = ["go", "build", "-trimpath", "-mod=readonly"]
    if spec.ldflags:
        command.append("-ldflags=" + " ".join(spec.ldflags))
    if spec.tags:
        command.append("-tags=" + ",".join(spec.tags))
    print(f"building {tool} ({module}) into {out}", file=sys.stderr, flush=True)
    overlay = _generate(module, spec.generate, folder)
    if overlay:
        overlay_file = folder / "overlay.json"
        overlay_file.write_text(json.dumps({"Replace": overlay}, indent=1))
        command.append(f"-overlay={overlay_file}")
    command += ["-o", f"{out}/", "tool"]
    done = subprocess.run(
        command,
        cwd=module,
        timeout=BUILD_TIMEOUT,
        check=False,
        text=True,
        env={**os.environ, **spec.env},
    )
    if done.returncode != 0:
        raise ToolUnavailable(f"{tool}: {' '.join(command)} exited {done.returncode}")
    _ship(module, spec.files, out)
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
