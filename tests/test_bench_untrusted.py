"""The benchmark of the worst stack files (bench/untrusted.py) keeps working: its smallest run.
Its figures are in docs/benchmarks.md; no time is asserted here."""

from __future__ import annotations

import pytest

from bench import untrusted


@pytest.mark.slow
def test_the_untrusted_input_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert untrusted.main(["--quick", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "| alias bomb (9^8 values) | 610 | " in out
    assert "(refused)" in out
