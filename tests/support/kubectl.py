"""kubectl's own strategic merge, run offline (``kubectl patch --local`` needs no cluster)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml


def kubectl_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """``base`` after ``kubectl patch --local --type strategic -p patch``; skips without kubectl."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not on PATH; the project's own merge is still tested")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "object.yaml"
        path.write_text(yaml.safe_dump(base))
        command = ["kubectl", "patch", "--local", "-f", str(path), "--type", "strategic"]
        done = subprocess.run(
            [*command, "-p", json.dumps(patch), "-o", "json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
