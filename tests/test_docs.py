"""Every command and example in README.md and docs/*.md runs, or is shown to be real.

- ``config:`` blocks run through the whole program under mocks;
- ``python`` blocks run under mocks, verbatim;
- the error example matches the real message, line by line;
- every shell command is classified: the offline ones (``make plan``, ``make validate``,
  ``python -m openelb_component ...``) run here and must succeed; the other ``make`` targets must
  exist (``make -n``); commands that need a cluster, the Pulumi CLI or GitHub are checked as far as
  this machine can (kubectl's flags against ``kubectl <command> --help``) and named in
  ``NOT_RUN_HERE`` with the reason. A command of a kind this file does not know fails the test, so a
  new example cannot slip in unchecked.
"""

from __future__ import annotations

import functools
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from openelb_component import ConfigError
from openelb_component.config.loading import load_config
from openelb_component.config.names import PROJECT
from openelb_component.plan import upstream
from tests.support.harness import ROOT, assert_registers_the_desired_state, run_program
from tests.support.manifests import require_manifests

DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Commands that cannot run on a test machine (no cluster, no Pulumi CLI, no GitHub), and why.
NOT_RUN_HERE = {
    "pulumi": "the Pulumi CLI is not installed on the test machine",
    "gh": "GitHub's CLI needs a repository and a login",
    "kubectl": "no cluster to talk to; the flags are checked against kubectl's own --help",
}
# Shell plumbing in examples: nothing of this project's to check.
SHELL_WORDS = {"export", "rm", "unset", "base64", "cd", "git", "cp", "mkdir"}
# Commands of the README's "Without GitHub" block, which tests/test_fresh_clone.py runs.
RUN_IN_A_FRESH_CLONE = {"sha256sum"}
# make targets the docs name that this test does not run: each is run elsewhere or needs a cluster.
MAKE_NOT_RUN = {
    "test": "this suite is `make test`",
    "test-slow": "CI runs it after `make test` (tests/test_workflows.py checks that)",
    "bench": "tests/test_bench.py runs the benchmark's smoke size",
    "preview": "needs the Pulumi CLI and a cluster",
    "stack-files": "tests/test_new_stack.py runs the add-a-stack checklist in a copy",
    "manifests": "downloads from GitHub; tests/test_manifests.py checks the verification",
    "goldens": "rewrites tests/golden/; tests/test_plan.py checks the golden files",
    "up": "needs the Pulumi CLI and a cluster",
    "lab": "needs root and network namespaces: tests/test_lab.py runs the lab on every stack",
    "lab-test": "the lab's tests themselves (root); CI runs them",
    "cluster-test": "the control plane's tests themselves (built with Go); CI runs them",
}


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), flags=re.DOTALL)


def _all(language: str) -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(ROOT)}:{language}-{i}", block)
        for path in DOC_FILES
        for i, block in enumerate(blocks(path, language))
    ]


CONFIG_BLOCKS = [(name, b) for name, b in _all("yaml") if b.startswith("config:")]
PYTHON_BLOCKS = _all("python")


