"""Issue 13: the rules a spec's resources, resource templates and prompts meet, each refused with a message
that says what to write instead; and a tools-only spec renders exactly as before (no new files)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from factory_bot.build.render import render_server, write_server
from factory_bot.build.static_checks import locate_code_line
from factory_bot.errors import SpecError
from factory_bot.spec.loader import load_spec_text
from factory_bot.spec.resources import template_variables

TOOL = {"name": "echo", "description": "Echo.", "implementation": {"kind": "code", "code": "return 1;"}}


def spec(**kinds: Any) -> str:
    return json.dumps({"name": "kinds", "version": "1.0.0", "description": "Kinds.", "tools": [TOOL], **kinds})


def problem(**kinds: Any) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec_text(spec(**kinds), source="spec.yaml")
    return "\n".join(p.render("spec.yaml") for p in caught.value.problems)


def test_uri_template_variables_follow_rfc_6570() -> None:
    assert template_variables("files://{+path}{?limit,offset}/{id:3}{/seg*}") == [
        "path",
        "limit",
        "offset",
        "id",
        "seg",
    ]
    with pytest.raises(ValueError, match="unbalanced"):
        template_variables("notes://{id")


def test_a_declared_variable_the_uri_template_does_not_use_is_refused() -> None:
    template = {
        "uriTemplate": "notes://{id}",
        "name": "note",
        "variables": {"nid": {}},
        "code": {"kind": "code", "code": "return id;"},
    }
    assert "variables declares 'nid', which 'notes://{id}' does not use" in problem(resource_templates=[template])


def test_a_resource_has_exactly_one_content() -> None:
    both = {"uri": "memo://a", "name": "a", "text": "x", "blob": "eA=="}
    assert "give exactly one of `text`, `blob` or `code`, got ['text', 'blob']" in problem(resources=[both])
    assert "must be base64" in problem(resources=[{"uri": "memo://a", "name": "a", "blob": "not base64!"}])


def test_a_prompt_placeholder_must_be_an_argument() -> None:
    prompt = {"name": "p", "description": "d", "messages": [{"content": {"type": "text", "text": "Hi {who}"}}]}
    assert "{who} is not an argument; arguments are: none" in problem(prompts=[prompt])


def test_names_and_uris_are_unique() -> None:
    memo = {"uri": "memo://a", "name": "a", "text": "x"}
    assert "two resources with the uri 'memo://a'" in problem(resources=[memo, memo | {"name": "b"}])
    prompt = {"name": "p", "description": "d", "code": {"kind": "code", "code": "return 'x';"}}
    assert "two prompts named 'p'" in problem(prompts=[prompt, prompt])


def test_a_prompt_body_written_by_the_model_marks_the_spec_for_review() -> None:
    prompt = {"name": "p", "description": "d", "code": {"kind": "code", "code": "return 'x';", "written_by": "model"}}
    assert load_spec_text(spec(prompts=[prompt])).has_model_code


def test_a_tools_only_spec_renders_no_resource_or_prompt_files(tmp_path: Path) -> None:
    tools_only = render_server(load_spec_text(spec()))
    assert "src/resources.ts" not in tools_only and "src/prompts.ts" not in tools_only
    assert "registerResources" not in tools_only["src/index.ts"]

    memo = {"uri": "memo://a", "name": "a", "text": "x"}
    write_server(load_spec_text(spec(resources=[memo])), tmp_path)
    assert (tmp_path / "src" / "resources.ts").exists()
    write_server(load_spec_text(spec()), tmp_path)  # the spec dropped its resources: the file goes too
    assert not (tmp_path / "src" / "resources.ts").exists()


def test_a_compiler_error_in_a_prompt_body_names_its_field_and_a_model_body_is_marked(tmp_path: Path) -> None:
    body = {"kind": "code", "code": "const n: number = 'x';\nreturn 'x';", "written_by": "model"}
    rendered = render_server(load_spec_text(spec(prompts=[{"name": "p", "description": "d", "code": body}])))
    source = rendered["src/prompts.ts"]
    (tmp_path / "prompts.ts").write_text(source)

    line = source[: source.index("const n: number")].count("\n") + 1
    assert locate_code_line(tmp_path / "prompts.ts", line) == (None, "prompts[0].code line 1")
    assert "// This code body was written by a model: review it.\n// ── begin code: prompts[0].code p ──" in source


def test_a_wrong_content_type_in_a_prompt_message_lists_the_types_there_are() -> None:
    prompt = {"name": "p", "description": "d", "messages": [{"content": {"type": "picture", "data": "eA=="}}]}
    assert "type must be one of 'text', 'image', 'audio', 'resource' (got 'picture')" in problem(prompts=[prompt])
