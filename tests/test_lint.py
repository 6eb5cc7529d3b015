"""The code and the notebooks pass ruff with the configuration in pyproject.toml (`make lint` runs the same;
ruff reads notebooks itself, release/ excepted: it is generated from source/)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from coursetools import COURSE_ROOT

BIN = Path(sys.executable).parent


def lint(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / command[0]), *command[1:]], cwd=COURSE_ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_code_and_the_notebooks_pass_ruff():
    done = lint("ruff", "check", "--no-cache", "--quiet", ".")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
