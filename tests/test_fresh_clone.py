"""A newcomer's first hour: the README's two commands in a fresh clone, without GitHub.

The repository is copied as a clone of this change has it (``tests/support/clone.py``) into a
folder with no ``../shared`` beside it, and GitHub is unreachable: every download goes to a proxy
on a closed local port, so it fails at once, as on a machine without access. Then, exactly as the
README writes them, ``make test`` must pass, naming what it skipped and why, and ``make plan
STACK=dev`` must print the plan marked UNCHECKED and say what that means; with the manifests
placed by hand as the README shows, the plan is checked.
"""

from __future__ import annotations

import re
import shlex
import socket
from pathlib import Path

import pytest

from openelb_component.cli import UNCHECKED
from openelb_component.plan import upstream
from openelb_component.plan.manifests import URL
from tests.support.clone import copy_of_the_repository, run_in, users_environment
from tests.support.harness import ROOT
from tests.support.manifests import require_manifests

# Runs the whole `make test` in a copy: `make test-slow` (CI runs it), not `make test`.
pytestmark = pytest.mark.slow

README = (ROOT / "README.md").read_text()


def without_github() -> dict[str, str]:
    """A user's environment whose downloads all fail: a proxy on a port nothing listens on
    (local connections, such as the policy pack's gRPC server, bypass it, as users set it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proxy = f"http://127.0.0.1:{port}"
    env = users_environment()
    env = {key: value for key, value in env.items() if not key.lower().endswith("_proxy")}
    local = "localhost,127.0.0.1"
    return {
        **env,
        **{name: proxy for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")},
        **{name: local for name in ("no_proxy", "NO_PROXY")},
    }


def readme_command(starts: str) -> list[str]:
    (line,) = [line for line in README.splitlines() if line.startswith(starts)]
    return shlex.split(line.split(" #", 1)[0])


def by_hand_block() -> list[str]:
    """The README's commands that place the manifests by hand."""
    section = README.split("## Without GitHub", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return str(block).strip().splitlines()


@pytest.fixture
def fresh_clone(tmp_path: Path) -> Path:
    copy = copy_of_the_repository(tmp_path)
    assert not (copy.parent / "shared").exists() and not (copy / ".manifests").exists()
    return copy


def test_make_test_passes_without_github_and_names_its_skips(fresh_clone: Path) -> None:
    done = run_in(fresh_clone, readme_command("make test "), without_github())
    output = done.stdout + done.stderr
    failed = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR", "E  "))]
    assert done.returncode == 0, "\n".join(failed[:40]) or output[-4000:]
    summary = output.rsplit("\n", 3)[-2:]
    assert re.search(r"\d+ passed, \d+ skipped", "".join(summary)), summary
    skips = [line for line in output.splitlines() if line.startswith("SKIPPED [")]
    assert skips
    for tag in ("v0.5.1", "v0.6.0"):
        assert f"cannot download {URL.format(tag=tag)} (" in output
    # Every skip says why; those of the manifests name the addresses and the way by hand.
    manifest_skips = [line for line in skips if "OpenELB's install manifests" in line]
    assert manifest_skips
    for line in manifest_skips:
        assert "Without access to GitHub, copy them there by hand: " in line
        assert f"{fresh_clone}/.manifests/v0.5.1/openelb.yaml (sha256 " in line
    assert not (fresh_clone / ".manifests" / "v0.5.1" / "openelb.yaml").exists()


def test_make_plan_prints_the_plan_unchecked_and_says_how_to_go_on(fresh_clone: Path) -> None:
    """The README's main job works offline: the whole plan, marked UNCHECKED first and
    explained last, exit 0; STRICT=1 (for scripts and CI gates) makes the same plan exit 3."""
    done = run_in(fresh_clone, readme_command("make plan STACK=dev "), without_github())
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("> **UNCHECKED: ")
    assert "## " in done.stdout  # the whole plan follows
    assert f"cannot download {URL.format(tag='v0.5.1')} (" in done.stderr
    assert "openelb-ha: UNCHECKED (exit status 0: an unchecked plan is accepted" in done.stderr
    assert "To check it: `make manifests`" in done.stderr
    strict = run_in(
        fresh_clone, [*readme_command("make plan STACK=dev "), "STRICT=1"], without_github()
    )
    assert strict.returncode == 2  # make's own status for a failed command
    assert f"openelb-ha: UNCHECKED (exit status {UNCHECKED})" in strict.stderr
    assert re.search(rf"make: \*\*\* \[Makefile:\d+: plan\] Error {UNCHECKED}", strict.stderr)
    assert strict.stdout == done.stdout


def test_the_manifests_placed_by_hand_as_the_readme_shows_make_the_plan_checked(
    fresh_clone: Path,
) -> None:
    """The README's commands, with its `~/Downloads` copies standing for files fetched on
    another machine (here: this checkout's own manifests)."""
    for version in sorted(upstream.RELEASES):
        require_manifests(version)
    downloads = fresh_clone.parent / "Downloads"
    downloads.mkdir()
    for version, tag in upstream.RELEASES.items():
        (downloads / f"openelb-{tag}.yaml").write_bytes(
            upstream.manifest_path(version).read_bytes()
        )
    env = without_github()
    cwd = fresh_clone
    for line in by_hand_block():
        for command in line.split(" && "):
            words = [w.replace("~/Downloads", str(downloads)) for w in shlex.split(command)]
            if words[0] == "cd":
                cwd = cwd / words[1]
                continue
            done = run_in(cwd, words, env)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert done.stdout.split() == ["v0.5.1/openelb.yaml:", "OK", "v0.6.0/openelb.yaml:", "OK"]
    checked = run_in(fresh_clone, readme_command("make plan STACK=dev "), env)
    assert checked.returncode == 0, checked.stderr
    assert "UNCHECKED" not in checked.stdout + checked.stderr


def test_make_stack_files_without_the_manifests_fails_saying_why(fresh_clone: Path) -> None:
    """The golden plans are checked plans: without the manifests none is written, and the
    command fails with the reason instead of passing with nothing done."""
    goldens = fresh_clone / "tests" / "golden"
    before = {path.name: path.read_text() for path in goldens.glob("dev.*")}
    done = run_in(fresh_clone, ["make", "stack-files", "STACK=dev"], without_github())
    assert done.returncode == 2
    assert "the golden plans of stack dev need OpenELB's install manifests: " in done.stdout
    assert f"cannot download {URL.format(tag='v0.5.1')} (" in done.stdout
    assert {path.name: path.read_text() for path in goldens.glob("dev.*")} == before
