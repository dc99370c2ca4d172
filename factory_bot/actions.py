"""What the bot shows on GitHub Actions: a job summary with the build table and `::error` annotations.

The CLI calls `report_build` / `report_error` when GITHUB_ACTIONS=true. Everything here writes plain text
(workflow commands to stdout, Markdown to $GITHUB_STEP_SUMMARY); nothing talks to GitHub's API.
Spec text is untrusted, so every value goes through the workflow-command escaping: a newline in a field
name can never start a second command.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from .errors import FactoryError, SpecError
from .validate import Check, ValidationReport

TITLE = "MCP Factory"


def in_actions(env: Mapping[str, str] = os.environ) -> bool:
    """True inside a GitHub Actions job (the runner sets GITHUB_ACTIONS=true)."""
    return env.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    """Escape a workflow command's message, as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command's property value (file, title...), as @actions/core does."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line, e.g. `::error file=specs/a.yaml,line=3::bad`; None properties are left out."""
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def repo_path(source: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """`source` as a path relative to the checkout, or None when it is no file of the repository.

    Annotations only land in a PR's Files view with a repository-relative path; a spec that came from an
    issue body (source "issue #12") has no file, so its annotations attach to the run instead.
    """
    if not source:
        return None
    workspace = Path(env.get("GITHUB_WORKSPACE") or Path.cwd()).resolve()
    path = Path(source)
    path = (workspace / path if not path.is_absolute() else path).resolve()
    if not path.is_file():
        return None
    try:
        return path.relative_to(workspace).as_posix()
    except ValueError:
        return None


def spec_annotations(error: SpecError, env: Mapping[str, str] = os.environ) -> list[str]:
    """One `::error` per spec problem, placed on its file and line when the spec is a file in the repo."""
    file = repo_path(error.source, env)
    lines = []
    for problem in error.problems:
        message = f"{problem.field}: {problem.message}" if problem.field else problem.message
        lines.append(command("error", message, file=file, line=problem.line if file else None,
                             title=f"{TITLE}: invalid spec"))
    return lines


def build_summary(build: Mapping[str, Any]) -> str:
    """The job summary of one build, from its `<name>.build.json` (BuildResult.to_json())."""
    ok = bool(build.get("ok"))
    name, version = build.get("name", "?"), build.get("version", "?")
    checks = [Check(**{k: v for k, v in c.items() if k in Check.__dataclass_fields__}) for c in build.get("checks", [])]
    lines = [f"### {'✅' if ok else '❌'} `{name}` {version}: {'built and valid' if ok else 'validation failed'}", ""]
    if build.get("tools"):
        lines += [f"Tools: {', '.join(f'`{tool}`' for tool in build['tools'])}", ""]
    if checks:
        lines += [ValidationReport(checks).to_markdown(), ""]
    if build.get("tgz"):
        size = build.get("size")
        size_text = f", {size / 1024:.1f} KiB" if isinstance(size, int | float) else ""
        lines += [f"Package: `{Path(build['tgz']).name}`{size_text}, sha256 `{build.get('sha256')}`", ""]
    timings = build.get("timings") or {}
    if timings:
        lines += ["Stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in timings.items()), ""]
    return "\n".join(lines)


def error_summary(error: FactoryError) -> str:
    """The job summary of a run that stopped on an error: what went wrong and what to do next."""
    lines = [f"### ❌ {TITLE}: {type(error).__name__}", "", "```", error.message, "```", ""]
    if error.hint:
        lines += [f"**Next step:** {error.hint}", ""]
    return "\n".join(lines)


def append_summary(markdown: str, env: Mapping[str, str] = os.environ) -> bool:
    """Append Markdown to the job summary; False when there is no summary file (not on Actions)."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as summary:
        summary.write(markdown.rstrip("\n") + "\n\n")
    return True


def report_build(build: Mapping[str, Any], env: Mapping[str, str] = os.environ, out: TextIO | None = None) -> None:
    """Summary table for a finished build, and an `::error` per failed check."""
    out = out or sys.stdout
    append_summary(build_summary(build), env)
    for check in build.get("checks", []):
        if not check.get("ok"):
            tool = f" ({check['tool']})" if check.get("tool") else ""
            print(command("error", f"{check.get('name')}{tool}: {check.get('message', '')}",
                          title=f"{TITLE}: {build.get('name', 'server')} failed validation"), file=out)


def report_error(error: FactoryError, env: Mapping[str, str] = os.environ, out: TextIO | None = None) -> None:
    """Annotations for an error (one per spec problem, on its line) and a summary saying what to do next."""
    out = out or sys.stdout
    if isinstance(error, SpecError):
        for line in spec_annotations(error, env):
            print(line, file=out)
    else:
        print(command("error", str(error), title=TITLE), file=out)
    append_summary(error_summary(error), env)


@contextmanager
def untrusted_output(out: TextIO | None = None) -> Iterator[None]:
    """Print untrusted text (generated code's output) with workflow commands switched off around it.

    Between `::stop-commands::<token>` and `::<token>::` the runner treats `::error::` and friends as plain
    text, so a generated server cannot annotate, mask or group anything in our log.
    """
    out = out or sys.stdout
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out, flush=True)
    try:
        yield
    finally:
        print(f"::{token}::", file=out, flush=True)
