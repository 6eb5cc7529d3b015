"""The sandbox around a student's kernel at grading time, and process clean-up.

Two modes, chosen once per grading run by :func:`detect`:

``namespaces`` (Linux, root, ``unshare`` from util-linux works)
    The kernel is started as ``unshare --net --pid --mount --fork --kill-child
    --mount-proc python -I -S _sandbox_exec.py SETTINGS -- <kernel command>``.
    It runs as an unprivileged uid of its own (one per grading worker, never a
    real account), in a network namespace with only loopback, in a PID
    namespace whose first process is the kernel (when it ends, the kernel
    tears down every process the submission started), with private ``/tmp``
    and ``/dev/shm``, the course's private paths hidden, and resource limits.
    The kernel talks to the grader over ZeroMQ ``ipc`` sockets (files), since
    the grader's loopback is not reachable from the namespace.

``fallback`` (macOS, no namespaces, not root, or ``--no-sandbox``)
    Resource limits only; the kernel runs as the grader's user.  Every process
    it started is killed after each notebook: on Linux the grading worker is a
    *child subreaper*, so even double-forked orphans in new sessions stay its
    descendants; elsewhere a marker in the environment and the process tree
    are used.

:func:`describe` says in one line which mode is in force and what it lacks.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypedDict

import psutil

from ..processes import processes_marked

EXEC_SCRIPT = Path(__file__).resolve().parent / "_sandbox_exec.py"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The ``coursetools`` package: kernels import it (the GIL lab), and the sandbox runs EXEC_SCRIPT from it."""
TOKEN_VAR = "COURSE_GRADE_TOKEN"
UID_BASE = 61000
"""First uid tried for the sandbox users (one per worker; uids with an
account in the password database or with running processes are skipped)."""

PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
KEPT_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ", "PYTHONHASHSEED",
            "PYTHONDONTWRITEBYTECODE")


class ExecSettings(TypedDict, total=False):
    """What ``_sandbox_exec.py`` sets up before it execs the kernel (passed to it as JSON)."""

    limits: dict[str, int | None]
    """RLIMIT name (``as``, ``cpu``, ...) to value; None leaves that limit alone."""
    parent: int | None
    """The pid that must still be the parent (fallback mode), so that an orphaned kernel never starts."""
    namespaces: bool
    hide: list[str]
    expose: list[str]
    tmpfs: dict[str, str]
    """Mount point to tmpfs size (``/tmp``: ``512m``)."""
    uid: int
    gid: int


@dataclass(frozen=True)
class Limits:
    """Resource limits of every process a submission runs (per process, except processes)."""

    memory_bytes: int = 4 * 2**30
    """RLIMIT_AS: address space of one process (threads' stacks count)."""
    cpu_seconds: int = 600
    """RLIMIT_CPU: CPU time of one process."""
    processes: int = 256
    """RLIMIT_NPROC: processes and threads of the sandbox user (namespaces mode)."""
    file_bytes: int = 256 * 2**20
    """RLIMIT_FSIZE: largest file a process may write."""
    open_files: int = 4096
    tmp_size: str = "512m"
    shm_size: str = "256m"

    def rlimits(self, nproc: int | None) -> dict[str, int | None]:
        return {"as": self.memory_bytes, "cpu": self.cpu_seconds, "nproc": nproc,
                "fsize": self.file_bytes, "nofile": self.open_files, "core": 0}


