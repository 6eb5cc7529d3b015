"""coursetools.gil.sampler: per-core CPU from a separate process, at 10 Hz or more."""
from __future__ import annotations

import os
import time

import psutil
import pytest

from coursetools.gil import sampler as gil_sampler


def test_sampler_is_another_process_and_samples_at_10_hz_or_more(no_child_left_running: None) -> None:
    assert 1 / gil_sampler.SAMPLE_INTERVAL_S >= 10
    with gil_sampler.CpuSampler() as sampler:
        assert sampler.process.pid != os.getpid()
        assert sampler.process.is_alive()
        started = sampler.start()
        deadline = started + 0.5
        while time.monotonic() < deadline:
            time.sleep(0.05)
        samples, overall = sampler.stop()
        sampler_process = sampler.process
    assert not sampler_process.is_alive()
    expected = 0.5 / gil_sampler.SAMPLE_INTERVAL_S
    assert len(samples) >= expected / 2, f"{len(samples)} samples in 0.5 s"
    times = [sample.t for sample in samples]
    assert times == sorted(times) and times[0] > started
    assert all(len(sample.per_core) == psutil.cpu_count() for sample in samples)
    assert all(0.0 <= value <= 100.0 for sample in samples for value in sample.per_core)
    assert len(overall) == psutil.cpu_count()


def test_sampler_can_be_reused() -> None:
    with gil_sampler.CpuSampler() as sampler:
        for _ in range(2):
            sampler.start()
            samples, _ = sampler.stop()
            assert len(samples) >= 1  # the closing sample is always there


def test_sampler_outside_with_block_refuses() -> None:
    with pytest.raises(RuntimeError, match="context manager"):
        gil_sampler.CpuSampler().start()


def test_busy_percent_counts_idle_and_iowait_as_not_busy() -> None:
    times = psutil.cpu_times(percpu=True)[0]
    fields = times._fields
    before = [times._make([0.0] * len(fields))]
    after_values = dict.fromkeys(fields, 0.0)
    after_values.update(user=3.0, idle=1.0)
    if "iowait" in fields:
        after_values["iowait"] = 1.0
    after = [times._make([after_values[name] for name in fields])]
    expected = 60.0 if "iowait" in fields else 75.0
    assert gil_sampler.busy_percent(before, after) == [pytest.approx(expected)]
    assert gil_sampler.busy_percent(before, before) == [0.0]
