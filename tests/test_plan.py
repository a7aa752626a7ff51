"""The offline plan: golden outputs, agreement with the Pulumi program, validate, secrets, schema.

Golden files live in tests/golden/<stack>.<format>; after an intended change regenerate them with
``UPDATE_GOLDEN=1 make unit`` and review the diff. A new stack file only needs its golden files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from openelb_component import cli
from openelb_component.config.schema import SCHEMA_PATH, schema_text
from openelb_component.config.secrets import REDACTED
from openelb_component.plan.build import build_plan, load_stack_config
from openelb_component.plan.render import RENDERERS
from openelb_component.plan.runbook import CONFIRM_VARIABLE, secret_variables
from openelb_component.plan.stackfile import read_stack, stack_name
from tests.support.harness import (
    ROOT,
    revealed,
    run_program,
    run_program_capturing,
    secure_values,
    stack_config,
    stack_files,
    stack_files_step,
    stand_in_plaintext,
)
from tests.support.manifests import needed_to_write, upstream_documents

STACKS = stack_files()
GOLDEN = ROOT / "tests" / "golden"
FORMATS = sorted(RENDERERS)
PASSWORD = "hunter2-Sup3rSecret"  # noqa: S105 - the value every output is searched for


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(autouse=True)
def _in_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def update_goldens() -> bool:
    """Golden files are written only when asked (``make goldens``, ``UPDATE_GOLDENS=1``; the
    older ``UPDATE_GOLDEN=1`` too), and never in CI, where a missing one is a failure."""
    asked = bool(os.environ.get("UPDATE_GOLDENS") or os.environ.get("UPDATE_GOLDEN"))
    if asked and os.environ.get("CI"):
        pytest.fail("golden files are never written in CI: run `make goldens` locally")
    return asked


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_plan_output_matches_the_golden_file(
    stack: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    version = load_stack_config(read_stack(stack)).openelb.version
    golden = GOLDEN / f"{stack_name(stack)}.{fmt}"
    if update_goldens():
        needed_to_write(version, f"the golden plans of stack {stack_name(stack)}")
    upstream_documents(version)
    status, out, _ = run_cli(capsys, "plan", "--stack", stack_name(stack), "--format", fmt)
    assert status == 0
    if update_goldens():
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(out)
    if not golden.is_file():
        pytest.fail(stack_files_step(stack_name(stack), f"golden plan {golden.relative_to(ROOT)}"))
    assert out == golden.read_text()


def secret_environment(stack: Path) -> dict[str, str]:
    """The runbook's and the YAML's secret variables, each holding what the program is handed
    for that secret (the harness's stand-in for the decrypted value)."""
    secrets = secure_values(stack_config(stack))
    variables = secret_variables(secrets)
    return {variables[name]: stand_in_plaintext(ciphertext) for name, ciphertext in secrets.items()}


def envsubst(text: str, env: dict[str, str]) -> str:
    """``envsubst`` itself (gettext), as the plan's YAML tells users to fill its secrets."""
    if shutil.which("envsubst") is None:
        pytest.skip("envsubst (Debian: gettext-base) is not on PATH")
    done = subprocess.run(
        ["envsubst"],
        input=text,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_the_plan_renders_exactly_what_the_program_registers(stack: Path) -> None:
    registered = [
        revealed(r.inputs)
        for r in run_program(stack_config(stack)).resources
        if r.type.startswith("kubernetes:")
    ]
    text = RENDERERS["yaml"](build_plan(read_stack(stack)))
    # Secrets filled in as the plan's own comment says: envsubst, from the environment.
    documents = [
        doc for doc in yaml.safe_load_all(envsubst(text, secret_environment(stack))) if doc
    ]

    def identity(obj: dict[str, Any]) -> tuple[str, str]:
        return obj["kind"], obj["metadata"]["name"]

    assert sorted(registered, key=identity) == sorted(documents, key=identity)


def test_validate_summarises_every_stack(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "validate")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert [line.split(": ok (")[0] for line in lines] == [
        str(path.relative_to(ROOT)) for path in STACKS
    ]
    # Per version what runs: the 0.5 manager (announces and controls), or 0.6 speakers and
    # controllers, each counted.
    assert {
        "stacks/Pulumi.prod.yaml: ok (OpenELB 0.5, multi-leaf, 4 nodes, 4 openelb-manager "
        "replicas, 2 BGP peers)",
        "stacks/Pulumi.prod-v06.yaml: ok (OpenELB 0.6, multi-leaf, 5 nodes, 5 speakers "
        "(openelb-speaker), 3 controllers (openelb-controller), 2 BGP peers)",
    } <= set(lines)


def test_validate_fails_with_the_programs_own_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = {"topology": {"kind": "single-router", "nodes": ["a", "a"], "replica": 3}}
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump({"config": {f"openelb-ha:{k}": v for k, v in raw.items()}}))
    status, out, err = run_cli(capsys, "validate", str(path), "stacks/Pulumi.dev.yaml")
    _, program_error = run_program_capturing(raw)
    assert status == 1
    assert err == f"{path}: {program_error}\n"
    assert out.startswith("stacks/Pulumi.dev.yaml: ok")


def secret_stack(tmp_path: Path) -> None:
    """A stack whose secure value (the ciphertext here is the password itself) lands where the
    config models reject it, so the error must print the value -- as [secret]."""
    text = (
        "config:\n  openelb-ha:topology:\n    kind: single-router\n"
        f"    nodes: [master1, worker-p002]\n    replicas:\n      secure: {PASSWORD}\n"
    )
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.s.yaml").write_text(text)


def test_a_secure_value_is_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret_stack(tmp_path)
    monkeypatch.chdir(tmp_path)
    stack = read_stack(Path("stacks/Pulumi.s.yaml"))
    assert stack.config["topology"]["replicas"] == REDACTED
    assert stack.secure == {("topology", "replicas")}
    outputs = [run_cli(capsys, "validate")] + [
        run_cli(capsys, "plan", "--stack", "s", "--format", fmt) for fmt in FORMATS
    ]
    for status, out, err in outputs:
        assert status == 1
        assert "topology.replicas = [secret]: " in err
        assert PASSWORD not in out + err


def password_stack(tmp_path: Path) -> Path:
    """The prod topology with a BGP password per leaf, written as Pulumi writes secrets
    (``secure:``; the "ciphertext" here is the password itself, so a leak would show)."""
    entries = stack_config(ROOT / "stacks" / "Pulumi.prod.yaml")
    entries["bgpPasswords"] = {"leaf1": {"secure": PASSWORD}, "leaf2": {"secure": PASSWORD}}
    path = tmp_path / "stacks" / "Pulumi.pw.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"config": {f"openelb-ha:{k}": v for k, v in entries.items()}}))
    return path


def test_a_bgp_password_never_appears_in_any_format(tmp_path: Path) -> None:
    plan = build_plan(read_stack(password_stack(tmp_path)))
    for fmt, render in RENDERERS.items():
        text = render(plan)
        assert PASSWORD not in text, fmt
        if fmt == "markdown":
            assert (
                f"spec.conf.authPassword = {REDACTED}: put the value of secret bgpPasswords.leaf1"
                in text
            )
        else:  # a reference the shell or envsubst fills, never a placeholder value
            assert '    authPassword: "${OPENELB_HA_BGPPASSWORDS_LEAF1}"\n' in text, fmt
            assert REDACTED not in text, fmt


# A kubectl for runbooks: logs every call, keeps every document fed to `apply -f -`, and, for
# `get node ... jsonpath`, answers "openelb" for the HA label (a node the manual guide labelled).
FAKE_KUBECTL = """#!/bin/sh
echo "$*" >> "$CALLS"
if [ "$2" = "-f" ]; then cat >> "$APPLIED"; echo --- >> "$APPLIED"; fi
case "$*" in
  "get node "*"v1alpha1}"*) echo openelb ;;
esac
"""


def run_runbook(
    script: Path, tmp_path: Path, env: dict[str, str], step: str = "apply"
) -> subprocess.CompletedProcess[str]:
    """Run a runbook step, in ``tmp_path``, with ``FAKE_KUBECTL``."""
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(FAKE_KUBECTL)
    fake.chmod(0o755)
    path = f"{fake.parent}:{os.environ['PATH']}"
    files = {"APPLIED": str(tmp_path / "applied.yaml"), "CALLS": str(tmp_path / "calls")}
    # The BgpConf step waits for a typed yes at a terminal: confirmed ahead, as a script does.
    full_env = {**os.environ, "PATH": path, **files, CONFIRM_VARIABLE: "yes", **env}
    return subprocess.run(
        ["sh", str(script), step],
        env=full_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_runbook_takes_passwords_from_the_environment_and_refuses_without(
    tmp_path: Path,
) -> None:
    plan = build_plan(read_stack(password_stack(tmp_path)))
    script = tmp_path / "runbook.sh"
    script.write_text(RENDERERS["kubectl"](plan))
    refused = run_runbook(script, tmp_path, {})
    assert refused.returncode != 0
    assert "OPENELB_HA_BGPPASSWORDS_LEAF1: export OPENELB_HA_BGPPASSWORDS_LEAF1" in refused.stderr
    # Refused before its first step: nothing was half-applied.
    assert not (tmp_path / "calls").exists()
    # Characters a shell or YAML would treat specially arrive unchanged.
    tricky = {"leaf1": "p'a$s`w`#1:{x}&|;<>*?!~%", "leaf2": "plain"}
    env = {f"OPENELB_HA_BGPPASSWORDS_{leaf.upper()}": value for leaf, value in tricky.items()}
    applied = run_runbook(script, tmp_path, env)
    assert applied.returncode == 0, applied.stderr
    peers = [
        doc
        for doc in yaml.safe_load_all((tmp_path / "applied.yaml").read_text())
        if doc and doc["kind"] == "BgpPeer"
    ]
    assert {p["metadata"]["name"]: p["spec"]["conf"]["authPassword"] for p in peers} == {
        "openelb-ha-peer-192-168-0-5": tricky["leaf1"],
        "openelb-ha-peer-192-168-1-5": tricky["leaf2"],
    }


# In the runbook's here-document, a line break or a quote would end the YAML scalar
# and add fields to the BgpPeer.
RUNBOOK_NOT_PASSWORDS = {
    "newline-adds-a-field": 'x"\n    peerAs: 666\n    y: "z',
    "command": "$(touch PWNED)",
    "quote": 'x"y',
    "backslash": "x\\y",
    "space": "two words",
    "81-bytes": "x" * 81,
    "escape": "x\x1b[2Jy",
    "non-ascii": "pässword",
}


@pytest.mark.parametrize(
    "value", list(RUNBOOK_NOT_PASSWORDS.values()), ids=list(RUNBOOK_NOT_PASSWORDS)
)
def test_the_runbook_refuses_a_password_variable_that_is_not_a_password(
    tmp_path: Path, value: str
) -> None:
    plan = build_plan(read_stack(password_stack(tmp_path)))
    script = tmp_path / "runbook.sh"
    script.write_text(RENDERERS["kubectl"](plan))
    env = {"OPENELB_HA_BGPPASSWORDS_LEAF1": value, "OPENELB_HA_BGPPASSWORDS_LEAF2": "plain"}
    refused = run_runbook(script, tmp_path, env)
    assert refused.returncode != 0
    assert refused.stderr.startswith(
        "OPENELB_HA_BGPPASSWORDS_LEAF1: not a BGP password this runbook can apply; a BGP "
        "password must be 1 to 80 printable ASCII characters"
    )
    assert value not in refused.stderr
    assert not (tmp_path / "calls").exists()  # before the first kubectl call
    assert not (tmp_path / "PWNED").exists()


def test_a_failed_check_fails_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = upstream_documents("0.5")
    deployment = next(d for d in live if d.get("kind") == "Deployment")
    # A live manager whose pods need a label no listed node has: nothing can be scheduled.
    deployment = json.loads(json.dumps(deployment))
    # A field the Kubernetes API does not know: the patched workload is invalid everywhere.
    deployment["spec"]["template"]["spec"]["gpuProfile"] = "a100"
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(deployment))
    status, _, err = run_cli(
        capsys, "plan", "--stack", "dev", "--format", "yaml", "--workload", str(path)
    )
    assert status == 1
    assert (
        "fail: Deployment openelb-manager, schema: invalid for 1.25, 1.26, 1.27, 1.28, 1.29, "
        "1.30, 1.31, 1.32, 1.33, 1.34, 1.35, 1.36, 1.37: spec/template/spec: Additional "
        "properties are not allowed ('gpuProfile' was unexpected)" in err
    )
    assert "openelb-ha: a check of the result failed; see above." in err


def test_the_committed_schema_is_current() -> None:
    assert (ROOT / SCHEMA_PATH).read_text() == schema_text(), "run `make schema`"


def test_the_schema_accepts_every_stack_and_flags_typos() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    for path in STACKS:
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == []
    typo = yaml.safe_load(STACKS[0].read_text())
    typo["config"]["openelb-ha:topolgy"] = typo["config"].pop("openelb-ha:topology")
    assert len(list(validator.iter_errors(typo))) == 2  # the misspelt key, the missing one


def python_m(*args: str) -> str:
    """``python -m openelb_component ARGS`` as a user runs it; its stdout, after exit status 0."""
    done = subprocess.run(
        [sys.executable, "-m", "openelb_component", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_python_m_runs_the_plan() -> None:
    # The objects are the same checked or not: this test is about `python -m`.
    stdout = python_m("plan", "--stack", "dev", "--format", "yaml", "--allow-skipped")
    assert [doc["kind"] for doc in yaml.safe_load_all(stdout) if doc] == [
        "Node",
        "Node",
        "Deployment",
        "PodDisruptionBudget",
    ]


PLAN_DOC = (ROOT / "docs" / "plan.md").read_text()


def doc_block(language: str, starts: str) -> str:
    blocks: list[str] = re.findall(rf"```{language}\n(.*?)```", PLAN_DOC, flags=re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(starts)]
    return block


def test_the_docs_pre_commit_hook_validates_the_stacks() -> None:
    (hook,) = yaml.safe_load(doc_block("yaml", "repos:"))["repos"][0]["hooks"]
    entry = shlex.split(hook["entry"])
    assert entry[:3] == [".venv/bin/python", "-m", "openelb_component"]
    files = [str(p.relative_to(ROOT)) for p in STACKS]
    assert all(re.search(hook["files"], name) for name in files)
    assert doc_block("text", "stacks/") in python_m(*entry[3:], *files)


def test_the_readme_editor_settings_point_at_the_schema() -> None:
    modeline = doc_block("text", "# yaml-language-server:").strip()
    relative = modeline.split("$schema=", 1)[1]
    assert (ROOT / "stacks" / relative).resolve() == (ROOT / SCHEMA_PATH).resolve()
    settings = json.loads(doc_block("json", "{"))
    assert settings == {"yaml.schemas": {f"./{SCHEMA_PATH}": "stacks/*.yaml"}}


@pytest.mark.parametrize("stack", STACKS, ids=[stack_name(p) for p in STACKS])
def test_the_runbook_runs_its_steps_in_order(stack: Path, tmp_path: Path) -> None:
    """The kubectl runbook, run by sh with a kubectl that records its calls (and the objects
    fed to ``apply -f -``): labels, then the workload, then the BGP objects; rollback reversed."""
    plan = build_plan(read_stack(stack))
    script = tmp_path / "runbook.sh"
    script.write_text(RENDERERS["kubectl"](plan))
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir()
    fake.write_text(
        '#!/bin/sh\necho "$1 $2" >> "$KUBECTL_LOG"\n'
        'if [ "$2" = "-f" ]; then sed -n "s/^kind: /  applied /p" >> "$KUBECTL_LOG"; fi\n'
    )
    fake.chmod(0o755)
    env = {
        **os.environ,
        **secret_environment(stack),
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "KUBECTL_LOG": str(log),
        CONFIRM_VARIABLE: "yes",
    }
    for step in ("apply", "rollback"):
        subprocess.run(["sh", str(script), step], check=True, env=env, timeout=30, cwd=tmp_path)
    kinds = [obj.kind for obj in plan.state.objects]
    expected_apply = [
        {
            "Node": "label --overwrite",
            "Deployment": "patch deployment",
            "DaemonSet": "patch daemonset",
        }.get(kind, "apply -f")
        for kind in kinds
    ]
    # Reads (rollout status, the backup of an object that may exist) change nothing.
    calls = [
        line
        for line in log.read_text().splitlines()
        if line != "rollout status" and not line.startswith("get ")
    ]
    applied = [line.strip().removeprefix("applied ") for line in calls if line.startswith(" ")]
    steps = [line for line in calls if not line.startswith(" ")]
    assert steps[: len(kinds)] == expected_apply
    assert applied == [kind for kind in kinds if kind not in ("Node", "Deployment", "DaemonSet")]
    # A workload goes back with a patch of the values the first apply kept, with or without
    # the upstream manifest.
    assert [s.split()[0] for s in steps[len(kinds) :]] == [
        {"Node": "label", "Deployment": "patch", "DaemonSet": "patch"}.get(kind, "delete")
        for kind in reversed(kinds)
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("metadata: []\nkind: Deployment\n", "not an OpenELB workload"),
        ("kind: Deployment\nmetadata: {name: openelb-manager}\n", "not an OpenELB workload"),
        ("apiVersion: v1\nkind: List\nitems: []\nmetadata: {}\n", "not an OpenELB workload"),
        (
            "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: openelb-speaker}\n",
            "--workload DaemonSet openelb-speaker: this stack (OpenELB 0.5) patches "
            "Deployment openelb-manager",
        ),
    ],
    ids=["metadata-not-a-map", "no-api-version", "a-list", "another-versions-workload"],
)
def test_a_workload_file_that_cannot_be_used_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], document: str, message: str
) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(document)
    status, out, err = run_cli(capsys, "plan", "--stack", "dev", "--workload", str(path))
    assert (status, out) == (1, "")
    assert message in err


