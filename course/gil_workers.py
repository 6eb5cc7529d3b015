"""Work for lesson 08's interpreter pool (Python 3.14+): standard library only.

``concurrent.futures.InterpreterPoolExecutor`` runs each call in another
interpreter of the same process, and that interpreter imports this module
afresh.  An interpreter with its own GIL can only import extension modules
that declare support for it, so this module imports nothing else
(``coursetools.gil`` would bring psutil).  It finds the module on the
``sys.path`` its process started with (a kernel's: the notebook's folder);
a folder added to ``sys.path`` at run time is not searched there.
"""
from __future__ import annotations

import os


def where_am_i(_: object = None) -> tuple[int, int]:
    """``(interpreter id, process id)`` of the interpreter that runs this call.

    The main interpreter is number 0.  Needs ``concurrent.interpreters``
    (Python 3.14+); the argument is ignored, so ``pool.map`` can call it.
    """
    import concurrent.interpreters  # 3.14+: imported here, so the module imports on every Python

    return concurrent.interpreters.get_current().id, os.getpid()
