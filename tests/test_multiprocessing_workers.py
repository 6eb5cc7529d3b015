"""Unit tests of course/multiprocessing_workers.py (lesson 02)."""
from __future__ import annotations

import multiprocessing as mp
import os
import re
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import multiprocessing_workers as workers
import pytest

from coursetools import available_start_methods

METHODS = available_start_methods()
pytestmark = pytest.mark.usefixtures("no_child_left_running")


def run_child(ctx, target, *args) -> int:
    """Start ``target(*args)`` in a child of context ``ctx``, join it, return its exit code."""
    child = ctx.Process(target=target, args=args)
    child.start()
    child.join(timeout=60)
    assert not child.is_alive(), "the child did not end within 60 s"
    return child.exitcode


def test_plain_functions():
    assert workers.answer() == 42
    assert workers.square(-7) == 49
    assert workers.divide(3, 2) == 1.5
    with pytest.raises(ZeroDivisionError):
        workers.divide(1, 0)


@pytest.mark.parametrize("method", METHODS)
def test_describe_self_reports_the_child(method):
    ctx = mp.get_context(method)
    reports = ctx.Queue()
    child = ctx.Process(target=workers.describe_self, args=(reports,), name="reporter")
    child.start()
    report = reports.get(timeout=60)
    child.join(timeout=60)
    assert report["pid"] == child.pid != os.getpid()
    assert report["name"] == "reporter"
    # A forkserver child is forked by the server, not by this process.
    assert (report["ppid"] == os.getpid()) is (method != "forkserver")


@pytest.mark.parametrize("method", METHODS)
def test_report_setting_shows_what_the_child_inherits(method, monkeypatch):
    monkeypatch.setattr(workers, "SETTING", "changed at run time")
    ctx = mp.get_context(method)
    reports = ctx.Queue()
    child = ctx.Process(target=workers.report_setting, args=(reports,))
    child.start()
    seen = reports.get(timeout=60)["setting"]
    child.join(timeout=60)
    expected = "changed at run time" if method == "fork" else "as written in multiprocessing_workers.py"
    assert seen == expected


@pytest.mark.parametrize("method", METHODS)
def test_exit_codes(method, tmp_path):
    ctx = mp.get_context(method)
    log = tmp_path / "stderr.txt"
    assert run_child(ctx, workers.answer) == 0
    assert run_child(ctx, workers.exit_with, 3) == 3
    assert run_child(ctx, workers.run_with_stderr_to, str(log), workers.divide, 1, 0) == 1
    assert log.read_text().splitlines()[-1] == "ZeroDivisionError: division by zero"


def test_terminate_gives_minus_sigterm():
    child = mp.get_context("spawn").Process(target=workers.sleep_for, args=(60,))
    child.start()
    child.join(timeout=0.2)
    assert child.is_alive() and child.exitcode is None
    child.terminate()
    child.join(timeout=60)
    assert child.exitcode == -signal.SIGTERM


def made_in_main(number: int) -> int:
    """Stands in for a function defined in a notebook cell (module ``__main__``)."""
    return number


def test_spawn_child_cannot_import_a_function_from_main(tmp_path, monkeypatch):
    monkeypatch.setattr(made_in_main, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "made_in_main", made_in_main, raising=False)
    log = tmp_path / "worker-stderr.txt"
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"),
                             initializer=workers.send_stderr_to, initargs=(str(log),)) as pool:
        future = pool.submit(made_in_main, 7)
        with pytest.raises(BrokenProcessPool):
            future.result(timeout=60)
    last_line = log.read_text().splitlines()[-1]
    # pickle's own wording up to 3.13; from 3.14 it lets the module's AttributeError through.
    assert re.match(r"AttributeError: (Can't get attribute 'made_in_main'"
                    r"|module '__main__' has no attribute 'made_in_main')", last_line), last_line


def test_spawn_child_imports_a_function_from_the_module():
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        assert pool.submit(workers.square, 7).result(timeout=60) == 49


def test_send_stderr_to_captures_python_and_fd_level_output(tmp_path):
    log = tmp_path / "stderr.txt"
    ctx = mp.get_context("spawn")
    code = run_child(ctx, workers.run_with_stderr_to, str(log), os.write, 2, b"written to fd 2\n")
    assert code == 0
    assert "written to fd 2" in log.read_text()
