"""Run records: what a lab or control-plane run creates, and the removal of what dead runs left.

Several runs (labs, control planes, real OpenELB speakers) share one machine. Each keeps a
record file of what it creates, updated as it creates it: its owner process (pid and that
process's start time, so a reused pid is never taken for the run), network namespaces, child
processes (pid and start time) and temporary folders. ``cleanup_dead_runs()`` removes what every
run whose owner is gone left behind, and never anything a live run has recorded: runs are judged
by their owner, not by their names. It runs at every lab start, with ``lab --cleanup`` and before
``make lab-test``.

Use::

    with run_record("lab") as run:
        run.namespace("oelab123-r0")      # recorded before it is created
        subprocess.run(["ip", "netns", "add", "oelab123-r0"])
        process = subprocess.Popen([...])
        run.process(process.pid)          # recorded with its start time
        run.folder(workdir)
        ...
        run.forget_process(process.pid)   # after stopping it yourself

Leaving the block removes the record when everything in it was forgotten (removed by the run
itself); anything still recorded is left to the next cleanup, which removes it once the owner
has exited.

Records live in a folder of the running user's (``/tmp/openelb-ha-runs-<uid>``, mode 0700,
refused when it is a symlink or someone else's), so a cleanup only ever acts on records its own
user wrote. Namespaces named ``oelab<pid>-...`` or ``oecp<pid>-...`` without any record (runs
from before records existed) are removed too when no process with that pid exists.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMESPACE_OWNER = re.compile(r"^(?:oelab|oecp)(\d+)-")
"""Namespace names that carry their run's pid: ``oelab<pid>-`` (lab), ``oecp<pid>-`` (control
plane)."""
LOCK_TIMEOUT = 60.0
STOP_WAIT = 3.0
COMMAND_TIMEOUT = 10.0


class RecordError(Exception):
    """The record folder cannot be used safely (someone else's, a symlink, not writable)."""


def records_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"openelb-ha-runs-{os.geteuid()}"


def _own_folder(path: Path) -> Path:
    """The record folder, created owner-only; refused when it is not a plain folder of ours."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    info = path.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise RecordError(f"{path} is not a folder owned by uid {os.geteuid()}: not using it")
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise RecordError(f"{path} is open to other users (mode {stat.S_IMODE(info.st_mode):o})")
    return path


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (the state) on, None when no such process runs (a
    zombie has ended: only its exit status is left to collect)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return None if fields[0] in ("Z", "X") else fields


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks after boot, ``/proc/<pid>/stat`` field 22), None
    when no such process runs. Together with the pid it names one process for good."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[19])


def alive(pid: int, started: int) -> bool:
    return start_time(pid) == started


def _session_of(pid: int) -> int | None:
    """The process's session id (``/proc/<pid>/stat`` field 6), None when it has ended."""
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[3])


def session_members(leader: int) -> list[int]:
    """Every live process of the session ``leader`` started, but the leader itself.

    A command run in a session of its own keeps its helpers in that session even when it puts
    them in process groups of their own, as the Pulumi CLI does with its plugins
    (``cmdutil.RegisterProcessGroup``: ``Setpgid: true``,
    sdk/go/common/util/cmdutil/child_unix.go:51-52, used by
    sdk/go/common/resource/plugin/plugin.go:598@v3.276.0), so a kill of the leader's group
    misses them. The session's id stays the leader's pid while any member lives (Linux frees a
    pid number only when no process uses it as pid, group or session id), so after the leader
    has ended its number still names only its own session."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != leader:
            if _session_of(int(entry.name)) == leader:
                members.append(int(entry.name))
    return sorted(members)


def kill_session(leader: int) -> None:
    """SIGKILL to every member of the session ``leader`` started (``session_members``)."""
    for pid in session_members(leader):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Every writer and the cleanup take this lock, so a cleanup never sees half a registration
    (a bounded wait: a stuck holder is reported, not waited for forever)."""
    descriptor = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        deadline = time.monotonic() + LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RecordError(
                        f"{folder}/.lock held for over {LOCK_TIMEOUT} s by another run"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(descriptor)


@dataclass
class Record:
    """One run's record file, as stored."""

    kind: str
    owner: int
    owner_start: int
    namespaces: list[str] = field(default_factory=list)
    processes: dict[int, int] = field(default_factory=dict)
    """pid -> start time."""
    folders: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.namespaces or self.processes or self.folders)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "owner": {"pid": self.owner, "start": self.owner_start},
            "namespaces": self.namespaces,
            "processes": [{"pid": p, "start": s} for p, s in self.processes.items()],
            "folders": self.folders,
        }

    @classmethod
    def from_json(cls, data: Any) -> Record:
        """Raises ``ValueError`` / ``KeyError`` / ``TypeError`` on a malformed record."""
        record = cls(
            kind=str(data["kind"]),
            owner=int(data["owner"]["pid"]),
            owner_start=int(data["owner"]["start"]),
            namespaces=[str(n) for n in data["namespaces"]],
            processes={int(p["pid"]): int(p["start"]) for p in data["processes"]},
            folders=[str(f) for f in data["folders"]],
        )
        if any(not _valid_namespace(n) for n in record.namespaces):
            raise ValueError("a namespace name that ip netns would not accept")
        return record


