"""Any string a spec can hold reaches the generated server unchanged, and shows in source only as visible escapes."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from factory_bot.build.pipeline import build
from factory_bot.build.render import render_server
from factory_bot.spec.model import ServerSpec
from factory_bot.text import js, md

HOSTILE = [
    "*/ alert(1) /*",
    "`${process.exit(1)}`",
    "${env.SECRET}",
    "</script><script>x</script>",
    '"\'\\"',
    "back\\slash\\\\",
    "line\nbreak\r\nand\ttab",
    "\u202etxt.exe",
    "zero\u200bwidth\u2060joiner\ufeff",
    "\u2028line separator\u2029",
    "emoji 🧪🔥",
    "العربية",
    "\x00nul\x07bell\x1b[31m",
    "-->",
    "{{ jinja }}",
    "{% raw %}",
    "# heading",
    "| pipe |",
    "<!-- comment -->",
    "\\u0041",
    "'; DROP TABLE tools; --",
]
INVISIBLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}

any_text = st.one_of(st.sampled_from(HOSTILE), st.text(st.characters(exclude_categories=("Cs",)), max_size=40))


# One node per module evaluates each example's literals as an ES module of their ASCII source (as
# `node values.mjs` would, strict mode and all): one node start for every example, not one per example.
EVALUATOR = """
import { createInterface } from "node:readline";
for await (const line of createInterface({ input: process.stdin })) {
  const url = "data:text/javascript;charset=utf-8," + encodeURIComponent(JSON.parse(line));
  process.stdout.write(JSON.stringify((await import(url)).default) + "\\n");
}
"""


@pytest.fixture(scope="module")
def evaluate_in_node() -> Iterator[Callable[[list[str]], Any]]:
    node = subprocess.Popen(
        ["node", "--input-type=module", "-e", EVALUATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert node.stdin is not None and node.stdout is not None

    def evaluate(literals: list[str]) -> Any:
        source = f"export default [{', '.join(literals)}];"
        assert source.isascii()
        node.stdin.write(json.dumps(source) + "\n")
        node.stdin.flush()
        return json.loads(node.stdout.readline())

    yield evaluate
    node.stdin.close()
    node.wait(timeout=30)


# Pinned examples: random seeds reach U+2028/U+2029 and `&` only some of the time.
LINE_SEPARATORS_AND_MARKUP = ["\u2028", "a\u2029b", "x & y", "&amp;", "</script>", "<!-- -->", "\u2028&\u2029"]


@pytest.mark.parametrize(
    ("text", "escape"),
    [("x & y", "\\u0026"), ("<b>", "\\u003c"), ("<b>", "\\u003e"), ("a\u2028b", "\\u2028"), ("a\u2029b", "\\u2029")],
)
def test_js_shows_ampersands_angle_brackets_and_line_separators_only_as_escapes(text: str, escape: str) -> None:
    literal = js(text)
    assert escape in literal
    assert not {"&", "<", ">", "\u2028", "\u2029"} & set(literal), literal
    assert json.loads(literal) == text


def test_line_separators_in_every_spec_string_reach_the_typescript_source_escaped() -> None:
    files = render_server(hostile_spec(["before\u2028after", "one\u2029two", "\u2028&\u2029"]))
    assert_visible_source(files)
    source = "".join(text for path, text in files.items() if path.endswith(".ts"))
    assert "\\u2028" in source and "\\u2029" in source


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(any_text, st.text(max_size=60)), min_size=1, max_size=40))
@example(values=LINE_SEPARATORS_AND_MARKUP)
def test_js_literals_are_ascii_and_evaluate_to_the_original_string(values: list[str], evaluate_in_node) -> None:
    literals = [js(v) for v in values]
    for literal in literals:
        assert literal.isascii() and all(0x20 <= ord(c) < 0x7F for c in literal), literal
        assert "<" not in literal and ">" not in literal and "&" not in literal
    assert evaluate_in_node(literals) == values


@given(any_text)
def test_markdown_text_has_no_invisible_characters_and_no_raw_markup(text: str) -> None:
    out = md(text)
    assert not any(unicodedata.category(c) in INVISIBLE and c not in "\n\t" for c in out)
    assert "<" not in out and ">" not in out
    cell = md(text, cell=True)
    assert "\n" not in cell and all(cell[i - 1] == "\\" for i, c in enumerate(cell) if c == "|")


def hostile_spec(strings: list[str]) -> ServerSpec:
    """A spec with the strings in every place a spec string can go, and an echo tool whose examples carry them."""
    enum = list(dict.fromkeys(s for s in strings if s))[:5] or ["x"]
    return ServerSpec.model_validate(
        {
            "name": "hostile",
            "version": "1.0.0",
            "description": strings[0] or "d",
            "env": [{"name": "HOSTILE_SETTING", "description": strings[-1], "default": strings[1 % len(strings)]}],
            "tools": [
                {
                    "name": "echo",
                    "title": strings[-1] or None,
                    "description": "Echo: " + strings[0],
                    "input": {
                        "text": {"type": "string", "description": strings[1 % len(strings)]},
                        "choice": {"type": "string", "enum": enum, "default": enum[0], "description": strings[-1]},
                    },
                    "output": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}, "choice": {"type": "string"}},
                    },
                    "implementation": {"kind": "code", "code": "return { text, choice };"},
                    "examples": [
                        {
                            "input": {"text": s, "choice": enum[i % len(enum)]},
                            "output": {"text": s, "choice": enum[i % len(enum)]},
                        }
                        for i, s in enumerate(strings[:20])
                    ],
                },
                {
                    "name": "setting",
                    "description": "The HOSTILE_SETTING default, as the server sees it.",
                    "implementation": {"kind": "code", "code": "return env.HOSTILE_SETTING;"},
                    "examples": [{"input": {}, "output": strings[1 % len(strings)]}],
                },
            ],
        }
    )


def assert_visible_source(files: dict[str, str]) -> None:
    for path, text in files.items():
        bad = [f"U+{ord(c):04X}" for c in text if unicodedata.category(c) in INVISIBLE and c not in "\n\t"]
        assert not bad, f"{path} contains invisible characters {bad[:5]}"


@pytest.mark.e2e
def test_the_hostile_corpus_survives_into_a_compiling_server_and_back_through_the_protocol(tmp_path: Path) -> None:
    spec = hostile_spec(HOSTILE)
    assert_visible_source(render_server(spec))
    result = build(spec, tmp_path)
    assert result.ok, [(c.name, c.tool, c.message, c.details) for c in result.report.failures]


@pytest.mark.e2e
@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(strings=st.lists(any_text, min_size=2, max_size=8))
def test_any_strings_survive_into_a_compiling_server_and_back(strings: list[str], tmp_path_factory) -> None:
    spec = hostile_spec(strings)
    assert_visible_source(render_server(spec))
    result = build(spec, tmp_path_factory.mktemp("hostile"))
    # Validation compares tools/list descriptions and every example's output with the spec: passing proves
    # each string compiled and came back unchanged through the protocol.
    assert result.ok, [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
