"""Tools behind the processes-and-threads course.

Students never need to import this package in a lesson except for the GIL lab
(the package ``coursetools.gil``); the rest serves the tests, the TA commands and CI.
"""
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
START_METHODS = ("fork", "spawn", "forkserver")


def available_start_methods(methods: tuple[str, ...] = START_METHODS) -> list[str]:
    """The start methods of ``methods`` that this platform offers, in that order."""
    import multiprocessing

    offered = multiprocessing.get_all_start_methods()
    return [method for method in methods if method in offered]


def put_environment_scripts_on_path() -> None:
    """nbgrader runs the ``alembic`` command by name when it creates a gradebook,
    so the environment's script folder must be on PATH even when Python was
    started as ``.venv/bin/python`` without activating the environment.  Called
    by the commands that create gradebooks (release, grading), never on import:
    lesson 08 and problem set 4 import this package inside student kernels."""
    import os
    import sys

    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")