def _valid_namespace(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name) is not None


class Run:
    """The live record of one run. Thread-safe: scenarios start processes from several threads."""

    def __init__(self, kind: str, folder: Path | None = None) -> None:
        pid = os.getpid()
        started = start_time(pid)
        assert started is not None  # noqa: S101 - our own process exists
        self.records = _own_folder(folder or records_dir())
        self.path = self.records / f"{kind}-{pid}-{started}.json"
        self.record = Record(kind, pid, started)
        self._lock = threading.Lock()
        self._save()

    def _save(self) -> None:
        with _locked(self.records):
            partial = self.path.with_suffix(".part")
            partial.write_text(json.dumps(self.record.as_json()))
            partial.replace(self.path)

    def namespace(self, name: str) -> None:
        """Record a network namespace, before creating it (a kill in between leaves a record
        of a namespace that does not exist, which the cleanup skips)."""
        if not _valid_namespace(name):
            raise ValueError(f"not a namespace name: {name!r}")
        with self._lock:
            if name not in self.record.namespaces:
                self.record.namespaces.append(name)
                self._save()

    def process(self, pid: int) -> None:
        """Record a child process just started (its start time read now)."""
        started = start_time(pid)
        if started is None:
            return  # already gone
        with self._lock:
            self.record.processes[pid] = started
            self._save()

    def folder(self, path: Path) -> None:
        """Record a temporary folder the run created (removed with everything in it)."""
        with self._lock:
            text = str(path.resolve())
            if text not in self.record.folders:
                self.record.folders.append(text)
                self._save()

    def forget_namespace(self, name: str) -> None:
        with self._lock:
            if name in self.record.namespaces:
                self.record.namespaces.remove(name)
                self._save()

    def forget_process(self, pid: int) -> None:
        with self._lock:
            if self.record.processes.pop(pid, None) is not None:
                self._save()

    def forget_folder(self, path: Path) -> None:
        """After removing the folder, or to keep it on purpose (a failed run's logs)."""
        with self._lock:
            text = str(path.resolve())
            if text in self.record.folders:
                self.record.folders.remove(text)
                self._save()

    def close(self) -> None:
        """The run is over: its record goes when nothing is left in it."""
        with self._lock:
            if self.record.empty:
                with _locked(self.records):
                    self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def run_record(kind: str, folder: Path | None = None) -> Iterator[Run]:
    """A run's record for the block; ``kind`` names the tool (``lab``, ``controlplane``, ...)."""
    run = Run(kind, folder)
    try:
        yield run
    finally:
        run.close()


# --- cleanup -------------------------------------------------------------------------------------


@dataclass
class Cleanup:
    """What a cleanup removed, and what it could not."""

    runs: list[str] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    processes: list[int] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def removed_anything(self) -> bool:
        return bool(self.namespaces or self.processes or self.folders)

    def render(self) -> str:
        if not (self.removed_anything or self.runs or self.failures):
            return "no leftovers of earlier runs"
        lines = []
        if self.runs:
            lines.append(f"runs whose owner is gone: {', '.join(self.runs)}")
        if self.processes:
            lines.append(f"stopped {len(self.processes)} process(es): {_pids(self.processes)}")
        if self.namespaces:
            lines.append(f"removed namespace(s): {', '.join(self.namespaces)}")
        if self.folders:
            lines.append(f"removed folder(s): {', '.join(self.folders)}")
        lines += [f"could not remove: {failure}" for failure in self.failures]
        return "\n".join(lines)


def _pids(pids: list[int]) -> str:
    return ", ".join(str(p) for p in pids)


def _read_records(folder: Path) -> tuple[list[tuple[Path, Record]], list[str]]:
    records, failures = [], []
    for path in sorted(folder.glob("*.json")):
        try:
            records.append((path, Record.from_json(json.loads(path.read_text()))))
        except (OSError, ValueError, KeyError, TypeError) as error:
            failures.append(f"{path}: unreadable record ({error}); left in place")
    return records, failures


