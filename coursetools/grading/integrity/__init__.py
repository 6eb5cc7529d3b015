"""Grading integrity: a submission's code must not change how its tests run or are scored.

Student code shares the kernel with the tests, so the grader does not take the
kernel's word for anything.  Three defences, each enough for most attacks and
together meant to leave none that works without being reported:

1. **A static scan** (:func:`.scan.scan`) of every cell the student controls (solution
   cells, cells they added, "try it" cells, the modules they write with
   ``%%writefile``) for APIs that no solution of this course needs and that
   reach the machinery grading runs on: IPython and kernel internals, the
   ``builtins`` namespace, frames and object introspection, dynamic code
   (``exec``, ``eval``, ``importlib``, ``__import__``, dynamic ``getattr``),
   tracing hooks, ``sys`` beyond its everyday attributes, environment variables,
   decoders and loaders, patching imported modules, rebinding the names the
   instructor's cells define or a builtin the tests use, and magics other than
   ``%%writefile`` (of a new module), ``%matplotlib``, ``%time`` and ``%timeit``.
   Beside the notebook, no code the course does not ship (:func:`.guard.unshipped_code`):
   a module or package the student put in the assignment folder would run unscanned,
   and would shadow installed packages (the course's own among them) for the tests too.
2. **Runtime checks** (:class:`.guard.GuardedExecute`, nbgrader's ``Execute`` with
   checks between cells): before the first cell a private module
   (:mod:`coursetools.grading.integrity.in_kernel`) records who every hook, builtin and
   kernel method is; before every later cell and after the last one it is
   compared, the answer signed with a key made for this run.  After every test
   cell two canaries with fresh random values run as ordinary cells: one must
   fail with exactly its ``AssertionError``, one must print exactly its line.
   The shipped helper files (what the assignment's ``source/`` folder holds, not
   whatever the graded folder holds) must still hash as the instructor's, and no
   module may be imported from the notebook's folder but those and the notebook's
   own ``%%writefile`` modules.
3. **Strict scoring**: a test cell that has an error or stderr output scores 0
   even if something also put a result in it (nbgrader would read that result as
   the score).

A submission that trips any of these gets an ``IntegrityError`` output in every
autograded test cell of that notebook (so 0 autograded points, and the reason in
the feedback), a log line starting with :data:`.guard.MARK`, and (in ``make grade``)
the status NEEDS ATTENTION with the reason.
"""
