"""``make manifests`` and a plan without them.

GitHub is not reachable from the test machines, so the download itself is not run here: the
downloader is handed the local copies (``OPENELB_MANIFESTS``) in its place, and everything
around it (the committed sums, the refusal of a wrong file, nothing written on a mismatch, a
file already present verified rather than fetched) is tested. The committed sums are those of
``deploy/openelb.yaml`` at the tags v0.5.1 and v0.6.0 (checked against a clone of
openelb/openelb when they were committed), which is also what the local copies are.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from openelb_component import cli
from openelb_component.plan import upstream
from openelb_component.plan.build import load_stack_config
from openelb_component.plan.manifests import SUMS_FILE, URL, committed_sums, fetch_manifests
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

    with pytest.raises(ValueError, match=r"v0\.5\.1/openelb\.yaml: sha256 [0-9a-f]{64}, but"):
        fetch_manifests(tmp_path, tampered)
    assert not (tmp_path / "v0.5.1").exists()


def test_a_changed_file_already_there_is_refused(tmp_path: Path) -> None:
    fetch_manifests(tmp_path, local_copy)
    path = tmp_path / "v0.6.0" / "openelb.yaml"
    path.write_bytes(path.read_bytes().replace(b"openelb-speaker", b"openelb-speakr", 1))
    with pytest.raises(ValueError, match="remove it and run `make manifests` again"):
        fetch_manifests(tmp_path, local_copy)


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
    first = out.splitlines()[0]
    assert "UNCHECKED: " in first and "run `make manifests`" in first
    assert first.startswith("> **" if fmt == "markdown" else "# ")
    assert status == (0 if allow else 1)
    assert "check(s) skipped (see above): the result is unchecked" in err


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


def test_make_plan_fetches_the_manifests_first_when_they_are_absent(tmp_path: Path) -> None:
    """`make plan` runs `make manifests` when the folder lacks them (then plans either way:
    without them the plan says UNCHECKED first and exits 1); not when they are there."""
    absent = subprocess.run(
        ["make", "-n", "plan", f"OPENELB_MANIFESTS={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert f"test -f {tmp_path}/v0.5.1/openelb.yaml -a -f {tmp_path}/v0.6.0/openelb.yaml" in absent
    assert "|| make -s manifests >&2 || true" in absent
    assert absent.index("make -s manifests") < absent.index("openelb_component plan")
