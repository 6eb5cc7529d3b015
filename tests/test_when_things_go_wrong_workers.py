"""Unit tests of course/when_things_go_wrong_workers.py (lesson 12).

Every test starts real processes and checks how they ended from outside
(exit codes, psutil, process groups); none may leave one running.
"""
from __future__ import annotations

import logging.handlers
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
import when_things_go_wrong_workers as w

from coursetools import COURSE_ROOT, available_start_methods

METHODS = available_start_methods()
mp = multiprocessing.get_context()
pytestmark = pytest.mark.usefixtures("no_child_left_running")


def run_child(target, *args) -> int:
    child = mp.Process(target=target, args=args)
    child.start()
    child.join(30)
    assert not child.is_alive()
    return child.exitcode


def test_each_way_of_dying_shows_in_the_exit_code():
    assert run_child(w.exit_with, 3) == 3
    assert run_child(w.kill_self, signal.SIGKILL) == -signal.SIGKILL
    assert run_child(w.abort_quietly) == -signal.SIGABRT


def test_the_poison_task_kills_its_worker_and_the_others_return_squares():
    assert w.square_unless_poison(4, poison=5, seconds=0) == 16
    assert run_child(w.square_unless_poison, 5, 5, 0) == 1


def test_start_then_wait_reports_and_waits_for_release():
    started, release = threading.Event(), threading.Event()
    thread = threading.Thread(target=w.start_then_wait, args=(started, release, 30))
    thread.start()
    assert started.wait(30)
    assert thread.is_alive()
    release.set()
    thread.join(30)
    assert not thread.is_alive()
    assert w.start_then_wait(threading.Event(), threading.Event(), 0.01) is False


def test_stop_workers_ends_a_stuck_task_and_breaks_the_pool():
    with ProcessPoolExecutor(max_workers=1) as pool:
        stuck = pool.submit(w.sleep_then_return, 30, "late")
        deadline = time.monotonic() + 30
        while not stuck.running() and time.monotonic() < deadline:
            time.sleep(0.01)
        worker_pids = list(pool._processes)
        how = w.stop_workers(pool)
    assert how == ("terminate_workers()" if sys.version_info >= (3, 14) else
                   "terminate() on each of executor._processes")
    assert isinstance(stuck.exception(timeout=30), BrokenProcessPool)
    assert len(worker_pids) == 1 and w.wait_until_gone(worker_pids) == []


def start_program(*arguments: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "when_things_go_wrong_workers", *arguments],
                            cwd=COURSE_ROOT / "course", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def ready_workers(program: subprocess.Popen) -> list[int]:
    ready, *pids = w.read_line(program.stdout, timeout=60).split()
    assert ready == "ready"
    return [int(pid) for pid in pids]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM to the parent"])
def test_the_careful_program_stops_cleanly_and_reports_what_was_not_done(method, how):
    program = start_program("careful-pool", method)
    try:
        workers = ready_workers(program)
        assert len(workers) == 2 and w.running(workers) == workers
        if how.startswith("SIGINT"):
            os.killpg(program.pid, signal.SIGINT)
        else:
            program.terminate()
        out, err = program.communicate(timeout=60)
    finally:
        leftover = w.kill_group(program.pid)
    name = "SIGINT" if how.startswith("SIGINT") else "SIGTERM"
    assert out.strip().splitlines()[-1] == f"stopped by {name}: done [0, 1], not done [2, 3, 4, 5]"
    assert program.returncode == 128 + signal.Signals[name].value
    assert err == ""
    assert leftover == [] and w.running(workers) == []


def test_sigterm_to_a_naive_pool_program_orphans_its_workers():
    program = start_program("pool", mp.get_start_method())
    try:
        workers = ready_workers(program)
        program.terminate()
        program.wait(timeout=60)  # not communicate(): the orphans still hold its output pipes open
        assert program.returncode == -signal.SIGTERM
        assert w.wait_until_gone(workers, timeout=0.5) == workers
    finally:
        assert w.kill_group(program.pid) == []
        program.communicate(timeout=60)
    assert w.running(workers) == []


def test_killing_a_child_leaves_the_grandchild_and_killpg_reaches_it():
    child = start_program("grandparent", "30")
    grandchild = int(w.read_line(child.stdout, timeout=60).split()[1])
    assert os.getpgid(grandchild) == child.pid
    child.kill()
    child.wait(timeout=30)  # not communicate(): the grandchild still holds the output pipe
    child.stdout.close()
    child.stderr.close()
    assert w.running([grandchild]) == [grandchild]
    assert w.group_members(child.pid) == [grandchild]
    assert w.kill_group(child.pid) == []
    assert w.running([grandchild]) == []


