"""Issue bodies (forms, edited forms, YAML blocks, free text) are read the same way every time: golden files.

Refresh the goldens on purpose with `UPDATE_GOLDEN=1 pytest tests/test_parse_issue_form.py`, and read the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from factory_bot.errors import RequestError
from factory_bot.parse import parse_issue
from factory_bot.parse.issue_form import ACKNOWLEDGEMENT, FORM_FIELDS, read_issue
from factory_bot.parse.sanitize import clean_request

REPO = Path(__file__).resolve().parent.parent
ISSUES = Path(__file__).resolve().parent / "corpus" / "issues"
BODIES = sorted(ISSUES.glob("*.md"))
TITLE = "New MCP server: test"


def reading(body: str) -> dict[str, Any]:
    """What the bot reads from an issue body, as plain data (or the error it raises)."""
    try:
        request = read_issue(TITLE, clean_request(body))
    except RequestError as exc:
        return {"error": exc.message}
    data = asdict(request)
    data["other_sections"] = [list(s) for s in request.other_sections]
    data["server_name"] = request.server_name
    data["intent"] = request.intent()
    return data


@pytest.mark.parametrize("path", BODIES, ids=[p.stem for p in BODIES])
def test_issue_body_reads_as_its_golden(path: Path):
    body = path.read_bytes().decode("utf-8")
    actual = reading(body)
    golden = path.with_suffix(".golden.json")
    if os.environ.get("UPDATE_GOLDEN") or not golden.exists():
        golden.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", BODIES, ids=[p.stem for p in BODIES])
def test_line_endings_do_not_change_the_reading(path: Path):
    body = path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    assert reading(body.replace("\n", "\r\n")) == reading(body) == reading(body + "\n\n")


def test_form_fields_match_the_issue_template():
    template = YAML(typ="safe").load((REPO / ".github" / "ISSUE_TEMPLATE" / "mcp-server.yml").read_text())
    fields = {item["id"]: item for item in template["body"] if "id" in item}
    assert {key: item["attributes"]["label"] for key, item in fields.items()} == FORM_FIELDS
    assert fields["spec"]["attributes"]["render"] == "yaml"
    assert [o["label"] for o in fields["acknowledge"]["attributes"]["options"]] == [ACKNOWLEDGEMENT]
    assert "mcp-server" in template["labels"], "the label the request workflow listens for"


def test_a_form_as_github_renders_it_parses_field_by_field():
    request = read_issue(TITLE, clean_request((ISSUES / "form-complete.md").read_text()))
    assert request.is_form and request.acknowledged is True
    assert request.server_name == "unit-converter"
    assert request.fields["tools"] == "convert_temperature(value, from, to, decimals?)"
    assert request.spec is None


def test_hidden_comments_and_invisible_characters_never_reach_the_intent():
    intent = reading((ISSUES / "form-hidden-comment.md").read_text())["intent"]
    assert "process.env" not in intent and "Thanks for asking" not in intent
    assert "\u200b" not in intent and "\u202e" not in intent
    assert "Make URL slugs from titles." in intent


def test_spec_in_the_form_is_used_without_a_model():
    result = parse_issue(TITLE, (ISSUES / "form-with-spec.md").read_text(), client=None)
    assert (result.source, result.spec.name, result.attempts, result.model) == ("form", "greeter", [], None)


def test_spec_block_in_free_text_is_used_without_a_model():
    result = parse_issue(TITLE, (ISSUES / "free-text-yaml-block.md").read_text())
    assert (result.source, result.spec.name) == ("yaml", "shouter")


def test_a_broken_spec_block_is_a_spec_error_not_a_model_call():
    from factory_bot.errors import SpecError

    body = "```yaml\nname: Bad Name\nversion: 1\ntools: []\n```\n"
    with pytest.raises(SpecError) as caught:
        parse_issue(TITLE, body)
    fields = {p.field for p in caught.value.problems}
    assert {"name", "version", "tools"} <= fields


def test_unticked_acknowledgement_stops_before_the_model(monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(RequestError, match="acknowledgement is not ticked"):
        parse_issue(TITLE, (ISSUES / "form-unticked.md").read_text())
