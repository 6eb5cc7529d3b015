"""The runtime half of the grading integrity checks, and strict scoring: :class:`GuardedExecute`.

nbgrader's ``Execute`` with checks between cells (see :mod:`coursetools.grading.integrity`):
the private module :mod:`coursetools.grading.integrity.in_kernel` is sent into the
kernel before the first cell and answers every later check with a signed verdict.
"""
from __future__ import annotations

import ast
import hashlib
import hmac
import importlib.machinery
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool, Dict, Float

from ...course import ignored_by
from ..overrides import SyncFollowsAsync, require_tested_versions
from .scan import Instructor, scan, writefile_bodies, written_modules

require_tested_versions()  # plain `nbgrader autograde` and Formgrader import this module to autograde

MARK = "INTEGRITY:"
"""Prefix of the grader's log line when a notebook is caught tampering."""
ERROR_NAME = "IntegrityError"

IN_KERNEL_SOURCE = Path(__file__).with_name("in_kernel.py")
"""Sent into the kernel as source: never imported by the grader."""


class Tampering(Exception):
    """The kernel was caught changing how cells run or are reported."""


@dataclass
class Reply:
    status: str
    outputs: list[dict]
    user_expressions: dict


def file_hashes(folder: Path, names: Iterable[str]) -> dict[str, str]:
    hashes = {}
    for name in names:
        path = folder / name
        try:
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
        except OSError:
            hashes[name] = "unreadable"
    return hashes