def test_the_runbook_rolls_back_exactly_what_its_first_apply_changed(tmp_path: Path) -> None:
    """On a cluster set up with the manual guide (the HA label already there), rollback puts
    that label back instead of removing it, and removes only what apply added."""
    plan = build_plan(read_stack(ROOT / "stacks" / "Pulumi.racks.yaml"))
    script = tmp_path / "runbook.sh"
    script.write_text(RENDERERS["kubectl"](plan))
    missing = run_runbook(script, tmp_path, {}, "rollback")
    assert missing.returncode == 1
    assert "run rollback where apply ran" in missing.stderr
    assert not (tmp_path / "calls").exists()  # refused before its first step
    for step in ("apply", "apply", "rollback"):  # a second apply keeps the first one's backup
        done = run_runbook(script, tmp_path, {}, step)
        assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text().splitlines()
    label = "label --overwrite --field-manager=openelb-ha node node-a1 "
    restore = [c for c in calls if c.startswith(label)]
    assert restore[-1] == (
        f"{label}lb.kubesphere.io/v1alpha1=openelb openelb.kubesphere.io/rack- openelb-ha/leaf-"
    )
    # The BgpConf did not exist before: rollback deletes it; workloads roll back and are awaited.
    assert "delete bgpconf.network.kubesphere.io default --ignore-not-found" in calls
    undo = calls.index("delete bgpconf.network.kubesphere.io default --ignore-not-found")
    assert any(c.startswith("rollout status deployment/openelb-manager") for c in calls[:undo])


