"""Grading the class: ``make grade`` runs ``python -m coursetools.grading``.

Every submission in ``submitted/<student>/<assignment>/`` is autograded,
feedback is generated, and ``grades.csv`` is written at the course root (a row
per student per assignment).  Works on a fresh clone: assignments missing
from the gradebook are added from ``source/`` (without touching
``release/``), students are added as they are graded.

The parts, in the order a run uses them:

* :mod:`.discovery`: the submissions in ``submitted/``, with the ones that
  cannot be graded (unknown assignment, missing or unreadable notebook) marked;
* :mod:`.scheduler`: long-lived worker processes (one per core by default,
  each grading ``--per-worker`` submissions at once in the sandbox, since
  notebooks spend much of their time waiting), fed submissions, killed and
  replaced when a submission outlives ``--timeout`` or kills its worker;
* :mod:`.protocol`: what the scheduler and a worker say to each other;
* :mod:`.worker`: one worker process, which imports nbgrader once and grades
  each submission in a private temp course folder with a throw-away snapshot
  of the gradebook;
* :mod:`.sandbox` (and its exec helper ``_sandbox_exec.py``): the Linux
  sandbox around every student kernel, and process clean-up;
* :mod:`.integrity`: the static scan and the runtime guard that keep student
  code from changing how its tests run or are scored;
* :mod:`.gradebook`: this process alone copies the scores, autograded
  notebooks and feedback into the real gradebook, ``autograded/`` and
  ``feedback/``, one submission at a time and only when grading succeeded, so
  no grade already recorded is lost;
* :mod:`.export`: ``grades.csv``, the columns of ``nbgrader export`` then a
  status and a reason; a submission that could not be graded gets a row with
  score 0 marked ``NEEDS ATTENTION`` and the reason;
* :mod:`.cli`: the command line (the run exits 1 and lists the submissions
  that need attention);
* :mod:`.stress`: a benchmark of how deterministic autograding is.

Beside them: :mod:`.submission` (a submission and what grading it gave),
:mod:`.files` (copies that never follow a link) and :mod:`.overrides` (every
override of nbgrader, nbclient and jupyter_client internals, with the
versions they were tested with).  The course itself (folders, gradebook,
assignments, submissions) is :class:`coursetools.course.Course`.
"""
