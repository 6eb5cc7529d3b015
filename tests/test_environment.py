"""The locked environment: requirements.txt satisfies requirements.in and is installed."""
from __future__ import annotations

import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from coursetools import COURSE_ROOT


def requirement_lines(name: str) -> list[str]:
    lines = (COURSE_ROOT / name).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def locked_versions() -> dict[str, str]:
    pins = {}
    for line in requirement_lines("requirements.txt"):
        requirement = Requirement(line)
        (spec,) = requirement.specifier  # exactly one specifier per line...
        assert spec.operator == "==", f"requirements.txt must pin with ==, found {line!r}"
        pins[canonicalize_name(requirement.name)] = spec.version
    return pins


def test_lock_pins_every_direct_dependency_within_its_range():
    """Every package of requirements.in is pinned in requirements.txt, inside the range it asks for."""
    pins = locked_versions()
    for line in requirement_lines("requirements.in"):
        wanted = Requirement(line)
        name = canonicalize_name(wanted.name)
        assert name in pins, f"{wanted.name} is in requirements.in but not locked: run `make lock`"
        assert wanted.specifier.contains(pins[name], prereleases=True), (
            f"{wanted.name}=={pins[name]} in requirements.txt does not satisfy {line!r}: run `make lock`")


def test_installed_environment_matches_the_lock():
    """What is installed is exactly what requirements.txt pins (no stale environment)."""
    mismatched = []
    for name, version in locked_versions().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            mismatched.append(f"{name} not installed")
            continue
        if installed != version:
            mismatched.append(f"{name} {installed} installed, {version} locked")
    assert not mismatched, "environment out of date (run `make env`): " + "; ".join(mismatched)


def test_python_version_is_supported():
    """The README promises CPython 3.11 to 3.13."""
    assert (3, 11) <= sys.version_info[:2] <= (3, 13), f"unsupported Python {sys.version.split()[0]}"


def test_jupyterlab_has_the_nbgrader_extensions():
    """`make lab` shows Assignment List, Validate, Formgrader and Create Assignment."""
    import subprocess
    from pathlib import Path

    jupyter = str(Path(sys.executable).parent / "jupyter")
    lab = subprocess.run([jupyter, "labextension", "list"], capture_output=True, text=True, timeout=120)
    listing = lab.stdout + lab.stderr
    assert "@jupyter/nbgrader" in listing and "enabled" in listing.split("@jupyter/nbgrader")[1].splitlines()[0], (
        "the nbgrader JupyterLab extension is not enabled")
    server = subprocess.run([jupyter, "server", "extension", "list"], capture_output=True, text=True, timeout=120)
    listing = server.stdout + server.stderr
    for name in ("formgrader", "assignment_list", "validate_assignment", "course_list"):
        line = next((l for l in listing.splitlines() if f"nbgrader.server_extensions.{name} " in l + " "), "")
        assert "enabled" in line, f"server extension nbgrader.server_extensions.{name} is not enabled"