def commands(block: str) -> list[str]:
    """The block's commands: continuation lines joined, comments dropped, pipelines split."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found: list[str] = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.lstrip().startswith("#") else ""
        # VAR=$(command): the command is what runs.
        line = re.sub(r"^[A-Z_]+=\$\((.*)\)$", r"\1", line)
        if "envsubst" in line:  # the YAML plan's own fill line, checked whole below
            found.append(line)
            continue
        for part in re.split(r"\s*(?:\||;|&&)\s*", line):
            if part:
                found.append(part)
    return found


SHELL_COMMANDS = sorted(
    {command for _, block in _all("sh") for command in commands(block)},
)


def test_the_docs_have_examples_of_every_kind() -> None:
    assert len(CONFIG_BLOCKS) >= 4
    assert PYTHON_BLOCKS
    assert len(SHELL_COMMANDS) >= 10


@pytest.mark.parametrize(("name", "block"), CONFIG_BLOCKS, ids=[n for n, _ in CONFIG_BLOCKS])
def test_config_examples_run_through_the_program(name: str, block: str) -> None:
    entries: dict[str, Any] = yaml.safe_load(block)["config"]
    config = {key.removeprefix(f"{PROJECT}:"): value for key, value in entries.items()}
    assert_registers_the_desired_state(run_program(config), config)


@pytest.mark.parametrize(("name", "code"), PYTHON_BLOCKS, ids=[n for n, _ in PYTHON_BLOCKS])
def test_python_examples_run_under_mocks(name: str, code: str) -> None:
    pulumi.runtime.set_mocks(_NoopMocks(), project=PROJECT, stack="docs", preview=False)

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def example() -> None:
        exec(code, {})  # noqa: S102 - the docs' own example, verbatim

    example()


def test_the_test_command_is_the_one_ci_runs() -> None:
    (first, *_) = blocks(ROOT / "README.md", "sh")
    assert commands(first)[0] == "make test"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


ERROR_EXAMPLES = [(n, b) for n, b in _all("text") if b.startswith(f"{PROJECT}: the stack")]


@pytest.mark.parametrize(("name", "text"), ERROR_EXAMPLES, ids=[n for n, _ in ERROR_EXAMPLES])
def test_the_error_example_matches_the_real_message(name: str, text: str) -> None:
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
    assert len(actual) == len(shown), name
    for shown_line, actual_line in zip(shown, actual, strict=True):
        assert actual_line.startswith(shown_line.removesuffix("..."))


def _words(command: str) -> list[str]:
    words = shlex.split(command)
    # `> FILE` keeps the output; the test reads stdout instead.
    words = words[: words.index(">")] if ">" in words else words
    # Leading VAR=value assignments are the environment of the command that follows.
    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
        words = words[1:]
    return words


def _with_live_objects(words: list[str], stack: str) -> list[str]:
    """``make plan WORKLOAD=manager.yaml NODES=nodes.json``: files the docs get from a cluster
    with kubectl; here the upstream manager (as `kubectl get ... -o yaml` prints it) and the
    stack's example nodes file stand in for them."""
    out: list[str] = []
    for word in words:
        name, _, value = word.partition("=")
        if name == "WORKLOAD" and not (ROOT / value).exists():
            documents = upstream.load_documents(upstream.manifest_path("0.5"))
            manager = upstream.find(documents, "Deployment", "openelb-manager")
            path = Path(tempfile.mkdtemp()) / value
            path.write_text(yaml.safe_dump(manager))
            word = f"WORKLOAD={path}"
        elif name == "NODES" and not (ROOT / value).exists():
            word = f"NODES={ROOT / 'docs' / 'examples' / f'{stack}-nodes.json'}"
        out.append(word)
    return out


