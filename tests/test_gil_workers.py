"""Unit tests of course/gil_workers.py (lesson 08's interpreter pool, Python 3.14+)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coursetools import COURSE_ROOT

import gil_workers

needs_interpreters = pytest.mark.skipif(sys.version_info < (3, 14), reason="concurrent.interpreters is new in 3.14")


@needs_interpreters
def test_the_kernel_runs_in_the_main_interpreter() -> None:
    assert gil_workers.where_am_i() == (0, os.getpid())


@needs_interpreters
def test_a_pool_runs_each_call_in_another_interpreter_of_this_process() -> None:
    from concurrent.futures import InterpreterPoolExecutor

    with InterpreterPoolExecutor(max_workers=2) as pool:
        ran = list(pool.map(gil_workers.where_am_i, range(4)))
    assert {pid for _, pid in ran} == {os.getpid()}
    assert all(number != 0 for number, _ in ran), ran


def test_the_module_imports_only_the_standard_library() -> None:
    """What an interpreter with its own GIL can import: no third-party extension module."""
    probe = ("import sys; before = set(sys.modules); import gil_workers; "
             "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))")
    shown = subprocess.run([sys.executable, "-c", probe], cwd=COURSE_ROOT / "course",
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert shown.strip() == "['gil_workers']"
