"""The conflict prediction replayed against the real API server's Server-Side Apply, in the
e2e report: the control-plane engineer's replay (``openelb_component.lab.cluster.replay``: every
case of the prediction's tests, each on objects of its own in one cluster) and its summary,
``{"agree": n, "disagree": [...]}``, reported as is."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from openelb_component.lab.cluster import ControlPlane, replay

if TYPE_CHECKING:
    from e2e.stackrun import Context


def run(ctx: Context) -> dict[str, Any]:
    started = time.monotonic()
    problems: list[str] = []
    result: dict[str, Any] = {"agree": 0, "disagree": []}
    try:
        with ControlPlane(recorder=ctx.run) as cluster:
            result = replay.summary([replay.replay(cluster, case) for case in replay.CASES])
    except Exception as error:  # reported as the step's verdict
        problems.append(f"{type(error).__name__}: {error}")
    problems += [f"disagrees: {case}" for case in result["disagree"]]
    ctx.report.step(
        "conflicts", f"replay ({result['agree']} agree)", problems, time.monotonic() - started
    )
    return result
