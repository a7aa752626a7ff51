"""A recording fake ``kubectl`` with state, for running the plan's runbook under ``sh``.

It keeps the cluster's objects in a JSON file and does what the runbook asks of kubectl: ``get``
(``-o name``, ``-o yaml``, ``-o jsonpath=...``), ``label``, ``patch --type strategic``, ``apply
-f -``, ``replace -f``, ``delete``, ``rollout status``. Strategic merges are kubectl's own
(``kubectl patch --local``, no cluster needed), so what the runbook changes, and what its
rollback restores, is computed as kubectl computes it. JSONPath is the dotted subset the runbook
uses (``{.a.b\\.c}``), printed as kubectl prints it (text as it is, maps and lists as JSON with
sorted keys; ``test_the_fake_prints_jsonpath_as_kubectl_does`` compares the two). Every call
is logged; with ``FAIL_AT=N`` the N-th call that would change something fails, as an apply cut
off half-way. It starts once per kubectl call, so it imports only what each call needs.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

MUTATING = {"label", "patch", "apply", "replace", "delete"}


def _kind(resource: str) -> str:
    return resource.split("/")[0].split(".")[0].lower()


def _key(kind: str, name: str, namespace: str) -> str:
    return f"{kind}/{namespace if kind not in ('node', 'bgpconf') else ''}/{name}"


def _local(obj: dict[str, Any], *args: str) -> str:
    """kubectl's own patch or JSONPath on ``obj``, offline."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "object.json"
        path.write_text(json.dumps(obj))
        done = subprocess.run(
            [os.environ["REAL_KUBECTL"], "patch", "--local", "-f", str(path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(1)
    return done.stdout


def jsonpath(obj: Any, expression: str) -> str:
    """``kubectl get -o jsonpath={.a.b\\.c}`` of ``obj``: empty when a field is missing."""
    path = expression.removeprefix("jsonpath=").strip("{}").removeprefix(".")
    value = obj
    for part in re.split(r"(?<!\\)\.", path):
        if not isinstance(value, dict) or part.replace("\\.", ".") not in value:
            return ""
        value = value[part.replace("\\.", ".")]
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_STATE"])
    with Path(os.environ["CALLS"]).open("a") as log:
        log.write(" ".join(argv) + "\n")
    state: dict[str, Any] = json.loads(state_path.read_text())
    command, rest = argv[0], argv[1:]
    if command in MUTATING:
        counter = state_path.with_suffix(".count")
        count = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(count))
        if os.environ.get("FAIL_AT") == str(count):
            sys.stderr.write("fake kubectl: the connection to the server was lost\n")
            return 1
    flags: dict[str, str] = {}
    words: list[str] = []
    iterator = iter(rest)
    for word in iterator:
        if word in ("-n", "-o", "-p", "-f", "--type", "--timeout"):
            flags[word] = next(iterator)
        elif word.startswith("-o=") or word.startswith("--"):
            name, _, value = word.partition("=")
            flags[name] = value
        else:
            words.append(word)
    namespace = flags.get("-n", "")
    if command == "rollout":
        return 0
    if command in ("apply", "replace"):
        import yaml

        text = sys.stdin.read() if flags["-f"] == "-" else Path(flags["-f"]).read_text()
        for doc in yaml.safe_load_all(text):
            if doc:
                meta = doc["metadata"]
                key = _key(doc["kind"].lower(), meta["name"], meta.get("namespace", ""))
                old = state.get(key, {})
                state[key] = {**old, **doc} if command == "apply" else doc
    else:
        kind = _kind(words[0])
        name = words[1]
        key = _key(kind, name, namespace)
        obj = state.get(key)
        if obj is None:
            if "--ignore-not-found" in flags:
                return 0
            sys.stderr.write(f'Error from server (NotFound): {words[0]} "{name}" not found\n')
            return 1
        if command == "get":
            output = flags.get("-o", "")
            if output == "name":
                print(f"{kind}/{name}")
            elif output == "yaml":
                import yaml

                sys.stdout.write(yaml.safe_dump(obj))
            else:
                sys.stdout.write(jsonpath(obj, output))
        elif command == "label":
            labels = obj["metadata"].setdefault("labels", {})
            for pair in words[2:]:
                if pair.endswith("-"):
                    labels.pop(pair[:-1], None)
                else:
                    label, _, value = pair.partition("=")
                    labels[label] = value
        elif command == "patch":
            patched = _local(obj, "--type", flags["--type"], "-p", flags["-p"], "-o", "json")
            state[key] = json.loads(patched)
        elif command == "delete":
            del state[key]
    state_path.write_text(json.dumps(state))
    return 0


def install(folder: Path, objects: list[dict[str, Any]]) -> dict[str, str]:
    """A fake kubectl in ``folder/bin`` holding ``objects``; the environment to run it with."""
    import pytest

    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH (the fake uses its offline merge and JSONPath)")
    state = {
        _key(o["kind"].lower(), o["metadata"]["name"], o["metadata"].get("namespace", "")): o
        for o in objects
    }
    (folder / "cluster.json").write_text(json.dumps(state))
    fake = folder / "bin" / "kubectl"
    fake.parent.mkdir(exist_ok=True)
    real = shutil.which("kubectl")
    fake.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from tests.support.fakecluster import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    fake.chmod(0o755)
    return {
        "PATH": f"{fake.parent}:{os.environ['PATH']}",
        "REAL_KUBECTL": str(real),
        "FAKE_STATE": str(folder / "cluster.json"),
        "CALLS": str(folder / "calls"),
    }


def _as_served(value: Any) -> Any:
    """An object as the API server serves it: an empty map is not there (Kubernetes' maps are
    ``omitempty``: an apply leaving ``annotations: {}`` and no annotations are the same)."""
    if isinstance(value, dict):
        return {k: _as_served(v) for k, v in value.items() if v != {}}
    if isinstance(value, list):
        return [_as_served(item) for item in value]
    return value


def objects(folder: Path) -> dict[str, Any]:
    """The fake cluster's objects now, by kind/namespace/name, as the API server serves them."""
    state: dict[str, Any] = json.loads((folder / "cluster.json").read_text())
    return {key: _as_served(obj) for key, obj in state.items()}
