"""Run records and the cleanup of dead runs (``lab/leftovers.py``), with real processes and
folders in a record folder of the test's own; namespaces are the lab tests' part (root)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openelb_component.lab import leftovers

# A run as a separate process: records a child (sleep) and a folder, says so, then waits to
# be killed. Its record folder is the test's.
RUN = textwrap.dedent(
    """
    import subprocess, sys, tempfile, time
    from pathlib import Path
    from openelb_component.lab import leftovers
    with leftovers.run_record("test", Path(sys.argv[1])) as run:
        folder = Path(tempfile.mkdtemp(dir=sys.argv[2]))
        run.folder(folder)
        (folder / "log").write_text("kept until the cleanup")
        child = subprocess.Popen(["sleep", "300"])
        run.process(child.pid)
        print(child.pid, folder, flush=True)
        time.sleep(300)
    """
)


@pytest.fixture
def records(tmp_path: Path) -> Path:
    folder = tmp_path / "records"
    folder.mkdir(mode=0o700)
    return folder


class Started:
    def __init__(self, records: Path, scratch: Path) -> None:
        self.owner = subprocess.Popen(
            [sys.executable, "-c", RUN, str(records), str(scratch)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.owner.stdout is not None
        pid, folder = self.owner.stdout.readline().split()
        self.child = int(pid)
        self.child_start = leftovers.start_time(self.child)
        self.folder = Path(folder)

    def kill(self) -> None:
        if self.owner.poll() is None:
            self.owner.send_signal(signal.SIGKILL)
        self.owner.wait(timeout=10)
        assert self.owner.stdout is not None
        self.owner.stdout.close()

    def child_alive(self) -> bool:
        assert self.child_start is not None
        return leftovers.alive(self.child, self.child_start)


@pytest.fixture
def started(records: Path, tmp_path: Path) -> Iterator[Started]:
    run = Started(records, tmp_path)
    yield run
    run.kill()
    if run.child_alive():
        os.kill(run.child, signal.SIGKILL)


def test_a_killed_run_s_processes_and_folders_are_removed(started: Started, records: Path) -> None:
    started.kill()
    assert started.child_alive() and started.folder.exists()  # SIGKILL left them
    cleaned = leftovers.cleanup_dead_runs(records, orphan_namespaces=False)
    assert (cleaned.runs, cleaned.processes, cleaned.folders, cleaned.failures) == (
        [f"test {started.owner.pid}"],
        [started.child],
        [str(started.folder)],
        [],
    )
    assert not started.child_alive()
    assert not started.folder.exists()
    assert list(records.glob("*.json")) == []  # the record goes with what it listed


# A run whose recorded child leads a session and starts a helper in a process group of its own,
# as the Pulumi CLI starts its plugins (e2e/engine.py).
RUN_WITH_SESSION = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from openelb_component.lab import leftovers
    CLI = (
        "import subprocess, time; "
        "p = subprocess.Popen(['sleep', '300'], process_group=0); "
        "print(p.pid, flush=True); time.sleep(300)"
    )
    with leftovers.run_record("test", Path(sys.argv[1])) as run:
        cli = subprocess.Popen(
            [sys.executable, "-c", CLI], start_new_session=True, stdout=subprocess.PIPE, text=True
        )
        run.process(cli.pid)
        plugin = cli.stdout.readline().strip()
        print(cli.pid, plugin, flush=True)
        time.sleep(300)
    """
)


