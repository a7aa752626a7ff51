"""BGP passwords end to end: the stack file's ``{secure: ...}`` entries, from the editor's schema
through validate, the program and the plan, to the YAML a user pipes into kubectl.

The example stack ``prod`` holds one ``secure:`` password (Pulumi ciphertext, ``v1:...``), so every
stack-wide test (goldens, schemas, policies, runbook) runs with a secret in it. The harness hands
the program what the engine would: the decrypted value (a stand-in here) in a secret key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pulumi
import pytest
import yaml

from openelb_component import cli
from openelb_component.config.errors import ConfigError
from openelb_component.config.schema import schema_text
from openelb_component.plan.build import build_plan, load_stack_config
from openelb_component.plan.render import ENVSUBST_GUARD, RENDERERS, fill_command
from openelb_component.plan.stackfile import read_stack
from tests.support.harness import (
    ROOT,
    is_secret,
    run_program,
    run_program_capturing,
    stack_config,
    stand_in_plaintext,
)
from tests.support.tools import require

PROD = ROOT / "stacks" / "Pulumi.prod.yaml"
CIPHERTEXT = "v1:VpUr4qDDRZAoxsVC:3mOwOyv7rL5WSIdtBOx4OhMoREs3oXxkvQ/wyrLo"
VARIABLE = "OPENELB_HA_BGPPASSWORDS_LEAF1"


def prod_with_passwords(tmp_path: Path, passwords: Any) -> Path:
    """The prod stack with ``openelb-ha:bgpPasswords`` replaced, as a file in a stacks/ folder."""
    entries = {**stack_config(PROD), "bgpPasswords": passwords}
    path = tmp_path / "stacks" / "Pulumi.pw.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"config": {f"openelb-ha:{k}": v for k, v in entries.items()}}))
    return path


def test_the_example_stack_holds_pulumi_ciphertext() -> None:
    assert stack_config(PROD)["bgpPasswords"] == {"leaf1": {"secure": CIPHERTEXT}}
    assert re.fullmatch(r"v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+", CIPHERTEXT)


def test_the_program_gets_the_decrypted_password_as_a_secret() -> None:
    run = run_program(stack_config(PROD))
    peer = run.named("openelb-ha-bgppeer-192-168-0-5").wire_inputs
    password = peer["spec"]["conf"]["authPassword"]
    assert is_secret(password)
    assert password["value"] == stand_in_plaintext(CIPHERTEXT)
    assert "authPassword" not in run.named("openelb-ha-bgppeer-192-168-1-5").inputs["spec"]["conf"]


# --- the editor's schema ------------------------------------------------------------------

SCHEMA_CASES: list[tuple[str, Any, bool]] = [
    ("ciphertext", {"leaf1": {"secure": CIPHERTEXT}}, True),
    ("empty-ciphertext", {"leaf1": {"secure": ""}}, False),
    ("plaintext", {"leaf1": "hunter2"}, False),
    ("secure-with-another-key", {"leaf1": {"secure": CIPHERTEXT, "value": "x"}}, False),
    ("secure-not-text", {"leaf1": {"secure": 7}}, False),
]


@pytest.mark.parametrize(
    ("passwords", "valid"), [c[1:] for c in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_the_schema_accepts_only_ciphertext_passwords(
    tmp_path: Path, passwords: Any, valid: bool
) -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema_text()))
    document = yaml.safe_load(prod_with_passwords(tmp_path, passwords).read_text())
    assert validator.is_valid(document) is valid


# --- an empty secure value ----------------------------------------------------------------


def test_an_empty_secure_value_is_refused_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = prod_with_passwords(tmp_path, {"leaf1": {"secure": ""}})
    # validate and plan: the stack file holds no ciphertext there.
    with pytest.raises(ConfigError) as caught:
        load_stack_config(read_stack(path))
    (problem,) = caught.value.problems
    assert (problem.path, problem.secret) == ("bgpPasswords.leaf1", True)
    assert problem.message.startswith("an empty secure value, which holds no password; set it")
    assert "pulumi config set --secret --path 'bgpPasswords.leaf1' <password>" in problem.message
    monkeypatch.chdir(tmp_path)
    for argv in (["validate"], *(["plan", "--stack", "pw", "--format", f] for f in RENDERERS)):
        assert cli.main(argv) == 1, argv
        out, err = capsys.readouterr()
        assert CIPHERTEXT not in out + err
        assert "bgpPasswords.leaf1 = [secret]: an empty secure value" in err, argv
    # The program: what an empty value decrypts to is refused too, and nothing registered.
    run, error = run_program_capturing(stack_config(path))
    assert isinstance(error, pulumi.RunError)
    assert "bgpPasswords.leaf1 = [secret]: " in str(error)
    assert run.registrations == []


# --- the YAML plan: references that envsubst fills, never an appliable placeholder ------------


def yaml_plan(tmp_path: Path) -> str:
    return RENDERERS["yaml"](build_plan(read_stack(PROD)))


def test_the_yaml_plan_refers_to_the_password_and_says_how_to_fill_it(tmp_path: Path) -> None:
    text = yaml_plan(tmp_path)
    assert "[secret]" not in text
    assert f'    authPassword: "${{{VARIABLE}}}"\n' in text
    assert f"#   {fill_command([VARIABLE])}" in text.splitlines()
    assert fill_command([VARIABLE]).endswith(
        f"envsubst '${{{VARIABLE}}} {ENVSUBST_GUARD}' < plan.yaml | kubectl apply -f -"
    )
    # The guard opens the first document and the password's own.
    documents = text.split("\n---\n")[1:]
    guarded = [i for i, doc in enumerate(documents) if f"\n{ENVSUBST_GUARD}\n" in doc]
    peer = next(i for i, doc in enumerate(documents) if "authPassword" in doc)
    assert guarded == [0, peer]


def test_the_unfilled_yaml_plan_is_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(yaml.YAMLError):
        list(yaml.safe_load_all(yaml_plan(tmp_path)))


def kubectl_parse_error(text: str, tmp_path: Path) -> str:
    """What ``kubectl apply`` says about a file, without a cluster: a parse error comes before
    any request, anything else means it parsed the file and went on to the (absent) server."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    path = tmp_path / "plan.yaml"
    path.write_text(text)
    done = subprocess.run(
        ["kubectl", "apply", "--dry-run=client", "-f", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": str(tmp_path / "no-kubeconfig")},
    )
    assert done.returncode != 0  # no cluster here, either way
    return done.stderr


def test_kubectl_refuses_the_unfilled_yaml_plan_before_any_request(tmp_path: Path) -> None:
    error = kubectl_parse_error(yaml_plan(tmp_path), tmp_path)
    assert "error converting YAML to JSON" in error


def run_fill_command(text: str, tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    """The plan's own fill command, run by sh, with a kubectl that keeps what it is fed."""
    (command,) = [line for line in text.splitlines() if "< plan.yaml" in line]
    (tmp_path / "plan.yaml").write_text(text)
    fake = tmp_path / "bin" / "kubectl"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text('#!/bin/sh\ncat > "$FED"\n')
    fake.chmod(0o755)
    fed = tmp_path / "fed.yaml"
    done = subprocess.run(
        ["sh", "-c", command.removeprefix("#").strip()],
        cwd=tmp_path,
        env={"PATH": f"{fake.parent}:{os.environ['PATH']}", "FED": str(fed), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, fed.read_text() if fed.exists() else ""


def test_the_fill_command_refuses_an_unset_password(tmp_path: Path) -> None:
    require("envsubst")
    status, fed = run_fill_command(yaml_plan(tmp_path), tmp_path, {})
    assert status != 0
    assert fed == ""  # kubectl never ran


# A newline or a quote in the value would end the YAML scalar and add fields.
NOT_PASSWORDS = {
    "newline-adds-a-field": 'x"\n    peerAs: 666\n    y: "z',
    "quote": 'x"y',
    "backslash": "x\\y",
    "space": "two words",
    "81-bytes": "x" * 81,
    "non-ascii": "pässword",
    "empty": "",
}


@pytest.mark.parametrize("value", list(NOT_PASSWORDS.values()), ids=list(NOT_PASSWORDS))
def test_the_fill_command_refuses_what_is_not_a_password(tmp_path: Path, value: str) -> None:
    require("envsubst")
    status, fed = run_fill_command(yaml_plan(tmp_path), tmp_path, {VARIABLE: value})
    assert status != 0
    assert fed == ""  # kubectl never ran


def test_the_filled_yaml_plan_is_what_the_program_applies(tmp_path: Path) -> None:
    require("envsubst")
    # Every character a password may hold that a shell, YAML or envsubst treats specially.
    password = "p'a$s`w`#1:{x}&|;<>*?!~%$HOME${PATH}-[]"  # noqa: S105 - the test's own
    status, fed = run_fill_command(yaml_plan(tmp_path), tmp_path, {VARIABLE: password})
    assert status == 0
    peers = [doc for doc in yaml.safe_load_all(fed) if doc and doc["kind"] == "BgpPeer"]
    assert [p["spec"]["conf"].get("authPassword") for p in peers] == [password, None]
    assert ENVSUBST_GUARD not in fed
    assert "error converting YAML" not in kubectl_parse_error(fed, tmp_path)
