"""The Go-built tools' build steps (``e2e/tools/<tool>/build.toml``): what each tool's file says,
and every malformed file refused with its path and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from openelb_component.lab import gotools


@pytest.fixture
def tools_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(gotools, "TOOLS_DIR", tmp_path)
    return tmp_path


def _tool(tools_dir: Path, spec: str | None) -> str:
    module = tools_dir / "example"
    module.mkdir()
    (module / "go.mod").write_text("module example\n\ngo 1.26.0\n")
    if spec is not None:
        (module / "build.toml").write_text(spec)
    return "example"


def test_a_tool_without_build_steps_is_a_plain_go_build(tools_dir: Path) -> None:
    assert gotools.build_spec(_tool(tools_dir, None)) == gotools.BuildSpec()


def test_every_build_step_is_read(tools_dir: Path) -> None:
    tool = _tool(
        tools_dir,
        """
ldflags = ["-s", "-X", "example.com/m/version.Version=v1.2.3"]
tags = ["osusergo"]
env = { CGO_ENABLED = "0" }

[[generate]]
package = "example.com/m/cmd/tool"
program = "generate.go"
env = { VERSION = "1.2.3" }
outputs = ["schema-embed.json"]
into = "tool"

[[files]]
module = "example.com/m"
path = "cmd/helper"
""",
    )
    assert gotools.build_spec(tool) == gotools.BuildSpec(
        ldflags=("-s", "-X", "example.com/m/version.Version=v1.2.3"),
        tags=("osusergo",),
        env={"CGO_ENABLED": "0"},
        generate=(
            gotools.Generate(
                package="example.com/m/cmd/tool",
                program="generate.go",
                outputs=("schema-embed.json",),
                into="tool",
                env={"VERSION": "1.2.3"},
            ),
        ),
        files=(gotools.ShippedFile(module="example.com/m", path="cmd/helper"),),
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('ldflags = "-s -w"', "ldflags must be a list of strings, got '-s -w'"),
        ("tags = [1]", "tags must be a list of strings, got [1]"),
        ("env = { CGO_ENABLED = 0 }", "env must be a table of strings"),
        ('ldflag = ["-s"]', "must be a table with keys among"),
        ("generate = 1", "must be an array of tables, got 1"),
        (
            '[[generate]]\npackage = "p"\nprogram = "g.go"\noutputs = ["o"]',
            "generate[0]: package, program and into must be strings",
        ),
        (
            '[[generate]]\npackage = "p"\nprogram = "g.go"\ninto = "t"\noutputs = "o"',
            "generate[0].outputs must be a list of strings",
        ),
        ('[[files]]\nmodule = "m"', "files[0]: module and path must be strings"),
        ('[[files]]\nmodule = "m"\npath = "p"\nmode = "0755"', "must be a table with keys among"),
        ("ldflags = [", "build.toml: "),
    ],
    ids=[
        "ldflags-a-string",
        "tags-not-strings",
        "env-not-strings",
        "unknown-key",
        "generate-not-a-list",
        "generate-without-into",
        "generate-outputs-a-string",
        "files-without-path",
        "files-unknown-key",
        "not-toml",
    ],
)
def test_malformed_build_steps_are_refused_naming_the_file(
    tools_dir: Path, spec: str, message: str
) -> None:
    tool = _tool(tools_dir, spec)
    with pytest.raises(gotools.ToolUnavailable) as raised:
        gotools.build_spec(tool)
    assert str(tools_dir / "example" / "build.toml") in str(raised.value)
    assert message in str(raised.value)


def test_build_steps_decide_the_cache_folder(tools_dir: Path) -> None:
    tool = _tool(tools_dir, 'ldflags = ["-s"]')
    before = gotools.cache_key(tool)
    (tools_dir / "example" / "build.toml").write_text('ldflags = ["-s", "-w"]')
    assert gotools.cache_key(tool) != before


@pytest.mark.parametrize("tool", ["pulumi", "pulumi-kubernetes", "pulumi-yaml"])
def test_the_engine_tools_build_steps_are_valid(tool: str) -> None:
    spec = gotools.build_spec(tool)
    assert any(flag.startswith("github.com/pulumi/") for flag in spec.ldflags), spec.ldflags


def test_the_source_of_a_main_package_of_ours_decides_the_cache_folder(tools_dir: Path) -> None:
    tool = _tool(tools_dir, None)
    plain = gotools.cache_key(tool)
    host = tools_dir / "example" / "host"
    host.mkdir()
    (host / "main.go").write_text("package main\n")
    with_source = gotools.cache_key(tool)
    (host / "main.go").write_text("package main\n\nfunc main() {}\n")
    assert len({plain, with_source, gotools.cache_key(tool)}) == 3
