"""Running the official MCP conformance suite against a served generated server, with the suite's own
expected-failures files (tests/conformance/*.yml): shared by the 0.1.16 and 0.2.0-alpha test modules."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from ruamel.yaml import YAML

RESULT_DIR = re.compile(r"^server-(?P<scenario>.+)-\d{4}-\d{2}-\d{2}T[\d-]+Z$")  # how the suite names a result
FAILING = ("FAILURE", "WARNING")  # what the suite's baseline counts as failing


def entries(path: Path) -> list[str]:
    return YAML(typ="safe").load(path.read_text())["server"]


def scenario_results(out: Path) -> dict[str, list[dict]]:
    """The checks of each scenario a run wrote into `out`, by scenario name."""
    results: dict[str, list[dict]] = {}
    for checks in out.glob("*/checks.json"):
        match = RESULT_DIR.match(checks.parent.name)
        assert match, checks
        results[match["scenario"]] = json.loads(checks.read_text())
    return results


def run_suite(suite: list[str], url: str, out: Path, known: Path, *selection: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*suite, "server", "--url", url, *selection, "--expected-failures", str(known), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )


def verdict(run: subprocess.CompletedProcess) -> str:
    """The suite's own baseline verdict: what failed without being listed, and what is listed but passes."""
    return run.stdout[run.stdout.rfind("Expected failures (in baseline)") :][-4000:] + run.stderr[-1000:]
