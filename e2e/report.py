"""The end-to-end run's report: one printed line per stack and step, and ``e2e-report.json``.

The JSON's shape::

    {"versions": {"pulumi": "v3.276.0", ...},
     "stacks": {"dev": {"preview": "ok", "up": "ok", ...}, "dev-brownfield": {...}},
     "conflicts": {"agree": 12, "disagree": ["<case>: ..."]},
     "durations": {"dev": {"preview": 4.2, ...}},
     "observed": {"dev": {"up": ["Node master1: {'managers': [...], 'labels': {...}}", ...]}}}

A step is ``"ok"`` or the first line of what went wrong (each failure is printed in full as it
happens). The run fails when any step failed or any conflict case disagrees.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

OK = "ok"


@dataclass
class Report:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    versions: dict[str, str] = field(default_factory=dict)
    stacks: dict[str, dict[str, str]] = field(default_factory=dict)
    durations: dict[str, dict[str, float]] = field(default_factory=dict)
    conflicts: dict[str, Any] = field(default_factory=lambda: {"agree": 0, "disagree": []})
    observed: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """stack -> step -> what the objects looked like after it (checks.observe)."""
    findings: list[str] = field(default_factory=list)
    """Upstream behaviour seen on the way that is not this project's failure (printed, kept)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    started: float = field(default_factory=time.monotonic)

    def step(self, stack: str, step: str, problems: list[str], seconds: float) -> bool:
        """Record a step's verdict (``problems`` empty: ok) and print its line."""
        verdict = OK if not problems else problems[0]
        mark = "ok  " if not problems else "FAIL"
        lines = [f"{mark} {stack:<24} {step:<22} {seconds:6.1f} s"]
        lines += [f"       {line}" for problem in problems for line in problem.splitlines()]
        with self._lock:  # stacks run in parallel: one step's lines stay together
            self.stacks.setdefault(stack, {})[step] = verdict
            self.durations.setdefault(stack, {})[step] = round(seconds, 1)
            print("\n".join(lines), file=self.out, flush=True)
        return not problems

    def finding(self, stack: str, step: str, text: str) -> None:
        with self._lock:
            self.findings.append(f"{stack} {step}: {text}")
            print(f"note {stack:<24} {step:<22} {text}", file=self.out, flush=True)

    def observe(self, stack: str, step: str, lines: list[str]) -> None:
        with self._lock:
            self.observed.setdefault(stack, {})[step] = lines

    def failed(self) -> list[str]:
        failures = [
            f"{stack} {step}: {verdict}"
            for stack, steps in self.stacks.items()
            for step, verdict in steps.items()
            if verdict != OK
        ]
        failures += [f"conflicts: {case}" for case in self.conflicts.get("disagree", [])]
        return failures

    def as_json(self) -> dict[str, Any]:
        return {
            "versions": self.versions,
            "stacks": self.stacks,
            "conflicts": self.conflicts,
            "durations": self.durations,
            "observed": self.observed,
            "findings": self.findings,
            "seconds": round(time.monotonic() - self.started, 1),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.as_json(), indent=2, sort_keys=False) + "\n")
