"""The kubectl runbook: the plan's objects as a shell script, ``apply`` and ``rollback``.

For change processes that want a written runbook instead of ``pulumi up``. It applies the same
objects in the same order as the component, never scales to 0, and keeps what it changes:

- before anything else, ``apply`` checks that every secret it needs is in the environment, and
  ``rollback`` that every backup it needs is in the current folder, so neither stops half-way;
- the first ``apply`` saves what it is about to change (each node's previous values of the
  labels it sets, the BgpConf as it was, or ``absent``); later ``apply`` runs keep that backup,
  and ``rollback`` restores exactly it, so labels that were there before (the manual guide's)
  stay;
- a secret is never written into the script: it is read from an environment variable.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any

from openelb_component.desired import DesiredObject
from openelb_component.desired.ownership import (
    FIELD_MANAGER,
    is_forced,
    without_pulumi_annotations,
)
from openelb_component.desired.workloads import DEFAULT_TIMEOUT, TIMEOUT_ANNOTATION
from openelb_component.plan.build import Plan
from openelb_component.plan.formatting import (
    SecretReference,
    command,
    compact_json,
    describe,
    dump,
    quoted,
    unused_marker,
)
from openelb_component.plan.shell import (
    PASSWORD_CHECK,
    comment,
    delimiter_for,
    heredoc_body,
    heredoc_escaped,
    message,
    password_check,
    word,
    words,
)
from openelb_component.plan.sources import is_workload_patch, patch_body

ABSENT = "absent"
NAME_MAX = 255
"""The longest file name Linux file systems take: a backup's name, and the ``.tmp`` file it is
written through, must fit any object name."""
_TMP = ".tmp"


def _slug(name: str) -> str:
    return "OPENELB_HA_" + re.sub(r"[^A-Z0-9]", "_", name.upper())


def secret_variables(names: Iterable[str]) -> dict[str, str]:
    """Secret name -> the environment variable the runbook reads it from:
    ``bgpPasswords.leaf1`` -> ``OPENELB_HA_BGPPASSWORDS_LEAF1``. Names that would share a
    variable (``rack-a``, ``rack_a``) each get a hash of the name, so no peer gets another's."""
    names = sorted(set(names))
    slugs = [_slug(name) for name in names]
    return {
        name: slug
        if slugs.count(slug) == 1
        else f"{slug}_{hashlib.sha256(name.encode()).hexdigest()[:6].upper()}"
        for name, slug in zip(names, slugs, strict=True)
    }


def _kubectl_body(obj: DesiredObject, plan: Plan) -> dict[str, Any]:
    """The strategic patch of a workload, as the apply changes it, without Pulumi's own
    annotations (patchForce, timeouts) that mean nothing to kubectl."""
    base = plan.verification.bases.get(obj.key)
    body = patch_body(obj, base.obj if base else None)
    metadata = {
        k: v
        for k, v in without_pulumi_annotations(body.pop("metadata", {})).items()
        if k not in ("name", "namespace")
    }
    return {"metadata": metadata, **body} if metadata else body


def _namespace_flag(obj: DesiredObject) -> str:
    return f" -n {word(obj.namespace)}" if obj.namespace else ""


def _target(obj: DesiredObject) -> str:
    return f"{words(obj.kind.lower(), obj.name)}{_namespace_flag(obj)}"


def _resource(obj: DesiredObject) -> str:
    """``kind.group`` so kubectl never confuses a custom resource with a built-in one."""
    group = obj.api_version.rpartition("/")[0]
    return f"{obj.kind.lower()}.{group}" if group and "." in group else obj.kind.lower()


def rollout_seconds(obj: DesiredObject) -> int:
    """The rollout budget the component gives Pulumi's wait, for ``kubectl rollout status``."""
    annotations = obj.manifest["metadata"].get("annotations") or {}
    return int(annotations.get(TIMEOUT_ANNOTATION, DEFAULT_TIMEOUT))


def _rollout_status(obj: DesiredObject) -> str:
    return (
        f"kubectl rollout status {word(f'{obj.kind.lower()}/{obj.name}')}{_namespace_flag(obj)} "
        f"--timeout={rollout_seconds(obj)}s"
    )


def _file_name(kind: str, name: str, suffix: str) -> str:
    """``<kind>-<name><suffix>``, or, for a name too long for a file name (a node name may have
    253 characters), its start and a hash of the whole name."""
    whole = f"{kind}-{name}{suffix}"
    if len(f"{whole}{_TMP}".encode()) <= NAME_MAX:
        return whole
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    keep = NAME_MAX - len(f"{kind}--{digest}{suffix}{_TMP}".encode())
    return f"{kind}-{name[:keep]}-{digest}{suffix}"


