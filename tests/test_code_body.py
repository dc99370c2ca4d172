"""A tool declares only the names its code body reads, and indents the body only where that cannot change it."""

from __future__ import annotations

import pytest

from factory_bot.build.code_body import can_indent, indent, names
from factory_bot.build.render import render_server
from factory_bot.spec.loader import load_spec_text


def test_names_are_read_outside_strings_comments_and_member_access() -> None:
    body = """\
const url = `${env.BASE}/items/${encodeURIComponent(id)}`; // log this? no: args
/* signal */ const text = "env log" + 'signal';
return process.env.HOME + obj?.log + url + text;
"""
    assert {"env", "id", "encodeURIComponent", "process", "obj", "url", "text"} <= names(body)
    assert not {"log", "signal", "args", "HOME", "BASE"} & names(body)


def test_a_regular_expression_is_not_mistaken_for_a_division_or_a_string() -> None:
    assert "signal" not in names('return /"signal`/.test(s) ? a / b : 0;')
    assert {"a", "b", "s"} <= names('return /"signal`/.test(s) ? a / b : 0;')


@pytest.mark.parametrize(
    ("body", "safe"),
    [
        ("return a + b;\n", True),
        ("const s = `one\ntwo`;\nreturn s;\n", False),  # a template literal may span lines
        ('const s = "one \\\ntwo";\nreturn s;\n', False),  # a string continued with a backslash
        ("/* a\n   comment */\nreturn 1;\n", True),
    ],
)
def test_a_body_is_indented_only_when_no_literal_can_span_a_line(body: str, safe: bool) -> None:
    assert can_indent(body) is safe
    assert (indent(body) != body) is safe


def test_an_unused_input_env_or_signal_is_not_declared() -> None:
    spec = load_spec_text(
        """\
name: lean
version: 1.0.0
description: A tool whose body ignores most of what it could use.
env:
  - {name: LEAN_MODE, description: A mode, default: fast}
tools:
  - name: pick
    description: Uses one input of two.
    input:
      first: {type: string}
      second: {type: string}
    implementation:
      kind: code
      code: |
        return first; // second, env and signal stay unused
"""
    )
    tool = render_server(spec)["src/tools/pick.ts"]
    assert 'import { toolError, toolResult } from "../runtime.js";' in tool
    assert "const { first } = args;" in tool
    assert "async function run(args: Input, _signal: AbortSignal)" in tool
    assert "  return first;" in tool  # indented to the function's level
