"""The hub's Unix accounts: one instructor and a few students, made and removed by the hub command (root).

Every account this module creates carries :data:`MARK` in its GECOS field, so
that removing them never touches an account someone else made with the same
name.  Passwords are random; the hub's PAM authenticator checks them.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

MARK = "processes-and-threads course hub"
"""The GECOS comment of every account the hub creates."""

INSTRUCTOR = "pt-instructor"
STUDENT_PREFIX = "pt-student"


class AccountError(RuntimeError):
    """An account cannot be made or removed; the message is one line."""


@dataclass(frozen=True)
class Account:
    name: str
    password: str
    role: str  # "instructor" or "student"


def student_names(count: int) -> list[str]:
    return [f"{STUDENT_PREFIX}{n}" for n in range(1, count + 1)]


def ours(name: str) -> bool:
    """Whether ``name`` is an account this module created."""
    try:
        return pwd.getpwnam(name).pw_gecos == MARK
    except KeyError:
        return False


def create(name: str, role: str, home: Path) -> Account:
    """A new account ``name`` with its home ``home`` (created, owned by it) and a random password."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        pass
    else:
        if not ours(name):
            raise AccountError(f"a Unix account {name!r} exists and was not made by the hub: remove or rename it")
        remove(name)
    home.parent.mkdir(parents=True, exist_ok=True)
    run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash", "--comment", MARK,
         "--user-group", name])
    password = secrets.token_urlsafe(12)
    run(["chpasswd"], stdin=f"{name}:{password}\n")
    os.chmod(home, 0o700)
    return Account(name, password, role)


def remove(name: str) -> None:
    """Remove an account this module made (and its home); any other account is left alone."""
    if ours(name):
        run(["userdel", "--remove", "--force", name], ok=(0, 12))  # 12: the home was already gone


def run(args: list[str], stdin: str | None = None, ok: tuple[int, ...] = (0,)) -> None:
    done = subprocess.run(args, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode not in ok:
        raise AccountError(f"{args[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")


def save(accounts: list[Account], path: Path) -> None:
    """The accounts and their passwords, readable by root only."""
    path.write_text(json.dumps([asdict(a) for a in accounts], indent=1))
    os.chmod(path, 0o600)


def load(path: Path) -> list[Account]:
    if not path.exists():
        return []
    return [Account(**entry) for entry in json.loads(path.read_text())]
