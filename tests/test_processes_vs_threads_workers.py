"""Unit tests of course/processes_vs_threads_workers.py (lesson 10)."""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
import processes_vs_threads_workers as pvt

from coursetools import available_start_methods

METHODS = available_start_methods()


def drain(results, count: int) -> tuple[dict[int, int], list[tuple[int, str]]]:
    """Read ``count`` messages: squares by number, and the workers' ready messages."""
    squares, ready = {}, []
    for _ in range(count):
        message = results.get(timeout=30)
        if message[0] == "ready":
            ready.append(message[1:])
        else:
            squares[message[0]] = message[1]
    return squares, ready


def test_worker_loop_in_threads_runs_in_this_process():
    tasks, results = queue.Queue(), queue.Queue()
    workers = [threading.Thread(target=pvt.worker_loop, args=(tasks, results), name=f"w{i}")
               for i in range(2)]
    for worker in workers:
        worker.start()
    for n in range(5):
        tasks.put(n)
    for _ in workers:
        tasks.put(pvt.STOP)
    squares, ready = drain(results, 7)
    for worker in workers:
        worker.join(timeout=10)
        assert not worker.is_alive()
    assert squares == {n: n * n for n in range(5)}
    assert sorted(ready) == [(os.getpid(), "w0"), (os.getpid(), "w1")]


@pytest.mark.parametrize("method", METHODS)
def test_worker_loop_in_processes_runs_elsewhere(method):
    ctx = multiprocessing.get_context(method)
    tasks, results = ctx.Queue(), ctx.Queue()
    workers = [ctx.Process(target=pvt.worker_loop, args=(tasks, results)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for n in range(4):
        tasks.put(n)
    for _ in workers:
        tasks.put(pvt.STOP)
    squares, ready = drain(results, 6)
    for worker in workers:
        worker.join(timeout=30)
    assert squares == {n: n * n for n in range(4)}
    assert {pid for pid, _ in ready} == {worker.pid for worker in workers}
    assert all(worker.exitcode == 0 for worker in workers)
    assert not multiprocessing.active_children()


def test_worker_loop_gives_up_when_idle():
    with pytest.raises(queue.Empty):
        pvt.worker_loop(queue.Queue(), queue.Queue(), idle_timeout=0.05)


@pytest.mark.parametrize("target, code", [
    (pvt.finish_task, 0),
    (pvt.exit_abruptly, 3),
    (pvt.kill_self, -signal.SIGKILL),
])
def test_crashing_worker_process_leaves_parent_alive(target, code):
    worker = multiprocessing.get_context("spawn").Process(target=target)
    worker.start()
    worker.join(timeout=30)
    assert worker.exitcode == code
    assert not multiprocessing.active_children()


def run_demo(name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processes_vs_threads_workers", name],
                          cwd=COURSE, capture_output=True, text=True, timeout=60)


def test_exception_in_thread_does_not_end_process():
    result = run_demo("thread-raises")
    assert result.returncode == 0
    assert "still running" in result.stdout
    assert result.stderr.startswith("Exception in thread worker")
    assert "ValueError: bad input in a worker thread" in result.stderr


def test_os_exit_in_thread_ends_whole_process():
    result = run_demo("thread-exits")
    assert result.returncode == 7
    assert result.stdout == ""


def test_cli_rejects_unknown_demo():
    result = run_demo("nonsense")
    assert result.returncode == 2 and "usage" in result.stderr


@pytest.mark.parametrize("kind", ["thread", *METHODS])
def test_start_join_seconds_measures_and_leaves_nothing(kind):
    threads_before = threading.active_count()
    seconds = pvt.start_join_seconds(kind, 2)
    assert 0 < seconds < 30
    assert not multiprocessing.active_children()
    assert threading.active_count() == threads_before


def test_count_down_counts():
    assert pvt.count_down(1000) == 1000
    assert pvt.count_down(0) == 0


def test_spread_is_median_and_quartiles():
    assert pvt.spread([5.0, 1.0, 3.0, 2.0, 4.0]) == pvt.Spread(3.0, 2.0, 4.0)


def test_start_costs_repeats_every_count_and_leaves_nothing():
    costs = pvt.start_costs(["thread", METHODS[0]], [1, 2], repeats=3)
    assert set(costs) == {"thread", METHODS[0]}
    for by_count in costs.values():
        assert set(by_count) == {1, 2}
        for cost in by_count.values():
            assert 0 < cost.low <= cost.median <= cost.high < 30
    assert not multiprocessing.active_children()


@pytest.mark.skipif("forkserver" not in METHODS, reason="no forkserver here")
def test_forkserver_server_seconds_measures_a_fresh_server():
    cost = pvt.forkserver_server_seconds(repeats=2)
    assert 0 < cost.low <= cost.median <= cost.high < 30


def test_rises_within_spread_can_fail():
    S = pvt.Spread
    assert pvt.rises_within_spread({1: S(1.0, 0.9, 1.1), 2: S(2.0, 1.8, 2.2), 4: S(3.9, 3.5, 4.0)})
    assert pvt.rises_within_spread({1: S(1.0, 0.9, 1.1), 2: S(0.95, 0.8, 1.0)})   # a dip inside the quartiles
    assert not pvt.rises_within_spread({1: S(5.0, 4.0, 6.0), 2: S(2.0, 1.5, 2.5)})


def test_usable_cpus_is_at_most_the_machine():
    assert 1 <= pvt.usable_cpus() <= (os.cpu_count() or 1)
