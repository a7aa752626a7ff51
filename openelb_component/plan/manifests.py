"""Fetch OpenELB's pinned install manifests and check them against the committed sums.

The plan checks every workload patch against the upstream manifest of the configured release
(``upstream.py``). A fresh clone has none: ``make manifests`` downloads ``deploy/openelb.yaml``
of each pinned tag from the openelb/openelb repository into a folder git ignores, and accepts a
file only when its sha256 is the one in ``deploy/openelb-manifests.sha256`` (``sha256sum -c``
format; the sums are those of the files at the tags ``v0.5.1`` and ``v0.6.0``). A file already
there is verified, not downloaded again.
"""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Callable
from pathlib import Path

from openelb_component.plan import upstream

SUMS_FILE = Path(__file__).resolve().parents[2] / "deploy" / "openelb-manifests.sha256"
URL = "https://raw.githubusercontent.com/openelb/openelb/{tag}/deploy/openelb.yaml"

Download = Callable[[str], bytes]


def committed_sums(path: Path = SUMS_FILE) -> dict[str, str]:
    """``v0.5.1/openelb.yaml`` -> its sha256, as committed."""
    sums: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https URL
        data: bytes = response.read()
        return data


def fetch_manifests(
    folder: Path, download: Download = _download, sums: dict[str, str] | None = None
) -> list[str]:
    """Make ``folder`` hold every pinned manifest with its committed sum; one line per file
    saying what was done. ``ValueError`` naming the file when a sum differs: nothing of a
    mismatching download is written."""
    sums = committed_sums() if sums is None else sums
    report: list[str] = []
    for tag in sorted(upstream.RELEASES.values()):
        name = f"{tag}/openelb.yaml"
        path = folder / name
        if path.is_file():
            data, how = path.read_bytes(), "present"
        else:
            url = URL.format(tag=tag)
            data, how = download(url), f"downloaded from {url}"
        digest = hashlib.sha256(data).hexdigest()
        if digest != sums[name]:
            raise ValueError(
                f"{path}: sha256 {digest}, but {SUMS_FILE.name} pins {sums[name]}; not the "
                f"OpenELB {tag} manifest: remove it and run `make manifests` again"
            )
        if how != "present":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        report.append(f"{path}: {how}, sha256 verified")
    return report
