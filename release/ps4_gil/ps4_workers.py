"""A ready-made child-process target for problem set 4.

It lives in a module (not in the notebook) because under the *spawn* and
*forkserver* start methods a child process imports the function it runs by
name.  Nothing here is a solution: this is only the messenger your code starts.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def call_and_send(sender: Connection, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child: send ``(os.getpid(), func(*args))`` through ``sender``, then close it.

    ``sender`` is the sending end of a ``multiprocessing.Pipe``.  If ``func``
    raises, nothing is sent and the child exits with code 1; the parent's
    ``recv()`` then raises ``EOFError``, provided the parent has closed its
    own copy of the sending end after starting the child.
    """
    try:
        sender.send((os.getpid(), func(*args)))
    finally:
        sender.close()
