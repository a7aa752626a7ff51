"""Command line of the offline tools; needs only Python (no Pulumi CLI, no cluster).

    python -m openelb_component plan --stack dev [--format markdown|yaml|kubectl] [--workload F]
        [--nodes FILE] [--allow-skipped]
    python -m openelb_component manifests [--into DIR] [--quiet]
    python -m openelb_component policy-config --stack dev [--production | --no-production]
    python -m openelb_component validate [FILES...]
    python -m openelb_component schema [--output FILE]
    python -m openelb_component lab --stack prod [--scenario steady|...] [--json]
        [--set KEY=VALUE] [--pod-start-seconds S] [--edit-seconds S] [--quiet]
    python -m openelb_component lab --cleanup
    python -m openelb_component router-config --stack prod --dialect frr|bird [--leaf NAME]
        [--nodes FILE] [--show-secrets] [--whole] [--output-dir DIR]

Exit status: 0 when everything is fine, 1 when the config is invalid or a check fails, 2 on bad
usage, 3 (``plan`` only) when the plan is printed but unchecked: checks were skipped for want of
OpenELB's install manifests (``--allow-skipped`` makes that 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

from openelb_component.config.errors import ConfigError
from openelb_component.config.schema import SCHEMA_PATH, schema_text
from openelb_component.desired import desired_state
from openelb_component.lab import compare, kube, leftovers
from openelb_component.lab.fabric import LabUnavailable
from openelb_component.lab.layout import LabError
from openelb_component.lab.report import render_text
from openelb_component.lab.run import run_lab
from openelb_component.lab.scenarios import SCENARIOS, LabOptions, rollouts
from openelb_component.plan import ownership, upstream
from openelb_component.plan.build import build_plan, load_stack_config, read_live_workloads
from openelb_component.plan.manifests import ManifestsUnavailable, fetch_manifests
from openelb_component.plan.nodesfile import load_nodes, nodes_by_name
from openelb_component.plan.policyconfig import policy_config, policy_config_path
from openelb_component.plan.render import RENDERERS
from openelb_component.plan.routerconfig import read_nodes, router_config
from openelb_component.plan.stackfile import read_stack, stack_path, stack_paths
from openelb_component.routers.configs import DIALECTS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m openelb_component",
        description="Offline tools for openelb-ha stacks: no cluster and no Pulumi CLI needed.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser(
        "plan", help="print what a stack applies, checked against the real workload"
    )
    plan.add_argument("--stack", required=True, help="reads stacks/Pulumi.<stack>.yaml")
    plan.add_argument("--format", choices=list(RENDERERS), default="markdown")
    plan.add_argument(
        "--workload",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="the live workload (kubectl get deploy openelb-manager -n openelb-system -o yaml "
        "--show-managed-fields) to check the patch against instead of the upstream manifest, "
        "and for field conflicts; repeatable",
    )
    plan.add_argument(
        "--nodes",
        type=Path,
        metavar="FILE",
        help="the output of `kubectl get nodes -o json --show-managed-fields`: names the node "
        "labels `pulumi up` would conflict on",
    )
    plan.add_argument(
        "--allow-skipped",
        action="store_true",
        help="exit 0 although checks were skipped (no upstream manifests; else exit status 3): "
        "the output's first line still says the result is unchecked",
    )
    fetch = commands.add_parser(
        "manifests", help="download OpenELB's pinned install manifests and verify their sha256"
    )
    fetch.add_argument(
        "--into",
        type=Path,
        default=None,
        help=f"default: ${upstream.ENV_VAR}, else {upstream.SHARED_DIR} when it holds them, "
        f"else {upstream.LOCAL_DIR}",
    )
    fetch.add_argument(
        "--quiet", action="store_true", help="say nothing when every file is there and verified"
    )
    policy = commands.add_parser(
        "policy-config", help="write the policy pack's config of a stack (policy/config/)"
    )
    policy.add_argument("--stack", required=True, help="reads stacks/Pulumi.<stack>.yaml")
    policy.add_argument(
        "--production",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a production stack (at least 2 replicas, 2 per leaf); default: as the existing "
        "file says, else no",
    )
    validate = commands.add_parser(
        "validate", help="check stack files as the Pulumi program would (pre-commit hook)"
    )
    validate.add_argument("files", nargs="*", type=Path, help="default: every stacks/*.yaml")
    schema = commands.add_parser("schema", help="print the stack file's JSON Schema")
    schema.add_argument("--output", type=Path, help=f"write it here (e.g. {SCHEMA_PATH})")
    routers = commands.add_parser(
        "router-config",
        help="print each leaf router's BGP configuration matching what OpenELB will do",
    )
    routers.add_argument("--stack", required=True, help="reads stacks/Pulumi.<stack>.yaml")
    routers.add_argument("--dialect", choices=DIALECTS, default="frr")
    routers.add_argument("--leaf", help="only this leaf's router (default: every leaf with a peer)")
    routers.add_argument(
        "--nodes",
        type=Path,
        metavar="FILE",
        help="the output of `kubectl get nodes -o json`: node addresses (InternalIP); "
        "placeholders without it",
    )
    routers.add_argument(
        "--whole",
        action="store_true",
        help="a standalone configuration (FRR: with bgp router-id; BIRD: with router id and the "
        "device and kernel protocols); default: lines to merge into a live router's own",
    )
    routers.add_argument(
        "--output-dir",
        type=Path,
        metavar="DIR",
        help="write one file per router, DIR/<leaf>.<dialect>.conf, instead of printing",
    )
    routers.add_argument(
        "--show-secrets",
        action="store_true",
        help="print BGP passwords given in OPENELB_HA_BGPPASSWORDS_<LEAF> variables instead of "
        "placeholders (secure: values are never decrypted)",
    )
    lab = commands.add_parser(
        "lab",
        help="run the stack's BGP with real GoBGP speakers and FRR routers in network "
        "namespaces (root) and report what the routers see",
    )
    lab.add_argument("--stack", help="reads stacks/Pulumi.<stack>.yaml")
    lab.add_argument(
        "--cleanup",
        action="store_true",
        help="only remove what earlier runs left (namespaces, processes, folders of runs whose "
        "process is gone; never a live run's), then exit",
    )
    lab.add_argument("--scenario", choices=SCENARIOS, default="steady")
    lab.add_argument("--json", action="store_true", help="print the result as one JSON object")
    lab.add_argument(
        "--router",
        choices=("frr", "bird"),
        default="frr",
        help="the leaf routers' software, running router-config's output for it (default frr)",
    )
    lab.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a stack key for this run (openelb.minReadySeconds=0; VALUE is YAML); "
        "repeatable: compare configurations by running the same scenario with and without",
    )
    lab.add_argument(
        "--pod-start-seconds",
        type=_seconds,
        default=kube.POD_START_SECONDS,
        help="a replaced pod's container starts this long after the old one stopped (default "
        f"{kube.POD_START_SECONDS:g}: the Kubernetes pod startup SLO, docs/lab.md)",
    )
    lab.add_argument(
        "--edit-seconds",
        type=_seconds,
        help="manual-guide: the operator's pause between scaling down and up (default "
        f"{rollouts.EDIT_SECONDS:g})",
    )
    lab.add_argument(
        "--allowed-gap-seconds",
        type=_seconds,
        help="judge by this allowance without a path instead of the scenario's own",
    )
    lab.add_argument(
        "--allowed-blackhole-seconds",
        type=_seconds,
        help="judge by this allowance of forwarding to a dead node instead of the scenario's",
    )
    lab.add_argument(
        "--quiet", action="store_true", help="no progress lines on stderr while it runs"
    )
    lab.add_argument(
        "--openelb",
        choices=("model", "real"),
        default="model",
        help="model: GoBGP configured by the model of OpenELB (default); real: OpenELB's own "
        "binaries against a real control plane (needs --openelb-binaries, docs/lab.md)",
    )
    lab.add_argument(
        "--openelb-binaries",
        type=Path,
        metavar="DIR",
        help="OpenELB's binaries for --openelb real: DIR/manager (0.5), DIR/speaker and "
        "DIR/controller (0.6)",
    )
    lab.add_argument(
        "--logs",
        type=Path,
        metavar="DIR",
        help="keep every process's log (routers, speakers, OpenELB, the control plane) in "
        "DIR/lab<N>, one folder per fabric the scenario builds; with --compare DIR/model and "
        "DIR/real. Logs only: configurations hold the lab's passwords",
    )
    lab.add_argument(
        "--compare",
        action="store_true",
        help="run the scenario with the model and with real OpenELB, print both side by side, "
        "exit 1 where they differ",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"seconds must be between 0 and 3600, not {text}")
    return value


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _lab_cleanup() -> int:
    try:
        cleaned = leftovers.cleanup_dead_runs()
    except (leftovers.RecordError, OSError) as error:
        print(f"openelb-ha: cannot clean up: {error}", file=sys.stderr)
        return 1
    print(cleaned.render())
    return 1 if cleaned.failures else 0


def _lab(args: argparse.Namespace) -> int:
    if args.cleanup:
        return _lab_cleanup()
    if args.stack is None:
        print("openelb-ha lab: --stack is required (or --cleanup)", file=sys.stderr)
        return 2
    path = stack_path(args.stack)
    try:
        stack = read_stack(path)
        options = LabOptions(
            router=args.router,
            timing=kube.KubeTiming(pod_start_seconds=args.pod_start_seconds),
            edit_seconds=args.edit_seconds,
            allowed_gap_seconds=args.allowed_gap_seconds,
            allowed_blackhole_seconds=args.allowed_blackhole_seconds,
            progress=None if args.quiet else _progress,
            openelb=args.openelb,
            openelb_binaries=args.openelb_binaries,
            logs=args.logs,
        )
        if args.compare:
            compared = compare.run_both(stack, args.scenario, options, args.set)
            if args.json:
                print(json.dumps(compared.as_json(), indent=2))
            else:
                sys.stdout.write(compared.render())
            return 0 if compared.agree else 1
        result = run_lab(stack, args.scenario, options=options, overrides=args.set)
    except ConfigError as error:
        print(f"{path}: {error.render()}", file=sys.stderr)
        return 1
    except (LabUnavailable, LabError) as error:
        print(f"openelb-ha: the lab cannot run: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "openelb-ha: lab interrupted; its namespaces and processes are removed", file=sys.stderr
        )
        return 130
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"cannot run the lab for stack {args.stack!r}: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.as_json(), indent=2))
    else:
        sys.stdout.write(render_text(result))
    return 0 if result.ok else 1


def _router_config(args: argparse.Namespace) -> int:
    path = stack_path(args.stack)
    try:
        stack = read_stack(path)
        addresses = read_nodes(args.nodes) if args.nodes is not None else None
        output = router_config(
            stack, args.dialect, args.leaf, addresses, args.show_secrets, os.environ, args.whole
        )
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            for leaf in output.rendered:
                target = args.output_dir / output.file_name(leaf.leaf)
                _write_private(target, leaf.text)
                print(target)
        else:
            sys.stdout.write(output.text)
    except ConfigError as error:
        print(f"{path}: {error.render()}", file=sys.stderr)
        return 1
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"cannot write router configs for stack {args.stack!r}: {error}", file=sys.stderr)
        return 1
    for note in output.notes:
        print(f"openelb-ha: {note}", file=sys.stderr)
    return 0


def _write_private(path: Path, text: str) -> None:
    """Owner-only: a router configuration may hold a BGP password (--show-secrets)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)


