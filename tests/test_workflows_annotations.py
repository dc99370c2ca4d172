"""On GitHub Actions a spec mistake shows as an `::error` on its line, and a build as a job summary table."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

from factory_bot.cli import actions
from factory_bot.errors import SpecError, SpecProblem, ToolchainError
from factory_bot.spec.loader import load_spec_file

ROOT = Path(__file__).resolve().parents[1]


def actions_env(workspace: Path, summary: Path) -> dict[str, str]:
    return {"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(workspace), "GITHUB_STEP_SUMMARY": str(summary)}


def broken_spec(workspace: Path) -> Path:
    (workspace / "specs").mkdir(parents=True)
    spec = workspace / "specs" / "calculator.yaml"
    text = (ROOT / "specs" / "calculator.yaml").read_text()
    spec.write_text(
        text.replace("{type: number, description: Second addend}", "{type: numbr, description: Second addend}", 1)
    )
    return spec


def test_a_typo_in_a_spec_becomes_an_error_annotation_on_its_line(tmp_path):
    spec = broken_spec(tmp_path)
    summary = tmp_path / "summary.md"
    try:
        load_spec_file(spec)
    except SpecError as error:
        out = io.StringIO()
        actions.report_error(error, actions_env(tmp_path, summary), out)
    else:
        raise AssertionError("the typo was accepted")

    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "numbr" in text)
    annotation = out.getvalue().splitlines()[0]
    assert annotation.startswith(f"::error file=specs/calculator.yaml,line={line},title=MCP Factory%3A invalid spec::")
    assert "tools[0].input.b.type" in annotation and "numbr" in annotation
    assert "factory-bot schema" in summary.read_text()  # the summary says what to do next


def test_a_spec_from_an_issue_body_is_annotated_on_the_run_not_on_a_file(tmp_path):
    error = SpecError([SpecProblem("name", "must be kebab-case", line=2)], source="issue #12")
    [annotation] = actions.spec_annotations(error, actions_env(tmp_path, tmp_path / "s.md"))
    assert annotation == "::error title=MCP Factory%3A invalid spec::name: must be kebab-case"


def test_spec_text_cannot_smuggle_a_second_workflow_command(tmp_path):
    evil = "x\n::add-mask::secret\r\n100%"
    error = SpecError([SpecProblem(evil, evil, line=1)], source="issue #1")
    [annotation] = actions.spec_annotations(error, {})
    assert "\n" not in annotation and "\r" not in annotation
    assert annotation.endswith("::x%0A::add-mask::secret%0D%0A100%25: x%0A::add-mask::secret%0D%0A100%25")
    assert actions.escape_property("a,b:c") == "a%2Cb%3Ac"


def test_a_build_shows_its_check_table_in_the_job_summary_and_its_failures_as_errors(tmp_path):
    summary = tmp_path / "summary.md"
    build = {
        "ok": False,
        "name": "calculator",
        "version": "1.0.0",
        "tools": ["add", "divide"],
        "tgz": str(tmp_path / "calculator-1.0.0.tgz"),
        "sha256": "ab" * 32,
        "size": 4096,
        "checks": [
            {"name": "typecheck", "ok": True, "seconds": 1.2, "message": "tsc: no errors", "tool": None, "details": []},
            {
                "name": "example",
                "ok": False,
                "seconds": 0.3,
                "message": "divide(1, 0) returned Infinity",
                "tool": "divide",
                "details": ["expected an error"],
            },
        ],
        "timings": {"render": 0.01, "validate": 2.5},
    }
    out = io.StringIO()
    actions.report_build(build, actions_env(tmp_path, summary), out)

    text = summary.read_text()
    assert "### ❌ `calculator` 1.0.0: validation failed" in text
    assert "| typecheck | ✅ pass | 1.20 s | tsc: no errors |" in text
    assert "| example (`divide`) | ❌ fail |" in text and "expected an error" in text
    assert "`calculator-1.0.0.tgz`, 4.0 KiB" in text
    assert out.getvalue() == (
        "::error title=MCP Factory%3A calculator failed validation::example (divide): divide(1, 0) returned Infinity\n"
    )


def test_a_forged_build_report_shows_no_markup_in_the_publish_job_s_summary(tmp_path):
    """The publish job summarizes the build job's files, which generated code may have rewritten."""
    markup = "[x](http://evil) @octocat Closes #2 <img src=x>"
    work = tmp_path / "w"
    work.mkdir()
    (work / "build.json").write_text(
        json.dumps(
            {
                "ok": True,
                "name": markup,
                "version": markup,
                "tools": [markup],
                "tgz": f"/x/{markup}.tgz",
                "size": 1,
                "sha256": markup,
                "timings": {markup: 1.0},
                "checks": [
                    {"name": markup, "ok": True, "seconds": 0.1, "message": markup, "tool": markup, "details": [markup]}
                ],
            }
        )
    )
    (work / "review.json").write_text(
        json.dumps(
            {
                "ok": True,
                "pull": markup,
                "servers": [{"name": markup, "version": markup, "ok": True, "findings": [markup]}],
            }
        )
    )
    (work / "outcome.json").write_text(
        json.dumps({"ok": False, "stage": markup, "error": "```\n" + markup, "hint": markup})
    )
    summary = tmp_path / "summary.md"
    actions.summarize(work, env=actions_env(tmp_path, summary), out=io.StringIO())

    text = summary.read_text()
    assert "(not a sha256)" in text
    assert text.count("```") == 2  # the error stays inside its one fence, where nothing renders as markup
    outside = "".join(text.split("```")[0::2])
    for piece in ("@octocat", "<img", "[x](http", "Closes #2"):  # escaped: \\[x\\], &#64;, &lt;, \\#
        assert piece not in outside, piece