def test_kill_all_and_wait_until_gone():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    assert w.running([sleeper.pid]) == [sleeper.pid]
    assert w.wait_until_gone([sleeper.pid], timeout=0.1) == [sleeper.pid]
    w.kill_all([sleeper.pid])
    sleeper.wait(30)
    assert w.running([sleeper.pid]) == []


def test_logs_of_each_child_reach_the_parent_in_order():
    log_queue = mp.Queue()
    collected = w.RecordList()
    listener = logging.handlers.QueueListener(log_queue, collected)
    listener.start()
    jobs = [mp.Process(target=w.logged_job, args=(log_queue, f"job-{n}", 4), name=f"worker-{n}") for n in (1, 2)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join(30)
    listener.stop()
    for n, job in zip((1, 2), jobs):
        mine = [r for r in collected.records if r.name == f"job-{n}"]
        assert [r.getMessage() for r in mine] == [f"step {s} of 4" for s in range(1, 5)] + ["done"]
        assert {r.process for r in mine} == {job.pid}
        assert {r.processName for r in mine} == {f"worker-{n}"}


@pytest.mark.parametrize("method", METHODS)
def test_describe_stdout_names_the_childs_stream(method):
    context = multiprocessing.get_context(method)
    report = context.Queue()
    child = context.Process(target=w.describe_stdout, args=(report,))
    child.start()
    name, descriptor = report.get(timeout=30)
    child.join(30)
    assert "." in name and (descriptor is None or descriptor >= 0)


def test_faulthandler_writes_where_the_child_hangs_after_a_delay_and_on_sigusr1(tmp_path):
    dump, stop = tmp_path / "dump.txt", tmp_path / "stop"
    hung = mp.Process(target=w.hang_with_tracebacks, args=(str(dump), str(stop), 0.2, 30))
    hung.start()
    try:
        text = w.wait_for_text(str(dump), "in hang_with_tracebacks", timeout=30)
        assert w.functions_in_traceback(text)[:2] == ["wait_for_file", "hang_with_tracebacks"]
        os.kill(hung.pid, signal.SIGUSR1)
        text = w.wait_for_text(str(dump), "in hang_with_tracebacks", count=2, timeout=30)
        assert text.count("in wait_for_file") == 2
        attached, output = w.py_spy_dump(hung.pid)
        if attached:
            assert w.functions_in_traceback(output)[:2] == ["wait_for_file", "hang_with_tracebacks"]
        else:
            assert "ptrace" in output or "not installed" in output or "did not finish" in output
    finally:
        stop.touch()
        hung.join(30)
    assert hung.exitcode == 0


def test_wait_for_text_times_out(tmp_path):
    with pytest.raises(TimeoutError):
        w.wait_for_text(str(tmp_path / "never"), "x", timeout=0.05)


def test_functions_in_traceback_reads_py_spy_and_faulthandler_formats():
    spy = ('Thread 12 (idle): "MainThread"\n    wait_for_file (when_things_go_wrong_workers.py:220)\n'
           "    hang_with_tracebacks (when_things_go_wrong_workers.py:236)\n")
    fault = ('Thread 0x00007f (most recent call first):\n  File "/x/w.py", line 220 in wait_for_file\n'
             '  File "/x/w.py", line 236 in hang_with_tracebacks\n')
    assert w.functions_in_traceback(spy) == w.functions_in_traceback(fault) == ["wait_for_file", "hang_with_tracebacks"]


def test_py_spy_refuses_a_process_that_does_not_exist():
    attached, why = w.py_spy_dump(2 ** 22 + 12345, timeout=30)
    assert not attached and why


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="pdb -p exists from 3.14 on")
def test_pdb_attach_says_it_needs_3_14():
    attached, why = w.pdb_attach(os.getpid(), ["where"])
    assert not attached and "3.14" in why


def test_ptrace_scope_is_a_known_setting_or_none():
    assert w.ptrace_scope() in (None, 0, 1, 2, 3)


def test_my_processes_lists_a_running_child_and_not_the_helpers():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert any(f"PID {sleeper.pid}" in line for line in w.my_processes())
    finally:
        sleeper.kill()
        sleeper.wait(30)
    assert not any(f"PID {sleeper.pid}" in line for line in w.my_processes())
    assert not any("resource_tracker" in line or "forkserver" in line for line in w.my_processes())


def test_the_module_runs_as_a_program_only_with_a_known_program():
    done = subprocess.run([sys.executable, "-m", "when_things_go_wrong_workers", "nonsense"],
                          cwd=Path(w.__file__).parent, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "invalid choice" in done.stderr