def _plan(args: argparse.Namespace) -> int:
    path = stack_path(args.stack)
    try:
        stack = read_stack(path)
        live = read_live_workloads(args.workload)
        nodes = nodes_by_name(load_nodes(args.nodes)) if args.nodes is not None else None
        plan = build_plan(stack, live, nodes)
    except ConfigError as error:
        print(f"{path}: {error.render()}", file=sys.stderr)
        return 1
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"cannot plan stack {args.stack!r}: {error}", file=sys.stderr)
        return 1
    # A skipped check of the result (no upstream manifest) leaves the plan unchecked; the
    # ownership prediction is an extra that only live objects with managedFields allow.
    skipped = [
        check
        for check in plan.verification.checks
        if check.status == "skip" and check.name != ownership.NAME
    ]
    document = RENDERERS[args.format](plan)
    if skipped:
        # First, where a reviewer and a script both see it; a comment in every format. After a
        # runbook's #! line, which must stay the first for the script to run.
        line = unchecked_line(len(skipped), args.format)
        shebang, newline, rest = document.partition("\n")
        if shebang.startswith("#!"):
            document = f"{shebang}{newline}{line}{rest}"
        else:
            document = line + document
    sys.stdout.write(document)
    if args.format != "markdown":
        # stdout stays a clean document or script; the check results go beside it.
        for check in plan.verification.checks:
            print(f"{check.status}: {check.subject}, {check.name}: {check.detail}", file=sys.stderr)
    if skipped:
        print(
            unchecked_message(
                args.stack, plan.config.openelb.version, len(skipped), allowed=args.allow_skipped
            ),
            file=sys.stderr,
        )
    if plan.verification.failed:
        print("openelb-ha: a check of the result failed; see above.", file=sys.stderr)
        return 1
    return UNCHECKED if skipped and not args.allow_skipped else 0


