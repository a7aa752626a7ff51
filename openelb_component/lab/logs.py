"""``lab --logs DIR``: a run's process logs, kept after the run removed its folders.

A lab's folders go when it ends (a failed run's are kept where they are); a run that passed
but looks odd, or a real-mode run whose speakers' own words explain a difference, needs the
logs afterwards. Only logs are copied: the routers' and modelled speakers' configuration files
hold the lab's passwords, and the control plane's folder holds keys and etcd's data, so any
file whose name does not end in ``LOG_SUFFIXES`` stays behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

LOG_SUFFIXES = (".log", ".out")
"""Daemons' logs (``.log``) and the modelled speakers' gobgpd output (``.out``)."""


def save_logs(sources: Mapping[str, Path], target: Path) -> list[Path]:
    """Each source folder's log files, copied into ``target/<label>/`` at their relative
    paths; returns the copies, sorted. A log still being written is copied as it is now."""
    copied: list[Path] = []
    for label, folder in sources.items():
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.is_symlink() or not path.name.endswith(LOG_SUFFIXES):
                continue
            copy = target / label / path.relative_to(folder)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
            copied.append(copy)
    return sorted(copied)
