"""Shared fixtures: the example specs, and one real build of each per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from factory_bot.build.pipeline import BuildResult, build
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec

pytest_plugins = ["tests.no_skips"]  # in CI a skipped test fails the run

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
EXAMPLE_SPECS = sorted(p.stem for p in SPECS.glob("*.yaml"))


@pytest.fixture(scope="session")
def example_spec() -> Callable[[str], ServerSpec]:
    return lambda name: load_spec_file(SPECS / f"{name}.yaml")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], BuildResult]:
    """Build an example spec through the real pipeline once per session and share the result."""
    results: dict[str, BuildResult] = {}

    def get(name: str) -> BuildResult:
        if name not in results:
            out = tmp_path_factory.mktemp(f"build-{name}")
            results[name] = build(load_spec_file(SPECS / f"{name}.yaml"), out)
        return results[name]

    return get