def test_an_adopting_stack_forces_the_bgpconf_in_the_runbook_too(tmp_path: Path) -> None:
    entries = stack_config(ROOT / "stacks" / "Pulumi.racks.yaml")
    path = tmp_path / "stacks" / "Pulumi.adopt.yaml"
    path.parent.mkdir()
    path.write_text(
        yaml.safe_dump(
            {"config": {f"openelb-ha:{k}": v for k, v in {**entries, "adopt": True}.items()}}
        )
    )
    runbook = RENDERERS["kubectl"](build_plan(read_stack(path)))
    assert (
        "kubectl apply -f - --server-side --field-manager=openelb-ha --force-conflicts" in runbook
    )
    plain = RENDERERS["kubectl"](build_plan(read_stack(ROOT / "stacks" / "Pulumi.racks.yaml")))
    apply, _, rollback = plain.partition("\nrollback() {")
    assert "--force-conflicts" not in apply
    # Rollback puts the kept BgpConf back as it was, whoever changed it since.
    assert (
        "kubectl apply --server-side --force-conflicts --field-manager=openelb-ha "
        "-f bgpconf-default.before.yaml" in rollback
    )


def test_secret_variables_never_share_a_name() -> None:
    variables = secret_variables(["bgpPasswords.rack-a", "bgpPasswords.rack_a", "bgpPasswords.b"])
    assert variables["bgpPasswords.b"] == "OPENELB_HA_BGPPASSWORDS_B"
    assert len(set(variables.values())) == 3
    assert all(
        v.startswith("OPENELB_HA_BGPPASSWORDS_RACK_A_") for k, v in variables.items() if "rack" in k
    )


# kubectl's write commands and the flag that names their field manager.
_KUBECTL_WRITES = ("kubectl label ", "kubectl patch ", "kubectl apply ")


@pytest.mark.parametrize("stack", STACKS, ids=[p.name for p in STACKS])
def test_every_runbook_write_uses_the_components_field_manager(stack: Path) -> None:
    """One manager name, openelb-ha, whether a field was written by `pulumi up` or by the
    runbook: either can take over from the other, and a lost Pulumi state orphans nothing."""
    plan = build_plan(read_stack(stack))
    runbook = RENDERERS["kubectl"](plan)
    writes = [line for line in runbook.splitlines() if line.startswith(_KUBECTL_WRITES)]
    assert len(writes) >= len(plan.state.objects)
    for line in writes:
        assert "--field-manager=openelb-ha" in line, line
    # kubectl never sees Pulumi's own annotations, and never a client-side apply (which would
    # keep the object, a password included, in last-applied-configuration).
    assert "pulumi.com/" not in runbook
    assert all("--server-side" in line for line in writes if line.startswith("kubectl apply"))