def test_a_killed_command_s_helpers_in_groups_of_their_own_go_with_its_session(
    records: Path,
) -> None:
    """The owner and its recorded command are both killed; the command's helper, in its own
    process group but the command's session, is what a group kill missed: the cleanup finds it
    by its session."""
    owner = subprocess.Popen(
        [sys.executable, "-c", RUN_WITH_SESSION, str(records)], stdout=subprocess.PIPE, text=True
    )
    assert owner.stdout is not None
    cli, plugin = (int(pid) for pid in owner.stdout.readline().split())
    plugin_start = leftovers.start_time(plugin)
    assert plugin_start is not None
    try:
        assert os.getpgid(plugin) == plugin and os.getsid(plugin) == cli
        owner.kill()
        owner.wait(timeout=10)
        os.kill(cli, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while leftovers.start_time(cli) is not None and time.monotonic() < deadline:
            time.sleep(0.02)  # the kill is asynchronous: wait until the command is gone
        assert leftovers.session_members(cli) == [plugin]
        cleaned = leftovers.cleanup_dead_runs(records, orphan_namespaces=False)
        assert (cleaned.runs, cleaned.processes, cleaned.failures) == (
            [f"test {owner.pid}"],
            [plugin],
            [],
        )
        assert not leftovers.alive(plugin, plugin_start)
    finally:
        owner.stdout.close()
        if leftovers.alive(plugin, plugin_start):
            os.kill(plugin, signal.SIGKILL)


def test_a_live_run_is_never_touched(started: Started, records: Path) -> None:
    cleaned = leftovers.cleanup_dead_runs(records, orphan_namespaces=False)
    assert cleaned.render() == "no leftovers of earlier runs"
    assert started.child_alive() and started.folder.exists()
    assert len(list(records.glob("*.json"))) == 1


def test_a_reused_pid_does_not_make_a_dead_run_look_alive(records: Path, tmp_path: Path) -> None:
    """The owner's pid now belongs to another process (here: this test's own pid, with another
    start time): the run is dead, and what it recorded is removed."""
    folder = tmp_path / "left"
    folder.mkdir()
    start = leftovers.start_time(os.getpid())
    assert start is not None
    record = leftovers.Record("test", os.getpid(), start - 1, folders=[str(folder)])
    (records / "test-reused.json").write_text(json.dumps(record.as_json()))
    cleaned = leftovers.cleanup_dead_runs(records, orphan_namespaces=False)
    assert cleaned.folders == [str(folder)] and not folder.exists()


def test_a_finished_run_leaves_no_record(records: Path, tmp_path: Path) -> None:
    with leftovers.run_record("test", records) as run:
        run.folder(tmp_path)
        assert json.loads(run.path.read_text())["folders"] == [str(tmp_path.resolve())]
        run.forget_folder(tmp_path)
    assert list(records.glob("*.json")) == []


def test_a_run_that_keeps_something_keeps_its_record_for_the_next_cleanup(
    records: Path, tmp_path: Path
) -> None:
    with leftovers.run_record("test", records) as run:
        run.namespace("oelab1-r0")
    (path,) = records.glob("*.json")
    assert json.loads(path.read_text())["namespaces"] == ["oelab1-r0"]


@pytest.mark.parametrize(
    ("record", "why"),
    [
        ("not json", "Expecting value"),
        ('{"kind": "lab"}', "'owner'"),
        (
            json.dumps(
                {
                    "kind": "lab",
                    "owner": {"pid": 1, "start": 1},
                    "namespaces": ["x; rm -rf /"],
                    "processes": [],
                    "folders": [],
                }
            ),
            "a namespace name that ip netns would not accept",
        ),
    ],
    ids=["not-json", "no-owner", "hostile-namespace-name"],
)
def test_an_unreadable_record_is_reported_and_left_alone(
    records: Path, record: str, why: str
) -> None:
    (records / "bad.json").write_text(record)
    cleaned = leftovers.cleanup_dead_runs(records, orphan_namespaces=False)
    assert len(cleaned.failures) == 1 and why in cleaned.failures[0]
    assert (records / "bad.json").exists()


def test_a_record_folder_open_to_others_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "open"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    with pytest.raises(leftovers.RecordError, match="open to other users"):
        leftovers.cleanup_dead_runs(folder, orphan_namespaces=False)


def test_a_record_folder_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(leftovers.RecordError, match="not a folder owned by"):
        leftovers.cleanup_dead_runs(tmp_path / "link", orphan_namespaces=False)


def test_a_namespace_name_that_ip_would_not_take_is_refused(records: Path) -> None:
    with leftovers.run_record("test", records) as run, pytest.raises(ValueError):
        run.namespace("../etc")
