"""The conflict prediction against a real API server (openelb_component/lab/cluster/replay.py).

Every case of tests/test_conflicts.py and of the plan's ownership checks, and the situations
where the prediction used to disagree with structured-merge-diff, made with real writes on a
real control plane; the prediction must name exactly the fields and managers the server's
dry-run Server-Side Apply (as ``openelb-ha``) refuses, and a patch it calls forced must go
through forced. ``OPENELB_HA_CONFLICTS_REPORT=path`` writes the summary the e2e report carries
(``{"agree": n, "disagree": [...]}``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from openelb_component.lab.cluster import ControlPlane
from openelb_component.lab.cluster.replay import (
    CASES,
    Case,
    Outcome,
    normalised,
    replay,
    server_conflicts,
    summary,
)
from tests.support.cluster import started
from tests.support.manifests import upstream_documents

REPORT_ENV = "OPENELB_HA_CONFLICTS_REPORT"
OUTCOMES: list[Outcome] = []


@pytest.fixture(scope="module")
def cluster() -> Iterator[ControlPlane]:
    yield from started()
    report = os.environ.get(REPORT_ENV)
    if report and len(OUTCOMES) == len(CASES):
        Path(report).write_text(json.dumps(summary(OUTCOMES), indent=2) + "\n")


@pytest.mark.cluster
@pytest.mark.xdist_group("test_conflicts_replay")  # one cluster, one summary: one worker
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_the_prediction_names_exactly_what_the_server_refuses(
    cluster: ControlPlane, case: Case
) -> None:
    upstream_documents("0.5")  # the workload cases read the upstream manifests: skip without
    outcome = replay(cluster, case)
    OUTCOMES.append(outcome)
    assert outcome.predicted == outcome.server, case.replays
    assert outcome.forced_accepted in (None, True), "the forced apply was refused"


# --- reading the server's answer (no cluster needed) --------------------------------------


@pytest.mark.parametrize(
    ("server", "prediction"),
    [
        (
            ".metadata.labels.openelb.kubesphere.io/rack",
            ".metadata.labels.openelb.kubesphere.io/rack",
        ),
        (
            '.spec.template.spec.topologySpreadConstraints[topologyKey="openelb.kubesphere.io/rack",'
            'whenUnsatisfiable="DoNotSchedule"].maxSkew',
            '.spec.template.spec.topologySpreadConstraints[{"whenUnsatisfiable":"DoNotSchedule",'
            '"topologyKey":"openelb.kubesphere.io/rack"}].maxSkew',
        ),
    ],
    ids=["field", "keyed-item"],
)
def test_both_ways_of_writing_a_path_compare_equal(server: str, prediction: str) -> None:
    assert normalised(server) == normalised(prediction)


def test_a_conflict_status_gives_each_field_with_its_manager_and_operation() -> None:
    """A 409 as kube-apiserver v1.37.2 sends it (shape of conflict.go NewConflictError)."""
    status = {
        "kind": "Status",
        "status": "Failure",
        "reason": "Conflict",
        "code": 409,
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-label" using v1',
                    "field": ".metadata.labels.openelb.kubesphere.io/rack",
                },
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "pulumi-kubernetes-1a2b3c4d"',
                    "field": ".spec.replicas",
                },
            ]
        },
    }
    assert server_conflicts(status) == [
        (".metadata.labels.openelb.kubesphere.io/rack", "kubectl-label", "Update"),
        (".spec.replicas", "pulumi-kubernetes-1a2b3c4d", "Apply"),
    ]
