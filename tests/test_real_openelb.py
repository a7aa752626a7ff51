"""Real OpenELB in the lab (lab/real/): where its binaries come from, and what the lab adds to the
cluster for it to announce. The runs themselves are lab tests (tests/test_lab_real.py)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from openelb_component import cli
from openelb_component.lab import compare
from openelb_component.lab.cluster.process import Daemon
from openelb_component.lab.compare import compare_results
from openelb_component.lab.real import manager, node, services, speaker
from openelb_component.lab.real import pod as pod_module
from openelb_component.lab.real.binaries import PROXY_ANSWER, BinariesUnavailable, find
from openelb_component.lab.real.pod import Pod
from openelb_component.lab.scenarios import LabOptions
from openelb_component.lab.scenarios.base import LabResult, LeafResult, Phase
from openelb_component.lab.verdicts import Allowance
from openelb_component.plan.stackfile import StackFile


def _executable(folder: Path, name: str, mode: int = 0o755) -> Path:
    path = folder / name
    path.write_bytes(b"#!/bin/sh\n")
    path.chmod(mode)
    return path


def test_without_a_folder_the_error_quotes_the_proxy_and_names_the_option() -> None:
    with pytest.raises(BinariesUnavailable) as caught:
        find("0.6", None)
    message = str(caught.value)
    assert PROXY_ANSWER in message
    assert "--openelb-binaries DIR" in message
    assert "speaker, controller" in message


@pytest.mark.parametrize(
    ("version", "present", "problems"),
    [
        ("0.6", {"speaker": 0o755}, ["controller: no such file"]),
        ("0.6", {"speaker": 0o644, "controller": 0o755}, ["speaker: not executable"]),
        ("0.5", {}, ["manager: no such file"]),
    ],
    ids=["0.6-controller-missing", "0.6-speaker-not-executable", "0.5-manager-missing"],
)
def test_every_missing_or_unusable_binary_is_named(
    tmp_path: Path, version: str, present: dict[str, int], problems: list[str]
) -> None:
    for name, mode in present.items():
        _executable(tmp_path, name, mode)
    with pytest.raises(BinariesUnavailable) as caught:
        find(version, tmp_path)
    for problem in problems:
        assert f"{tmp_path}/{problem}" in str(caught.value)


def test_an_unknown_release_has_no_real_mode(tmp_path: Path) -> None:
    with pytest.raises(BinariesUnavailable, match=r"OpenELB '0\.4' has no real mode"):
        find("0.4", tmp_path)


def test_found_binaries_carry_their_digest(tmp_path: Path) -> None:
    speaker = _executable(tmp_path, "speaker")
    _executable(tmp_path, "controller")
    found = find("0.6", tmp_path)
    assert found.path("speaker") == speaker.resolve()
    assert found.sha256["speaker"] == hashlib.sha256(b"#!/bin/sh\n").hexdigest()


def test_each_range_gets_an_eip_and_a_service_asking_for_the_announced_address() -> None:
    documents = services.manifests(
        ["198.51.100.0/24", "203.0.113.8-203.0.113.15"], ["198.51.100.1", "203.0.113.8"]
    )
    kinds = [(d["kind"], d["metadata"]["name"]) for d in documents]
    assert kinds == [
        ("Deployment", "lab-backend"),
        ("Eip", "lab-eip-0"),
        ("Service", "lab-eip-0"),
        ("Eip", "lab-eip-1"),
        ("Service", "lab-eip-1"),
    ]
    eip, service = documents[3], documents[4]
    assert eip["spec"] == {"address": "203.0.113.8-203.0.113.15", "protocol": "bgp"}
    assert service["metadata"]["annotations"] == {
        "lb.kubesphere.io/v1alpha1": "openelb",
        "protocol.openelb.kubesphere.io/v1alpha1": "bgp",
        "eip.openelb.kubesphere.io/v1alpha2": "lab-eip-1",
    }
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["spec"]["loadBalancerIP"] == "203.0.113.8"
    assert service["spec"]["selector"] == documents[0]["spec"]["selector"]["matchLabels"]


# --- the pod: a container the kubelet restarts ------------------------------------------------


class _Recorder:
    def __init__(self) -> None:
        self.live: set[int] = set()

    def process(self, pid: int) -> None:
        self.live.add(pid)

    def forget_process(self, pid: int) -> None:
        self.live.discard(pid)

    def folder(self, path: Path) -> None: ...
    def forget_folder(self, path: Path) -> None: ...


def test_a_container_that_exits_is_restarted_after_the_back_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 0.5.1 manager that loses the keepalive DaemonSet race exits 1; its pod restarts it."""
    monkeypatch.setattr(pod_module, "FIRST_BACKOFF", 0.2)
    recorder = _Recorder()
    runs = tmp_path / "runs"

    def make() -> Daemon:
        # Exits 1 the first time, then stays up (as the manager once the DaemonSet exists).
        script = f"echo run >> {runs}; [ $(wc -l < {runs}) -gt 1 ] && exec sleep 30; exit 1"
        return Daemon("manager", ["sh", "-c", script], tmp_path / "log", recorder)

    pod = Pod("node-1", make, lambda daemon: daemon.start())
    pod.start()
    deadline = time.monotonic() + 10
    while pod.restarts == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    assert pod.running
    pod.stop()
    assert [event.what for event in pod.events] == ["started", "exited 1", "started", "stopped"]
    assert pod.events[2].at - pod.events[1].at >= 0.2
    assert recorder.live == set()


