"""Enter the grading sandbox, then exec a command (normally the student kernel).

Run as ``python -I -S _sandbox_exec.py SETTINGS_JSON -- command ...``: this
file imports nothing but the standard library and is never imported by the
rest of the package, so its start costs a few milliseconds.

With ``namespaces`` set it expects to be the first process of fresh network,
PID and mount namespaces (``unshare --net --pid --mount --fork --kill-child
--mount-proc``) and to be root there.  In order it:

1. mounts small private tmpfs on ``/tmp`` and ``/dev/shm``, binding back
   the interpreter's directories that lie below them (a checkout in /tmp);
2. makes the interpreter reachable for the unprivileged user: a directory on
   the way to it that others may not traverse (``/root`` of a pyenv install,
   a ``0750`` home) is covered by a tmpfs into which only the needed
   directories are bind-mounted back (the rest of that directory is hidden);
3. hides the course's private paths (gradebook, ``submitted/``, ``source/``...)
   under empty read-only mounts;
4. brings the loopback interface up (the namespace has no other interface);

and, in every mode: sets resource limits, drops to ``uid``/``gid`` when given
(no supplementary groups, ``no_new_privs``), asks for SIGKILL when its parent
dies, sets umask 077, and execs the command.  Any failure exits with status
111 and one line on stderr, so a sandbox that does not work never runs
student code unconfined.
"""
from __future__ import annotations

import json
import os
import resource
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC = 1, 2, 4, 8, 4096, 16384
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
SIGKILL = 9
LIMITS = {
    "as": "RLIMIT_AS",
    "cpu": "RLIMIT_CPU",
    "nproc": "RLIMIT_NPROC",
    "fsize": "RLIMIT_FSIZE",
    "nofile": "RLIMIT_NOFILE",
    "core": "RLIMIT_CORE",
}


class SandboxError(Exception):
    """Setting up the sandbox failed."""


class Libc:
    """Calls into the C library that raise :class:`SandboxError` when they fail."""

    def __init__(self) -> None:
        import ctypes

        self._ctypes = ctypes
        self._libc = ctypes.CDLL(None, use_errno=True)

    def __call__(self, name: str, *args: object) -> int:
        result = getattr(self._libc, name)(*args)
        if result != 0:
            err = self._ctypes.get_errno()
            raise SandboxError(f"{name}{args[:2]}: {os.strerror(err)}")
        return result


def _encoded(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def mount(libc: Libc, source: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    libc("mount", _encoded(source), _encoded(target), _encoded(fstype), flags, _encoded(data))


def traversable(path: str, uid: int, gid: int) -> bool:
    """Whether ``uid`` (with only group ``gid``) may search directory ``path``."""
    st = os.stat(path)
    if st.st_uid == uid:
        return bool(st.st_mode & 0o100)
    if st.st_gid == gid:
        return bool(st.st_mode & 0o010)
    return bool(st.st_mode & 0o001)


def expose(libc: Libc, targets: list[str], uid: int, gid: int) -> None:
    """Make every directory in ``targets`` reachable by ``uid`` (see module doc)."""
    real = sorted({os.path.realpath(t) for t in targets if os.path.isdir(t)})
    # A directory inside another target comes along with it.
    real = [t for t in real if not any(t.startswith(o + os.sep) for o in real if o != t)]
    blocked = {}  # the outermost untraversable ancestor -> targets below it
    for target in real:
        path = ""
        for part in target.split(os.sep)[1:-1]:
            path += os.sep + part
            if not traversable(path, uid, gid):
                blocked.setdefault(path, []).append(target)
                break
    for top, wanted in blocked.items():
        handles = [(t, os.open(t, os.O_PATH | os.O_DIRECTORY)) for t in wanted]
        mount(libc, "tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
        for target, fd in handles:
            os.makedirs(target, mode=0o755, exist_ok=True)
            mount(libc, f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
            os.close(fd)


def private_tmpfs(libc: Libc, path: str, size: str, targets: list[str]) -> None:
    """Mount an empty tmpfs on ``path``, then bind back the ``targets`` below it.

    The interpreter or its environment may live under ``/tmp`` (a checkout
    there, say); the private ``/tmp`` must not hide them from the kernel.
    """
    prefix = os.path.realpath(path) + os.sep
    below = sorted({os.path.realpath(t) for t in targets if os.path.isdir(t)
                    and os.path.realpath(t).startswith(prefix)})
    below = [t for t in below if not any(t.startswith(o + os.sep) for o in below if o != t)]
    handles = [(t, os.open(t, os.O_PATH | os.O_DIRECTORY)) for t in below]
    mount(libc, "tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")
    for target, fd in handles:
        os.makedirs(target, mode=0o755, exist_ok=True)
        mount(libc, f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        os.close(fd)


def hide(libc: Libc, path: str) -> None:
    """Cover ``path`` with an empty, read-only, unreadable mount."""
    if os.path.isdir(path) and not os.path.islink(path):
        mount(libc, "tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0000")
    elif os.path.isfile(path) and not os.path.islink(path):
        mount(libc, "/dev/null", path, None, MS_BIND)


def loopback_up() -> None:
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def set_limits(limits: dict[str, int | None]) -> None:
    for name, value in limits.items():
        if value is None:
            continue
        which = getattr(resource, LIMITS[name])
        soft, hard = (value, value) if name != "cpu" else (value, value + 5)
        old_soft, old_hard = resource.getrlimit(which)
        if old_hard != resource.RLIM_INFINITY and os.geteuid() != 0:
            hard = min(hard, old_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def enter(settings: dict) -> None:
    """Set up what ``settings`` (sandbox.ExecSettings) asks for, in the order of the module docstring."""
    os.umask(0o022)  # folders made for mounts must be traversable
    linux = sys.platform.startswith("linux")
    libc = Libc() if linux else None
    uid, gid = settings.get("uid"), settings.get("gid")
    if settings.get("namespaces"):
        targets = settings.get("expose", [])
        for path, size in settings.get("tmpfs", {}).items():
            if os.path.isdir(path):
                private_tmpfs(libc, path, size, targets)
        if uid is not None:
            expose(libc, targets, uid, gid)
        for path in settings.get("hide", []):
            hide(libc, path)
        loopback_up()
    set_limits(settings.get("limits", {}))
    if uid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.geteuid() != uid or os.getuid() != uid:
            raise SandboxError("could not drop privileges")
    if linux:
        libc("prctl", PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        libc("prctl", PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)
        parent = settings.get("parent")
        if parent and os.getppid() != parent:
            raise SandboxError("parent exited before the kernel started")
    os.umask(0o077)


def main(argv: list[str]) -> None:
    try:
        split = argv.index("--")
        settings = json.loads(argv[1])
        command = argv[split + 1:]
        if not command:
            raise SandboxError("no command")
        enter(settings)
    except (SandboxError, OSError, ValueError, IndexError) as error:
        sys.stderr.write(f"sandbox: {error}\n")
        sys.stderr.flush()
        os._exit(111)
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
