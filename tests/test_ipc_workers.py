"""Unit tests of course/ipc_workers.py (lesson 05).

Each test starts real child processes and checks how they ended; none may be
left running afterwards.  The writer/reader test runs under every start
method, the others under the platform default.
"""
from __future__ import annotations

import multiprocessing
import queue

import ipc_workers as ipc
import pytest

from coursetools import available_start_methods

METHODS = available_start_methods()
mp = multiprocessing.get_context()
pytestmark = pytest.mark.usefixtures("no_child_left_running")


@pytest.mark.parametrize("method", METHODS)
def test_reader_stops_at_the_sentinel_and_takes_everything_in_order(method):
    ctx = multiprocessing.get_context(method)
    items, report = ctx.Queue(), ctx.Queue()
    words = ["alpha", "beta", "gamma"]
    writer = ctx.Process(target=ipc.write_items, args=(items, words))
    reader = ctx.Process(target=ipc.read_until_sentinel, args=(items, report))
    writer.start()
    reader.start()
    reader_pid, taken = report.get(timeout=30)
    writer.join(10)
    reader.join(10)
    assert taken == words
    assert reader_pid == reader.pid != writer.pid
    assert (writer.exitcode, reader.exitcode) == (0, 0)


def test_one_sentinel_per_reader_and_every_item_taken_once():
    items, report = mp.Queue(), mp.Queue()
    readers = [mp.Process(target=ipc.read_until_sentinel, args=(items, report)) for _ in range(3)]
    for reader in readers:
        reader.start()
    words = [f"w{n}" for n in range(12)]
    ipc.write_items(items, words, readers=3)
    reports = [report.get(timeout=30) for _ in readers]
    for reader in readers:
        reader.join(10)
    assert sorted(w for _, taken in reports for w in taken) == sorted(words)
    assert {pid for pid, _ in reports} == {r.pid for r in readers}
    assert [r.exitcode for r in readers] == [0, 0, 0]


def test_a_reader_without_a_sentinel_keeps_waiting():
    items, report = mp.Queue(), mp.Queue()
    reader = mp.Process(target=ipc.read_until_sentinel, args=(items, report))
    reader.start()
    items.put("only item")
    reader.join(0.5)
    assert reader.is_alive()
    items.put(ipc.SENTINEL)
    assert report.get(timeout=30) == (reader.pid, ["only item"])
    reader.join(10)
    assert reader.exitcode == 0


def test_shout_back_answers_until_the_sentinel():
    parent_end, child_end = mp.Pipe()
    child = mp.Process(target=ipc.shout_back, args=(child_end,))
    child.start()
    child_end.close()
    replies = []
    for word in ["ping", "pong"]:
        parent_end.send(word)
        replies.append(ipc.receive(parent_end, timeout=30))
    parent_end.send(ipc.SENTINEL)
    child.join(10)
    parent_end.close()
    assert replies == ["PING", "PONG"]
    assert child.exitcode == 0


def test_eof_only_after_every_copy_of_the_sending_end_is_closed():
    parent_end, child_end = mp.Pipe()
    sender = mp.Process(target=ipc.send_lines, args=(child_end, ["a", "b"]))
    sender.start()
    assert [ipc.receive(parent_end, timeout=30) for _ in range(2)] == ["a", "b"]
    sender.join(10)
    assert sender.exitcode == 0
    assert not parent_end.poll(0.2), "the parent's copy of the other end keeps the pipe open"
    child_end.close()
    assert parent_end.poll(0)
    with pytest.raises(EOFError):
        parent_end.recv()
    parent_end.close()


def test_receive_times_out_instead_of_waiting_forever():
    one_end, other_end = mp.Pipe()
    with pytest.raises(TimeoutError):
        ipc.receive(one_end, timeout=0.05)
    one_end.close()
    other_end.close()


def test_a_child_with_a_big_item_on_a_queue_cannot_exit_until_it_is_taken():
    box = mp.Queue()
    put_returned = mp.Event()
    child = mp.Process(target=ipc.put_big_item, args=(box, 1_000_000, put_returned))
    child.start()
    assert put_returned.wait(30)
    child.join(0.5)
    assert child.is_alive() and child.exitcode is None
    assert len(box.get(timeout=30)) == 1_000_000
    child.join(10)
    assert child.exitcode == 0


def test_terminate_loses_the_task_in_hand():
    plan = [("t1", 0.01), ("t2", 0.01), ("t3", 30.0), ("t4", 0.01), ("t5", 0.01)]
    tasks, progress = mp.Queue(), mp.Queue()
    for task in plan:
        tasks.put(task)
    worker = mp.Process(target=ipc.work_through, args=(tasks, progress))
    worker.start()
    steps = []
    while ("started", "t3") not in steps:
        steps.append(progress.get(timeout=30))
    worker.terminate()
    worker.join(10)
    assert worker.exitcode == -15
    assert [name for step, name in steps if step == "finished"] == ["t1", "t2"]
    assert [name for name, _ in ipc.drain(tasks, quiet_seconds=0.2)] == ["t4", "t5"]


def test_work_through_finishes_everything_when_stopped_by_a_sentinel():
    tasks, progress = mp.Queue(), mp.Queue()
    for task in [("t1", 0.0), ("t2", 0.0), ipc.SENTINEL]:
        tasks.put(task)
    worker = mp.Process(target=ipc.work_through, args=(tasks, progress))
    worker.start()
    steps = [progress.get(timeout=30) for _ in range(4)]
    worker.join(10)
    assert steps == [("started", "t1"), ("finished", "t1"), ("started", "t2"), ("finished", "t2")]
    assert worker.exitcode == 0


def test_terminating_a_reader_inside_get_leaves_the_queue_locked():
    box = mp.Queue()
    ready = mp.Event()
    waiter = mp.Process(target=ipc.wait_for_one_item, args=(box, ready))
    waiter.start()
    assert ready.wait(30)
    ipc.wait_until_reading(box)
    waiter.terminate()
    waiter.join(10)
    box.put("hello")
    with pytest.raises(queue.Empty):
        box.get(timeout=0.3)


def test_wait_until_reading_gives_up_when_nobody_reads():
    with pytest.raises(TimeoutError):
        ipc.wait_until_reading(mp.Queue(), timeout=0.05)


def test_drain_returns_what_was_queued():
    box = mp.Queue()
    for n in range(3):
        box.put(n)
    assert ipc.drain(box, quiet_seconds=0.2) == [0, 1, 2]
