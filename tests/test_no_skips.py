"""CI fails when a test is skipped: a fresh machine must run every test README's test command starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

SKIPPING = """
import pytest

def test_runs():
    assert True

def test_needs_something_missing():
    pytest.skip("some tool is not installed")
"""


def pytest_in(tmp_path: Path, *, ci: bool, n: str = "0") -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(SKIPPING)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.no_skips"]\n')
    env = (
        {k: v for k, v in os.environ.items() if k != "CI"} | {"PYTHONPATH": str(REPO)} | ({"CI": "true"} if ci else {})
    )
    return subprocess.run(
        # Its own basetemp: a pytest left to the shared one first sweeps every old run's temp dirs out of it.
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "tmp"), "-n", n]
        + ["-q", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_skipped_test_fails_the_run_in_ci_and_is_named(tmp_path: Path) -> None:
    result = pytest_in(tmp_path, ci=True)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "skipped tests fail the run in CI" in result.stdout
    assert "test_sample.py::test_needs_something_missing: Skipped: some tool is not installed" in result.stdout


def test_with_xdist_workers_too(tmp_path: Path) -> None:
    result = pytest_in(tmp_path, ci=True, n="2")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "test_needs_something_missing" in result.stdout


def test_outside_ci_a_skip_stays_a_skip(tmp_path: Path) -> None:
    result = pytest_in(tmp_path, ci=False)
    assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout + result.stderr