UNCHECKED = 3
"""``plan``'s exit status for a plan printed whole but not checked (see ``unchecked_message``)."""


def unchecked_line(count: int, fmt: str) -> str:
    text = (
        f"UNCHECKED: {count} check(s) of this plan were skipped for want of OpenELB's install "
        "manifests: the workload patches were not tried on OpenELB's own workloads; run "
        "`make manifests` and plan again"
    )
    return f"> **{text}**\n\n" if fmt == "markdown" else f"# {text}\n"


def unchecked_message(stack: str, version: str, count: int, *, allowed: bool) -> str:
    """What UNCHECKED means and the ways on, for the end of ``plan``'s output."""
    verdict = (
        "exit status 0: an unchecked plan is accepted (--allow-skipped, the default of `make "
        "plan`; STRICT=1 refuses it)"
        if allowed
        else f"exit status {UNCHECKED}"
    )
    return (
        f"openelb-ha: UNCHECKED ({verdict}). The plan above is complete, but {count} of its "
        "checks were skipped: they apply each workload patch to OpenELB's own workload and "
        "validate the result against the Kubernetes and OpenELB schemas, and they need "
        f"OpenELB's install manifest, which is not at {upstream.manifest_path(version)}.\n"
        "  To check it: `make manifests` downloads the manifests and verifies their sha256 "
        '(without access to GitHub, place them by hand: README.md, "Without GitHub"), or '
        f"check against your cluster's own workload: `make plan STACK={stack} "
        "WORKLOAD=manager.yaml` (docs/plan.md).\n"
        f"  To accept it unchecked: `make plan STACK={stack}` (without STRICT=1) or "
        "`--allow-skipped` exits 0; the first line still says UNCHECKED."
    )


