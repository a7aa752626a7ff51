"""``make e2e``: every example stack, and a brownfield variant of each, through the real Pulumi
engine against a real control plane; the conflict replay; a stuck rollout; provider behaviours
the docs state; the component from Pulumi YAML. Prints one line per stack and step, writes
``e2e-report.json``, exits 1 on any failure, and removes every process and folder it started.

    python -m e2e [--stack dev ...] [--only stacks|conflicts|timeout|claims|component ...]
                  [--report e2e-report.json] [--logs DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from e2e import claims, component, conflicts, timeouts
from e2e.engine import PROVIDER_COMMIT, PROVIDER_VERSION, Engine, stop_everything
from e2e.project import ROOT, copy_project
from e2e.report import Report
from e2e.stackrun import Context, StackRun
from openelb_component.lab import gotools, leftovers
from openelb_component.plan.stackfile import stack_name, stack_paths

PARTS = ("stacks", "conflicts", "timeout", "claims", "component")
JOBS = 4


def versions(engine: Engine, project: Path) -> dict[str, str]:
    """What ran: the engine's own words where it has them, the pins where it has not."""
    done = engine.run("version", cwd=project)
    python = project / ".venv" / "bin" / "python"
    listed = {}
    if python.is_file():
        from subprocess import run

        out = run(  # noqa: S603 - the copy's own interpreter, fixed arguments
            [
                str(python),
                "-c",
                "import importlib.metadata as m;"
                "print(m.version('pulumi'), m.version('pulumi-kubernetes'))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        ).stdout.split()
        listed = dict(zip(("python-sdk pulumi", "python-sdk pulumi-kubernetes"), out, strict=False))
    return {
        "pulumi": done.stdout.strip(),
        "pulumi-resource-kubernetes": f"v{PROVIDER_VERSION} (commit {PROVIDER_COMMIT[:9]})",
        "pulumi-language-python": "3.276.0+openelb-ha (ours, e2e/tools/pulumi)",
        "pulumi-language-yaml": "v1.25.0",
        **listed,
    }


INTERRUPTED = 130
"""The exit code of a run stopped by a signal, as a shell reports Ctrl-C."""


def _interrupted(signum: int, _frame: object) -> None:
    """SIGINT or SIGTERM: stop every Pulumi command with its plugins, then unwind, so each
    part's control plane stops and the run's folder goes (``finally`` blocks run)."""
    stop_everything()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_parts(tasks: list[Callable[[], object]], jobs: int, report: Report) -> None:
    """The parts, ``jobs`` at a time. Interrupted, no part not yet started starts, and the
    running ones are waited for: their commands fail at once, so each ends within a step."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(jobs, 1))
    try:
        futures = [pool.submit(task) for task in tasks]
        for future in futures:
            error = future.exception()
            if error is not None:  # a part that crashed outside its own steps
                report.step("e2e", "crash", [f"{type(error).__name__}: {error}"], 0.0)
    except KeyboardInterrupt:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m e2e")
    parser.add_argument("--stack", action="append", help="only these example stacks")
    parser.add_argument("--only", action="append", choices=PARTS, help="only these parts")
    parser.add_argument("--report", type=Path, default=Path("e2e-report.json"))
    parser.add_argument("--logs", type=Path, help="copy every Pulumi command's output here")
    parser.add_argument(
        "--jobs",
        type=int,
        default=JOBS,
        help=f"control planes at once (default {JOBS}: the run mostly waits on rollouts)",
    )
    args = parser.parse_args(argv)
    stacks = args.stack or [stack_name(path) for path in stack_paths(ROOT / "stacks")]
    parts = args.only or list(PARTS)
    report = Report()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupted)
    cleaned = leftovers.cleanup_dead_runs()
    if cleaned.removed_anything:
        print(cleaned.render(), flush=True)
    try:
        with leftovers.run_record("e2e") as run:
            folder = Path(tempfile.mkdtemp(prefix="oee2e-"))
            run.folder(folder)
            try:
                project = copy_project(folder / "project")
                engine = Engine(folder, run)
                engine.login(project)
                install = engine.run("install", cwd=project)
                report.step(
                    "setup",
                    "pulumi install",
                    [] if install.ok else [install.failure()],
                    install.seconds,
                )
                report.versions = versions(engine, project)
                ctx = Context(report=report, run=run, project=project, engine=engine)
                tasks: list[Callable[[], object]] = []
                if install.ok:
                    # Longest first: the stuck rollout waits out its whole timeout.
                    if "timeout" in parts:
                        tasks.append(lambda: timeouts.run(ctx))
                    if "stacks" in parts:
                        tasks += [
                            StackRun(ctx, stack, brownfield).run
                            for stack in stacks
                            for brownfield in (False, True)
                        ]
                    if "claims" in parts:
                        tasks.append(lambda: claims.run(ctx))
                    if "component" in parts:
                        tasks.append(lambda: component.run(ctx))
                if "conflicts" in parts:
                    tasks.append(lambda: report.conflicts.update(conflicts.run(ctx)))
                run_parts(tasks, args.jobs, report)
            finally:
                if args.logs is not None and (folder / "logs").is_dir():
                    shutil.copytree(folder / "logs", args.logs, dirs_exist_ok=True)
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    run.forget_folder(folder)
    except gotools.ToolUnavailable as error:
        report.step("setup", "tools", [str(error)], 0.0)
    except KeyboardInterrupt as stop:
        report.step(
            "e2e", "interrupted", [f"stopped by {stop}: the steps after it did not run"], 0.0
        )
        report.write(args.report)
        print(f"e2e: interrupted by {stop}; everything it started is stopped; {args.report}")
        return INTERRUPTED
    report.write(args.report)
    failed = report.failed()
    print(f"e2e: {'FAILED' if failed else 'ok'}: {len(failed)} failure(s); {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
