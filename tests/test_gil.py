"""coursetools.gil, gil_plots and gil_lab: behaviour, not speed.

Runs are tiny (a few work units), so nothing here depends on how fast or how
loaded the machine is: the speed targets belong to ``make gil-lab``.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import psutil  # noqa: E402
import pytest  # noqa: E402

from coursetools import available_start_methods, gil, gil_lab, gil_plots  # noqa: E402

METHODS = available_start_methods(("fork", "spawn"))
RUN_KEYS = {"workload": str, "mode": str, "workers": int, "wall_s": float, "cpu_percent": float, "per_core_percent": list}


# --------------------------------------------------------------------------
# work units


def test_split_units_is_even_and_complete() -> None:
    for units in range(0, 30):
        for workers in range(1, 9):
            shares = gil.split_units(units, workers)
            assert len(shares) == workers
            assert sum(shares) == units
            assert max(shares) - min(shares) <= 1
    with pytest.raises(ValueError):
        gil.split_units(4, 0)


@pytest.mark.parametrize("workload", gil.WORKLOADS)
def test_do_units_is_deterministic(workload: str) -> None:
    assert gil.do_units(workload, 2) == gil.do_units(workload, 2)


def test_do_units_rejects_unknown_workload() -> None:
    with pytest.raises(ValueError, match="unknown workload"):
        gil.do_units("gpu", 1)


def test_calibrate_returns_a_positive_count() -> None:
    units = gil.calibrate("cpu", 0.02)
    assert isinstance(units, int) and units >= 1


# --------------------------------------------------------------------------
# the interpreter


def test_gil_enabled_follows_sys_is_gil_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    assert gil.gil_enabled() is False
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    assert gil.gil_enabled() is True
    monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)
    assert gil.gil_enabled() is True  # every build before 3.13


def test_free_threaded_build_reads_config_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gil.sysconfig, "get_config_var", lambda name: 1 if name == "Py_GIL_DISABLED" else None)
    assert gil.free_threaded_build() is True
    assert gil.python_description().endswith(" free-threaded")
    monkeypatch.setattr(gil.sysconfig, "get_config_var", lambda name: None)
    assert gil.free_threaded_build() is False


# --------------------------------------------------------------------------
# the sampler


def test_sampler_is_another_process_and_samples_at_10_hz_or_more(no_child_left_running: None) -> None:
    assert 1 / gil.SAMPLE_INTERVAL_S >= 10
    with gil.CpuSampler() as sampler:
        assert sampler.process.pid != os.getpid()
        assert sampler.process.is_alive()
        started = sampler.start()
        deadline = started + 0.5
        while gil.time.monotonic() < deadline:
            gil.time.sleep(0.05)
        samples, overall = sampler.stop()
        sampler_process = sampler.process
    assert not sampler_process.is_alive()
    expected = 0.5 / gil.SAMPLE_INTERVAL_S
    assert len(samples) >= expected / 2, f"{len(samples)} samples in 0.5 s"
    times = [sample.t for sample in samples]
    assert times == sorted(times) and times[0] > started
    assert all(len(sample.per_core) == psutil.cpu_count() for sample in samples)
    assert all(0.0 <= value <= 100.0 for sample in samples for value in sample.per_core)
    assert len(overall) == psutil.cpu_count()


def test_sampler_can_be_reused() -> None:
    with gil.CpuSampler() as sampler:
        for _ in range(2):
            sampler.start()
            samples, _ = sampler.stop()
            assert len(samples) >= 1  # the closing sample is always there


def test_sampler_outside_with_block_refuses() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        gil.CpuSampler().start()


def test_busy_percent_counts_idle_and_iowait_as_not_busy() -> None:
    times = psutil.cpu_times(percpu=True)[0]
    fields = times._fields
    before = [times._make([0.0] * len(fields))]
    after_values = dict.fromkeys(fields, 0.0)
    after_values.update(user=3.0, idle=1.0)
    if "iowait" in fields:
        after_values["iowait"] = 1.0
    after = [times._make([after_values[name] for name in fields])]
    expected = 60.0 if "iowait" in fields else 75.0
    assert gil.busy_percent(before, after) == [pytest.approx(expected)]
    assert gil.busy_percent(before, before) == [0.0]


# --------------------------------------------------------------------------
# measure()


@pytest.fixture(scope="module")
def sampler():
    with gil.CpuSampler() as shared:
        yield shared


def check_shape(result: gil.RunResult, workload: str, mode: str, workers: int, units: int) -> None:
    assert (result.workload, result.mode, result.workers, result.units) == (workload, mode, workers, units)
    assert result.wall_s > 0 and result.cpu_s >= 0 and result.cpu_percent >= 0
    assert len(result.per_core_percent) == gil.cpu_count() == psutil.cpu_count()
    assert result.samples and all(len(s.per_core) == gil.cpu_count() for s in result.samples)
    assert len(result.reports) == workers
    assert sum(report.units for report in result.reports) == units
    assert all(r.started <= r.finished for r in result.reports)


def test_serial_runs_in_the_calling_thread(sampler: gil.CpuSampler) -> None:
    result = gil.measure("cpu", "serial", workers=4, units=3, sampler=sampler)
    check_shape(result, "cpu", "serial", 1, 3)
    (report,) = result.reports
    assert report.pid == os.getpid()
    assert report.thread_id == gil.threading.get_ident()
    assert report.checksum == gil.do_units("cpu", 3)


@pytest.mark.parametrize("workers", [2, 3])
def test_threads_honour_workers(sampler: gil.CpuSampler, workers: int, no_child_left_running: None) -> None:
    threads_before = gil.threading.active_count()
    result = gil.measure("cpu", "threads", workers=workers, units=5, sampler=sampler)
    check_shape(result, "cpu", "threads", workers, 5)
    assert {r.pid for r in result.reports} == {os.getpid()}
    assert len({r.thread_id for r in result.reports}) == workers
    assert gil.threading.get_ident() not in {r.thread_id for r in result.reports}
    assert sum(r.checksum for r in result.reports) == gil.do_units("cpu", 5)
    assert gil.threading.active_count() == threads_before


@pytest.mark.parametrize("method", METHODS)
def test_processes_honour_workers_and_leave_nothing_running(method: str, no_child_left_running: None) -> None:
    context = multiprocessing.get_context(method)
    result = gil.measure("cpu", "processes", workers=3, units=4, mp_context=context)
    check_shape(result, "cpu", "processes", 3, 4)
    pids = {r.pid for r in result.reports}
    assert len(pids) == 3 and os.getpid() not in pids
    assert sum(r.checksum for r in result.reports) == gil.do_units("cpu", 4)
    # the children's CPU time is part of the total
    assert result.cpu_s >= sum(r.cpu_s for r in result.reports)


@pytest.mark.parametrize("workload", ["io", "c"])
def test_other_workloads_in_threads(sampler: gil.CpuSampler, workload: str) -> None:
    result = gil.measure(workload, "threads", workers=2, units=2, sampler=sampler)
    check_shape(result, workload, "threads", 2, 2)


def test_measure_rejects_unknown_mode(sampler: gil.CpuSampler) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        gil.measure("cpu", "fibers", 2, 1, sampler=sampler)


@pytest.mark.skipif("fork" not in METHODS, reason="needs fork to break the child's copy of the module")
def test_dead_worker_process_is_reported(monkeypatch: pytest.MonkeyPatch, sampler: gil.CpuSampler, no_child_left_running: None) -> None:
    def broken(workload: str, units: int) -> int:
        os._exit(7)

    monkeypatch.setattr(gil, "do_units", broken)  # a forked child inherits the patch
    with pytest.raises(RuntimeError, match="exit code 7"):
        gil.measure("cpu", "processes", 2, 2, sampler=sampler, mp_context=multiprocessing.get_context("fork"))


def test_thread_errors_reach_the_caller(monkeypatch: pytest.MonkeyPatch, sampler: gil.CpuSampler) -> None:
    def broken(workload: str, units: int) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(gil, "do_units", broken)
    with pytest.raises(ZeroDivisionError):
        gil.measure("cpu", "threads", 2, 2, sampler=sampler)


def test_json_form_round_trips(sampler: gil.CpuSampler) -> None:
    result = gil.measure("cpu", "threads", 2, 2, sampler=sampler)
    data = json.loads(json.dumps(result.as_dict()))
    for key, kind in RUN_KEYS.items():
        assert isinstance(data[key], kind), key
    assert data["pids"] == [os.getpid()]
    again = gil.RunResult.from_dict(data)
    assert (again.workload, again.mode, again.workers, again.units) == ("cpu", "threads", 2, 2)
    assert len(again.samples) == len(result.samples)
    assert "samples" not in result.as_dict(samples=False)


# --------------------------------------------------------------------------
# medians, speedups, verdicts (made-up numbers)


def fake_run(workload: str, mode: str, workers: int, wall: float, cpu: float = 100.0) -> dict:
    return {"workload": workload, "mode": mode, "workers": workers, "wall_s": wall, "cpu_percent": cpu, "per_core_percent": [0.0, 0.0]}


def fake_results(cores: int, processes: float, threads: float, io: float, c: float, threads_cpu: float = 100.0) -> dict:
    runs = []
    for workload in gil.WORKLOADS:
        for repeat in range(3):
            runs.append(fake_run(workload, "serial", 1, 2.0 + repeat * 0.01))
    for wall in (2 / processes, 2 / processes, 50.0):  # one outlier: medians ignore it
        runs.append(fake_run("cpu", "processes", cores, wall, 100.0 * cores))
        runs.append(fake_run("cpu", "threads", cores, 2 / threads, threads_cpu))
        runs.append(fake_run("io", "threads", cores, 2 / io, 2.0))
        runs.append(fake_run("c", "threads", cores, 2 / c, 100.0 * cores))
    return {"cpu_count": cores, "runs": runs}


def test_median_and_speedup_tables() -> None:
    runs = [fake_run("cpu", "serial", 1, wall) for wall in (4.0, 1.0, 2.0)]
    runs += [fake_run("cpu", "processes", 2, wall) for wall in (1.0, 9.0, 0.9)]
    medians = gil.median_table(runs)
    assert medians[("cpu", "serial", 1)]["wall_s"] == 2.0
    assert medians[("cpu", "processes", 2)] == {"wall_s": 1.0, "cpu_percent": 100.0, "runs": 3}
    assert gil.speedup_table(runs)[("cpu", "processes", 2)] == pytest.approx(2.0)
    assert gil.speedup_table(runs)[("cpu", "serial", 1)] == pytest.approx(1.0)


def test_verdicts_pass_and_miss() -> None:
    good = gil.verdicts(fake_results(2, processes=1.9, threads=1.0, io=1.95, c=1.8), cores=2)
    assert len(good) == 4 and all(v.holds is True for v in good)
    bad = gil.verdicts(fake_results(2, processes=1.2, threads=0.5, io=1.0, c=1.0), cores=2)
    assert len(bad) == 4 and all(v.holds is False for v in bad)
    greedy = gil.verdicts(fake_results(2, processes=1.9, threads=1.0, io=1.95, c=1.8, threads_cpu=180.0), cores=2)
    assert [v.holds for v in greedy] == [True, False, True, True]


def test_one_core_skips_comparisons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gil, "cpu_count", lambda: 1)
    (verdict,) = gil.verdicts(fake_results(1, processes=1.0, threads=1.0, io=1.0, c=1.0))
    assert verdict.holds is None and "only 1 core" in verdict.detail
    assert gil.worker_counts(gil.cpu_count()) == [1, 2]
    assert gil.plan(["cpu"]) == [("cpu", "serial", 1), ("cpu", "threads", 1), ("cpu", "threads", 2), ("cpu", "processes", 1), ("cpu", "processes", 2)]


@pytest.mark.parametrize("cores", [2, 3, 8])
def test_synthetic_runs_look_like_a_quiet_machine(cores: int) -> None:
    rng = random.Random(cores)
    runs = [run for workload in gil.WORKLOADS for run in gil.synthetic_runs(workload, cores, rng, outliers=True)]
    assert all(isinstance(run[key], kind) for run in runs for key, kind in RUN_KEYS.items())
    assert all(len(run["per_core_percent"]) == cores for run in runs)
    groups = gil.median_table(runs)
    assert all(row["runs"] == 3 for row in groups.values())
    assert {workers for _, mode, workers in groups if mode == "threads"} == set(gil.worker_counts(cores))
    assert all(v.holds for v in gil.verdicts({"runs": runs}, cores))  # medians see through the outliers
    speedups = gil.speedup_table(runs)
    assert speedups[("io", "threads", 2 * cores)] > cores  # waiting scales past the core count
    assert groups[("io", "threads", 2 * cores)]["cpu_percent"] < 20


def test_synthetic_runs_are_reproducible_and_checked() -> None:
    assert gil.synthetic_runs("c", 2, random.Random(5)) == gil.synthetic_runs("c", 2, random.Random(5))
    with pytest.raises(ValueError):
        gil.synthetic_runs("gpu", 2, random.Random(5))


# --------------------------------------------------------------------------
# plots and the lab


def fake_timeline_run(mode: str, workers: int) -> dict:
    run = fake_run("cpu", mode, workers, 0.3)
    run["samples"] = [[0.1, [100.0, 5.0]], [0.2, [50.0, 50.0]], [0.3, [100.0, 100.0]]]
    return run


def labelled(axes) -> bool:
    return all(ax.get_title() and ax.get_xlabel() for ax in axes)


def test_plots_have_titles_and_labels() -> None:
    runs = [fake_timeline_run("serial", 1), fake_timeline_run("threads", 2), fake_timeline_run("processes", 2)]
    figures = [
        gil_plots.plot_timelines(runs),
        gil_plots.plot_speedup(fake_results(2, 1.9, 1.0, 1.9, 1.8)["runs"], cores=2),
        gil_plots.plot_total_cpu(fake_results(2, 1.9, 1.0, 1.9, 1.8)["runs"], cores=2),
    ]
    try:
        assert len(figures[0].axes) == 3 and len(figures[1].axes) == 3
        for figure in figures:
            assert labelled(figure.axes)
            assert figure.axes[0].get_ylabel()
        assert "%" in figures[0].axes[0].get_ylabel() and "(s)" in figures[0].axes[0].get_xlabel()
        assert figures[0].axes[1].get_title().startswith("2 threads")
    finally:
        for figure in figures:
            plt.close(figure)


def test_lab_on_one_core_measures_but_skips(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys, no_child_left_running: None) -> None:
    monkeypatch.setattr(gil, "cpu_count", lambda: 1)
    status = gil_lab.main(["--quick", "--seconds", "0.03", "--workloads", "cpu", "--out", str(tmp_path)])
    output = capsys.readouterr().out
    assert status == 0
    assert "Only 1 core" in output and "[skip]" in output and "[ok" not in output and "MISS" not in output
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["cpu_count"] == 1 and isinstance(results["gil_enabled"], bool) and isinstance(results["python"], str)
    assert len(results["background_per_core_percent"]) == psutil.cpu_count()
    assert {(r["mode"], r["workers"]) for r in results["runs"]} == {
        ("serial", 1), ("threads", 1), ("threads", 2), ("processes", 1), ("processes", 2)
    }
    for run in results["runs"]:
        for key, kind in RUN_KEYS.items():
            assert isinstance(run[key], kind), key
    assert output.count("] cpu ") == len(results["runs"])  # one progress line per run
    for name in ("timeline_cpu.png", "speedup.png", "total_cpu.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG"), name


def test_lab_repeats_every_run(tmp_path, capsys) -> None:
    gil_lab.main(["--repeats", "2", "--seconds", "0.02", "--workloads", "io", "--out", str(tmp_path)])
    results = json.loads((tmp_path / "results.json").read_text())
    counts = [r["workers"] for r in results["runs"] if r["mode"] == "threads"]
    assert sorted(set(counts)) == gil.worker_counts(gil.cpu_count())
    groups = gil.median_table(results["runs"])
    assert all(row["runs"] == 2 for row in groups.values())
    summary = capsys.readouterr().out
    assert "wall (median)" in summary and "speedup" in summary


def test_sampler_survives_a_failed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose work raises still stops the sampler, so the next run can use it."""
    def broken(workload: str, units: int) -> int:
        raise ZeroDivisionError("boom")

    with gil.CpuSampler() as sampler:
        monkeypatch.setattr(gil, "do_units", broken)
        with pytest.raises(ZeroDivisionError):
            gil.measure("cpu", "threads", 2, 2, sampler=sampler)
        monkeypatch.undo()
        result = gil.measure("cpu", "threads", 2, 2, sampler=sampler)
    check_shape(result, "cpu", "threads", 2, 2)
