"""``--dist loadgroup`` for pytest 9, as a pytest plugin (tests/conftest.py imports its hook).

The tests that run `make grade` hold one machine-wide lock (conftest.exclusive_grading), so they are one
group: loadgroup sends them all to one xdist worker, first, while the other workers run everything else
and never wait for the lock.
"""
from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId

GRADING_GROUP = "grading"


def group_of(item: pytest.Item) -> str:
    """The ``xdist_group`` names of an item, joined as pytest-xdist joins them ("" for none)."""
    return "_".join(sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                            for m in item.iter_markers("xdist_group")}))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again, and put the grading group first.

    pytest-xdist 3.8 marks an item's group by appending ``@group`` to ``item._nodeid``, which pytest 9 no
    longer reads (a node's id is ``item._id``, a ``NodeId``), so every group was scattered over the
    workers.  This appends it to the id pytest 9 reports.  Remove when pytest-xdist does it itself
    (tests/test_environment.py::test_loadgroup_sends_the_grading_group_to_one_worker_first shows it).
    The grading group goes first so that the longest work unit starts first."""
    if not config.getoption("loadgroup", False) and config.getoption("dist", "no") != "loadgroup":
        return
    for item in items:
        group = group_of(item)
        if group and not item.nodeid.endswith("@" + group):
            item._id = NodeId.parse(f"{item.nodeid}@{group}")
    items.sort(key=lambda item: group_of(item) != GRADING_GROUP)
