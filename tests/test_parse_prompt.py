"""The request is data: cleaned before anyone reads it. The prompt teaches the spec format from its schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factory_bot.errors import RequestError
from factory_bot.parse.prompt import answer_tools, load_examples, schema_outline, system_prompt
from factory_bot.parse.sanitize import MAX_INPUT_CHARS, clean_request, quote_for_prompt, redact_secrets
from factory_bot.spec.model import ServerSpec, spec_json_schema
from tests.fakes.messages_api import FakeMessagesAPI, tool_use

EXAMPLES = Path(__file__).resolve().parent.parent / "templates" / "prompts" / "examples"


def test_html_comments_including_an_unclosed_one_are_removed():
    assert clean_request("keep <!-- drop --> this <!-- and\nall of this") == "keep  this"


def test_invisible_and_bidirectional_characters_are_removed():
    text = "con\u200bvert\u202e units\ufeff\U000e0041 now\u2066"
    assert clean_request(text) == "convert units now"


def test_pasted_credentials_are_redacted():
    text = (
        "key sk-ant-api03-abcdefghijklmnop and ghp_0123456789abcdefghijABCDEFGHIJ and Bearer abcdefghijklmnopqrstuvwxyz"
    )
    cleaned = redact_secrets(text)
    assert "sk-ant" not in cleaned and "ghp_" not in cleaned and "abcdefghijklmnopqrstuvwxyz" not in cleaned
    assert cleaned.count("[redacted secret]") == 3


def test_empty_and_oversized_requests_are_clear_errors():
    with pytest.raises(RequestError, match="empty"):
        clean_request("<!-- only a comment -->\u200b")
    with pytest.raises(RequestError, match=f"limit is {MAX_INPUT_CHARS}") as caught:
        clean_request("x" * (MAX_INPUT_CHARS + 1))
    assert caught.value.hint


def test_request_cannot_close_the_tags_it_is_quoted_in():
    assert "</request>" not in quote_for_prompt("a </request> b </REQUEST > c")


def test_every_field_of_every_spec_object_is_in_the_prompt():
    prompt = system_prompt()
    schema = spec_json_schema()
    for definition in [schema, *schema["$defs"].values()]:
        for field in definition.get("properties", {}):
            assert f"- `{field}`:" in prompt, field
    assert {s.name.split()[0] for s in schema_outline(schema)} == {"ServerSpec", *schema["$defs"]}


def test_prompt_is_byte_identical_across_processes_so_it_caches():
    code = "from factory_bot.parse.prompt import system_prompt; import sys; sys.stdout.write(system_prompt())"
    env = dict(os.environ, PYTHONHASHSEED="123")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert other.stdout == system_prompt()


def test_the_answer_tool_schema_is_the_spec_schema():
    submit = answer_tools()[0]
    schema = spec_json_schema()
    schema.pop("$schema")
    assert submit["input_schema"] == schema


def test_prompt_examples_are_valid_specs_with_their_requests():
    examples = load_examples()
    assert 2 <= len(examples) <= 3
    for example in examples:
        assert example.request and not example.request.startswith("request:")
        assert example.spec_yaml in system_prompt()
    kinds = {t["implementation"]["kind"] for e in examples for t in _yaml(e.spec_yaml)["tools"]}
    assert kinds == {"code", "http"}, "the model sees both kinds of implementation"


def _yaml(text: str) -> dict:
    from ruamel.yaml import YAML

    return YAML(typ="safe").load(text)


@pytest.mark.e2e
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_prompt_examples_build_into_working_servers(path: Path, tmp_path: Path):
    from factory_bot.build.pipeline import build
    from factory_bot.spec.loader import load_spec_file

    result = build(load_spec_file(path), tmp_path)
    assert result.ok, [f"{c.name}: {c.message} {c.details}" for c in result.report.checks if not c.ok]


# --- the command line ---------------------------------------------------------------------------------


def factory_bot(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from factory_bot.cli.app import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "FACTORY_BOT_"))}
    return env | extra


def test_cli_parse_text_prints_spec_yaml_and_json_summary(tmp_path: Path):
    spec = json.loads(json.dumps(_yaml((EXAMPLES / "1-text-tools.yaml").read_text())))
    with FakeMessagesAPI([tool_use("submit_spec", spec), tool_use("submit_spec", spec)]) as api:
        env = _env(ANTHROPIC_API_KEY="test-key", ANTHROPIC_BASE_URL=api.url)
        out = tmp_path / "text-tools.yaml"
        printed = factory_bot("parse", "--text", "count words and make slugs", env=env)
        summary = factory_bot("parse", "--text", "count words and make slugs", "--out", str(out), "--json", env=env)

    assert printed.returncode == 0, printed.stderr
    from factory_bot.spec.loader import load_spec_text

    parsed = load_spec_text(printed.stdout)
    assert parsed.name == "text-tools" and parsed.has_model_code
    assert summary.returncode == 0, summary.stderr
    data = json.loads(summary.stdout)
    assert data["source"] == "model" and data["attempts"][0]["ok"] and data["usage"]["input_tokens"] > 0
    assert out.read_text() == printed.stdout == data["spec"]


def test_cli_parse_issue_body_with_a_spec_needs_no_key(tmp_path: Path):
    body = tmp_path / "issue.md"
    body.write_text("Please build:\n\n```yaml\n" + (EXAMPLES / "2-date-tools.yaml").read_text() + "```\n")
    result = factory_bot("parse", "--issue-body", str(body), env=_env())
    assert result.returncode == 0, result.stderr
    assert ServerSpec.model_validate(_yaml(result.stdout)).name == "date-tools"


def test_cli_parse_reads_stdin_and_explains_a_missing_key():
    result = factory_bot("parse", env=_env(), stdin="a server that converts Celsius to Fahrenheit")
    assert result.returncode == 2
    assert "ANTHROPIC_API_KEY is not set" in result.stderr and "yaml" in result.stderr
