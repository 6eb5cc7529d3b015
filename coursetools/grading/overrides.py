"""Every override of nbgrader, nbclient and jupyter_client internals, in one place, guarded by version.

Grading runs several submissions at once in one process, each kernel in a
sandbox, and needs to act when a cell ignores its timeout: none of it has a
public hook in these packages.  Each override below says what it replaces,
why, and when it can go.  They were read against, and tested with, the
versions in :data:`TESTED`; :func:`require_tested_versions` refuses others
with one line that says so (the grading command, the grading worker and the
integrity guard call it before anything runs).
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbconvert.writers import FilesWriter
from nbgrader import utils as nbgrader_utils
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.utils import capture_log, temp_attrs
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version
from traitlets.config import Config

TESTED = {
    "nbgrader": ">=0.9.6,<0.10",
    "nbclient": ">=0.11.0,<0.12",
    "jupyter_client": ">=8.10.0,<9",
    "nbconvert": ">=7.17.0,<8",
}
"""The versions every override here was checked against (requirements.txt pins one of each)."""


class UnsupportedVersion(RuntimeError):
    """An installed package is outside the versions the overrides were tested with."""


def require_tested_versions() -> None:
    """Raise :class:`UnsupportedVersion` unless every package of :data:`TESTED` is in its range."""
    wrong = []
    for package, tested in TESTED.items():
        try:
            installed = version(package)
            supported = Version(installed) in SpecifierSet(tested)
        except (PackageNotFoundError, InvalidVersion):
            installed, supported = "(not found)", False
        if not supported:
            wrong.append(f"{package} {installed} (tested: {tested})")
    if wrong:
        raise UnsupportedVersion(
            "the grading tools override internals of " + ", ".join(wrong) + ": check each override in "
            "coursetools/grading/overrides.py against the installed version, then widen TESTED")


# --- nbclient ----------------------------------------------------------------------------------------

class SyncFollowsAsync:
    """Mixin for nbgrader's ``Execute``: the synchronous methods run the subclass's coroutines.

    nbclient's ``NotebookClient`` binds ``execute_cell = run_sync(async_execute_cell)`` (and so
    ``start_new_kernel``, ``start_new_kernel_client``) in its class body, and nbconvert's
    ``ExecutePreprocessor.preprocess`` calls the synchronous ones: a subclass that overrides a coroutine
    is silently bypassed.  Every subclass gets them bound again to its own coroutines.  Can go when
    nbclient looks the coroutine up on the instance (``run_sync(self.async_execute_cell)``).
    """

    SYNC_OF_ASYNC = ("execute_cell", "start_new_kernel", "start_new_kernel_client")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in cls.SYNC_OF_ASYNC:
            setattr(cls, name, run_sync(getattr(cls, f"async_{name}")))


class CellTimeoutHook:
    """Mixin for nbgrader's ``Execute``: :meth:`cell_timed_out` runs after nbclient handled a cell's timeout.

    Overrides nbclient's private ``NotebookClient._async_handle_timeout``: nbclient interrupts the kernel
    (or raises ``CellTimeoutError``) and then waits for the next cell's reply, for ever if the kernel
    ignores the interrupt.  Can go when nbclient offers a public hook on cell timeouts (as it does with
    ``on_cell_executed``).
    """

    async def cell_timed_out(self, timeout: int, cell: Any, interrupted: bool) -> None:
        """Called after each cell timeout: ``interrupted`` (the kernel was sent SIGINT), else
        ``CellTimeoutError`` is raised after this returns."""

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Any:
        try:
            reply = await super()._async_handle_timeout(timeout, cell)  # type: ignore[misc]
        except CellTimeoutError:
            await self.cell_timed_out(timeout, cell, interrupted=False)
            raise
        await self.cell_timed_out(timeout, cell, interrupted=True)
        return reply


# --- jupyter_client -----------------------------------------------------------------------------------

class LaunchOptionsKernelManager(AsyncKernelManager):
    """An AsyncKernelManager whose subclasses choose the kernel process's ``Popen`` options.

    Overrides jupyter_client's private ``KernelManager._async_launch_kernel``, the one place where the
    environment, stdio and ``preexec_fn`` of each kernel can be set.  Can go when grading registers a
    ``KernelProvisioner`` of its own (a public entry point of jupyter_client) that sets them.
    """

    def launch_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of the kernel's ``Popen`` (by default unchanged)."""
        return options

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(kernel_cmd, **self.launch_options(kw))


# --- nbgrader -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def _setenv_for_good(**values: str) -> Iterator[None]:
    os.environ.update(values)
    yield


def keep_nbgrader_execution_set() -> None:
    """Set ``NBGRADER_EXECUTION=autograde`` for good, in a process that only autogrades.

    nbgrader sets it around each execution with ``nbgrader.utils.setenv``, which then deletes it
    unconditionally (it saves ``os.environ.get(value)`` instead of ``get(key)``): the second of two
    submissions graded at once fails with ``KeyError``.  Replaces ``nbgrader.utils.setenv``.  Can go when
    nbgrader's ``setenv`` restores the previous value by key.
    """
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    nbgrader_utils.setenv = _setenv_for_good


class _StayPut:
    """nbgrader's ``BaseConverter.start`` without its ``chdir`` to the course root, which is process-wide:
    several submissions graded at once in one process must not move each other (all paths are absolute).
    Can go when nbgrader's converters stop changing the working directory."""

    def start(self) -> None:
        self.init_notebooks()
        self.writer = FilesWriter(parent=self, config=self.config)
        self.exporter = self.exporter_class(parent=self, config=self.config)
        for pp in self.preprocessors:
            self.exporter.register_preprocessor(pp)
        self.convert_notebooks()


class ThreadedAutograde(_StayPut, Autograde):
    """Autograde without the chdir."""


class ThreadedFeedback(_StayPut, GenerateFeedback):
    """GenerateFeedback without the chdir."""


def run_autograde(api: NbGraderAPI, assignment: str, student: str) -> dict:
    """What ``NbGraderAPI.autograde(force=True, create=True)`` does, with :class:`ThreadedAutograde`."""
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        app = ThreadedAutograde(coursedir=api.coursedir, parent=api)
        app.force = True
        app.create_student = True
        return capture_log(app)


def run_feedback(api: NbGraderAPI, assignment: str, student: str) -> dict:
    """What ``NbGraderAPI.generate_feedback(force=True)`` does, with :class:`ThreadedFeedback`."""
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        app = ThreadedFeedback(coursedir=api.coursedir, parent=api)
        app.update_config(config)
        app.force = True
        return capture_log(app)
