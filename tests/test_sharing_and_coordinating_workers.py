"""Unit tests of course/sharing_and_coordinating_workers.py (lesson 13).

The measurements are checked for what they must deliver (right sums, every
method, no process or shared memory block left behind), never for speed.
"""
from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import sharing_and_coordinating_workers as sc

from coursetools import available_start_methods

METHODS = available_start_methods()
mp = multiprocessing.get_context()


def test_small_tasks():
    assert sc.add_one(41) == 42
    assert sc.half(10) == 5
    with pytest.raises(ValueError, match="7 is odd"):
        sc.half(7)


@pytest.mark.usefixtures("no_child_left_running")
def test_the_initializer_runs_once_in_each_worker():
    with ProcessPoolExecutor(max_workers=2, initializer=sc.remember_setting, initargs=("s",)) as pool:
        seen = list(pool.map(sc.read_setting, range(6), timeout=60))
    assert {(setting, calls) for _, setting, calls in seen} == {("s", 1)}


@pytest.mark.skipif(sys.version_info < (3, 13), reason="such a pool hung in map on CPython 3.11.7 (lesson 13)")
@pytest.mark.usefixtures("no_child_left_running")
def test_max_tasks_per_child_gives_a_fresh_worker_every_two_tasks():
    with ProcessPoolExecutor(max_workers=1, max_tasks_per_child=2) as pool:
        pids = list(pool.map(sc.worker_pid, range(4), timeout=60))
    assert pids[0] == pids[1] != pids[2] == pids[3]


def test_time_map_times_a_correct_map():
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert 0 < sc.time_map(pool, tasks=200, chunksize=10, repeats=1) < 60


@pytest.mark.usefixtures("no_child_left_running")
@pytest.mark.parametrize("method", sc.SHARING_METHODS)
def test_every_sharing_method_delivers_the_right_sums(method):
    run = sc.measure_sharing(method, length=10_000, rounds=3, context=mp)
    assert run.correct and run.rounds == 3 and run.seconds > 0
    assert run.megabytes == pytest.approx(0.08)
    assert run.megabytes_per_second == pytest.approx(0.24 / run.seconds)


@pytest.mark.usefixtures("no_child_left_running")
@pytest.mark.parametrize("method", METHODS)
def test_shared_memory_works_under_every_start_method_and_leaves_no_block(method):
    before = set(_shared_memory_names())
    run = sc.measure_sharing("shared_memory", length=1000, rounds=2, context=multiprocessing.get_context(method))
    assert run.correct
    assert set(_shared_memory_names()) <= before


def _shared_memory_names() -> list[str]:
    from pathlib import Path

    shm = Path("/dev/shm")
    return [p.name for p in shm.iterdir() if p.name.startswith("psm_")] if shm.is_dir() else []


def test_an_unknown_sharing_method_is_refused():
    with pytest.raises(ValueError, match="unknown method"):
        sc.measure_sharing("carrier pigeon", 10, 1, mp)


@pytest.mark.usefixtures("no_child_left_running")
def test_the_forced_interleaving_loses_one_update_per_round_and_the_lock_none():
    counter, meeting = mp.Value("i", 0), mp.Barrier(2)
    racers = [mp.Process(target=sc.add_one_racily, args=(counter, meeting, 50)) for _ in range(2)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert counter.value == 50 and [r.exitcode for r in racers] == [0, 0]
    counter.value = 0
    lockers = [mp.Process(target=sc.add_one_locked, args=(counter, 500)) for _ in range(2)]
    for locker in lockers:
        locker.start()
    for locker in lockers:
        locker.join(60)
    assert counter.value == 1000


@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_worker_stops_when_the_event_is_set():
    stop, steps = threading.Event(), []
    worker = threading.Thread(target=sc.work_until_cancelled, args=(stop, steps))
    worker.start()
    stop.set()
    worker.join(10)
    assert not worker.is_alive()


@pytest.mark.usefixtures("no_thread_left_behind")
def test_the_semaphore_lets_exactly_three_in_at_once():
    limit, group, peak = threading.Semaphore(3), threading.Barrier(3, timeout=30), sc.Peak()
    tasks = [threading.Thread(target=sc.limited_task, args=(limit, group, peak)) for _ in range(6)]
    for task in tasks:
        task.start()
    for task in tasks:
        task.join(30)
    assert peak.most == 3 and peak.inside == 0 and not group.broken


def test_a_semaphore_of_two_cannot_fill_a_barrier_of_three():
    limit, group, peak = threading.Semaphore(2), threading.Barrier(3, timeout=0.2), sc.Peak()
    with pytest.raises(threading.BrokenBarrierError):
        sc.limited_task(limit, group, peak)
    assert peak.inside == 0


@pytest.mark.usefixtures("no_thread_left_behind")
def test_producers_and_consumers_lose_nothing_through_a_bounded_queue():
    items, sizes = queue.Queue(maxsize=2), []
    taken = [[], []]
    producers = [threading.Thread(target=sc.produce, args=(items, 100 * p, 30, sizes)) for p in (1, 2)]
    consumers = [threading.Thread(target=sc.consume, args=(items, mine)) for mine in taken]
    for thread in producers + consumers:
        thread.start()
    for producer in producers:
        producer.join(30)
    for _ in consumers:
        items.put(sc.SENTINEL, timeout=30)
    for consumer in consumers:
        consumer.join(30)
    assert sorted(taken[0] + taken[1]) == list(range(100, 130)) + list(range(200, 230))
    assert max(sizes) <= 2 and items.unfinished_tasks == 0


def test_join_queue_waits_for_task_done_and_times_out_without_it():
    work = queue.Queue()
    work.put(1)
    assert sc.join_queue(work, timeout=0.05) is False
    work.get()
    work.task_done()
    assert sc.join_queue(work, timeout=10) is True


def test_consume_marks_a_failing_item_done():
    work = queue.Queue()
    work.put("not a number")
    with pytest.raises(TypeError):
        sc.consume(work, [], seconds_per_item="x")  # type: ignore[arg-type]
    assert work.unfinished_tasks == 0


@pytest.mark.skipif(sys.version_info < (3, 13), reason="Queue.shutdown is new in 3.13")
@pytest.mark.usefixtures("no_thread_left_behind")
def test_consumers_stop_at_queue_shutdown():
    closing, taken = queue.Queue(), []
    consumer = threading.Thread(target=sc.consume_until_shutdown, args=(closing, taken))
    consumer.start()
    for n in range(5):
        closing.put(n)
    closing.shutdown()
    consumer.join(30)
    assert taken == list(range(5)) and not consumer.is_alive()