# --- lab --compare ---------------------------------------------------------------------------

KEEPALIVE = 3.0
"""The stacks' ``bgp.timers.keepaliveInterval`` (the default)."""


def _result(
    gap: float = 0.0,
    sessions: tuple[str, ...] = ("a", "b"),
    interval: float = 0.05,
    problems: tuple[str, ...] = (),
    blackhole: float = 0.0,
    watched: float = 100.0,
    faulted: bool = False,
) -> LabResult:
    leaf = LeafResult(
        expected=["a", "b"],
        established=list(sessions),
        paths={"198.51.100.1": ["192.0.2.2", "192.0.2.3"]},
        wrong_next_hops={},
        min_paths=2,
        longest_gap=gap,
        blackhole=blackhole,
    )
    return LabResult(
        stack="prod",
        scenario="steady",
        ok=not problems,
        leaves={"leaf1": leaf},
        details={"longestSampleIntervalSeconds": interval},
        problems=list(problems),
        node_of_address={"192.0.2.2": "a", "192.0.2.3": "b"},
        measured=Phase(leaves={}, allowance=Allowance(), seconds=watched),
        faulted_leaf="leaf1" if faulted else None,
    )


@pytest.mark.parametrize(
    ("model", "real", "differing"),
    [
        (_result(), _result(), []),
        (_result(gap=0.0), _result(gap=0.04, interval=0.06), []),
        (_result(gap=35.99, interval=0.05), _result(gap=36.06, interval=0.05), []),
        (_result(gap=35.99, interval=0.05), _result(gap=36.11, interval=0.05), ["longest gap"]),
        (_result(gap=0.0), _result(gap=10.3), ["longest gap"]),
        (
            _result(gap=7.99, sessions=(), faulted=True),
            _result(gap=7.93, sessions=(), faulted=True),
            [],
        ),
        (_result(), _result(sessions=("a",)), ["sessions"]),
        (
            _result(blackhole=95.0, watched=95.0),
            _result(blackhole=91.2, watched=91.2),
            [],
        ),
        (_result(blackhole=95.0, watched=95.0), _result(blackhole=50.0), ["blackhole"]),
        (_result(blackhole=8.69), _result(blackhole=8.00, interval=0.38), []),
        (_result(blackhole=8.69), _result(blackhole=5.2, interval=0.38), ["blackhole"]),
    ],
    ids=[
        "same",
        "gap-within-sampling-interval",
        "gaps-one-interval-apart-each-run-seen-late-or-early",
        "gaps-further-apart-than-both-intervals",
        "gap-beyond-it",
        "the-faulted-leaf-s-watch-is-not-a-gap-to-compare",
        "a-session-missing",
        "blackholes-both-to-the-end-of-their-watch",
        "one-blackhole-ended",
        "power-loss-blackholes-a-keepalive-apart",
        "power-loss-blackholes-further-apart",
    ],
)
def test_compare_names_what_differs_beyond_the_sampling_intervals(
    model: LabResult, real: LabResult, differing: list[str]
) -> None:
    compared = compare_results(model, real, KEEPALIVE)
    assert [row.what for row in compared.rows if row.differs] == differing
    assert compared.agree is (not differing)
    assert compared.tolerance == (
        model.details["longestSampleIntervalSeconds"] + real.details["longestSampleIntervalSeconds"]
    )
    assert compared.blackhole_tolerance == compared.tolerance + KEEPALIVE


