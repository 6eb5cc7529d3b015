"""Choose the multiprocessing start method of a Jupyter kernel from outside.

Notebooks never call ``set_start_method``: they must work under whatever the
platform gives them (fork on Linux before 3.14, forkserver from 3.14, spawn on
macOS and Windows).  To run a notebook under a chosen method, the tests start
its kernel with ``COURSE_START_METHOD`` set and ``IPYTHONDIR`` pointing at a
throw-away profile whose startup file applies it before the first cell runs.
The same environment works for nbclient, nbval and ``nbgrader autograde``,
since all of them start the kernel as a child process that inherits it.
"""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

ENV_VAR = "COURSE_START_METHOD"

STARTUP_CODE = f'''\
import multiprocessing as _mp
import os as _os
_method = _os.environ.get("{ENV_VAR}")
if _method:
    _mp.set_start_method(_method, force=True)
del _mp, _os, _method
'''


def start_method_env(method: str | None, ipython_dir: Path | None = None) -> dict[str, str]:
    """Return a copy of ``os.environ`` that makes new kernels use ``method``.

    ``method`` None leaves the platform default.  ``ipython_dir`` is where the
    profile with the startup file is written (by default one temp folder per
    process, shared by every kernel it starts and removed when it exits).
    """
    env = dict(os.environ)
    if method is None:
        env.pop(ENV_VAR, None)
        return env
    if ipython_dir is None:
        ipython_dir = _shared_ipython_dir()
    write_startup(ipython_dir)
    env[ENV_VAR] = method
    env["IPYTHONDIR"] = str(ipython_dir)
    return env


def write_startup(ipython_dir: Path) -> Path:
    """Write the startup file that applies ``COURSE_START_METHOD`` into the default profile of
    ``ipython_dir``; return it."""
    startup = Path(ipython_dir) / "profile_default" / "startup"
    startup.mkdir(parents=True, exist_ok=True)
    path = startup / "00-start-method.py"
    path.write_text(STARTUP_CODE)
    return path


_SHARED: list[Path] = []


def _shared_ipython_dir() -> Path:
    """This process's throw-away IPython profile folder (the startup file reads the method from the
    environment, so one folder serves every method)."""
    if not _SHARED:
        _SHARED.append(Path(tempfile.mkdtemp(prefix="ipython-")))
        atexit.register(shutil.rmtree, _SHARED[0], True)
    return _SHARED[0]
