"""Plans as plain data, with no network and no node: what a PR and a release will contain (release-please style)."""

from __future__ import annotations

from pathlib import Path

from factory_bot.build.drift import drift
from factory_bot.build.render import render_server
from factory_bot.forge.base import Asset, Release
from factory_bot.gitops import publish
from factory_bot.spec.loader import dump_spec, load_spec_file
from factory_bot.spec.model import ServerSpec

SPECS = Path(__file__).resolve().parent.parent / "specs"


def calculator() -> ServerSpec:
    return load_spec_file(SPECS / "calculator.yaml")


def with_model_code(spec: ServerSpec) -> ServerSpec:
    tool = spec.tools[0]
    impl = tool.implementation.model_copy(update={"written_by": "model"})
    return spec.model_copy(update={"tools": [tool.model_copy(update={"implementation": impl}), *spec.tools[1:]]})


def test_pull_plan_carries_the_spec_and_the_whole_generated_server_on_one_branch_per_server():
    spec = calculator()
    plan = publish.plan_pull(spec, base="main", report_markdown="| Check | Result |", issue=12, sha256="ab" * 32)
    assert (plan.branch, plan.base, plan.replace_dirs) == ("factory/calculator", "main", ("servers/calculator",))
    assert plan.files["specs/calculator.yaml"] == dump_spec(spec)
    rendered = render_server(spec)
    assert {f"servers/calculator/{rel}" for rel in rendered} | {"specs/calculator.yaml"} == set(plan.files)
    assert plan.title == "MCP server calculator 1.0.0"
    assert "Factory-Issue: #12" in plan.commit_message


def test_pr_body_has_tool_table_report_checksum_and_closes_the_issue():
    body = publish.plan_pull(
        calculator(), base="main", report_markdown="| typescript | pass |", issue=12, sha256="cd" * 32
    ).body
    assert "Closes #12" in body
    for tool in ("add", "subtract", "multiply", "divide"):
        assert f"| `{tool}` |" in body
    assert "| typescript | pass |" in body and "cd" * 32 in body
    assert "Claude wrote" not in body


def test_pr_body_flags_model_written_code_for_the_reviewer():
    body = publish.plan_pull(with_model_code(calculator()), base="main", report_markdown="").body
    assert "[!WARNING]" in body and "Claude wrote the code of `add`" in body
    assert "code, **written by Claude**" in body


def test_texts_from_the_request_cannot_inject_markup_into_the_pr_body():
    spec = calculator().model_copy(update={"description": "<img src=x onerror=alert(1)> | ``` @everyone"})
    body = publish.plan_pull(spec, base="main", report_markdown="").body
    assert "<img" not in body and "&lt;img" in body


def test_pr_body_explains_a_version_bump_the_bot_made():
    proposal = {"previous": "1.0.0", "version": "2.0.0", "level": "major", "reasons": ["major: tool add removed"]}
    body = publish.plan_pull(calculator(), base="main", report_markdown="", proposal=proposal).body
    assert "the bot set **2.0.0** (major)" in body and "tool add removed" in body


def test_status_comment_shows_each_state_and_a_failure_says_what_to_do():
    failed = publish.status_body("failed", failed_stage="parse", reason="no spec ``` here", hint="add a YAML block")
    assert "could not parse" in failed and "**What to do:** add a YAML block" in failed
    assert failed.count("```") == 2, "the reason cannot close its code block"
    opened = publish.status_body("pr-open", name="calculator", version="1.0.0", pull_url="http://x/pull/3")
    assert "http://x/pull/3" in opened and publish.STATUS_MARKER in opened


def test_release_plan_for_a_new_version_tags_releases_and_uploads_both_assets():
    plan = publish.plan_release(calculator(), commit="c" * 40, tags={}, release=None)
    assert plan.tag == "calculator-v1.0.0" and plan.commit == "c" * 40
    assert plan.steps == ("tag", "release", "upload:calculator-1.0.0.tgz", "upload:calculator-1.0.0.tgz.sha256")
    assert plan.needs_build


def test_release_plan_completes_a_half_finished_release():
    release = Release(1, "calculator-v1.0.0", "calculator 1.0.0", "notes without checksum", "u", ())
    plan = publish.plan_release(calculator(), commit="c" * 40, tags={"calculator-v1.0.0": "t" * 40}, release=release)
    assert plan.steps == ("upload:calculator-1.0.0.tgz", "upload:calculator-1.0.0.tgz.sha256", "notes")
    assert plan.commit == "t" * 40, "an existing tag is never moved"


def test_release_plan_for_a_finished_release_is_empty():
    notes = f"**SHA-256:** `{'e' * 64}`"
    assets = (Asset(1, "calculator-1.0.0.tgz", 10, "u"), Asset(2, "calculator-1.0.0.tgz.sha256", 10, "u"))
    release = Release(1, "calculator-v1.0.0", "calculator 1.0.0", notes, "u", assets)
    plan = publish.plan_release(
        calculator(), commit="c" * 40, tags={"calculator-v1.0.0": "t" * 40}, release=release, tagged_spec=calculator()
    )
    assert plan.steps == () and not plan.needs_build


def test_a_broken_off_upload_does_not_count_as_an_asset():
    assets = (Asset(1, "calculator-1.0.0.tgz", 0, "u", complete=False),)
    release = Release(1, "calculator-v1.0.0", "n", "", "u", assets)
    plan = publish.plan_release(calculator(), commit="c" * 40, tags={"calculator-v1.0.0": "t" * 40}, release=release)
    assert "upload:calculator-1.0.0.tgz" in plan.steps


def test_a_spec_changed_without_a_version_bump_is_not_released_over_the_old_tag():
    changed = calculator().model_copy(update={"description": "Different now."})
    plan = publish.plan_release(
        changed, commit="c" * 40, tags={"calculator-v1.0.0": "t" * 40}, release=None, tagged_spec=calculator()
    )
    assert plan.steps == () and "bump the version" in plan.note


def test_drift_names_every_generated_file_that_was_edited_or_is_missing():
    spec = calculator()
    files = dict(render_server(spec))
    assert drift(spec, files) == []
    files["src/index.ts"] += "// sneaky\n"
    del files["package.json"]
    assert drift(spec, files) == ["src/index.ts: differs from what the spec generates", "package.json: missing"]
