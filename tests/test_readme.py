"""Every example in the README runs: config blocks through the program, code blocks under mocks."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest
import yaml

from openelb_component import ConfigError, load_config
from tests.harness import ROOT, run_program

README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


CONFIG_BLOCKS = [b for b in blocks("yaml") if b.startswith("config:")]


def test_the_readme_has_config_examples() -> None:
    assert len(CONFIG_BLOCKS) >= 2


@pytest.mark.parametrize(
    "block", CONFIG_BLOCKS, ids=[f"yaml-{i}" for i in range(len(CONFIG_BLOCKS))]
)
def test_config_examples_run_through_the_program(block: str) -> None:
    entries: dict[str, Any] = yaml.safe_load(block)["config"]
    config = {key.removeprefix("openelb-ha:"): value for key, value in entries.items()}
    run = run_program(config)
    assert run.named("openelb-ha-workload")


def test_the_test_command_is_the_one_ci_runs() -> None:
    assert "make test " in blocks("sh")[0]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_component_example_runs_under_mocks() -> None:
    (code,) = blocks("python")
    pulumi.runtime.set_mocks(_NoopMocks(), project="openelb-ha", stack="readme", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def example() -> None:
        exec(code, {})  # noqa: S102 - the README's own example, verbatim

    example()


def test_the_error_example_matches_the_real_message() -> None:
    (text,) = [b for b in blocks("text") if b.startswith("openelb-ha:")]
    raw = {
        "topology": {
            "kind": "multi-leaf",
            "replica": 3,
            "leaves": [
                {"name": "leaf1", "nodes": ["master1", "worker-p001"]},
                {"name": "leaf2", "nodes": ["worker-p001", "worker-p003"]},
            ],
        }
    }
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    actual = str(caught.value).splitlines()
    shown = text.strip().splitlines()
    assert len(actual) == len(shown)
    for shown_line, actual_line in zip(shown, actual, strict=True):
        assert actual_line.startswith(shown_line.removesuffix("..."))


class _NoopMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return (args.resource_id or f"{args.name}-id", dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return ({}, [])