def _namespaces() -> list[str]:
    try:
        done = subprocess.run(
            ["ip", "netns", "list"],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return []
    return [line.split()[0] for line in done.stdout.splitlines() if line.strip()]


def _stop(pids: dict[int, int], cleanup: Cleanup) -> None:
    """SIGTERM to each process still alive with its recorded start time and to what remains of
    the session it led (``session_members``: a recorded process that has ended, or its pid
    reused by another, leaves no session of ours under that number), SIGKILL after a while."""
    living = {pid: started for pid, started in pids.items() if alive(pid, started)}
    for leader in [p for p, s in pids.items() if p in living or start_time(p) is None]:
        for member in session_members(leader):
            member_start = start_time(member)
            if member_start is not None:
                living[member] = member_start
    for pid in living:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT
    while any(alive(p, s) for p, s in living.items()) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid, started in living.items():
        if alive(pid, started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for pid, started in living.items():
        deadline = time.monotonic() + STOP_WAIT
        while alive(pid, started) and time.monotonic() < deadline:
            time.sleep(0.02)
        if alive(pid, started):
            cleanup.failures.append(f"process {pid} survived SIGKILL")
        else:
            cleanup.processes.append(pid)


def remove_namespace(name: str) -> str | None:
    """Every process inside the namespace killed (they belong to its run), then the namespace
    deleted; the error, or None."""
    deadline = time.monotonic() + STOP_WAIT
    while time.monotonic() < deadline:
        inside = subprocess.run(
            ["ip", "netns", "pids", name],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        ).stdout.split()
        if not inside:
            break
        for pid in inside:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.05)
    done = subprocess.run(
        ["ip", "netns", "del", name],
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    return done.stderr.strip() or f"exit {done.returncode}" if done.returncode else None


def _remove_folder(text: str, cleanup: Cleanup) -> None:
    path = Path(text)
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    # Only a real folder of this user's, at an absolute path other than a root.
    if not path.is_absolute() or len(path.parts) < 3 or not stat.S_ISDIR(info.st_mode):
        cleanup.failures.append(f"{text}: not a removable folder")
        return
    if info.st_uid != os.geteuid():
        cleanup.failures.append(f"{text}: owned by uid {info.st_uid}, not ours")
        return
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        cleanup.failures.append(f"{text}: could not be removed")
    else:
        cleanup.folders.append(text)


def cleanup_dead_runs(folder: Path | None = None, orphan_namespaces: bool = True) -> Cleanup:
    """Remove the namespaces, processes and folders of every run whose owner process is gone,
    and (``orphan_namespaces``) namespaces named after a pid no process has (runs from before
    records); never what a live run has recorded."""
    cleanup = Cleanup()
    folder = _own_folder(folder or records_dir())
    with _locked(folder):
        records, cleanup.failures = _read_records(folder)
        live = [r for _, r in records if alive(r.owner, r.owner_start)]
        claimed_namespaces = {n for r in live for n in r.namespaces}
        claimed_processes = {(p, s) for r in live for p, s in r.processes.items()}
        claimed_folders = {f for r in live for f in r.folders}
        existing = _namespaces()
        for path, record in records:
            if alive(record.owner, record.owner_start):
                continue
            cleanup.runs.append(f"{record.kind} {record.owner}")
            _stop(
                {
                    p: s
                    for p, s in record.processes.items()
                    if (p, s) not in claimed_processes and (p, s) != (os.getpid(), _own_start())
                },
                cleanup,
            )
            kept = False
            for name in reversed(record.namespaces):
                if name in claimed_namespaces or name not in existing:
                    continue
                error = remove_namespace(name)
                if error:
                    cleanup.failures.append(f"namespace {name}: {error}")
                    kept = True
                else:
                    cleanup.namespaces.append(name)
            for text in record.folders:
                if text not in claimed_folders:
                    _remove_folder(text, cleanup)
            if not kept:
                path.unlink(missing_ok=True)
        # Namespaces of runs from before records: named after a pid that no longer exists.
        for name in _namespaces() if orphan_namespaces else []:
            match = NAMESPACE_OWNER.match(name)
            if match is None or name in claimed_namespaces:
                continue
            if start_time(int(match.group(1))) is not None:
                continue  # that pid lives: its run (or a process reusing it) may own it
            error = remove_namespace(name)
            if error:
                cleanup.failures.append(f"namespace {name}: {error}")
            else:
                cleanup.namespaces.append(name)
    return cleanup


def _own_start() -> int | None:
    return start_time(os.getpid())
