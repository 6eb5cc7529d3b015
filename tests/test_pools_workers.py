"""Unit tests of course/pools_workers.py (lesson 03)."""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor

import pools_workers as workers
import pytest

from coursetools import available_start_methods

METHODS = available_start_methods()
pytestmark = pytest.mark.usefixtures("no_child_left_running")


def test_plain_functions():
    assert workers.square(-4) == 16
    assert workers.square_and_pid(3) == (9, os.getpid())
    assert workers.check_positive(5) == 5
    for bad in (0, -1):
        with pytest.raises(ValueError, match=f"{bad} is not positive"):
            workers.check_positive(bad)


def test_slow_square_sleeps_first():
    began = time.monotonic()
    assert workers.slow_square(3, 0.05) == 9
    assert time.monotonic() - began >= 0.05


def test_timed_sleep_records_when_and_where():
    run = workers.timed_sleep(4, 0.05)
    assert run["task"] == 4 and run["pid"] == os.getpid()
    assert run["end"] - run["start"] >= 0.04   # time.time() may tick coarsely


@pytest.mark.parametrize("method", METHODS)
def test_pool_runs_tasks_in_its_workers(method):
    with mp.get_context(method).Pool(processes=2) as pool:
        results = pool.map(workers.square_and_pid, range(6), chunksize=1)
        workers_seen = {process.pid for process in mp.active_children()}
    assert [square for square, _ in results] == [n * n for n in range(6)]
    pids = {pid for _, pid in results}
    assert os.getpid() not in pids
    assert pids <= workers_seen, "a task ran outside the pool's worker processes"


@pytest.mark.parametrize("method", METHODS)
def test_a_worker_runs_one_task_at_a_time(method):
    with mp.get_context(method).Pool(processes=2) as pool:
        runs = pool.starmap(workers.timed_sleep, enumerate([0.05, 0.02, 0.03, 0.02]), chunksize=1)
    assert sorted(run["task"] for run in runs) == [0, 1, 2, 3]
    by_worker: dict[int, list] = {}
    for run in runs:
        by_worker.setdefault(run["pid"], []).append(run)
    assert len(by_worker) <= 2
    for worker_runs in by_worker.values():
        worker_runs.sort(key=lambda run: run["start"])
        for earlier, later in zip(worker_runs, worker_runs[1:]):
            assert earlier["end"] <= later["start"], "one worker ran two tasks at once"


@pytest.mark.parametrize("method", METHODS)
def test_errors_come_back_through_get(method):
    with mp.get_context(method).Pool(processes=1) as pool:
        receipt = pool.apply_async(workers.check_positive, (-1,))
        with pytest.raises(ValueError, match="-1 is not positive"):
            receipt.get(timeout=60)
        assert receipt.ready() and not receipt.successful()


def test_with_pool_terminates_unfinished_tasks():
    with mp.get_context("spawn").Pool(processes=1) as pool:
        unfinished = pool.apply_async(workers.slow_square, (5, 60))
        pool_processes = mp.active_children()
    assert not unfinished.ready()
    assert pool_processes and not any(process.is_alive() for process in pool_processes)


def test_executor_reraises_task_errors():
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as executor:
        good = executor.submit(workers.check_positive, 2)
        bad = executor.submit(workers.check_positive, 0)
        assert good.result(timeout=60) == 2
        with pytest.raises(ValueError, match="0 is not positive"):
            bad.result(timeout=60)


def test_print_and_square_prints_one_flushed_line(capsys):
    assert workers.print_and_square(6) == 36
    assert capsys.readouterr().out == "printed by a worker process: 6 squared is 36\n"


@pytest.mark.parametrize("method", [m for m in METHODS if m != "fork"])
def test_a_fresh_worker_writes_to_a_plain_file_descriptor_1(method):
    with mp.get_context(method).Pool(1) as pool:
        assert pool.apply(workers.stdout_kind) == "_io.TextIOWrapper on file descriptor 1"


@pytest.mark.parametrize("method", METHODS)
def test_workers_log_through_the_queue(method):
    import logging.handlers
    ctx = mp.get_context(method)
    records = ctx.Queue()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.levelname, record.getMessage(), record.process))

    listener = logging.handlers.QueueListener(records, Keep())
    listener.start()
    pool = ctx.Pool(2, initializer=workers.log_to, initargs=(records,))
    try:
        assert pool.map(workers.square_and_log, range(4)) == [0, 1, 4, 9]
    finally:
        pool.close()
        pool.join()
        listener.stop()
    assert sorted(message for _, message, _ in seen) == [f"squared {n}" for n in range(4)]
    assert {level for level, _, _ in seen} == {"INFO"}
    assert seen and all(pid != os.getpid() for _, _, pid in seen), "the records came from the workers"