def backup_file(obj: DesiredObject) -> str | None:
    """Where the first apply keeps what it changes; None for what rollback simply deletes or
    computes (objects this project creates; workloads, undone from the plan's base)."""
    if obj.kind == "Node":
        return _file_name("node", obj.name, ".labels.before")
    if is_workload_patch(obj):
        return _file_name(obj.kind.lower(), obj.name, ".values.before")
    if obj.action == "patch":
        return _file_name(obj.kind.lower(), obj.name, ".before.yaml")
    return None


# Shell functions the steps call, defined once at the top of the script.
_HELPERS = [
    "# keep_labels FILE NODE KEY...: each label's value before the first apply, as the arguments",
    "# of the kubectl label that restores it (key=value, or key- where the node had none).",
    "keep_labels() {",
    "  file=$1; node=$2; shift 2",
    '  [ -e "$file" ] && return 0',
    '  for key in "$@"; do',
    "    path=$(printf '%s' \"$key\" | sed 's/\\./\\\\./g')",
    '    value=$(kubectl get node "$node" -o jsonpath="{.metadata.labels.$path}")',
    '    if [ -n "$value" ]; then echo "$key=$value"; else echo "$key-"; fi',
    '  done > "$file.tmp"',
    '  mv "$file.tmp" "$file"',
    "}",
    "",
    "# keep_values FILE KIND NAME NAMESPACE JSONPATH...: the live value of each field the patch",
    "# sets, before the first apply (JSON as kubectl prints it, or absent), one line per field.",
    "keep_values() {",
    "  file=$1; kind=$2; name=$3; namespace=$4; shift 4",
    '  [ -e "$file" ] && return 0',
    '  for path in "$@"; do',
    '    value=$(kubectl get "$kind" "$name" -n "$namespace" -o jsonpath="{$path}")',
    f'    if [ -n "$value" ]; then printf \'%s\\n\' "$value"; else echo {ABSENT}; fi',
    '  done > "$file.tmp"',
    '  mv "$file.tmp" "$file"',
    "}",
    "",
    "# restored FILE LINE HOW: that kept value as a strategic patch value: null where the field",
    "# was absent; a map or a list replacing the current one whole; text quoted.",
    "restored() {",
    '  value=$(sed -n "$2p" "$1")',
    f'  if [ "$value" = {ABSENT} ]; then echo null; return 0; fi',
    "  case $3 in",
    '    map) [ "$value" = "{}" ] && echo \'{"$patch":"replace"}\' '
    '|| printf \'%s\\n\' "$value" | sed \'s/^{/{"$patch":"replace",/\' ;;',
    '    list) [ "$value" = "[]" ] && echo \'[{"$patch":"replace"}]\' '
    '|| printf \'%s\\n\' "$value" | sed \'s/^\\[/[{"$patch":"replace"},/\' ;;',
    '    text) printf \'"%s"\\n\' "$value" ;;',
    "    *) printf '%s\\n' \"$value\" ;;",
    "  esac",
    "}",
    "",
]


# Maps the workload patch reaches into; every other field it sets is kept and restored whole.
_CONTAINERS = frozenset({"spec", "template", "metadata", "annotations", "labels", "affinity"})


CONFIRM_VARIABLE = "OPENELB_HA_CONFIRM_BGPCONF"
BGP_RESTART_WARNING = (
    "WARNING: the next step writes the BgpConf default. When that changes it, every OpenELB "
    "speaker stops and restarts BGP at the same moment (pkg/speaker/bgp/conf.go:9-25@v0.5.1, "
    "bgp/conf.go:11-35@v0.6.0): every BGP session of every leaf drops, and no LoadBalancer IP "
    "is reachable until the sessions are back (OpenELB 0.6 announces again only once each "
    "speaker has restarted)."
)
_CONFIRM = [
    "# confirm_bgpconf: the BgpConf step can restart BGP on every speaker at once, so it waits",
    f"# for a typed yes (or {CONFIRM_VARIABLE}=yes in the environment).",
    "confirm_bgpconf() {",
    f"  {message(BGP_RESTART_WARNING)}",
    f'  [ "${{{CONFIRM_VARIABLE}:-}}" = yes ] && return 0',
    "  answer=''",
    "  if [ -t 0 ]; then",
    "    printf '%s' "
    + word(f"Write the BgpConf now? Type yes (or export {CONFIRM_VARIABLE}=yes): ")
    + " >&2",
    "    read -r answer || answer=''",
    "  fi",
    '  [ "$answer" = yes ] || { '
    + message(
        "stopped before the BgpConf: what came before it stays as it is; run again to go on, "
        f"with {CONFIRM_VARIABLE}=yes when not at a terminal"
    )
    + "; exit 1; }",
    "}",
    "",
]
"""Shell lines defining ``confirm_bgpconf``; the runbook calls it before every BgpConf step."""


