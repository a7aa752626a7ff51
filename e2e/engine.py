"""The real Pulumi engine, built from Go modules (``make tools``), in a home of the run's own.

``Engine`` runs the Pulumi CLI of ``e2e/tools/pulumi`` with:

- ``PULUMI_HOME`` in the run's folder, holding the one resource plugin the project needs, the
  Kubernetes provider of ``e2e/tools/pulumi-kubernetes``, installed as the plugin version it is
  (``resource-kubernetes-v4.25.0``), so the engine finds it where it finds downloaded plugins;
  no plugin is ever downloaded (``PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION``);
- the local backend (``pulumi login file://<folder>/state``) and the passphrase secrets provider
  with a passphrase made for the run;
- ``PATH`` starting with the language hosts' folders: the CLI's own (which holds our
  ``pulumi-language-python`` and upstream's exec shim beside it) and the YAML host's.

Every command runs in a session of its own, recorded in the run record (``leftovers.py``) while
it runs, and is interrupted, then killed with everything it started, at its timeout.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from openelb_component.lab import gotools, leftovers
from openelb_component.lab.leftovers import Run

PROVIDER_VERSION = "4.25.0"
"""The Kubernetes provider the Go module proxy serves: the commit of tag v4.25.0."""
PROVIDER_COMMIT = "f47bc2d6f1996444d11c12b4ef083b82585f7c07"
COMMAND_TIMEOUT = 900.0
INTERRUPT_GRACE = 10.0

_stopping = threading.Event()
_running: set[int] = set()
"""The sessions of the commands running now, by their leader's pid."""
_running_lock = threading.Lock()


def stop_everything() -> None:
    """The run is interrupted (SIGINT or SIGTERM): every running command is killed with its
    whole session, and every command asked for from now on fails at once without starting, so
    the parts running in threads end within one step of theirs."""
    _stopping.set()
    with _running_lock:
        leaders = sorted(_running)
    for leader in leaders:
        _kill_command(leader)


def _kill_command(leader: int) -> None:
    """SIGKILL to a command started in a session of its own, its process group and every other
    process of its session (the CLI's plugins, each in a group of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader, signal.SIGKILL)
    leftovers.kill_session(leader)


@dataclass(frozen=True)
class Completed:
    """A finished CLI command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def failure(self) -> str:
        """The command and the end of what it said: the report's text for a failed step."""
        said = (self.stdout + "\n" + self.stderr).strip().splitlines()
        tail = " | ".join(line.strip() for line in said[-12:] if line.strip())
        verdict = "timed out" if self.timed_out else f"exited {self.returncode}"
        return f"pulumi {' '.join(self.args)}: {verdict}: {tail}"


def binaries() -> dict[str, Path]:
    """The engine's binaries; ``gotools.ToolUnavailable`` naming the build when one is not."""
    return {
        "pulumi": gotools.binary("pulumi", "pulumi"),
        "pulumi-language-python": gotools.binary("pulumi", "pulumi-language-python"),
        "pulumi-language-python-exec": gotools.binary("pulumi", "pulumi-language-python-exec"),
        "pulumi-language-yaml": gotools.binary("pulumi-yaml", "pulumi-language-yaml"),
        "pulumi-resource-kubernetes": gotools.binary(
            "pulumi-kubernetes", "pulumi-resource-kubernetes"
        ),
    }