@dataclass(frozen=True)
class Sandbox:
    """The mode chosen for a grading run (see the module docstring)."""

    namespaces: bool
    unprivileged: bool
    why_not: str = ""
    limits: Limits = field(default_factory=Limits)
    unshare: str | None = None

    def describe(self) -> str:
        """One line for the start of a grading run."""
        lim = self.limits
        if self.namespaces:
            return ("sandbox: each kernel in its own network, PID and mount namespaces, as an unprivileged "
                    f"user; per process {lim.memory_bytes / 2**30:g} GiB memory, {lim.cpu_seconds} s CPU, "
                    f"{lim.file_bytes / 2**20:g} MiB files; {lim.processes} processes+threads")
        return (f"sandbox unavailable ({self.why_not}): falling back to resource limits and "
                "process-group clean-up; student code runs as "
                f"{_user_name()} with no network or file isolation")

    def settings(self, *, uid: int | None, hide: list[str], expose: list[str],
                 tmpfs: bool, parent: int | None) -> ExecSettings:
        """The JSON settings of ``_sandbox_exec.py`` for one kernel."""
        if self.namespaces:
            nproc = self.limits.processes
        else:
            nproc = fallback_nproc(self.limits.processes)
        settings: ExecSettings = {"limits": self.limits.rlimits(nproc), "parent": parent}
        if self.namespaces:
            settings.update(namespaces=True, hide=hide, expose=expose,
                            tmpfs={"/tmp": self.limits.tmp_size, "/dev/shm": self.limits.shm_size} if tmpfs else
                            {"/dev/shm": self.limits.shm_size})
        if uid is not None:
            settings.update(uid=uid, gid=uid)
        return settings

    def prefix(self, settings: ExecSettings) -> list[str]:
        """The command that goes before the kernel's own argv."""
        prefix = []
        if self.namespaces:
            prefix = [self.unshare or "unshare", "--net", "--pid", "--mount", "--fork", "--kill-child", "--mount-proc"]
        return prefix + [sys.executable, "-I", "-S", str(EXEC_SCRIPT), json.dumps(settings), "--"]


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def fallback_nproc(margin: int) -> int | None:
    """RLIMIT_NPROC for a kernel running as the grader's own (non-root) user.

    The limit counts every process and thread of the user, the TA's desktop
    included, so it is set to what the user runs now plus ``margin``.  Root
    is not bound by it: None.
    """
    if os.geteuid() == 0:
        return None
    uid = os.getuid()
    count = 0
    for proc in psutil.process_iter(["uids", "num_threads"]):
        try:
            if proc.info["uids"] and proc.info["uids"].real == uid:
                count += proc.info["num_threads"] or 1
        except psutil.Error:
            continue
    return count + margin


def expose_targets() -> list[str]:
    """Directories the kernel's interpreter needs (made reachable for the sandbox user)."""
    targets = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable)),
               str(PACKAGE_DIR)}
    cwd = os.getcwd()
    targets.update(p for p in sys.path if p and os.path.isabs(p) and p != cwd and os.path.isdir(p))
    return sorted(targets)


def probe(sandbox: Sandbox, uid: int, workdir: Path) -> str:
    """Start a Python that imports ipykernel and runs a child, inside the full sandbox.

    Returns "" when it works, else a short reason.
    """
    check = ("import ipykernel, os, subprocess, sys;"
             f"assert os.getuid() == {uid};"
             "subprocess.run([sys.executable, '-c', 'pass'], check=True);"
             "print('sandbox-ok')")
    settings = sandbox.settings(uid=uid, hide=[], expose=expose_targets(), tmpfs=True, parent=None)
    command = sandbox.prefix(settings) + [sys.executable, "-c", check]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=workdir,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir)})
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if "sandbox-ok" in done.stdout:
        return ""
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit status {done.returncode}"


def detect(no_sandbox: bool = False, limits: Limits | None = None, workdir: Path | None = None) -> Sandbox:
    """Choose the sandbox mode on this machine (see the module docstring)."""
    limits = limits or Limits()
    fallback = Sandbox(namespaces=False, unprivileged=False, limits=limits)
    if no_sandbox:
        return replace(fallback, why_not="--no-sandbox")
    if not sys.platform.startswith("linux"):
        return replace(fallback, why_not=f"needs Linux, this is {sys.platform}")
    if os.geteuid() != 0:
        return replace(fallback, why_not="needs root for namespaces and a separate user")
    unshare = shutil.which("unshare")
    if unshare is None:
        return replace(fallback, why_not="no unshare command (Debian package util-linux)")
    full = Sandbox(namespaces=True, unprivileged=True, limits=limits, unshare=unshare)
    uid = pick_uids(1)[0]
    workdir = workdir or Path("/")
    try:
        why = probe(full, uid, workdir)
    finally:
        release_uids([uid])
    if why:
        return replace(fallback, why_not=f"namespaces failed: {why}")
    return full


_CLAIMED: dict[int, int] = {}  # uid -> file descriptor holding its lock