RestorePoint = tuple[tuple[str, ...], str]
"""A field's path in a workload, and how rollback writes its kept value back."""


def restore_points(body: dict[str, Any], path: tuple[str, ...] = ()) -> list[RestorePoint]:
    """(path, how) of every field a workload patch sets, as rollback restores it: a scalar as
    it was, a label or annotation as text, a map or list (nodeSelector, strategy, the spread
    constraints) whole. Only those fields: an annotation someone else set (``restartedAt``)
    is never touched."""
    points: list[RestorePoint] = []
    for key, value in body.items():
        if key.startswith("$"):
            continue
        here = (*path, key)
        if key in _CONTAINERS and isinstance(value, dict) and path[-1:] != ("annotations",):
            points += restore_points(value, here)
        elif path[-1:] in (("annotations",), ("labels",)):
            points.append((here, "text"))
        elif isinstance(value, dict):
            points.append((here, "map"))
        elif isinstance(value, list):
            points.append((here, "list"))
        else:
            points.append((here, "value"))
    return points


def _jsonpath(path: tuple[str, ...]) -> str:
    return "." + ".".join(part.replace(".", "\\.") for part in path)


def _undo_template(points: list[RestorePoint], backup: str) -> str:
    """The rollback patch, each field a ``$(restored ...)`` of the value kept by apply."""
    template: dict[str, Any] = {}
    for line, (path, how) in enumerate(points, start=1):
        parent = template
        for part in path[:-1]:
            parent = parent.setdefault(part, {})
        parent[path[-1]] = f"@@{line}:{how}@@"
    # Literal JSON for the here-document, with a command substitution for each marker only.
    body, count = re.subn(
        r'"@@(\d+):(\w+)@@"',
        lambda m: f"$(restored {word(backup)} {m.group(1)} {m.group(2)})",
        heredoc_escaped(compact_json(template)),
    )
    if count != len(points):
        raise ValueError(f"{backup}: a field name of the patch looks like a marker")
    return body


def _object_backup(obj: DesiredObject, backup: str) -> list[str]:
    # Readable by its owner only: an adopted BgpPeer made by hand holds its password (in the
    # spec and in its last-applied-configuration), and rollback restores it from this file.
    return [
        f"if [ ! -e {word(backup)} ]; then",
        f"  before=$(kubectl get {words(_resource(obj), obj.name)}{_namespace_flag(obj)} "
        "--ignore-not-found -o yaml)",
        '  if [ -n "$before" ]; then',
        f"    (umask 077; printf '%s\\n' \"$before\" | sed '/^  resourceVersion:/d' "
        f"> {word(backup)})",
        f"  else echo {ABSENT} > {word(backup)}; fi",
        "fi",
    ]


def with_secret_references(
    obj: DesiredObject, manifest: dict[str, Any], variables: dict[str, str]
) -> str:
    """The manifest as YAML, each secret a ``"${VARIABLE}"`` reference that ``envsubst`` (the
    plan's YAML) fills in, written by the YAML emitter as a double-quoted scalar: a password
    (``config/secrets.py``: no ``"``, no ``\\``, no line break) stays exactly itself there. No
    other value of the manifest may hold such a reference: refused, not filled in."""
    text = dump(
        obj.with_secrets(manifest, {name: SecretReference("") for name in obj.secrets.values()})
    )
    if "${OPENELB_HA_" in text:
        raise ValueError(f"{obj.key}: a value looks like a secret reference")
    references = {name: SecretReference(f"${{{variables[name]}}}") for name in obj.secrets.values()}
    return dump(obj.with_secrets(manifest, references)).rstrip("\n")


