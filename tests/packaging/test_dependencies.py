"""The installed distributions satisfy what pyproject.toml declares: a fresh install that resolved a version outside the
declared bounds (or lost one) fails here, by name, instead of changing behaviour unnoticed.  .ci/run also prints the
resolved versions."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]


def test_every_declared_dependency_is_installed_within_its_bounds():
    wrong = {}
    for requirement in declared():
        try:
            version = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            wrong[requirement.name] = "not installed"
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            wrong[requirement.name] = f"{version} outside {requirement.specifier}"
    assert wrong == {}


def test_every_runtime_dependency_has_an_upper_bound_where_its_major_version_matters():
    """A lower bound alone lets a fresh install take an untested major (the cryptography DSA warnings); calendar-versioned
    schwifty and the test tools whose new versions change no behaviour of the gateway aside."""
    unbounded = [r.name for r in declared() if not any(spec.operator in ("<", "<=", "==", "~=") for spec in r.specifier)]
    assert set(unbounded) <= {"schwifty", "packaging", "pytest-timeout", "pytest-randomly", "ruff", "openapi-spec-validator", "pyinstrument"}
