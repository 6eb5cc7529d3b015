"""Benchmarks, not tests (timings depend on the machine): ``python -m coursetools.bench.grading`` and
``python -m coursetools.bench.lessons`` (``make bench``)."""
