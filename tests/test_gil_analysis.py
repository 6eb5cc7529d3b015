"""coursetools.gil.analysis: medians, speedups and verdicts, on made-up numbers."""
from __future__ import annotations

import pytest
from gil_runs import fake_results, fake_run

from coursetools.gil import analysis, interpreter
from coursetools.gil.measurement import plan, worker_counts


def test_median_and_speedup_tables() -> None:
    runs = [fake_run("cpu", "serial", 1, wall) for wall in (4.0, 1.0, 2.0)]
    runs += [fake_run("cpu", "processes", 2, wall) for wall in (1.0, 9.0, 0.9)]
    medians = analysis.median_table(runs)
    assert medians[("cpu", "serial", 1)]["wall_s"] == 2.0
    assert medians[("cpu", "processes", 2)] == {"wall_s": 1.0, "work_s": 1.0, "cpu_percent": 100.0, "runs": 3}
    assert analysis.speedup_table(runs)[("cpu", "processes", 2)] == pytest.approx(2.0)
    assert analysis.speedup_table(runs)[("cpu", "serial", 1)] == pytest.approx(1.0)


def test_speedups_on_the_work_leave_start_up_out() -> None:
    runs = [dict(fake_run("cpu", "serial", 1, 2.0), work_s=2.0)]
    runs += [dict(fake_run("cpu", "processes", 2, 1.6), work_s=1.0)]  # 0.6 s of start-up
    assert analysis.speedup_table(runs)[("cpu", "processes", 2)] == pytest.approx(1.25)
    assert analysis.speedup_table(runs, "work_s")[("cpu", "processes", 2)] == pytest.approx(2.0)
    assert analysis.median_table([fake_run("io", "serial", 1, 3.0)])[("io", "serial", 1)]["work_s"] == 3.0


def test_the_predictions_follow_the_build() -> None:
    def cpu_threads(gil_enabled: bool) -> analysis.Expectation:
        return next(e for e in analysis.expectations(4, gil_enabled) if (e.workload, e.mode) == ("cpu", "threads"))

    with_gil, without = cpu_threads(True), cpu_threads(False)
    assert with_gil.agrees(1.0, 100.0) and not with_gil.agrees(3.5, 390.0) and not with_gil.agrees(1.0, 180.0)
    assert without.agrees(3.5, 390.0) and not without.agrees(1.0, 100.0)
    assert "without the GIL" in without.claim and "with the GIL" in with_gil.claim
    assert [(e.workload, e.mode) for e in analysis.expectations(4, False)] == [
        (e.workload, e.mode) for e in analysis.expectations(4, True)]


def test_verdicts_read_the_build_of_the_results() -> None:
    scaling_threads = fake_results(2, processes=1.9, threads=1.9, io=1.95, c=1.8, threads_cpu=190.0)
    assert [v.holds for v in analysis.verdicts(scaling_threads, cores=2)] == [True, False, True, True]
    scaling_threads["gil_enabled"] = False
    assert all(v.holds for v in analysis.verdicts(scaling_threads, cores=2))


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
    assert plan(["cpu"]) == [("cpu", "serial", 1), ("cpu", "threads", 1), ("cpu", "threads", 2),
                             ("cpu", "processes", 1), ("cpu", "processes", 2)]
