"""nbgrader settings of the course.  The course root is this file's folder.

Every nbgrader command finds this file when run from the course root; the
environment made by ``make`` also installs a pointer to it, so ``nbgrader``
works from any working directory inside that environment.
"""
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.course_id = "processes-and-threads"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# Problem-set worker modules and data files travel with the notebook, but not
# the modules a notebook writes with %%writefile (the student's code,
# ps<N>_student_*.py): running a source notebook in place leaves the
# solution's copies in source/, and they must never reach release/ nor
# overwrite a submission's own at autograde.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "ps*_student_*.py"]

# The exchange that release, fetch, submit, collect and feedback go through:
# inside the course folder (git ignores it), so `make lab` runs the whole
# nbgrader loop on one machine for one user.  `make lab` creates it with the
# permissions nbgrader documents (everyone may read and write).  A hub sets its
# own shared exchange in a config that overrides this one (`make hub`).
c.Exchange.root = str(Path(__file__).resolve().parent / "nbgrader_exchange")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Per-cell execution limit at autograde.  Exercises start processes and pools,
# which takes about a second under spawn; 60 s leaves room for a loaded
# machine while still ending a submission that hangs.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True

# nbgrader gives a test cell zero points when it wrote anything to stderr.
# Output that a correct solution may produce and that says nothing about the
# student's work is removed before scoring (one regular expression; the whole
# stderr chunk is dropped when it matches):
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = "|".join([
    # Python 3.12+: os.fork() in a process that has threads (a Jupyter
    # kernel always has some) warns that the child may deadlock.
    r"DeprecationWarning: This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks",
    # ipykernel on some platforms, when a child process started by fork
    # exits while the kernel is busy.
    r"IPKernelApp\] WARNING \| Parent appears to have exited",
])

# Grading integrity (coursetools/grading/integrity/): student code shares the kernel
# with the tests, so autograding scans what the student wrote, checks the
# kernel between cells and scores test cells strictly.  A notebook caught
# tampering scores 0 in its autograded cells, with the reason in each.  This
# applies to `nbgrader autograde`, Formgrader's Autograde button and
# `make grade` alike.
# Named by its import path, so that nbgrader commands that do not autograde
# (Validate, generate_assignment) work without the course's package; autograde
# refuses to run without it.
from nbgrader.converters import Autograde  # noqa: E402
from nbgrader.preprocessors import Execute  # noqa: E402

c.Autograde.autograde_preprocessors = [
    "coursetools.grading.integrity.guard.GuardedExecute" if p is Execute else p
    for p in Autograde.class_traits()["autograde_preprocessors"].default()
]
