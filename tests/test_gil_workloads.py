"""coursetools.gil.workloads: work units that split evenly and always do the same work."""
from __future__ import annotations

import pytest

from coursetools.gil import workloads


def test_split_units_is_even_and_complete() -> None:
    for units in range(0, 30):
        for workers in range(1, 9):
            shares = workloads.split_units(units, workers)
            assert len(shares) == workers
            assert sum(shares) == units
            assert max(shares) - min(shares) <= 1
    with pytest.raises(ValueError):
        workloads.split_units(4, 0)


@pytest.mark.parametrize("workload", workloads.WORKLOADS)
def test_do_units_is_deterministic(workload: str) -> None:
    assert workloads.do_units(workload, 2) == workloads.do_units(workload, 2)


def test_do_units_rejects_unknown_workload() -> None:
    with pytest.raises(ValueError, match="unknown workload"):
        workloads.do_units("gpu", 1)


def test_calibrate_returns_a_positive_count() -> None:
    units = workloads.calibrate("cpu", 0.02)
    assert isinstance(units, int) and units >= 1