class Engine:
    """The Pulumi CLI with a home, a backend and a passphrase of its own (module docstring)."""

    def __init__(self, folder: Path, run: Run, kubeconfig: Path | None = None) -> None:
        self.folder = folder
        self.run_record = run
        self.kubeconfig = kubeconfig
        self.bins = binaries()
        self.home = folder / "pulumi-home"
        self.state = folder / "state"
        self.passphrase = secrets.token_urlsafe(24)
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self._numbers = itertools.count(1)
        self._install_provider()
        self.state.mkdir(parents=True, exist_ok=True)

    def _install_provider(self) -> None:
        """The provider as the plugin cache holds a downloaded plugin: a folder named after its
        kind, name and version (``workspace.PluginSpec.DirName``), no ``.partial`` marker."""
        plugin = self.home / "plugins" / f"resource-kubernetes-v{PROVIDER_VERSION}"
        plugin.mkdir(parents=True, exist_ok=True)
        link = plugin / "pulumi-resource-kubernetes"
        if not link.exists():
            link.symlink_to(self.bins["pulumi-resource-kubernetes"])

    def environment(self, kubeconfig: Path | None = None) -> dict[str, str]:
        paths = [
            str(self.bins["pulumi"].parent),
            str(self.bins["pulumi-language-yaml"].parent),
            os.environ.get("PATH", "/usr/bin:/bin"),
        ]
        env = {
            key: value
            for key, value in os.environ.items()
            # Nothing of the caller's Pulumi or Kubernetes setup leaks into a run.
            if not key.startswith(("PULUMI_", "KUBE")) and key not in {"VIRTUAL_ENV"}
        }
        env.update(
            {
                "PATH": os.pathsep.join(paths),
                "PULUMI_HOME": str(self.home),
                "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
                "PULUMI_SKIP_CHECKPOINTS": "false",
                "NO_COLOR": "1",
            }
        )
        chosen = kubeconfig or self.kubeconfig
        if chosen is not None:
            env["KUBECONFIG"] = str(chosen)
        return env

    def run(
        self,
        *args: str,
        cwd: Path,
        kubeconfig: Path | None = None,
        timeout: float = COMMAND_TIMEOUT,
        stdin: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> Completed:
        """Run ``pulumi ARGS`` in ``cwd``; never raises for the command's own failure."""
        env = self.environment(kubeconfig)
        env.update(extra_env or {})
        done = run_process(
            [str(self.bins["pulumi"]), "--non-interactive", *args],
            cwd=cwd,
            env=env,
            timeout=timeout,
            stdin=stdin,
            run=self.run_record,
            shown=tuple(args),
        )
        # Every command's full output, for --logs (the report keeps only a failure's tail).
        name = "-".join(arg.lstrip("-") for arg in args if "/" not in arg)[:80]
        (self.logs / f"{next(self._numbers):03d}-{name}.log").write_text(
            f"$ pulumi {' '.join(args)}  (in {cwd}, exit {done.returncode}, {done.seconds:.1f} s)\n"
            f"{done.stdout}\n--- stderr ---\n{done.stderr}"
        )
        return done

    def login(self, cwd: Path) -> Completed:
        return self.run("login", f"file://{self.state}", cwd=cwd)

    def version(self) -> str:
        done = self.run("version", cwd=self.folder)
        return done.stdout.strip()


def run_process(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    run: Run,
    stdin: str | None = None,
    shown: tuple[str, ...] = (),
) -> Completed:
    """Run a command in a session of its own (so a timeout stops everything it started),
    recorded in the run record while it lives."""
    started = time.monotonic()
    if _stopping.is_set():
        return Completed(
            args=shown or tuple(command),
            returncode=-int(signal.SIGTERM),
            stdout="",
            stderr="not started: the run was interrupted",
            seconds=0.0,
        )
    process = subprocess.Popen(  # noqa: S603 - our own binaries, arguments built here
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    run.process(process.pid)
    with _running_lock:
        _running.add(process.pid)
    if _stopping.is_set():  # interrupted while it started: stop_everything may have missed it
        _kill_command(process.pid)
    timed_out = False
    try:
        try:
            stdout, stderr = process.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            stdout, stderr = _stop(process)
    finally:
        if process.poll() is None:
            _stop(process)
        # Whatever the command started and left behind (a plugin of a killed engine) goes too:
        # the whole session, since the CLI puts each plugin in a process group of its own.
        leftovers.kill_session(process.pid)
        with _running_lock:
            _running.discard(process.pid)
        run.forget_process(process.pid)
    return Completed(
        args=shown or tuple(command),
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        seconds=time.monotonic() - started,
        timed_out=timed_out,
    )


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT to the session (Pulumi cancels cleanly), then SIGKILL to what is left."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        return process.communicate(timeout=INTERRUPT_GRACE)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.communicate()