def _run(words: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(words, cwd=ROOT, capture_output=True, text=True, timeout=300)


def _kubectl_subcommand(args: list[str]) -> tuple[str, ...]:
    """The leading command words (``create secret generic``), skipping flags and their values."""
    found: list[str] = []
    skip = False
    for word in args:
        if skip:
            skip = False
        elif word in ("-n", "--namespace", "-o", "-f", "--context"):
            skip = True
        elif not word.startswith("-") and re.fullmatch(r"[a-z][a-z-]*", word):
            found.append(word)
        if len(found) == 3:
            break
    return tuple(found)


@functools.cache
def _kubectl_help(subcommand: tuple[str, ...]) -> str:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    return _run([kubectl, *subcommand, "--help"]).stdout


@pytest.mark.parametrize("command", SHELL_COMMANDS)
def test_every_shell_command_in_the_docs(command: str) -> None:
    words = _words(command)
    if not words:  # an assignment alone, e.g. TOKEN=$(...) whose inner command is listed too
        return
    if "plan" in words:
        # Without the manifests a plan is printed but unchecked, and exits non-zero
        # (tests/test_manifests.py); the docs promise a checked one.
        for version in sorted(upstream.RELEASES):
            require_manifests(version)
    program = words[0]
    if program == "make":
        target = next((w for w in words[1:] if "=" not in w), "")
        stack = next((w.split("=", 1)[1] for w in words if w.startswith("STACK=")), "dev")
        if not (ROOT / "stacks" / f"Pulumi.{stack}.yaml").is_file():
            # The add-a-stack checklist's new stack: tests/test_new_stack.py runs it in a copy.
            assert command in (ROOT / "docs" / "operations.md").read_text(), command
        elif target in ("plan", "validate"):
            done = _run(_with_live_objects(words, stack))
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip()
        else:
            assert target in MAKE_NOT_RUN, f"make {target}: run it here or say why not"
            assert _run(["make", "-n", target]).returncode == 0, f"no make target {target!r}"
    elif program.endswith("python") and words[1:3] == ["-m", "openelb_component.lab.cluster"]:
        # Runs until Ctrl-C (tests/test_cluster.py starts control planes): its flags are checked.
        done = _run([*words[:3], "--help"])
        assert done.returncode == 0, done.stderr
        for flag in (w for w in words[3:] if w.startswith("--")):
            assert flag in done.stdout, f"{flag} is not an option of {words[2]}"
    elif program.endswith("python") and words[1:3] == ["-m", "openelb_component"]:
        if "--output-dir" in words:  # written into a temporary folder, not the checkout
            index = words.index("--output-dir") + 1
            words[index] = str(Path(tempfile.mkdtemp()) / words[index])
        done = _run(words)
        assert done.returncode == 0, done.stderr
    elif program.startswith(".venv/bin/"):
        assert (ROOT / program).name in {"pytest", "python"}, command
    elif program == "kubectl" and shutil.which("kubectl"):
        subcommand = _kubectl_subcommand(words[1:])
        help_text = "".join(_kubectl_help(subcommand[:n]) for n in range(1, len(subcommand) + 1))
        for flag in (w.split("=")[0] for w in words if w.startswith("--")):
            assert flag in help_text, f"kubectl {' '.join(subcommand)} has no {flag}"
    elif program in (":", "envsubst"):
        # Filling the YAML plan's secrets: the docs show the plan's own line, which
        # tests/test_passwords.py runs with envsubst and a recording kubectl.
        plan = _run(["make", "-s", "plan", "STACK=prod", "FORMAT=yaml"]).stdout
        assert any(command in line for line in plan.splitlines() if "envsubst" in line), command
    elif program in NOT_RUN_HERE or program in SHELL_WORDS or program in RUN_IN_A_FRESH_CLONE:
        pass
    else:
        pytest.fail(f"{command!r}: unknown kind of command; run it here or add it above")


class _NoopMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return (args.resource_id or f"{args.name}-id", dict(args.inputs))

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        return ({}, [])


# --- references ---------------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.*)$", path.read_text(), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


LINKS = [
    (f"{path.relative_to(ROOT)}", target)
    for path in DOC_FILES
    for target in LINK.findall(path.read_text())
    if not target.startswith(("http://", "https://", "mailto:"))
]


@pytest.mark.parametrize(("page", "target"), LINKS, ids=[f"{p}->{t}" for p, t in LINKS])
def test_every_link_resolves_inside_the_repository(page: str, target: str) -> None:
    file, _, anchor = target.partition("#")
    path = (ROOT / page).parent / file if file else ROOT / page
    assert path.resolve().is_relative_to(ROOT.resolve()), f"{target}: outside the repository"
    assert path.exists(), f"{target}: no such file"
    if anchor:
        assert anchor in anchors(path), f"{target}: no heading with that anchor in {file or page}"


# A reader of the repository has neither the team's issue tracker nor its design brief.
UNRESOLVABLE = re.compile(r"\b[Ii]ssues? \d+|\bDESIGN\b|/work/|\bshared/DESIGN")


@pytest.mark.parametrize("path", DOC_FILES, ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_no_reference_the_repository_cannot_resolve(path: Path) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if UNRESOLVABLE.search(line)
    ]
    assert found == []
