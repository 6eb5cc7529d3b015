"""tests/xdist_groups.py: ``--dist loadgroup`` sends the grading tests to one worker, and first."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

EXAMPLE = '''
import pytest

@pytest.mark.parametrize("i", range(6))
def test_other(i):
    pass

@pytest.mark.xdist_group("grading")
@pytest.mark.parametrize("i", range(6))
def test_grading(i):
    pass
'''


def run_pytest(folder: Path, *args: str) -> str:
    (folder / "test_example.py").write_text(EXAMPLE)
    (folder / "pytest.ini").write_text("[pytest]\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "xdist", "-p", "xdist_groups",
                           "-c", str(folder / "pytest.ini"), "--rootdir", str(folder), *args, str(folder)],
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(HERE), "PATH": "", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_grading_group_is_collected_first(tmp_path):
    ids = [line for line in run_pytest(tmp_path, "--dist", "loadgroup", "--collect-only", "-q").splitlines()
           if "::" in line]
    assert [i.split("::")[1] for i in ids] == [f"test_grading[{i}]@grading" for i in range(6)] + \
        [f"test_other[{i}]" for i in range(6)], ids


def test_loadgroup_sends_the_grading_group_to_one_worker(tmp_path):
    ran = re.findall(r"\[(gw\d)\].*PASSED \S+::(test_\w+)", run_pytest(tmp_path, "-n", "2", "--dist", "loadgroup", "-v"))
    workers = {worker for worker, name in ran if name == "test_grading"}
    assert len(ran) == 12 and len(workers) == 1, ran
