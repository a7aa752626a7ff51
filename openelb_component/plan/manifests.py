"""Fetch OpenELB's pinned install manifests and check them against the committed sums.

The plan checks every workload patch against the upstream manifest of the configured release
(``upstream.py``). A fresh clone has none: ``make manifests`` (and ``make test``, ``make plan``
when they are missing) downloads ``deploy/openelb.yaml`` of each pinned tag from the
openelb/openelb repository into a folder git ignores, and accepts a file only when its sha256 is
the one in ``deploy/openelb-manifests.sha256`` (``sha256sum -c`` format; the sums are those of
the files at the tags ``v0.5.1`` and ``v0.6.0``). A file already there is verified, not
downloaded again. Without access to GitHub the two files can be put there by hand; every error
says where, from which address, and with which sum.
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path

from openelb_component.plan import upstream

SUMS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "openelb-manifests.sha256"
URL = "https://raw.githubusercontent.com/openelb/openelb/{tag}/deploy/openelb.yaml"
TIMEOUT_SECONDS = 20
"""Per network operation: a machine without GitHub access learns it in seconds, not minutes."""

Download = Callable[[str], bytes]


class ManifestsUnavailable(Exception):
    """Some manifest is neither there nor downloadable; the message lists each with its address,
    the place and the sum to put it there by hand."""


def committed_sums(path: Path = SUMS_FILE) -> dict[str, str]:
    """``v0.5.1/openelb.yaml`` -> its sha256, as committed."""
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - fixed https URL
        data: bytes = response.read()
        return data


def missing(folder: Path) -> list[str]:
    """The manifests (``v0.5.1/openelb.yaml``, ...) not in ``folder``."""
    names = [upstream.manifest_name(version) for version in sorted(upstream.RELEASES)]
    return [name for name in names if not (folder / name).is_file()]


def by_hand(folder: Path, sums: dict[str, str]) -> str:
    """How to place the files without GitHub access."""
    files = "; ".join(f"{folder / name} (sha256 {sums[name]})" for name in sorted(sums))
    return (
        f"Without access to GitHub, copy them there by hand: {files}; "
        f"`cd {folder} && sha256sum -c {SUMS_FILE}` checks them. Or set {upstream.ENV_VAR} to "
        "a folder that holds them."
    )


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: readers (parallel test workers) never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    partial.replace(path)


def fetch_manifests(
    folder: Path, download: Download = _download, sums: dict[str, str] | None = None
) -> list[str]:
    """Make ``folder`` hold every pinned manifest with its committed sum; one line per file
    saying what was done. ``ValueError`` naming the file when a sum differs: nothing of a
    mismatching download is written. ``ManifestsUnavailable`` listing every file that could not
    be downloaded (the others are written)."""
    sums = committed_sums() if sums is None else sums
    report: list[str] = []
    failed: list[str] = []
    for tag in sorted(upstream.RELEASES.values()):
        name = f"{tag}/openelb.yaml"
        path = folder / name
        url = URL.format(tag=tag)
        if path.is_file():
            data, how = path.read_bytes(), "present"
        else:
            try:
                data, how = download(url), f"downloaded from {url}"
            except OSError as error:  # URLError, HTTPError, timeouts, DNS: all OSError
                failed.append(f"cannot download {url} ({error}) into {path}")
                continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != sums[name]:
            origin = "" if how == "present" else f" (downloaded from {url})"
            raise ValueError(
                f"{path}: sha256 {digest}{origin}, but {SUMS_FILE.name} pins {sums[name]}; not "
                f"the OpenELB {tag} manifest: remove it and run `make manifests` again"
            )
        if how != "present":
            _write(path, data)
        report.append(f"{path}: {how}, sha256 verified")
    if failed:
        raise ManifestsUnavailable(
            f"OpenELB's install manifests are not in {folder}: {'; '.join(failed)}. "
            + by_hand(folder, sums)
        )
    return report
