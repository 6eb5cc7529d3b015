"""coursetools.gil.measurement: measure() runs serially, in threads and in processes, and reports honestly.

Runs are tiny (a few work units), so nothing here depends on how fast or how
loaded the machine is: the speed targets belong to ``make gil-lab``.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import threading

import psutil
import pytest
from gil_runs import RUN_KEYS

from coursetools import available_start_methods
from coursetools.gil import interpreter, measurement
from coursetools.gil.sampler import CpuSampler
from coursetools.gil.workloads import do_units

METHODS = available_start_methods(("fork", "spawn"))


@pytest.fixture(scope="module")
def sampler():
    with CpuSampler() as shared:
        yield shared


def check_shape(result: measurement.RunResult, workload: str, mode: str, workers: int, units: int) -> None:
    assert (result.workload, result.mode, result.workers, result.units) == (workload, mode, workers, units)
    assert result.wall_s > 0 and result.cpu_s >= 0 and result.cpu_percent >= 0
    assert len(result.per_core_percent) == interpreter.cpu_count() == psutil.cpu_count()
    assert result.samples and all(len(s.per_core) == interpreter.cpu_count() for s in result.samples)
    assert len(result.reports) == workers
    assert sum(report.units for report in result.reports) == units
    assert all(r.started <= r.finished for r in result.reports)
    assert result.ready_s >= 0 and result.work_s > 0 and result.ready_s + result.work_s <= result.wall_s
    assert result.build == interpreter.build_label()


def check_released_together(result: measurement.RunResult) -> None:
    """No worker began its work before every worker was ready (one monotonic clock for the machine)."""
    assert all(r.ready > 0 for r in result.reports)
    assert min(r.started for r in result.reports) >= max(r.ready for r in result.reports)


def test_serial_runs_in_the_calling_thread(sampler: CpuSampler) -> None:
    result = measurement.measure("cpu", "serial", workers=4, units=3, sampler=sampler)
    check_shape(result, "cpu", "serial", 1, 3)
    (report,) = result.reports
    assert report.pid == os.getpid()
    assert report.thread_id == threading.get_ident()
    assert report.checksum == do_units("cpu", 3)


@pytest.mark.parametrize("workers", [2, 3])
def test_threads_honour_workers(sampler: CpuSampler, workers: int, no_child_left_running: None) -> None:
    threads_before = threading.active_count()
    result = measurement.measure("cpu", "threads", workers=workers, units=5, sampler=sampler)
    check_shape(result, "cpu", "threads", workers, 5)
    assert {r.pid for r in result.reports} == {os.getpid()}
    assert len({r.thread_id for r in result.reports}) == workers
    assert threading.get_ident() not in {r.thread_id for r in result.reports}
    assert sum(r.checksum for r in result.reports) == do_units("cpu", 5)
    check_released_together(result)
    assert threading.active_count() == threads_before


@pytest.mark.parametrize("method", METHODS)
def test_processes_honour_workers_and_leave_nothing_running(method: str, no_child_left_running: None) -> None:
    context = multiprocessing.get_context(method)
    result = measurement.measure("cpu", "processes", workers=3, units=4, mp_context=context)
    check_shape(result, "cpu", "processes", 3, 4)
    pids = {r.pid for r in result.reports}
    assert len(pids) == 3 and os.getpid() not in pids
    assert sum(r.checksum for r in result.reports) == do_units("cpu", 4)
    check_released_together(result)
    # the children's CPU time is part of the total
    assert result.cpu_s >= sum(r.cpu_s for r in result.reports)


@pytest.mark.parametrize("workload", ["io", "c"])
def test_other_workloads_in_threads(sampler: CpuSampler, workload: str) -> None:
    result = measurement.measure(workload, "threads", workers=2, units=2, sampler=sampler)
    check_shape(result, workload, "threads", 2, 2)


def test_measure_rejects_unknown_mode(sampler: CpuSampler) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        measurement.measure("cpu", "fibers", 2, 1, sampler=sampler)


# measure()'s workers look do_units up in the measurement module: patched there, they run the broken one.


@pytest.mark.skipif("fork" not in METHODS, reason="needs fork to break the child's copy of the module")
def test_dead_worker_process_is_reported(monkeypatch: pytest.MonkeyPatch, sampler: CpuSampler,
                                         no_child_left_running: None) -> None:
    def broken(workload: str, units: int) -> int:
        os._exit(7)

    monkeypatch.setattr(measurement, "do_units", broken)  # a forked child inherits the patch
    with pytest.raises(RuntimeError, match="exit code 7"):
        measurement.measure("cpu", "processes", 2, 2, sampler=sampler, mp_context=multiprocessing.get_context("fork"))


def test_thread_errors_reach_the_caller(monkeypatch: pytest.MonkeyPatch, sampler: CpuSampler) -> None:
    def broken(workload: str, units: int) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(measurement, "do_units", broken)
    with pytest.raises(ZeroDivisionError):
        measurement.measure("cpu", "threads", 2, 2, sampler=sampler)


def test_sampler_survives_a_failed_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run whose work raises still stops the sampler, so the next run can use it."""
    def broken(workload: str, units: int) -> int:
        raise ZeroDivisionError("boom")

    with CpuSampler() as sampler:
        monkeypatch.setattr(measurement, "do_units", broken)
        with pytest.raises(ZeroDivisionError):
            measurement.measure("cpu", "threads", 2, 2, sampler=sampler)
        monkeypatch.undo()
        result = measurement.measure("cpu", "threads", 2, 2, sampler=sampler)
    check_shape(result, "cpu", "threads", 2, 2)


def test_json_form_round_trips(sampler: CpuSampler) -> None:
    result = measurement.measure("cpu", "threads", 2, 2, sampler=sampler)
    data = json.loads(json.dumps(result.as_dict()))
    for key, kind in RUN_KEYS.items():
        assert isinstance(data[key], kind), key
    assert data["pids"] == [os.getpid()]
    again = measurement.RunResult.from_dict(data)
    assert (again.workload, again.mode, again.workers, again.units) == ("cpu", "threads", 2, 2)
    assert len(again.samples) == len(result.samples)
    assert (again.ready_s, again.work_s, again.build) == (result.ready_s, result.work_s, result.build)
    assert "samples" not in result.as_dict(samples=False)


def test_runs_saved_before_work_time_existed_count_their_wall_time_as_work() -> None:
    data = {key: value for key, value in measurement.RunResult(
        "cpu", "threads", 2, 2, wall_s=1.5, cpu_s=1.5, cpu_percent=100.0, per_core_percent=[50.0, 50.0]).as_dict().items()
        if key not in ("ready_s", "work_s", "build")}
    again = measurement.RunResult.from_dict(data)
    assert (again.ready_s, again.work_s, again.build) == (0.0, 1.5, "")
