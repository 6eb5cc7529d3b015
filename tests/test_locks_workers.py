"""Unit tests of course/locks_workers.py (lesson 07).

The first two tests are the lesson's central claim, at the lesson's sizes
(two threads, a million increments each): the unlocked counter loses updates
on every one of 20 runs, the locked one on none of 5.  Locked runs are the
slow part (0.5 to 1.5 s each on two busy cores: while one thread waits for the
lock, every release wakes it), hence fewer of them; at these sizes an unlocked
run has never finished without a loss, so 5 locked runs do test the lock.
"""
from __future__ import annotations

import sys
import threading

import locks_workers as lw
import pytest

UNLOCKED_RUNS = 20
LOCKED_RUNS = 20
EXPECTED = lw.THREADS * lw.TIMES


pytestmark = pytest.mark.usefixtures("no_thread_left_behind")


def test_unlocked_counter_loses_updates_in_every_run():
    finals = [lw.count_in_threads(locked=False) for _ in range(UNLOCKED_RUNS)]
    assert all(0 < final < EXPECTED for final in finals), (
        f"expected every run to lose updates (< {EXPECTED}), got {finals}")


@pytest.mark.slow  # 20 runs of 2 x 1,000,000 increments
def test_locked_counter_never_loses_an_update():
    finals = [lw.count_in_threads(locked=True) for _ in range(LOCKED_RUNS)]
    assert finals == [EXPECTED] * LOCKED_RUNS, f"a locked run lost updates: {finals}"


def test_classic_add_then_subtract_stays_at_zero():
    assert sys.version_info >= (3, 10), "the claim is about CPython 3.10 and later"
    finals = [lw.classic_balance() for _ in range(3)]
    assert finals == [0, 0, 0], finals


def test_no_switch_point_between_read_and_write_in_change_it():
    between = lw.instructions_between_read_and_write(lw.change_it, "balance")
    assert between, "the read and the write of balance should be two instructions apart"
    assert lw.switch_points(between) == []


def test_a_call_sits_between_read_and_write_in_add_unlocked():
    between = lw.instructions_between_read_and_write(lw.add_unlocked, "value")
    assert lw.switch_points(between) == ["CALL"]


def test_switch_points_are_the_instructions_that_check():
    shown = ["RESUME", "LOAD_FAST", "CALL", "CALL_KW", "CALL_INTRINSIC_1", "JUMP_BACKWARD",
             "JUMP_BACKWARD_NO_INTERRUPT", "PRECALL", "STORE_ATTR"]
    assert lw.switch_points(shown) == ["RESUME", "CALL", "CALL_KW", "JUMP_BACKWARD"]


def test_a_function_begins_at_a_switch_point():
    """Function entry checks too: calling a Python function between a read and a write enters its RESUME."""
    import dis
    first = next(iter(dis.get_instructions(lw.next_value))).opname
    assert lw.switch_points([first]) == ["RESUME"]


def test_a_thread_that_blocks_between_read_and_write_loses_updates_in_every_run():
    """200 increments are far too few to meet a 5 ms switch request; the sleep hands the GIL over at once."""
    finals = [lw.count_in_threads(times=200, pause_s=0.0001) for _ in range(20)]
    assert all(0 < final < lw.THREADS * 200 for final in finals), finals


def test_a_pause_is_only_for_the_unlocked_counter():
    with pytest.raises(ValueError):
        lw.count_in_threads(times=1, locked=True, pause_s=0.001)


def test_instructions_between_rejects_a_name_that_is_not_written():
    with pytest.raises(ValueError):
        lw.instructions_between_read_and_write(lw.next_value, "balance")


def test_run_threads_returns_results_in_call_order():
    assert lw.run_threads([(lw.next_value, (n,)) for n in range(5)]) == [1, 2, 3, 4, 5]


def test_run_threads_raises_when_a_thread_outlives_the_timeout():
    release = threading.Event()
    with pytest.raises(TimeoutError):
        lw.run_threads([(release.wait, (10,))], timeout=0.1)
    release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("wait-"):
            thread.join(10)


def test_a_thread_gives_up_on_a_lock_that_another_thread_holds():
    lock = threading.Lock()
    with lock:
        assert lw.run_threads([(lw.acquire_and_release, (lock, 0.05))]) == [False]
    assert lw.run_threads([(lw.acquire_and_release, (lock, 0.05))]) == [True]
    assert not lock.locked()


def test_holding_times_out_and_leaves_the_lock_as_it_was():
    lock = threading.Lock()
    lock.acquire()
    with pytest.raises(TimeoutError):
        with lw.holding(lock, timeout=0.05):
            pass
    assert lock.locked(), "holding() must not release a lock it did not take"
    lock.release()
    with pytest.raises(ZeroDivisionError):
        with lw.holding(lock):
            _ = 1 / 0
    assert not lock.locked(), "holding() must release the lock when the body raises"


def test_account_with_rlock_takes_its_lock_twice():
    account = lw.Account(threading.RLock())
    account.deposit_all([5, 10, 20])
    assert account.balance == 35


def test_account_with_plain_lock_deadlocks_on_itself():
    account = lw.Account(threading.Lock())
    with pytest.raises(TimeoutError):
        account.deposit_all([5, 10, 20])
    assert account.balance == 0
    assert not account.lock.locked()


def test_opposite_lock_orders_deadlock_every_time():
    a, b = threading.Lock(), threading.Lock()
    both_hold, both_tried = threading.Barrier(2), threading.Barrier(2)
    results = lw.run_threads([
        (lw.hold_first_try_second, (a, b, both_hold, both_tried, 0.05)),
        (lw.hold_first_try_second, (b, a, both_hold, both_tried, 0.05)),
    ])
    assert results == [False, False]
    assert not a.locked() and not b.locked()


def test_one_lock_order_lets_both_threads_finish():
    a, b = threading.Lock(), threading.Lock()
    start = threading.Barrier(2)
    results = lw.run_threads([
        (lw.take_both, (*lw.in_lock_order(a, b), start, 5.0)),
        (lw.take_both, (*lw.in_lock_order(b, a), start, 5.0)),
    ])
    assert results == [True, True]
    assert lw.in_lock_order(a, b) == lw.in_lock_order(b, a)
