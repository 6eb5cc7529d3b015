"""Unit tests of course/threads_workers.py (lesson 06)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parent.parent / "course"
import threads_workers as tw

pytestmark = pytest.mark.usefixtures("no_thread_left_behind")


def run_in_thread(target, *args, name="worker") -> threading.Thread:
    thread = threading.Thread(target=target, args=args, name=name)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    return thread


def test_count_up_prints_numbered_lines_with_the_thread_name(capsys):
    run_in_thread(tw.count_up, 2, 0, name="Counter")
    assert capsys.readouterr().out.splitlines() == [
        "Counter is running", "Counter counts 1", "Counter counts 2", "Counter ends"]


def test_describe_into_reports_the_thread_that_runs_it():
    found: dict[str, object] = {}
    thread = run_in_thread(tw.describe_into, found, name="Inspector")
    assert found["name"] == "Inspector"
    assert found["is_main"] is False
    assert found["pid"] == os.getpid()
    assert found["ident"] == thread.ident
    assert found["native_id"] == thread.native_id != threading.get_native_id()


def test_describe_into_in_the_main_thread():
    found: dict[str, object] = {}
    tw.describe_into(found)
    assert found["is_main"] is (threading.current_thread() is threading.main_thread())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux fact")
def test_main_thread_native_id_is_the_pid_on_linux():
    assert threading.main_thread().native_id == os.getpid()


def test_wait_for_reports_whether_the_event_was_set():
    event = threading.Event()
    assert tw.wait_for(event, timeout=0.01) is False
    event.set()
    assert tw.wait_for(event, timeout=0.01) is True


def test_divide():
    assert tw.divide(1, 4) == 0.25
    with pytest.raises(ZeroDivisionError):
        tw.divide(1, 0)


def test_waits_in_threads_overlap():
    timeline = tw.overlapping_waits(3, 0.2)
    assert [name for name, _, _ in timeline] == ["waiter-1", "waiter-2", "waiter-3"]
    assert all(end - start >= 0.19 for _, start, end in timeline)
    total = max(end for *_, end in timeline) - min(start for _, start, _ in timeline)
    assert total < 0.4, f"three 0.2 s waits took {total:.2f} s: they did not overlap"


@pytest.mark.parametrize(("flag", "lines"), [
    ("--no-daemon", ["worker: started", "main: last line of the script", "worker: finished"]),
    ("--daemon", ["worker: started", "main: last line of the script"]),
])
def test_the_interpreter_waits_for_non_daemon_threads_only(flag, lines):
    result = subprocess.run([sys.executable, str(COURSE / "threads_workers.py"), flag],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == lines
    assert result.stderr == ""
