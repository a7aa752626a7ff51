"""A copy of the repository as a fresh clone has it, for tests that run ``make`` in it.

The copy holds the files git would commit (tracked, and new ones not ignored: what a clone of
this change will hold) and nothing git ignores (no ``.manifests/``, caches or build output). It
shares this checkout's ``.venv`` and ``node_modules`` by links, so nothing is installed again:
the files that venv was installed from get the oldest timestamp in the copy, so that no ``make``
there (nor one a test in the copy runs) takes the copied files for newer and reinstalls.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.support.harness import ROOT
from tests.support.manifests import UNAVAILABLE_VAR

LINKED = (".venv", "node_modules")
INSTALLED_FROM = (
    "requirements.txt",
    "requirements-dev.txt",
    "pyproject.toml",
    "package.json",
    "package-lock.json",
)


def copy_of_the_repository(tmp_path: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    copy = tmp_path / "repo"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    for name in LINKED:
        if (ROOT / name).is_dir():
            (copy / name).symlink_to(ROOT / name)
    for name in INSTALLED_FROM:
        os.utime(copy / name, (0, 0))
    return copy


def users_environment(**extra: str) -> dict[str, str]:
    """This process's environment as a user's shell has it: not CI, no test run's own
    variables, no manifests folder chosen, and not inside a make (under `make test-slow` make's
    own variables would make the inner make print its directory and take the outer's flags)."""
    dropped = {"CI", "OPENELB_MANIFESTS", UNAVAILABLE_VAR, "MAKELEVEL", "MAKEFLAGS", "MFLAGS"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith("PYTEST_")
    }
    return {**env, **extra}


def run_in(copy: Path, words: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        words, cwd=copy, env=env, capture_output=True, text=True, timeout=1200, check=False
    )
