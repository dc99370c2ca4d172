"""Shared pieces of the fault tests: a publish stage's inputs made without node, and people's git identities."""

from __future__ import annotations

import json
from pathlib import Path

from factory_bot import flows
from factory_bot.forge.github import GitHubForge, default_retry
from factory_bot.render import write_server
from factory_bot.spec_yaml import dump_spec, load_spec_text
from tests.fakes.github_api import FakeGitHub

TOKEN = "ghs_fault0test0token0never0shown"
BOB = {"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.com",
       "GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": "bob@example.com"}
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


def forge_for(github: FakeGitHub, **retry: float) -> GitHubForge:
    return GitHubForge(github.slug, token=TOKEN, base_url=github.url, retry=default_retry(**{"backoff": 0, **retry}),
                       timeout=5)


def built_request(workdir: Path, issue: int, spec_text: str = SMALL) -> Path:
    """What the parse and build stages leave for publish, made without node (publish re-renders and compares)."""
    spec = load_spec_text(spec_text)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "spec.yaml").write_text(dump_spec(spec), encoding="utf-8")
    write_server(spec, workdir / "build" / spec.name)
    for name, data in {"build.json": {"ok": True, "sha256": "ab" * 32,
                                      "report_markdown": "| Check | Result |\n| --- | --- |\n"},
                       "outcome.json": {"ok": True, "stage": "build"},
                       "request.json": {"issue": issue, "name": spec.name, "version": spec.version}}.items():
        (workdir / name).write_text(json.dumps(data), encoding="utf-8")
    return workdir


def publish_context(github: FakeGitHub, workdir: Path) -> flows.Context:
    return flows.Context(workdir=workdir, forge=lambda: forge_for(github))


def status_of(github: FakeGitHub, number: int) -> str:
    [status] = [c["body"] for c in github.comments_on(number) if "mcp-factory:status" in c["body"]]
    return status


def yaml_request(spec: str) -> str:
    return f"Please build this.\n\n```yaml\n{spec}```\n"
