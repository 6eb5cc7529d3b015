"""coursetools.gil.analysis: medians, speedups and verdicts, on made-up numbers."""
from __future__ import annotations

import pytest

from coursetools.gil import analysis, interpreter
from coursetools.gil.measurement import plan, worker_counts
from gil_runs import fake_results, fake_run


def test_median_and_speedup_tables() -> None:
    runs = [fake_run("cpu", "serial", 1, wall) for wall in (4.0, 1.0, 2.0)]
    runs += [fake_run("cpu", "processes", 2, wall) for wall in (1.0, 9.0, 0.9)]
    medians = analysis.median_table(runs)
    assert medians[("cpu", "serial", 1)]["wall_s"] == 2.0
    assert medians[("cpu", "processes", 2)] == {"wall_s": 1.0, "cpu_percent": 100.0, "runs": 3}
    assert analysis.speedup_table(runs)[("cpu", "processes", 2)] == pytest.approx(2.0)
    assert analysis.speedup_table(runs)[("cpu", "serial", 1)] == pytest.approx(1.0)


def test_verdicts_pass_and_miss() -> None:
    good = analysis.verdicts(fake_results(2, processes=1.9, threads=1.0, io=1.95, c=1.8), cores=2)
    assert len(good) == 4 and all(v.holds is True for v in good)
    bad = analysis.verdicts(fake_results(2, processes=1.2, threads=0.5, io=1.0, c=1.0), cores=2)
    assert len(bad) == 4 and all(v.holds is False for v in bad)
    greedy = analysis.verdicts(fake_results(2, processes=1.9, threads=1.0, io=1.95, c=1.8, threads_cpu=180.0), cores=2)
    assert [v.holds for v in greedy] == [True, False, True, True]


def test_one_core_skips_comparisons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(interpreter, "cpu_count", lambda: 1)
    (verdict,) = analysis.verdicts(fake_results(1, processes=1.0, threads=1.0, io=1.0, c=1.0))
    assert verdict.holds is None and "only 1 core" in verdict.detail
    assert worker_counts(interpreter.cpu_count()) == [1, 2]
    assert plan(["cpu"]) == [("cpu", "serial", 1), ("cpu", "threads", 1), ("cpu", "threads", 2), ("cpu", "processes", 1), ("cpu", "processes", 2)]