def _heredoc(
    command_line: str, obj: DesiredObject, manifest: dict[str, Any], variables: dict[str, str]
) -> list[str]:
    """``command <<EOF`` feeding the manifest. Without secrets the here-doc is quoted: nothing
    in it is expanded. With secrets it is not, and everything in it is escaped but each
    secret's variable, which the shell expands once (its value is never read as syntax)."""
    if not obj.secrets:
        body = dump(manifest).rstrip("\n")
        delimiter = delimiter_for(body)
        return [f"{command_line} <<'{delimiter}'", body, delimiter]
    plain = dump(obj.with_secrets(manifest, {name: "" for name in obj.secrets.values()}))
    markers = {name: unused_marker(plain, index) for index, name in enumerate(obj.secrets.values())}
    text = dump(obj.with_secrets(manifest, {n: SecretReference(m) for n, m in markers.items()}))
    # Each marker is a double-quoted scalar of its own; the expansion takes its place inside
    # the quotes, which password_ok made sure the value fits.
    body = heredoc_body(text.rstrip("\n"), {markers[name]: variables[name] for name in markers})
    delimiter = delimiter_for(body)
    return [f"{command_line} <<{delimiter}", body, delimiter]


def _pause_before(obj: DesiredObject) -> list[str]:
    return ["confirm_bgpconf"] if obj.kind == "BgpConf" else []


def _apply_steps(plan: Plan, obj: DesiredObject, variables: dict[str, str]) -> list[str]:
    backup = backup_file(obj)
    if obj.kind == "Node" and backup is not None:
        labels = obj.manifest["metadata"].get("labels") or {}
        pairs = words(*(f"{k}={v}" for k, v in labels.items()))
        return [
            "# kubectl get and label fail on a node that does not exist (a typo labels nothing)",
            f"keep_labels {words(backup, obj.name, *labels)}",
            f"kubectl label --overwrite --field-manager={FIELD_MANAGER} node {word(obj.name)} "
            f"{pairs}",
        ]
    if is_workload_patch(obj) and backup is not None:
        paths = words(*(_jsonpath(path) for path, _ in restore_points(_kubectl_body(obj, plan))))
        return [
            "# keeps the live value of every field the patch sets: rollback restores exactly them",
            f"keep_values {words(backup, obj.kind.lower(), obj.name, obj.namespace)} {paths}",
            "# replaces one replica at a time (maxUnavailable); never scales to 0",
            f"kubectl patch {_target(obj)} --type strategic --field-manager={FIELD_MANAGER} "
            f"-p {quoted(_kubectl_body(obj, plan))}",
            _rollout_status(obj),
        ]
    if backup is not None:
        # An object that may exist already (the BgpConf, an adopted BgpPeer, made by hand) or
        # not: applied server-side like the component, forcing ownership where the stack
        # adopts (an adopted peer's emptied last-applied-configuration included).
        force = " --force-conflicts" if is_forced(obj) else ""
        manifest = {
            **obj.manifest,
            "metadata": without_pulumi_annotations(obj.manifest["metadata"]),
        }
        apply = f"kubectl apply -f - --server-side --field-manager={FIELD_MANAGER}{force}"
        return [
            *_pause_before(obj),
            *_object_backup(obj, backup),
            *_heredoc(apply, obj, manifest, variables),
        ]
    # Server-side, like the component, and for a second reason: a client-side apply would keep
    # the whole object, a BgpPeer's password included, in the last-applied-configuration
    # annotation, readable by anyone who may read BgpPeers.
    manifest = {**obj.manifest, "metadata": without_pulumi_annotations(obj.manifest["metadata"])}
    apply = f"kubectl apply -f - --server-side --field-manager={FIELD_MANAGER}"
    return _heredoc(apply, obj, manifest, variables)


def _rollback_steps(plan: Plan, obj: DesiredObject) -> list[str]:
    backup = backup_file(obj)
    if obj.kind == "Node" and backup is not None:
        undo = [
            "# each label back to its value before the first apply, or removed if it had none",
            f"kubectl label --overwrite --field-manager={FIELD_MANAGER} node {word(obj.name)} "
            f"$(cat {word(backup)})",
        ]
    elif is_workload_patch(obj) and backup is not None:
        points = restore_points(_kubectl_body(obj, plan))
        undo = [
            "# every field the patch set back to its live value kept by the first apply (null",
            "# where it had none); nothing else of the workload is touched",
            "undo=$(cat <<EOF",
            _undo_template(points, backup),
            "EOF",
            ")",
            f"kubectl patch {_target(obj)} --type strategic --field-manager={FIELD_MANAGER} "
            '-p "$undo"',
            _rollout_status(obj),
        ]
    else:
        delete = (
            f"kubectl delete {words(_resource(obj), obj.name)}{_namespace_flag(obj)} "
            "--ignore-not-found"
        )
        if backup is None:
            return [delete]
        # A Server-Side Apply of the kept object, not `kubectl replace`: replace rewrites an
        # existing last-applied-configuration with the whole object it sends (k8s.io/kubectl
        # pkg/util/apply.go:121-126, cmd/replace/replace.go:286@v0.37.2), so a hand-made object
        # would come back with another one. The apply restores every kept field, the annotation
        # included, and drops the fields this runbook's apply added (same manager, not resent).
        undo = [
            f"# back to the {obj.kind} kept by the first apply; deleted if there was none",
            f'if [ "$(cat {word(backup)})" = {ABSENT} ]; then {delete}',
            f"else kubectl apply --server-side --force-conflicts --field-manager={FIELD_MANAGER} "
            f"-f {word(backup)}; fi",
        ]
    # An apply stopped before this step kept nothing for it, and changed nothing of it.
    return [
        f"if [ -e {word(backup)} ]; then",
        *("  " + line for line in _pause_before(obj)),
        *undo,
        f"else {message(f'{obj.kind} {obj.name}: not changed by apply, nothing to undo')}; fi",
    ]