def _manifests(args: argparse.Namespace) -> int:
    folder = args.into or upstream.manifests_dir()
    try:
        for line in fetch_manifests(folder):
            if not (args.quiet and line.endswith(": present, sha256 verified")):
                print(line)
    except (ManifestsUnavailable, OSError, ValueError) as error:
        print(f"openelb-ha: {error}", file=sys.stderr)
        return 1
    return 0


def _policy_config(args: argparse.Namespace) -> int:
    path = stack_path(args.stack)
    try:
        config = load_stack_config(read_stack(path))
    except ConfigError as error:
        print(f"{path}: {error.render()}", file=sys.stderr)
        return 1
    except (OSError, ValueError, yaml.YAMLError) as error:
        print(f"cannot read stack {args.stack!r}: {error}", file=sys.stderr)
        return 1
    target = policy_config_path(args.stack)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(policy_config(config, args.production, target))
    print(target)
    return 0


def _summary(path: Path) -> tuple[bool, str]:
    try:
        stack = read_stack(path)
        config = load_stack_config(stack)
    except ConfigError as error:
        return False, f"{path}: {error.render()}"
    except (OSError, ValueError, yaml.YAMLError) as error:
        return False, f"{path}: cannot read it: {error}"
    state = desired_state(config)
    warnings = f"; {len(state.warnings)} warning(s): " + " ".join(state.warnings)
    if config.openelb.version == "0.5":
        # The 0.5 manager announces and is the controller: one count says both.
        workloads = f"{state.replicas} openelb-manager replicas"
    else:
        workloads = (
            f"{state.replicas} speakers (openelb-speaker), {state.controller_replicas} "
            "controllers (openelb-controller)"
        )
    return True, (
        f"{path}: ok (OpenELB {config.openelb.version}, {config.topology.kind}, "
        f"{len(state.nodes)} nodes, {workloads}, {len(state.bgp_peers)} BGP "
        f"peers{warnings if state.warnings else ''})"
    )


def _validate(args: argparse.Namespace) -> int:
    files: list[Path] = args.files or stack_paths()
    if not files:
        print("no stack files found in stacks/", file=sys.stderr)
        return 1
    status = 0
    for path in files:
        ok, line = _summary(path)
        print(line, file=sys.stdout if ok else sys.stderr)
        status = status if ok else 1
    return status


def _schema(args: argparse.Namespace) -> int:
    if args.output is None:
        sys.stdout.write(schema_text())
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(schema_text())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {
        "plan": _plan,
        "validate": _validate,
        "schema": _schema,
        "router-config": _router_config,
        "manifests": _manifests,
        "policy-config": _policy_config,
        "lab": _lab,
    }
    return commands[str(args.command)](args)
