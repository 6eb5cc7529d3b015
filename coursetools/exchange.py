"""The course's nbgrader exchange: where it is (``Exchange.root`` in ``nbgrader_config.py``) and making it.

nbgrader's documentation asks for an exchange folder that every user of the
course may read and write (``chmod ugo+rw``): students put submissions there,
the instructor releases assignments and feedback there.  ``python -m
coursetools.exchange`` (run by ``make lab``) creates the configured folder that
way and prints where it is; an existing folder keeps what it holds.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path

from . import COURSE_ROOT
from .course import read_config

EVERYONE_READ_WRITE = stat.S_IRWXU | stat.S_IRWXG | stat.S_IRWXO
"""The mode nbgrader documents for the exchange (``ugo+rw``; folders also need ``x``)."""


def exchange_root(course_root: Path = COURSE_ROOT) -> Path:
    """The exchange folder the course's nbgrader config names."""
    configured = read_config(course_root).Exchange.get("root")
    if not configured:
        raise SystemExit(f"error: {course_root / 'nbgrader_config.py'} sets no c.Exchange.root")
    return Path(configured)


def ensure_exchange(root: Path) -> Path:
    """Create ``root`` (and its parents) if needed and give it the documented permissions."""
    root.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(root.stat().st_mode) & EVERYONE_READ_WRITE != EVERYONE_READ_WRITE:
        os.chmod(root, stat.S_IMODE(root.stat().st_mode) | EVERYONE_READ_WRITE)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursetools.exchange", description=__doc__.splitlines()[0])
    parser.add_argument("--course-root", type=Path, default=COURSE_ROOT, help="course folder (default: this repository)")
    args = parser.parse_args(argv)
    try:
        root = ensure_exchange(exchange_root(args.course_root))
    except OSError as error:
        print(f"error: cannot create the nbgrader exchange: {error}", file=sys.stderr)
        return 1
    print(f"nbgrader exchange: {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
