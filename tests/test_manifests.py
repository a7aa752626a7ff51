"""``make manifests``, and a plan and the tests without them.

GitHub is not reachable from the test machines, so the download itself is not run here: the
downloader is handed the local copies (``OPENELB_MANIFESTS``) in its place, or fails as a
machine without GitHub access fails, and everything around it (the committed sums, the
refusal of a wrong file, nothing written on a mismatch, a file already present verified rather
than fetched, the error that says how to place the files by hand) is tested. The committed sums
are those of ``deploy/openelb.yaml`` at the tags v0.5.1 and v0.6.0 (checked against a clone of
openelb/openelb when they were committed), which is also what the local copies are.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import urllib.error
from pathlib import Path

import pytest

from openelb_component import cli
from openelb_component.plan import upstream
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.manifests import (
    SUMS_FILE,
    URL,
    ManifestsUnavailable,
    committed_sums,
    fetch_manifests,
)
from openelb_component.plan.policyconfig import policy_config, policy_config_path
from openelb_component.plan.stackfile import read_stack, stack_name
from tests.support.harness import ROOT, stack_files
from tests.support.manifests import upstream_documents


def local_copy(url: str) -> bytes:
    """Stands in for the download: the local manifest of the tag in ``url``."""
    tag = url.split("/openelb/openelb/", 1)[1].split("/", 1)[0]
    version = next(v for v, t in upstream.RELEASES.items() if t == tag)
    upstream_documents(version)  # skips, saying why, without the local copies
    return upstream.manifest_path(version).read_bytes()


def test_the_committed_sums_are_the_local_manifests() -> None:
    sums = committed_sums()
    assert sorted(sums) == [f"{tag}/openelb.yaml" for tag in sorted(upstream.RELEASES.values())]
    for version, tag in upstream.RELEASES.items():
        data = local_copy(URL.format(tag=tag))
        assert hashlib.sha256(data).hexdigest() == sums[f"{tag}/openelb.yaml"], version


def test_make_manifests_fetches_each_pinned_tag_and_verifies_it(tmp_path: Path) -> None:
    fetched: list[str] = []

    def download(url: str) -> bytes:
        fetched.append(url)
        return local_copy(url)

    report = fetch_manifests(tmp_path, download)
    assert fetched == [
        "https://raw.githubusercontent.com/openelb/openelb/v0.5.1/deploy/openelb.yaml",
        "https://raw.githubusercontent.com/openelb/openelb/v0.6.0/deploy/openelb.yaml",
    ]
    assert report == [
        f"{tmp_path}/v0.5.1/openelb.yaml: downloaded from {fetched[0]}, sha256 verified",
        f"{tmp_path}/v0.6.0/openelb.yaml: downloaded from {fetched[1]}, sha256 verified",
    ]
    # Present now: verified again, not fetched again.
    assert fetch_manifests(tmp_path, download)[0].endswith("present, sha256 verified")
    assert len(fetched) == 2


def test_a_download_with_another_sum_is_refused_and_not_written(tmp_path: Path) -> None:
    def tampered(url: str) -> bytes:
        return local_copy(url) + b"# one more line\n"

    url = re.escape(URL.format(tag="v0.5.1"))
    pattern = rf"v0\.5\.1/openelb\.yaml: sha256 [0-9a-f]{{64}} \(downloaded from {url}\), but"
    with pytest.raises(ValueError, match=pattern):
        fetch_manifests(tmp_path, tampered)
    assert not (tmp_path / "v0.5.1").exists()


def test_a_changed_file_already_there_is_refused(tmp_path: Path) -> None:
    fetch_manifests(tmp_path, local_copy)
    path = tmp_path / "v0.6.0" / "openelb.yaml"
    path.write_bytes(path.read_bytes().replace(b"openelb-speaker", b"openelb-speakr", 1))
    with pytest.raises(ValueError, match="remove it and run `make manifests` again"):
        fetch_manifests(tmp_path, local_copy)


def no_github(url: str) -> bytes:
    """A machine without access to GitHub, as urllib reports it."""
    raise urllib.error.URLError(OSError(-2, "Name or service not known"))


def test_without_github_the_error_names_each_address_and_how_to_place_the_files(
    tmp_path: Path,
) -> None:
    sums = committed_sums()
    with pytest.raises(ManifestsUnavailable) as caught:
        fetch_manifests(tmp_path, no_github)
    url = "https://raw.githubusercontent.com/openelb/openelb/{}/deploy/openelb.yaml".format
    refused = "<urlopen error [Errno -2] Name or service not known>"
    assert str(caught.value) == (
        f"OpenELB's install manifests are not in {tmp_path}: "
        f"cannot download {url('v0.5.1')} ({refused}) into {tmp_path}/v0.5.1/openelb.yaml; "
        f"cannot download {url('v0.6.0')} ({refused}) into {tmp_path}/v0.6.0/openelb.yaml. "
        "Without access to GitHub, copy them there by hand: "
        f"{tmp_path}/v0.5.1/openelb.yaml (sha256 {sums['v0.5.1/openelb.yaml']}); "
        f"{tmp_path}/v0.6.0/openelb.yaml (sha256 {sums['v0.6.0/openelb.yaml']}); "
        f"`cd {tmp_path} && sha256sum -c {SUMS_FILE}` checks them. "
        "Or set OPENELB_MANIFESTS to a folder that holds them."
    )
    assert not any(tmp_path.iterdir())


def test_one_file_placed_by_hand_is_verified_and_only_the_other_is_asked_for(
    tmp_path: Path,
) -> None:
    fetch_manifests(tmp_path, local_copy)
    (tmp_path / "v0.6.0" / "openelb.yaml").unlink()
    with pytest.raises(ManifestsUnavailable) as caught:
        fetch_manifests(tmp_path, no_github)
    url = URL.format(tag="v0.6.0")
    assert str(caught.value).split(". Without")[0] == (
        f"OpenELB's install manifests are not in {tmp_path}: cannot download {url} (<urlopen "
        f"error [Errno -2] Name or service not known>) into {tmp_path}/v0.6.0/openelb.yaml"
    )


def test_the_placing_by_hand_the_error_suggests_works(tmp_path: Path) -> None:
    """The error's own check command accepts the two files."""
    fetch_manifests(tmp_path, local_copy)
    done = subprocess.run(
        ["sha256sum", "-c", str(SUMS_FILE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stdout.split()) == (
        0,
        ["v0.5.1/openelb.yaml:", "OK", "v0.6.0/openelb.yaml:", "OK"],
    )


def test_the_command_says_nothing_when_quiet_and_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fetch_manifests(tmp_path, local_copy)
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path))
    assert cli.main(["manifests", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
    assert cli.main(["manifests"]) == 0
    assert capsys.readouterr().out.count(": present, sha256 verified\n") == 2


def test_the_manifests_folder_defaults_to_the_shared_copy_else_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = {URL.format(tag=tag): local_copy(URL.format(tag=tag)) for tag in ("v0.5.1", "v0.6.0")}
    monkeypatch.delenv(upstream.ENV_VAR, raising=False)
    monkeypatch.setattr(upstream, "SHARED_DIR", tmp_path / "shared" / "openelb")
    assert upstream.manifests_dir() == ROOT / ".manifests"
    fetch_manifests(upstream.SHARED_DIR, copies.__getitem__)
    assert upstream.manifests_dir() == tmp_path / "shared" / "openelb"
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path / "mine"))
    assert upstream.manifests_dir() == tmp_path / "mine"


