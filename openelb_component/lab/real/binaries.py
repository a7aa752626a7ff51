"""Where the real OpenELB binaries come from.

They should come from the Go module proxy, as every Go-built tool of the project does
(``openelb_component/lab/gotools.py``). They cannot: on 2026-12-03 ``proxy.golang.org`` answered
``403 Forbidden`` / ``This module version is not available.`` for ``github.com/openelb/openelb``
at v0.5.1, v0.6.0, its version list, and the 60 pseudo-versions of the commits nearest those tags,
and for the module's former paths ``github.com/kubesphere/porter`` and
``github.com/kubesphere/porterlb`` (``docs/lab.md``, "Real OpenELB"). So the real mode runs only
with binaries the user supplies (``--openelb-binaries DIR``): OpenELB's own, built from its
source at the tag or copied out of its release image; the run's report names their SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from openelb_component.lab.fabric import LabUnavailable

PROXY_ANSWER = "403 Forbidden: This module version is not available."
"""What proxy.golang.org answers for github.com/openelb/openelb (every version tried)."""

NEEDED = {"0.5": ("manager",), "0.6": ("speaker", "controller")}
"""The binaries of each release line: 0.5.1's ``cmd/manager`` (controller and speaker in one),
0.6.0's ``cmd/speaker`` and ``cmd/controller``."""


class BinariesUnavailable(LabUnavailable):
    """No usable OpenELB binaries: the message says why and what to pass."""


@dataclass(frozen=True)
class Binaries:
    version: str
    paths: dict[str, Path]
    sha256: dict[str, str]

    def path(self, name: str) -> Path:
        return self.paths[name]


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find(version: str, folder: Path | None) -> Binaries:
    """The binaries of ``version`` ("0.5" or "0.6") in ``folder``."""
    if version not in NEEDED:
        raise BinariesUnavailable(f"OpenELB {version!r} has no real mode (known: 0.5, 0.6)")
    names = NEEDED[version]
    if folder is None:
        raise BinariesUnavailable(
            "the real OpenELB cannot be built here: the Go module proxy answers "
            f"{PROXY_ANSWER!r} for github.com/openelb/openelb at every version (docs/lab.md, "
            f"'Real OpenELB'); pass --openelb-binaries DIR with OpenELB {version}'s own "
            f"{', '.join(names)} binaries"
        )
    paths: dict[str, Path] = {}
    problems: list[str] = []
    for name in names:
        path = folder / name
        if not path.is_file():
            problems.append(f"{path}: no such file")
        elif not path.stat().st_mode & 0o111:
            problems.append(f"{path}: not executable")
        else:
            paths[name] = path.resolve()
    if problems:
        raise BinariesUnavailable(
            f"--openelb-binaries {folder}: OpenELB {version} needs {', '.join(names)}; "
            + "; ".join(problems)
        )
    return Binaries(version, paths, {name: _digest(path) for name, path in paths.items()})