def test_outside_actions_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert actions.append_summary("# hi", {}) is False
    assert not actions.in_actions({})
    assert actions.in_actions({"GITHUB_ACTIONS": "true"})


def test_other_errors_are_one_annotation_with_the_hint_in_the_summary(tmp_path):
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    actions.report_error(
        ToolchainError("node 18 is too old", hint="install node 20 or newer"), actions_env(tmp_path, summary), out
    )
    assert out.getvalue().startswith("::error title=MCP Factory::node 18 is too old%0A  hint: install node 20")
    assert "**Next step:** install node 20 or newer" in summary.read_text()


def test_untrusted_output_is_printed_with_workflow_commands_switched_off():
    out = io.StringIO()
    with actions.untrusted_output(out):
        print("::error::forged by a generated server", file=out)
    first, forged, last = out.getvalue().splitlines()
    token = first.removeprefix("::stop-commands::")
    assert len(token) == 32 and last == f"::{token}::" and forged.startswith("::error::")


def test_after_a_failed_parse_the_summary_says_why_and_names_no_server(tmp_path):
    work = tmp_path / "factory-work"
    work.mkdir()
    (work / "outcome.json").write_text(
        json.dumps(
            {
                "ok": False,
                "stage": "parse",
                "exit_code": 2,
                "error": "no spec and no description",
                "hint": "fill in the form",
            }
        )
    )
    env = actions_env(tmp_path, tmp_path / "summary.md") | {"GITHUB_OUTPUT": str(tmp_path / "output")}
    out = io.StringIO()
    assert actions.summarize(work, None, env, out) == {"server": ""}
    assert out.getvalue() == "::error title=MCP Factory::parse failed: no spec and no description\n"
    assert "**Next step:** fill in the form" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "output").read_text() == "server=\n"


def test_after_a_parse_the_server_name_becomes_a_step_output_only_when_it_is_a_valid_name(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    env = {"GITHUB_OUTPUT": str(tmp_path / "output")}
    (work / "request.json").write_text(json.dumps({"issue": 7, "name": "unit-converter", "version": "1.0.0"}))
    assert actions.summarize(work, None, env, io.StringIO()) == {"server": "unit-converter"}
    (work / "request.json").write_text(json.dumps({"issue": 7, "name": "x\nserver=evil"}))
    assert actions.summarize(work, None, env, io.StringIO()) == {"server": ""}
    assert (tmp_path / "output").read_text() == "server=unit-converter\nserver=\n"


def test_a_review_and_a_published_pr_show_in_the_summary(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    (work / "review.json").write_text(
        json.dumps(
            {
                "ok": False,
                "pull": 3,
                "servers": [
                    {
                        "name": "calculator",
                        "version": "1.0.1",
                        "ok": False,
                        "checks": [],
                        "findings": ["drift: servers/calculator/src/index.ts"],
                    }
                ],
            }
        )
    )
    result = tmp_path / "result.json"
    result.write_text(json.dumps({"ok": True, "pull": 3, "url": "https://github.example/acme/s/pull/3"}))
    summary = tmp_path / "summary.md"
    actions.summarize(work, result, actions_env(tmp_path, summary), io.StringIO())
    text = summary.read_text()
    assert "### ❌ Review of pull request #3" in text and "- drift: servers/calculator/src/index.ts" in text
    assert "Pull request #3: https://github.example/acme/s/pull/3" in text


def test_factory_bot_build_on_actions_annotates_the_broken_line_of_a_committed_spec(tmp_path):
    spec = broken_spec(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env |= actions_env(tmp_path, tmp_path / "summary.md")
    result = subprocess.run(
        ["factory-bot", "build", "specs/calculator.yaml", "--out", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(n for n, text in enumerate(spec.read_text().splitlines(), 1) if "numbr" in text)
    assert result.returncode == 2
    assert f"::error file=specs/calculator.yaml,line={line},title=MCP Factory%3A invalid spec::" in result.stdout
