"""Unit tests of course/subprocess_workers.py (lesson 04), in-process and as a program."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import psutil
import pytest
import subprocess_workers as workers

from coursetools import COURSE_ROOT

PROGRAM = [sys.executable, str(COURSE_ROOT / "course" / "subprocess_workers.py")]


def run_program(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*PROGRAM, *args], capture_output=True, text=True, timeout=60, **kwargs)


def test_show_args_prints_each_argument_quoted():
    out = io.StringIO()
    workers.show_args(["a b", "c;d"], out)
    assert out.getvalue() == "2 argument(s):\n  'a b'\n  'c;d'\n"


def test_shout_uppercases_every_line():
    out = io.StringIO()
    workers.shout(io.StringIO("one\ntwo\n"), out)
    assert out.getvalue() == "ONE\nTWO\n"


def test_fail_writes_the_message_and_returns_the_code():
    err = io.StringIO()
    assert workers.fail(5, "broken", err) == 5
    assert err.getvalue() == "broken\n"


def test_args_program_receives_one_argument_per_list_item():
    done = run_program("args", "notes; echo INJECTED", "")
    assert done.returncode == 0
    assert done.stdout == "2 argument(s):\n  'notes; echo INJECTED'\n  ''\n"


def test_upper_program_reads_stdin():
    done = run_program("upper", input="hello\nworld\n")
    assert (done.returncode, done.stdout, done.stderr) == (0, "HELLO\nWORLD\n", "")


def test_fail_program_exits_with_the_code():
    done = run_program("fail", "3", "disk full")
    assert (done.returncode, done.stdout, done.stderr) == (3, "", "disk full\n")


@pytest.mark.parametrize("argv", [[], ["nonsense"], ["fail", "3"], ["sleep"]])
def test_bad_usage_exits_with_2(argv):
    done = run_program(*argv)
    assert done.returncode == 2 and done.stderr


def test_run_with_timeout_kills_the_sleep_program():
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run([*PROGRAM, "sleep", "60"], capture_output=True, timeout=0.5)


def test_killed_sleep_program_has_minus_sigkill():
    child = subprocess.Popen([*PROGRAM, "sleep", "60"])
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=0.2)
    finally:
        child.kill()
        returncode = child.wait(timeout=60)
    assert returncode == -signal.SIGKILL


def test_sleep_program_ends_by_itself():
    assert run_program("sleep", "0").returncode == 0


def helper_of(out: str) -> int:
    word, label, pid = out.split()[:3]
    assert (word, label) == ("helper", "PID"), out
    return int(pid)


def test_helper_program_leaves_a_grandchild_that_a_timeout_does_not_kill():
    with pytest.raises(subprocess.TimeoutExpired) as expired:
        subprocess.run([*PROGRAM, "helper", "60"], capture_output=True, text=True, timeout=1.0)
    output = expired.value.stdout
    helper = helper_of(output.decode() if isinstance(output, bytes) else output)
    try:
        assert workers.running(helper)
        assert "sleep" in psutil.Process(helper).cmdline()
    finally:
        os.kill(helper, signal.SIGKILL)
    assert not workers.running(helper, within=10)


def test_killing_the_process_group_ends_the_grandchild_too():
    child = subprocess.Popen([*PROGRAM, "helper", "60"], stdout=subprocess.PIPE, text=True,
                             start_new_session=True)
    try:
        helper = helper_of(child.stdout.readline())
        assert os.getpgid(helper) == child.pid
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    assert not workers.running(helper, within=10)


def test_running_says_false_for_a_reaped_process():
    child = subprocess.Popen([*PROGRAM, "sleep", "0"])
    child.wait(timeout=60)
    assert not workers.running(child.pid)
