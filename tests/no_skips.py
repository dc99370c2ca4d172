"""In CI a skipped test is a failed run: README's test command must run every test on a fresh machine.

Registered from conftest.py. When `CI` is set, every skip is listed at the end and the exit status is 1 even
if everything else passed; locally skips stay skips.
"""

from __future__ import annotations

import os

import pytest

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # With xdist the workers' reports reach the controller's hooks too, so the controller sees every skip.
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if os.environ.get("CI") and _skipped:
        terminalreporter.section("skipped tests fail the run in CI (CI is set)", sep="=", red=True, bold=True)
        for line in _skipped:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller decides
    if os.environ.get("CI") and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
