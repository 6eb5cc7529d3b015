"""The GIL lab: measure what the GIL does to threads and processes, with your own CPU.

Run a workload serially, in N threads or in N processes, and record its wall
time, the CPU time of the process tree and the CPU use of every core.  The
parts, each a module of this package:

- :mod:`~coursetools.gil.workloads`: the ``"cpu"``, ``"io"`` and ``"c"`` work
  units and their calibration;
- :mod:`~coursetools.gil.interpreter`: is there a GIL, how long a thread keeps
  it (``gil_turns``), how many cores;
- :mod:`~coursetools.gil.sampler`: per-core CPU, sampled by a separate process;
- :mod:`~coursetools.gil.measurement`: one run (``measure``) and a whole
  experiment (``plan``, ``run_experiment``);
- :mod:`~coursetools.gil.analysis`: medians, speedups, typical runs, the
  predictions for this build and verdicts;
- :mod:`~coursetools.gil.plots`: the figures (imports matplotlib's pyplot);
- :mod:`~coursetools.gil.lab`: the ``make gil-lab`` command
  (``python -m coursetools.gil.lab``).

Lesson 08 and problem set 4 write ``from coursetools import gil`` and use the
names below as ``gil.X``; lesson 08 imports the plots module itself.  Importing
this package does not import matplotlib, so the lab command can choose its
backend first.
"""
from .analysis import median_table, speedup_table, typical_runs, verdicts
from .interpreter import cpu_count, free_threaded_build, gil_enabled, gil_turns
from .measurement import MODES, measure, plan, run_experiment
from .sampler import CpuSampler
from .workloads import WORKLOAD_TITLES, WORKLOADS, calibrate

__all__ = [
    "MODES",
    "WORKLOADS",
    "WORKLOAD_TITLES",
    "CpuSampler",
    "calibrate",
    "cpu_count",
    "free_threaded_build",
    "gil_enabled",
    "gil_turns",
    "measure",
    "median_table",
    "plan",
    "run_experiment",
    "speedup_table",
    "typical_runs",
    "verdicts",
]
