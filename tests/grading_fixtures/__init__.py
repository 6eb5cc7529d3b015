"""Fixtures of the grading tests: a tiny nbgrader course and hostile submissions."""