def test_the_sums_file_is_sha256sum_format() -> None:
    for line in SUMS_FILE.read_text().splitlines():
        digest, name = line.split("  ")
        assert len(digest) == 64 and (ROOT / "deploy" / SUMS_FILE.name).is_file()
        assert name.endswith("/openelb.yaml")


def test_git_ignores_the_downloaded_manifests() -> None:
    assert ".manifests/" in (ROOT / ".gitignore").read_text().splitlines()


# --- a plan without the manifests --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["markdown", "yaml", "kubectl"])
@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
def test_an_unchecked_plan_says_so_first_and_fails_unless_allowed(
    fmt: str,
    allow: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path / "none-here"))
    argv = ["plan", "--stack", "dev", "--format", fmt, *(["--allow-skipped"] if allow else [])]
    status = cli.main(argv)
    out, err = capsys.readouterr()
    # A runbook keeps its #! line first, so that it runs as a program.
    first = out.splitlines()[1 if fmt == "kubectl" else 0]
    assert "UNCHECKED: 1 check(s) of this plan were skipped" in first
    assert "run `make manifests` and plan again" in first
    assert first.startswith("> **" if fmt == "markdown" else "# ")
    assert status == (0 if allow else cli.UNCHECKED)
    # The end of the output says what UNCHECKED means and the three ways on.
    verdict = (
        "exit status 0: an unchecked plan is accepted (--allow-skipped, the default of `make "
        "plan`; STRICT=1 refuses it)"
        if allow
        else "exit status 3"
    )
    assert err.splitlines()[-3:] == [
        f"openelb-ha: UNCHECKED ({verdict}). The plan above is complete, but 1 of its checks "
        "were skipped: they apply each workload patch to OpenELB's own workload and validate "
        "the result against the Kubernetes and OpenELB schemas, and they need OpenELB's "
        f"install manifest, which is not at {tmp_path}/none-here/v0.5.1/openelb.yaml.",
        "  To check it: `make manifests` downloads the manifests and verifies their sha256 "
        '(without access to GitHub, place them by hand: README.md, "Without GitHub"), or '
        "check against your cluster's own workload: `make plan STACK=dev "
        "WORKLOAD=manager.yaml` (docs/plan.md).",
        "  To accept it unchecked: `make plan STACK=dev` (without STRICT=1) or "
        "`--allow-skipped` exits 0; the first line still says UNCHECKED.",
    ]


def test_a_checked_plan_has_no_unchecked_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream_documents("0.5")
    monkeypatch.chdir(ROOT)
    assert cli.main(["plan", "--stack", "dev"]) == 0
    assert "UNCHECKED" not in capsys.readouterr().out


# --- the policy config a stack needs -----------------------------------------------------


@pytest.mark.parametrize("stack", stack_files(), ids=[stack_name(p) for p in stack_files()])
def test_the_committed_policy_configs_are_the_derived_ones(
    stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make stack-files`` writes what a maintainer wrote by hand for every example."""
    monkeypatch.chdir(ROOT)
    existing = policy_config_path(stack_name(stack))
    config = load_stack_config(read_stack(stack))
    assert policy_config(config, None, existing) == existing.read_text()


def test_make_plan_fetches_the_manifests_first_when_they_are_absent() -> None:
    """`make plan` fetches missing manifests quietly (a present one is verified), then plans
    either way: without them the plan says UNCHECKED first and exits 3."""
    recipe = subprocess.run(
        ["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "plan"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert recipe[0] == ".venv/bin/python -m openelb_component manifests --quiet >&2 || true"
    assert recipe[1].startswith(".venv/bin/python -m openelb_component plan --stack dev ")
