"""Finding the processes a run started by the marker it put in their environment.

Children inherit the environment, so a marker finds whatever a kernel
started, even orphans re-parented to init (unless they cleared it).
"""
from __future__ import annotations

import psutil


def processes_marked(variable: str, token: str) -> list[psutil.Process]:
    """Every live (not zombie) process whose environment carries ``variable=token``."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get(variable) == token and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except (psutil.Error, OSError):
            continue
    return found