def pick_uids(count: int, base: int = UID_BASE) -> list[int]:
    """Claim ``count`` uids with no account and no running process, from ``base`` up.

    Each uid is locked (``flock`` on a file in /run/lock) until this process
    ends or :func:`release_uids` is called, so two grading runs on one
    machine never share a uid (the clean-up kills every process of it).
    """
    import fcntl

    lock_dir = Path("/run/lock") if os.access("/run/lock", os.W_OK) else Path(tempfile.gettempdir())
    busy = set()
    for proc in psutil.process_iter(["uids"]):
        try:
            busy.update(proc.info["uids"] or ())
        except psutil.Error:
            continue
    found = []
    uid = base
    while len(found) < count:
        if uid in _CLAIMED or uid in busy or _has_account(uid):
            uid += 1
            continue
        fd = os.open(lock_dir / f"coursegrade-uid-{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
        else:
            _CLAIMED[uid] = fd
            found.append(uid)
        uid += 1
    return found


def release_uids(uids: list[int]) -> None:
    for uid in uids:
        fd = _CLAIMED.pop(uid, None)
        if fd is not None:
            os.close(fd)


def _has_account(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def student_kernel_env(home: Path, tmpdir: str, token: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment for a student kernel (nothing of the grader's but locale)."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    bindir = os.path.dirname(sys.executable)
    env.update({
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "TMPDIR": tmpdir,
        "IPYTHONDIR": str(home / ".ipython"),
        "MPLCONFIGDIR": str(home / ".matplotlib"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_RUNTIME_DIR": str(home / ".jupyter-runtime"),
        TOKEN_VAR: token,
    })
    env.update(extra or {})
    return env


# --- process clean-up -------------------------------------------------------

def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    return ctypes.CDLL(None, use_errno=True).prctl


_PRCTL = _load_prctl()  # loaded now: die_with_parent also runs between fork and exec


def _prctl(option: int, value: int) -> bool:
    return _PRCTL is not None and _PRCTL(option, value, 0, 0, 0) == 0


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent() -> bool:
    """Ask for SIGKILL when the parent process ends (Linux)."""
    return _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def processes_of_uid(uid: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["uids"]):
        try:
            uids = proc.info["uids"]
            if uids and uid in (uids.real, uids.effective, uids.saved):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def kill_all(procs: list[psutil.Process], wait: float = 5.0, reap: bool = True) -> list[psutil.Process]:
    """SIGKILL every process (stopping first so none can fork more); return survivors.

    ``reap`` also collects every exited child of this process: only safe when
    no other thread of it waits for a child (a kernel it is still running).
    """
    procs = [p for p in procs if p.pid != os.getpid()]
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        for proc in procs:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                pass
    _, alive = psutil.wait_procs(procs, timeout=wait)
    if reap:
        reap_children()
    return [p for p in alive if _alive(p)]


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def reap_children() -> None:
    """Collect every exited child (orphans given to a subreaper become children)."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(*, uid: int | None = None, token: str | None = None, root_pid: int | None = None,
          keep: set[int] = frozenset(), rounds: int = 3, reap: bool = True) -> list[psutil.Process]:
    """Kill every process of a submission: by sandbox uid, by marker, below ``root_pid``.

    Repeats until nothing is found (a process may fork while the list is
    made); returns what survived.
    """
    survivors: list[psutil.Process] = []
    for _ in range(rounds):
        found: dict[int, psutil.Process] = {}
        if uid is not None:
            found.update((p.pid, p) for p in processes_of_uid(uid))
        if token is not None:
            found.update((p.pid, p) for p in processes_marked(TOKEN_VAR, token))
        if root_pid is not None:
            found.update((p.pid, p) for p in descendants(root_pid))
        if reap:
            reap_children()
        for pid, proc in list(found.items()):
            if pid in keep or pid == os.getpid() or not _alive(proc):
                found.pop(pid)
        if not found:
            return []
        survivors = kill_all(list(found.values()), reap=reap)
        if not survivors:
            time.sleep(0.05)
    return survivors


__all__ = ["ExecSettings", "Limits", "Sandbox", "detect", "pick_uids", "release_uids", "student_kernel_env",
           "expose_targets", "become_subreaper", "die_with_parent", "sweep", "kill_all", "reap_children",
           "processes_of_uid", "TOKEN_VAR"]