def shipped_files(folder: Path, ignore: list[str]) -> list[str]:
    """Files of a course folder (``source/<set>/``) that the course ships beside the notebook (helper
    modules, data): not notebooks, not hidden files, not what the course's ``ignore`` list leaves out
    (the student's own modules among them)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".ipynb"
                  and not ignored_by(ignore, p.name) and not p.name.startswith("."))


IMPORTABLE_SUFFIXES = tuple(importlib.machinery.all_suffixes())


def is_importable(path: Path) -> bool:
    """Whether ``import NAME`` could load code from ``path`` in the notebook's folder: a module file or a
    package (or namespace package) folder named like a module."""
    stem = path.name.split(".", 1)[0]
    if not stem.isidentifier():
        return False
    if path.is_dir():
        return any(p.name.endswith(IMPORTABLE_SUFFIXES) for p in path.rglob("*"))
    return path.name.endswith(IMPORTABLE_SUFFIXES)


def unshipped_code(folder: Path, shipped: Iterable[str], ignore: list[str], nb: Any) -> list[str]:
    """Importable files and folders beside the notebook that the course does not ship and the notebook
    does not write itself: code the student brought along that the kernel (tests included) would import."""
    if not folder.is_dir():
        return []
    shipped, written = set(shipped), writefile_bodies(nb)
    found = []
    for path in sorted(folder.iterdir()):
        if path.name in shipped or path.name.startswith(".") or ignored_by(ignore, path.name) \
                or path.suffix == ".ipynb" or not is_importable(path):
            continue
        if path.is_file() and path.name in written:
            try:
                if path.read_text().rstrip("\n") in written[path.name]:
                    continue  # exactly what the notebook's own cell writes
            except (OSError, UnicodeDecodeError):
                pass
        found.append(path.name)
    return found


class GuardedExecute(SyncFollowsAsync, Execute):
    """nbgrader's Execute with the integrity checks of this module (see its docstring)."""

    guard_timeout = Float(30.0, help="Seconds a runtime check may take to answer (honest kernels answer in "
                                     "milliseconds).").tag(config=True)
    static_scan = Bool(True, help="Scan the student's cells before running them.  A TA who has read a "
                                  "flagged submission can regrade it with only the runtime checks: "
                                  "--GuardedExecute.static_scan=False").tag(config=True)

    kernel_launch_env = Dict(help="Environment of the kernels this starts (default: the grader's own).")

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.kernel_launch_env:
            kwargs.setdefault("env", dict(self.kernel_launch_env))
        await super().async_start_new_kernel(**kwargs)

    @staticmethod
    def source_folder(coursedir: CourseDirectory, resources: Any) -> Path | None:
        """The assignment's folder in the course's ``source/``, which says what the course ships (the graded
        folder also holds whatever the student submitted); None when grading outside a course."""
        assignment = (resources or {}).get("nbgrader", {}).get("assignment")
        if not assignment:
            return None
        folder = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        return folder if folder.is_dir() else None

    @property
    def reasons(self) -> list[str]:
        """Why the last notebook was caught (empty: it was not)."""
        return list(self._reasons)

    @property
    def caught(self) -> str:
        """``<notebook>: <reason>`` when the last notebook was caught, else ""."""
        return f"{self._notebook}: {self._reasons[0]}" if self._reasons else ""

    def preprocess(self, nb: Any, resources: Any, *args: Any, **kwargs: Any) -> Any:
        folder = Path((resources or {}).get("metadata", {}).get("path") or ".")
        coursedir = CourseDirectory(config=self.config)
        source = self.source_folder(coursedir, resources)
        self._shipped = shipped_files(source or folder, coursedir.ignore)
        self._folder = folder
        self._hashes = file_hashes(folder, self._shipped)
        self._reasons: list[str] = []
        self._instructor = Instructor.of(nb)
        self._key = secrets.token_bytes(32)
        self._module = "_course_check_" + secrets.token_hex(8)
        self._started = False
        self._previous = -1
        self._last_code = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
        self._helpers = [name[:-3] for name in self._shipped if name.endswith(".py")]
        self._allowed_modules = set(self._helpers) | written_modules(nb)
        findings = scan(nb, self._shipped) if self.static_scan else []
        if findings:
            self._reasons = [f"the code uses what grading does not allow: {f}" for f in findings[:5]]
            return self.verdict(nb, resources)
        brought = unshipped_code(folder, self._shipped, coursedir.ignore, nb) if self.static_scan else []
        if brought:
            self._reasons = [f"the submission holds {', '.join(brought)}, code the course does not ship: graded "
                             "code must be in the notebook (delete it from the assignment folder and submit again)"]
            return self.verdict(nb, resources)
        nb, resources = super().preprocess(nb, resources, *args, **kwargs)
        return self.verdict(nb, resources)

    # executing hidden cells ---------------------------------------------------------------
    async def run_hidden(self, code: str, silent: bool, user_expressions: dict | None = None,
                         timeout: float | None = None) -> Reply:
        """Execute ``code`` in the kernel without recording it in the notebook; collect what it showed."""
        timeout = self.guard_timeout if timeout is None else timeout
        msg_id = self.kc.execute(code, silent=silent, store_history=False, allow_stdin=False,
                                 user_expressions=user_expressions or {})
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Tampering("the kernel did not answer the integrity check")
            try:
                msg = await ensure_async(self.kc.shell_channel.get_msg(timeout=min(left, 1.0)))
            except Exception:
                if not await ensure_async(self.km.is_alive()):
                    raise Tampering("the kernel died during the integrity check") from None
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                reply = msg
        outputs: list[dict] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Tampering("the kernel's output did not end after the integrity check")
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=min(left, 1.0)))
            except Exception:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "status" and msg["content"].get("execution_state") == "idle":
                break
            if kind in ("stream", "error", "execute_result", "display_data"):
                outputs.append(dict(msg["content"], output_type=kind))
        content = reply["content"]
        return Reply(content.get("status", ""), outputs, content.get("user_expressions") or {})

    async def guard(self, bless: list[str]) -> None:
        """Compare the kernel with its baseline (taking the baseline the first time)."""
        nonce = secrets.token_hex(16)
        if not self._started:
            source = IN_KERNEL_SOURCE.read_text()
            source = source.replace('KEY = b""', f"KEY = bytes.fromhex({self._key.hex()!r})", 1)
            source = source.replace("PROTECTED_BUILTINS: frozenset = frozenset()",
                                    f"PROTECTED_BUILTINS = frozenset({sorted(self._instructor.builtins_used)!r})", 1)
            expression = (f"(lambda m: (__import__('sys').modules.__setitem__(m.__name__, m), "
                          f"exec(compile({source!r}, '<course integrity>', 'exec'), m.__dict__), "
                          f"m.start({self._helpers!r}, {str(self._folder.resolve())!r}, "
                          f"{sorted(self._allowed_modules)!r}))[-1])(type(__import__('sys'))({self._module!r}))")
            nonce = "started"
            self._started = True
        else:
            expression = (f"__import__('sys').modules[{self._module!r}].compare_with_baseline({nonce!r}, {bless!r}, "
                          f"{self._helpers!r})")
        reply = await self.run_hidden("", silent=True, user_expressions={"v": expression})
        value = reply.user_expressions.get("v", {})
        if value.get("status") != "ok":
            raise Tampering(f"the integrity check failed in the kernel: {value.get('ename')}: {value.get('evalue')}")
        text = value.get("data", {}).get("text/plain", "")
        try:
            verdict, mac, problems = ast.literal_eval(text).split("\n", 2)
        except (ValueError, SyntaxError):
            raise Tampering("the integrity check's answer was not its own") from None
        expected = hmac.new(self._key, f"{nonce}\n{verdict}\n{problems}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, expected):
            raise Tampering("the integrity check's answer was forged")
        if verdict != "ok":
            raise Tampering("the kernel was changed: " + problems.replace("|", "; "))
        if file_hashes(self._folder, self._shipped) != self._hashes:
            raise Tampering("a file the course ships was changed on disk")

    async def canaries(self) -> None:
        """A cell that must fail and a cell that must print, each with values made now."""
        failing = secrets.token_hex(12)
        reply = await self.run_hidden(f"raise AssertionError({failing!r})", silent=False)
        errors = [o for o in reply.outputs if o["output_type"] == "error"]
        others = [o for o in reply.outputs if o["output_type"] in ("execute_result",)
                  or (o["output_type"] == "stream" and o.get("name") == "stderr")]
        if reply.status != "error" or not errors or errors[0].get("ename") != "AssertionError" \
                or errors[0].get("evalue") != failing or others:
            raise Tampering("a cell that must fail was not reported as failing")
        printing = secrets.token_hex(12)
        reply = await self.run_hidden(f"print({printing!r})", silent=False)
        streams = "".join(o.get("text", "") for o in reply.outputs if o["output_type"] == "stream")
        if reply.status != "ok" or streams != printing + "\n" or \
                any(o["output_type"] in ("error", "execute_result") for o in reply.outputs):
            raise Tampering("a cell that must print one line showed something else")

    async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: int | None = None,
                                 store_history: bool = True) -> Any:
        if self._reasons:
            return cell  # caught: nothing more of this notebook runs
        if cell.cell_type == "code":
            try:
                bless = self._instructor.bindings[self._previous] if self._previous >= 0 else []
                await self.guard(bless)
            except Tampering as error:
                self._reasons.append(str(error))
                return cell
        result = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if cell.cell_type != "code":
            return result
        self._previous = cell_index
        try:
            if is_grade(cell) and not is_solution(cell):
                await self.canaries()
            if cell_index == self._last_code:
                await self.guard(self._instructor.bindings[cell_index])
        except Tampering as error:
            self._reasons.append(str(error))
        return result

    # the verdict ------------------------------------------------------------------------------
    def verdict(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        """Score strictly; on tampering, an IntegrityError in every autograded test cell."""
        self._notebook = (resources or {}).get("nbgrader", {}).get("notebook") or "notebook"
        if self._reasons:
            reason = self._reasons[0]
            self.log.error("%s %s", MARK, self.caught)
            for cell in nb.cells:
                if is_grade(cell) and not is_solution(cell) and cell.cell_type == "code":
                    cell.outputs = [nbformat.v4.new_output(
                        "error", ename=ERROR_NAME, evalue=reason,
                        traceback=[f"{ERROR_NAME}: this notebook was not graded as it stands: {reason}. "
                                   "Your TA will look at it."])]
        for cell in nb.cells:
            if is_grade(cell) and not is_solution(cell) and cell.cell_type == "code":
                failed = any(o.output_type == "error" or (o.output_type == "stream" and o.get("name") == "stderr")
                             for o in cell.outputs)
                if failed:
                    cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
        return nb, resources
