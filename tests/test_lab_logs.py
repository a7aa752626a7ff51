"""``lab --logs DIR`` (``lab/logs.py``): which files of a run's folders are kept, and where.

The folders are built here the way a run lays them out (``Fabric.workdir``: the modelled
speakers' gobgpd output and configuration, each router's folder; ``real/``: OpenELB's pods; the
control plane's folder with its keys and etcd's data); no root needed. That a real run keeps
its logs is ``tests/test_lab.py``'s BIRD case and ``tests/test_lab_real.py``'s steady case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from openelb_component.lab.logs import save_logs

RUN_FOLDER = {
    # path in the folder: kept?
    "oelab1-n0.out": True,  # a modelled speaker's gobgpd output
    "oelab1-n0.toml": False,  # its configuration: the lab's password
    "router-0/bgpd.out": True,
    "router-0/frr.conf": False,  # the router's configuration: the lab's password
    "router-0/bird.conf": False,
    "router-0/bgpd.vty": False,  # a socket's name, here a file
    "real/master1/speaker.log": True,
    "real/controller.log": True,
    "real/apilink-oelab1-n0.log": True,
    "real/master1/kubeconfig": False,  # the pod's service-account token
}
CONTROL_PLANE_FOLDER = {
    "kube-apiserver.log": True,
    "etcd.log": True,
    "pki/ca.key": False,
    "etcd-data/member/snap/db": False,
    "admin.kubeconfig": False,
}


def make(folder: Path, files: dict[str, bool]) -> None:
    for name in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"contents of {name}\n")


@pytest.fixture
def run(tmp_path: Path) -> dict[str, Path]:
    folders = {"lab": tmp_path / "workdir", "control-plane": tmp_path / "oecp1-x"}
    make(folders["lab"], RUN_FOLDER)
    make(folders["control-plane"], CONTROL_PLANE_FOLDER)
    return folders


def test_only_logs_are_copied_each_under_its_folder_s_label_at_its_own_path(
    run: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "kept" / "lab1"
    copied = save_logs(run, target)
    expected = sorted(
        [target / "lab" / name for name, kept in RUN_FOLDER.items() if kept]
        + [target / "control-plane" / name for name, kept in CONTROL_PLANE_FOLDER.items() if kept]
    )
    assert copied == expected
    assert sorted(p for p in (tmp_path / "kept").rglob("*") if p.is_file()) == expected
    for path in copied:
        name = "/".join(path.relative_to(target).parts[1:])
        assert path.read_text() == f"contents of {name}\n"


def test_a_log_named_link_is_not_followed(run: dict[str, Path], tmp_path: Path) -> None:
    """A symlink ending in .log (to the control plane's key, say) is not a log of the run."""
    (run["lab"] / "key.log").symlink_to(run["control-plane"] / "pki" / "ca.key")
    copied = save_logs({"lab": run["lab"]}, tmp_path / "kept")
    assert tmp_path / "kept" / "lab" / "key.log" not in copied
    assert not (tmp_path / "kept" / "lab" / "key.log").exists()


def test_a_folder_already_removed_gives_nothing_and_no_error(tmp_path: Path) -> None:
    assert save_logs({"lab": tmp_path / "gone"}, tmp_path / "kept") == []
    assert not (tmp_path / "kept").exists()