def test_a_problem_both_runs_have_with_other_figures_is_not_only_real() -> None:
    compared = compare_results(
        keepalive_interval=KEEPALIVE,
        model=_result(problems=("leaf leaf1 (2 speakers): no path for 14.27 s, allowed 0 s",)),
        real=_result(problems=("leaf leaf1 (2 speakers): no path for 16.07 s, allowed 0 s",)),
    )
    assert compared.only_real == []


def test_a_problem_only_the_real_run_has_is_a_difference() -> None:
    silent = "speaker b announces nothing (0 paths in its RIB) while it runs"
    compared = compare_results(_result(), _result(problems=(silent,)), KEEPALIVE)
    assert compared.only_real == [silent]
    assert not compared.agree
    assert f"only real: {silent}" in compared.render()
    assert compared.render().endswith("they differ\n")


@pytest.mark.parametrize(
    ("agree", "status", "last_line"),
    [(True, 0, "they agree"), (False, 1, "they differ")],
    ids=["agree-exit-0", "differ-exit-1"],
)
def test_lab_compare_prints_the_table_and_exits_1_where_they_differ(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    agree: bool,
    status: int,
    last_line: str,
) -> None:
    real = _result() if agree else _result(gap=10.3)
    calls: list[tuple[str, str]] = []

    def run_both(stack: StackFile, scenario: str, options: LabOptions, overrides: object) -> Any:
        calls.append((stack.name, scenario))
        return compare_results(_result(), real, KEEPALIVE)

    monkeypatch.setattr(compare, "run_both", run_both)
    argv = ["lab", "--stack", "prod", "--scenario", "steady", "--compare", "--quiet"]
    assert cli.main(argv) == status
    assert calls == [("prod", "steady")]
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == last_line
    assert ("<- differs" in out) is not agree


def test_lab_compare_without_binaries_stops_before_either_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run_lab(*args: object, **kwargs: object) -> LabResult:
        raise AssertionError("no run may start without the real mode's binaries")

    monkeypatch.setattr(compare, "run_lab", run_lab)
    assert cli.main(["lab", "--stack", "prod-v06", "--compare", "--quiet"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("openelb-ha: the lab cannot run: the real OpenELB cannot be built")
    assert PROXY_ANSWER in error
    assert "pass --openelb-binaries DIR with OpenELB 0.6's own speaker, controller" in error


# --- how each process is started in its node's namespace ---------------------------------------


def test_a_06_speaker_runs_in_its_namespace_as_the_daemonset_starts_it(tmp_path: Path) -> None:
    daemon = speaker.speaker(
        Path("/bin/speaker"), "worker-1", "oelab1-n0", tmp_path / "k", tmp_path, _Recorder()
    )
    assert daemon.argv == [
        "ip",
        "netns",
        "exec",
        "oelab1-n0",
        "/bin/speaker",
        "--api-hosts=127.0.0.1:50051",
        "--enable-keepalived-vip=false",
        "--enable-layer2=false",
        "--metrics-addr=127.0.0.1:50053",
    ]
    assert daemon.env is not None
    assert {key: daemon.env[key] for key in ("NODE_NAME", "OPENELB_NAMESPACE", "KUBECONFIG")} == {
        "NODE_NAME": "worker-1",
        "OPENELB_NAMESPACE": "openelb-system",
        "KUBECONFIG": str(tmp_path / "k"),
    }
    assert daemon.log == tmp_path / "speaker.log"


def test_a_05_manager_replica_finds_its_webhook_certificate_under_its_tmpdir(
    tmp_path: Path,
) -> None:
    daemon = manager.manager(
        Path("/bin/manager"), "master1", "oelab1-n1", tmp_path / "k", tmp_path, _Recorder()
    )
    assert daemon.argv == [
        *node.in_namespace("oelab1-n1", ["/bin/manager"]),
        "--api-hosts=127.0.0.1:50051",
        "--metrics-addr=127.0.0.1:50052",
        "--webhook-port=443",
    ]
    assert daemon.env is not None
    assert daemon.env["TMPDIR"] == str(tmp_path)
    certs = tmp_path / "k8s-webhook-server" / "serving-certs"
    assert certs.resolve() == (tmp_path / "serving-certs")  # webhook.certificate_folder's
    assert {path.name for path in certs.iterdir()} >= {"tls.crt", "tls.key"}


def test_a_process_without_a_node_namespace_runs_in_this_one() -> None:
    assert node.in_namespace(None, ["controller", "-v"]) == ["controller", "-v"]
    assert "NODE_NAME" not in node.environment(None, Path("k"), Path("f"))
