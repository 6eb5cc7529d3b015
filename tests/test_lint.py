"""The code and the notebooks pass ruff with the configuration in pyproject.toml (`make lint` runs the same)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coursetools import COURSE_ROOT

BIN = Path(sys.executable).parent


def lint(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=COURSE_ROOT, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(not (BIN / "ruff").exists(), reason="ruff is not installed beside this Python")
def test_the_code_passes_ruff():
    done = lint("ruff", "check", "--no-cache", "--quiet", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


@pytest.mark.skipif(not (BIN / "nbqa").exists(), reason="nbqa is not installed beside this Python")
def test_the_notebooks_pass_ruff():
    """Lessons and problem-set sources (release/ is generated from source/)."""
    done = lint("nbqa", "ruff", "course", "source", "--no-cache", "--quiet")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
