"""What the bot shows on GitHub Actions: a job summary with the build table and `::error` annotations.

action.yml runs `python -m factory_bot.cli.actions summarize` after each stage: it reads what the stage left in
its workdir (outcome.json, build.json, review.json, release.json, reimport.json, <name>.build.json) and the CLI's --json
result, and writes the job summary, annotations and step outputs. Everything here writes plain text
(workflow commands to stdout, Markdown to $GITHUB_STEP_SUMMARY); nothing talks to GitHub's API.
Spec text and build output are untrusted, so every value goes through the workflow-command escaping:
a newline in a field name can never start a second command.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from factory_bot.build.report import Check, ValidationReport
from factory_bot.errors import FactoryError, SpecError

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
    lines = []
    for problem in error.problems:
        file = repo_path(problem.source or error.source, env)
        message = f"{problem.field}: {problem.message}" if problem.field else problem.message
        lines.append(
            command(
                "error",
                message,
                file=file,
                line=problem.line if file else None,
                col=problem.column if file else None,  # an example's value, when the problem is one
                title=f"{TITLE}: invalid spec",
            )
        )
    return lines


_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,99}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _code(value: Any) -> str:
    """A name as `code` when it is a plain name; anything else escaped (build.json may be forged)."""
    from factory_bot.text import md

    text = str(value)
    return f"`{text}`" if _PLAIN.match(text) else md(text, cell=True)


def _plain(value: Any) -> str:
    """A version, number or stage name as it is when plain; anything else escaped."""
    from factory_bot.text import md

    text = str(value)
    return text if _PLAIN.match(text) else md(text, cell=True)


def build_summary(build: Mapping[str, Any]) -> str:
    """The job summary of one build, from its `<name>.build.json` (BuildResult.to_json()).

    The file may come from a job where generated code ran: every value is format-checked or escaped.
    """
    ok = build.get("ok") is True
    name, version = _code(build.get("name", "?")), _plain(build.get("version", "?"))
    try:
        checks = [
            Check(
                str(c["name"]),
                c.get("ok") is True,
                float(c.get("seconds", 0)),
                str(c.get("message", "")),
                c.get("tool") if isinstance(c.get("tool"), str) else None,
                [str(d) for d in c.get("details", [])][:20],
            )
            for c in build.get("checks", [])
        ]
    except (KeyError, TypeError, ValueError, AttributeError):
        checks = [Check("report", False, 0.0, "the build's checks could not be read")]
    lines = [f"### {'✅' if ok else '❌'} {name} {version}: {'built and valid' if ok else 'validation failed'}", ""]
    if isinstance(build.get("tools"), list) and build["tools"]:
        lines += [f"Tools: {', '.join(_code(tool) for tool in build['tools'][:100])}", ""]
    if checks:
        lines += [ValidationReport(checks).to_markdown(), ""]
    if build.get("tgz"):
        size = build.get("size")
        size_text = f", {size / 1024:.1f} KiB" if isinstance(size, int | float) else ""
        sha = str(build.get("sha256"))
        sha_text = f"`{sha}`" if _SHA256.match(sha) else "(not a sha256)"
        lines += [f"Package: {_code(Path(str(build['tgz'])).name)}{size_text}, sha256 {sha_text}", ""]
    timings = build.get("timings") or {}
    if isinstance(timings, dict) and timings:
        lines += [
            "Stages: "
            + ", ".join(
                f"{_plain(stage)} {float(seconds):.1f} s"
                for stage, seconds in timings.items()
                if isinstance(seconds, int | float)
            ),
            "",
        ]
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
    append_summary(build_summary(build), env)
    report_build_annotations(build, out or sys.stdout)


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


# -- after a stage: summary, annotations, outputs ----------------------------------------------------
SERVER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def review_summary(review: Mapping[str, Any]) -> str:
    """The job summary of a PR review (review.json)."""
    from factory_bot.text import md

    # review.json comes from the job that ran generated code: every value is escaped.
    mark = "✅" if review.get("ok") is True else "❌"
    lines = [f"### {mark} Review of pull request #{_plain(review.get('pull', '?'))}", ""]
    for server in review.get("servers", []):
        mark = "✅" if server.get("ok") is True else "❌"
        lines += [f"#### {mark} {_code(server.get('name'))} {_plain(server.get('version', ''))}", ""]
        lines += [f"- {md(str(finding))}" for finding in server.get("findings", [])] + [""]
        if server.get("checks"):
            lines += [ValidationReport.from_json(server["checks"]).to_markdown(), ""]
    if not review.get("servers"):
        lines += ["No spec or server changed.", ""]
    return "\n".join(lines)


def reimport_summary(reimport: Mapping[str, Any], out: TextIO) -> str:
    """The job summary of an OpenAPI re-import (reimport.json), with one `::error` on each document that no
    longer imports, at its line when the error names one."""
    from factory_bot.text import md

    lines = [f"### {'✅' if reimport.get('ok') is True else '❌'} Re-import from the committed OpenAPI documents", ""]
    for item in reimport.get("reimported") or []:
        lines.append(
            f"- {_code(item.get('name'))}: {_plain(item.get('previous', '?'))} → {_plain(item.get('version', '?'))}, "
            f"re-imported from {md(str(item.get('document', '?')))}"
            + ("" if item.get("ok") is True else " (**failed validation**: nothing proposed)")
        )
        lines += [f"  - {md(str(change))}" for change in (item.get("changes") or [])[:50]]
    for item in reimport.get("refused") or []:
        document, line = str(item.get("document", "")), item.get("line")
        print(
            command(
                "error",
                f"{item.get('error', '')}. {item.get('hint', '')}".strip(),
                file=repo_path(document) or None,
                line=line if isinstance(line, int) else None,
                title=f"{TITLE}: specs/{item.get('name', '?')}.yaml cannot be re-imported",
            ),
            file=out,
        )
        lines.append(f"- {_code(item.get('name'))}: **cannot be re-imported**: {md(str(item.get('error', '')))}")
        lines.append(f"  - **Next step:** {md(str(item.get('hint', '')))}")
    if len(lines) == 2:
        lines.append("No spec needs re-importing: each says what its document gives.")
    return "\n".join(lines) + "\n"


def result_summary(result: Mapping[str, Any]) -> str:
    """One line for what a publish stage did (the CLI's --json outcome)."""
    if result.get("url"):
        return f"Pull request #{result.get('pull')}: {result['url']}"
    if "released" in result:
        return "Released: " + (", ".join(f"`{tag}`" for tag in result["released"]) or "nothing new")
    if isinstance(result.get("pulls"), list) and not result.get("dry_run"):
        opened = [p for p in result["pulls"] if isinstance(p, dict)]
        return "Re-import: " + (
            ", ".join(
                f"pull request #{_plain(p.get('pull'))} ({_code(p.get('name'))} {_plain(p.get('version'))})"
                for p in opened
            )
            or "nothing to propose"
        )
    if result.get("comment") == "posted":
        return f"Review comment posted on pull request #{result.get('pull')}."
    if result.get("dry_run"):
        return "Dry run: nothing was changed on GitHub."
    return ""


def summarize(
    workdir: Path, result_file: Path | None = None, env: Mapping[str, str] = os.environ, out: TextIO | None = None
) -> dict[str, str]:
    """Report what a stage left in `workdir`; returns the step outputs it wrote (e.g. `server`)."""
    out = out or sys.stdout
    workdir = Path(workdir)
    parts: list[str] = []
    outcome = _json(workdir / "outcome.json") or {}
    builds = [_json(workdir / "build.json")] + [_json(p) for p in sorted(workdir.glob("*.build.json"))]
    builds += [_json(p) for p in sorted(workdir.glob("release/*/build.json"))]
    builds += [_json(p) for p in sorted(workdir.glob("reimport/*/build.json"))]
    for build in filter(None, builds):
        parts.append(build_summary(build))
        report_build_annotations(build, out)
    reimport = _json(workdir / "reimport.json")
    if isinstance(reimport, dict) and "reimported" in reimport:
        parts.append(reimport_summary(reimport, out))
    review = _json(workdir / "review.json")
    if review:
        parts.append(review_summary(review))
    result = _json(result_file) if result_file else None
    if isinstance(result, dict) and result_summary(result):
        parts.append(result_summary(result))
    if outcome and not outcome.get("ok", True):
        stage = outcome.get("stage", "a stage")
        print(command("error", f"{stage} failed: {outcome.get('error', '')}", title=TITLE), file=out)
        from factory_bot.text import md

        error = str(outcome.get("error", "")).replace("```", "`\u200b``")  # nothing closes the fence early
        parts.append(
            f"### ❌ {TITLE}: the {_plain(stage)} stage failed\n\n```\n{error}\n```\n"
            + (f"\n**Next step:** {md(str(outcome['hint']))}\n" if outcome.get("hint") else "")
        )
    outputs = {}
    request = _json(workdir / "request.json") or {}
    name = str(request.get("name", ""))
    outputs["server"] = name if SERVER_NAME.match(name) else ""  # only a valid name may name a concurrency group
    gate = _json(workdir / "gate.json")
    if isinstance(gate, dict):  # the gate stage ran: only an explicit yes lets the parse job start
        outputs["allowed"] = "true" if gate.get("allowed") is True else "false"
        parts.append(
            f"### {TITLE}: request {'accepted' if gate.get('allowed') is True else 'refused'} "
            f"({gate.get('rule', '?')})" + (f"\n\n{gate['message']}" if gate.get("message") else "")
        )
    for part in parts:
        append_summary(part, env)
    if env.get("GITHUB_OUTPUT"):
        with open(env["GITHUB_OUTPUT"], "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in outputs.items())
    return outputs


def report_build_annotations(build: Mapping[str, Any], out: TextIO) -> None:
    for check in build.get("checks", []):
        if not check.get("ok"):
            tool = f" ({check['tool']})" if check.get("tool") else ""
            print(
                command(
                    "error",
                    f"{check.get('name')}{tool}: {check.get('message', '')}",
                    title=f"{TITLE}: {build.get('name', 'server')} failed validation",
                ),
                file=out,
            )


def main(argv: list[str] | None = None) -> int:
    """`python -m factory_bot.cli.actions summarize --workdir DIR [--result FILE]` (what action.yml runs)."""
    parser = argparse.ArgumentParser(prog="python -m factory_bot.cli.actions")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("summarize", help="job summary, annotations and outputs for a finished stage")
    run.add_argument("--workdir", required=True, type=Path)
    run.add_argument("--result", type=Path, help="the CLI's --json output")
    args = parser.parse_args(argv)
    summarize(args.workdir, args.result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