def _existence_checks(plan: Plan) -> list[str]:
    """Every node and workload the plan patches must exist: checked before the first change,
    so a typo never leaves some nodes labelled (and a patch never creates an object)."""
    targets = [
        (f"{obj.kind.lower()} {obj.name}" + (f" -n {obj.namespace}" if obj.namespace else ""), obj)
        for obj in plan.state.objects
        if obj.kind == "Node" or is_workload_patch(obj)
    ]
    lines = ['missing=""']
    lines += [
        f'kubectl get {_target(obj)} -o name >/dev/null 2>&1 || missing="$missing, "{word(shown)}'
        for shown, obj in targets
    ]
    lines.append(
        '[ -z "$missing" ] || { echo "not in the cluster: ${missing#, }; nothing was changed" '
        ">&2; exit 1; }"
    )
    return lines


def _preconditions(plan: Plan, variables: dict[str, str]) -> tuple[list[str], list[str]]:
    """What apply and rollback check before their first step, so neither stops half-way."""
    apply = [
        line
        for name, variable in sorted(variables.items())
        for line in password_check(variable, name)
    ]
    apply += _existence_checks(plan)
    backups = words(*(b for b in (backup_file(obj) for obj in plan.state.objects) if b))
    # An interrupted apply kept some of them: rollback undoes exactly those steps.
    rollback = [
        'kept=""',
        f'for file in {backups}; do if [ -e "$file" ]; then kept=yes; fi; done',
        '[ -n "$kept" ] || { echo "no backup of apply here (*.before): run rollback where apply '
        'ran" >&2; exit 1; }',
    ]
    return apply, rollback


def _function(name: str, first: list[str], steps: list[list[str]], about: str) -> list[str]:
    lines = [comment(about), f"{name}() {{", *first]
    for step in steps:
        if lines[-1] != f"{name}() {{":
            lines.append("")
        lines += step
    return [*lines, "}", ""]


def render_kubectl(plan: Plan) -> str:
    objects = plan.state.objects
    variables = secret_variables(name for obj in objects for name in obj.secrets.values())
    apply_first, rollback_first = _preconditions(plan, variables)
    apply = [
        [comment(f"{index}. {describe(obj)}"), *_apply_steps(plan, obj, variables)]
        for index, obj in enumerate(objects, start=1)
    ]
    rollback = [
        [comment(f"undo {index}. {describe(obj)}"), *_rollback_steps(plan, obj)]
        for index, obj in reversed(list(enumerate(objects, start=1)))
    ]
    lines = [
        "#!/bin/sh",
        comment(
            f"openelb-ha runbook for stack {plan.stack}: the same objects, in the same order, as "
            "`pulumi up`."
        ),
        comment(f"Generated by `{command(plan, 'kubectl')}`."),
        "# Usage: sh <this file> apply | sh <this file> rollback (in the same folder: apply keeps",
        "# what it changes in *.before files there, and rollback restores exactly that).",
        "set -eu",
        "",
        *_HELPERS,
        *(PASSWORD_CHECK if variables else []),
        *(_CONFIRM if any(obj.kind == "BgpConf" for obj in objects) else []),
        *_function(
            "apply",
            apply_first,
            apply,
            "Labels first, then the BgpConf, the workloads, the budget, the BGP peers.",
        ),
        *_function("rollback", rollback_first, rollback, "Undoes apply, in reverse order."),
        'case "${1:-}" in',
        '  apply | rollback) "$1" ;;',
        '  *) echo "usage: $0 apply|rollback" >&2; exit 2 ;;',
        "esac",
    ]
    return "\n".join(lines) + "\n"
