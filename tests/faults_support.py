"""Shared pieces of the fault tests: a publish stage's inputs made without running the server, and people's git
identities."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from factory_bot import gitops as flows
from factory_bot.build import trusted
from factory_bot.gitops.handover import ALWAYS_RUN
from factory_bot.spec.loader import dump_spec, load_spec_text
from factory_bot.spec.model import ServerSpec
from tests.fakes.github_api import FakeGitHub
from tests.github_forge import forge_for

BOB = {
    "GIT_AUTHOR_NAME": "Bob",
    "GIT_AUTHOR_EMAIL": "bob@example.com",
    "GIT_COMMITTER_NAME": "Bob",
    "GIT_COMMITTER_EMAIL": "bob@example.com",
}
SMALL = """\
name: echo-box
version: 1.0.0
description: Echoes text.
tools:
  - name: echo
    description: Echo the text back.
    input:
      text: {type: string, description: What to echo}
    output: {type: string}
    implementation:
      kind: code
      code: |
        return text;
    examples:
      - {input: {text: hi}, output: hi}
"""


def built_request(workdir: Path, issue: int, spec_text: str = SMALL) -> Path:
    """What the parse and build stages leave for publish, made without running the server (publish rebuilds
    the package from the spec and compares its sha256 with the report's)."""
    spec = load_spec_text(spec_text)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    for name, data in {
        "build.json": honest_report(spec, workdir / "build"),
        "outcome.json": {"ok": True, "stage": "build"},
        "request.json": {"issue": issue, "name": spec.name, "version": spec.version},
    }.items():
        (workdir / name).write_text(json.dumps(data), encoding="utf-8")
    return workdir


def honest_report(spec: ServerSpec, out: Path) -> dict[str, Any]:
    """The build.json an honest build stage writes for `spec` (every check passed), with its package's real
    sha256; the package is made the way the build makes it, and the server is never run."""
    made = trusted.make_package(spec, out)
    assert made.package is not None, made.bundle
    checks = [
        {"name": name, "ok": True, "seconds": 0.1, "message": "passed", "tool": None, "details": []}
        for name in ALWAYS_RUN
    ]
    checks += [
        {
            "name": "examples",
            "ok": True,
            "seconds": 0.1,
            "message": f"{len(t.examples)}/{len(t.examples)} examples pass",
            "tool": t.name,
            "details": [],
        }
        for t in spec.tools
        if t.examples
    ]
    return {
        "ok": True,
        "name": spec.name,
        "version": spec.version,
        "tools": [t.name for t in spec.tools],
        "sha256": made.package.sha256,
        "tgz": str(made.package.tgz),
        "checks": checks,
        "report_markdown": "| Check | Result |\n| --- | --- |\n",
    }


def publish_context(github: FakeGitHub, workdir: Path) -> flows.Context:
    return flows.Context(workdir=workdir, forge=lambda: forge_for(github))


def status_of(github: FakeGitHub, number: int) -> str:
    [status] = [c["body"] for c in github.comments_on(number) if "mcp-factory:status" in c["body"]]
    return status


def yaml_request(spec: str) -> str:
    return f"Please build this.\n\n```yaml\n{spec}```\n"
