"""``python -m coursetools.hub start|stop|clean``: the course's local JupyterHub (``make hub``).

``start`` (root) makes the accounts and the state folder, prints the hub's
address and the accounts, and becomes JupyterHub in the foreground (Ctrl-C
stops it, its proxy and every user's server).  ``stop`` stops a running hub
from another terminal and kills whatever of it is left.  ``clean`` stops it,
removes the accounts it made and deletes the state folder.  Bad input gets one
line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import stat
import sys
import time
from pathlib import Path

import psutil

from .. import COURSE_ROOT
from . import accounts as acc
from .layout import DEFAULT_STATE, HubLayout, lay_out, remove_state

CONFIG = Path(__file__).with_name("jupyterhub_config.py")
STOP_SECONDS = 30


class HubError(RuntimeError):
    """What stops the hub command, in one line."""


def port_taken(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def closed_to_others(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (links followed) that other users cannot enter, or the file
    itself if they cannot read it; None when every account can use it."""
    real = path.resolve()
    for folder in reversed(real.parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    wanted = stat.S_IROTH | (stat.S_IXOTH if real.is_dir() or os.access(real, os.X_OK) else 0)
    return None if real.stat().st_mode & wanted == wanted else real


def environment_closed_to_others(env: Path = Path(sys.prefix)) -> str | None:
    """Why the hub's accounts could not run the course environment ``env`` (its Python, packages or the
    course package), in one line, or None."""
    for what, path in (("the course environment's Python", env / "bin" / "python"),
                       ("the course environment", env), ("the course package", COURSE_ROOT)):
        closed = closed_to_others(path)
        if closed is not None:
            return (f"{what} ({path.resolve()}) is not usable by other accounts: {closed} is closed to them; "
                    f"build the environment from a Python they can run (make hub HUB_ENV=... or "
                    f"make env PYTHON=/usr/bin/python3.11)")
    return None


def check_can_start(layout: HubLayout, proxy: Path, user_env: Path) -> None:
    if sys.platform != "linux" or os.geteuid() != 0:
        raise HubError("make hub runs as root on Linux: it creates Unix accounts and starts each user's server "
                       "as that user")
    closed = environment_closed_to_others(user_env)
    if closed:
        raise HubError(closed)
    if not (1024 <= layout.port <= 65533):
        raise HubError(f"HUB_PORT={layout.port} is not a port from 1024 to 65533")
    if running_pid(layout) is not None:
        raise HubError(f"a hub is already running from {layout.state} (pid {running_pid(layout)}): make hub-stop")
    for what, port in layout.ports.items():
        if port_taken(port):
            raise HubError(f"port {port} on 127.0.0.1 is in use, needed for {what}: choose another with "
                           f"make hub HUB_PORT=...")
    if shutil.which("node") is None:
        raise HubError("node is not on PATH: configurable-http-proxy needs Node.js (apt-get install nodejs)")
    if not os.access(proxy, os.X_OK):
        raise HubError(f"no configurable-http-proxy at {proxy}: make hub-proxy installs it")


def running_pid(layout: HubLayout) -> int | None:
    """The pid of the hub running from this state folder, if any."""
    try:
        pid = int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        proc = psutil.Process(pid)
        if proc.status() != psutil.STATUS_ZOMBIE and any("jupyterhub" in part for part in proc.cmdline()):
            return pid
    except psutil.Error:
        pass
    return None


def start(layout: HubLayout, students: int, proxy: Path, user_env: Path) -> None:
    """Lay out the hub and exec JupyterHub (does not return)."""
    check_can_start(layout, proxy, user_env)
    started = time.monotonic()
    accounts = lay_out(layout, students, proxy, user_env)
    print(f"course hub: http://127.0.0.1:{layout.port}/ (state in {layout.state}, ready "
          f"{time.monotonic() - started:.0f} s after make hub; Ctrl-C or make hub-stop stops it)")
    for account in accounts:
        print(f"  {account.role:10} {account.name:15} password {account.password}")
    print(f"  (also in {layout.accounts_file}, readable by root only)", flush=True)
    env = dict(os.environ, COURSE_HUB_STATE=str(layout.state))
    env["PATH"] = f"{Path(proxy).parent}{os.pathsep}{env.get('PATH', '')}"
    os.chdir(layout.state)
    jupyterhub = Path(sys.executable).with_name("jupyterhub")
    os.execve(jupyterhub, [str(jupyterhub), "-f", str(CONFIG)], env)


def hub_processes(layout: HubLayout) -> list[psutil.Process]:
    """Processes of the hub's accounts, and any whose command line names the state folder."""
    uids = set()
    for name in [acc.INSTRUCTOR, *[a.name for a in acc.load(layout.accounts_file)]]:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            pass
    found = []
    state = str(layout.state)
    for proc in psutil.process_iter(["pid", "uids", "cmdline", "environ"]):
        try:
            if proc.pid == os.getpid() or proc.status() == psutil.STATUS_ZOMBIE:
                continue
            owned = proc.info["uids"] is not None and proc.info["uids"].real in uids
            named = any(state in part for part in proc.info["cmdline"] or [])
            hub_env = (proc.info["environ"] or {}).get("COURSE_HUB_STATE") == state
            if owned or named or hub_env:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def stop(layout: HubLayout) -> list[str]:
    """SIGTERM to the hub (it stops its proxy and the users' servers), a grace of 10 s for those to
    end, then SIGKILL to anything left.  Returns what had to be killed (name and pid)."""
    pid = running_pid(layout)
    if pid is not None:
        try:
            hub = psutil.Process(pid)
            hub.send_signal(signal.SIGTERM)
            # JupyterHub removes its pid file first and then stops the servers and the proxy: wait for it.
            hub.wait(STOP_SECONDS)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
            pass
    _, left = psutil.wait_procs(hub_processes(layout), timeout=10)
    killed = []
    for proc in left:
        try:
            killed.append(f"{proc.name()} {proc.pid}")
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=10)
    return killed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coursetools.hub", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "clean"])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help=f"state folder (default {DEFAULT_STATE})")
    parser.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default 8000); "
                        "the next two are used too")
    parser.add_argument("--students", type=int, default=3, help="student accounts to create (default 3)")
    parser.add_argument("--proxy", type=Path, help="configurable-http-proxy (default: what make hub-proxy installs)")
    parser.add_argument("--user-env", type=Path, default=Path(sys.prefix),
                        help="the course environment every user's server runs in (default: this one)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    layout = HubLayout(args.state.resolve(), args.port)
    proxy = args.proxy or COURSE_ROOT / "build" / "hub-proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
    try:
        if args.command == "start":
            if not 1 <= args.students <= 20:
                raise HubError(f"--students {args.students}: from 1 to 20")
            start(layout, args.students, proxy, args.user_env.absolute())
        killed = stop(layout)
        if args.command == "clean":
            remove_state(layout)
        leftovers = f" (leftover processes killed: {', '.join(killed)})" if killed else ""
        print(f"course hub stopped{leftovers}"
              f"{'; accounts and state removed' if args.command == 'clean' else ''}")
        return 0
    except (HubError, acc.AccountError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
