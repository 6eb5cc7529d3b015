"""Unit tests of course/gil_workers.py (lesson 08's interpreter pool, Python 3.14+)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import gil_workers
import pytest

from coursetools import COURSE_ROOT

needs_interpreters = pytest.mark.skipif(sys.version_info < (3, 14), reason="concurrent.interpreters is new in 3.14")


@needs_interpreters
def test_the_kernel_runs_in_the_main_interpreter() -> None:
    assert gil_workers.where_am_i() == (0, os.getpid())


@needs_interpreters
def test_a_pool_runs_each_call_in_another_interpreter_of_this_process() -> None:
    """As the lesson's kernel does, from the lesson's folder: a new interpreter imports by the sys.path
    its process was started with (a folder added at run time, as conftest adds course/, is not seen)."""
    probe = ("from concurrent.futures import InterpreterPoolExecutor; import gil_workers\n"
             "with InterpreterPoolExecutor(max_workers=2) as pool:\n"
             "    print(list(pool.map(gil_workers.where_am_i, range(4))))")
    with subprocess.Popen([sys.executable, "-c", probe], cwd=COURSE_ROOT / "course", text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    ran = ast.literal_eval(out)
    assert len(ran) == 4 and {pid for _, pid in ran} == {child.pid}, ran  # the process seen from outside
    assert all(number != 0 for number, _ in ran), ran


def test_the_module_imports_only_the_standard_library() -> None:
    """What an interpreter with its own GIL can import: no third-party extension module."""
    probe = ("import sys; before = set(sys.modules); import gil_workers; "
             "print(sorted(m for m in set(sys.modules) - before if m.split('.')[0] not in sys.stdlib_module_names))")
    shown = subprocess.run([sys.executable, "-c", probe], cwd=COURSE_ROOT / "course",
                           capture_output=True, text=True, check=True, timeout=60).stdout
    assert shown.strip() == "['gil_workers']"
