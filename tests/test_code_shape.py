"""Issue 10 (f): a code body could close its function (`return text; } export const x = 1; … function
unused_(): void {`), so its top-level code ran at import in every server process. TypeScript's parser now
checks each body, wrapped as the template wraps it, before anything runs: such a body is refused as a bad
spec with the line inside the body, and nothing is built. Braces in strings, template literals, comments
and regular expressions are no concern of a parser, so those bodies still build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factory_bot.build import code_shape, toolchain
from factory_bot.build.pipeline import build
from factory_bot.build.repair_checks import typecheck
from factory_bot.spec.loader import load_spec_text

pytestmark = pytest.mark.e2e


def spec_text(tools: list[dict], name: str = "shapes") -> str:
    return json.dumps(
        {"name": name, "version": "0.1.0", "description": "Code bodies of every shape.", "tools": tools},
        ensure_ascii=False,
    )


def code_tool(name: str, code: str, **extra: object) -> dict:
    return {"name": name, "description": f"The {name} tool.", "implementation": {"kind": "code", "code": code}, **extra}


def escaping_body(mark: Path) -> str:
    return (
        "const shout = text.toUpperCase();\n"
        "return shout; }\n"
        "export const x = 1;\n"
        f'await import("node:fs").then((fs) => fs.writeFileSync({json.dumps(str(mark))}, "ran at import"));\n'
        "function unused_(): void {\n"
    )


def test_a_body_that_closes_its_function_is_refused_at_its_line_and_nothing_is_built(tmp_path: Path):
    mark = tmp_path / "top-level-code-ran"
    spec = tmp_path / "escape.yaml"
    spec.write_text(
        spec_text(
            [
                code_tool("fine", "return 1;", examples=[{"input": {}, "output": 1}]),
                code_tool(
                    "shout",
                    escaping_body(mark),
                    input={"text": {"type": "string"}},
                    examples=[{"input": {"text": "hi"}, "output": "HI"}],
                ),
            ],
            name="escape",
        )
    )
    out = tmp_path / "out"

    result = subprocess.run(
        [sys.executable, "-m", "factory_bot", "build", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"NO_COLOR": "1"},
    )

    assert not mark.exists(), "the body's top-level code ran"
    assert result.returncode == 2, result.stderr
    assert "tools[1].implementation.code line 2: the body closes its function here" in result.stderr
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())


@pytest.mark.parametrize(
    "body, line",
    [
        ("return 1; }\nconsole.log('top level');\n{", 1),  # closes, then opens a bare block to balance
        ("const a = 1;\nconst b = 2;\nreturn a + b;\n}\n}\nfunction again(): void {\n{", 4),
        ("return 1;\n/* never closed", 2),  # would comment out the function's closing brace
        ("const s = `unterminated;\nreturn s;", 2),  # a template literal swallowing the rest: located at the end
    ],
)
def test_each_way_out_of_the_function_is_located_inside_the_body(body: str, line: int):
    spec = load_spec_text(spec_text([code_tool("fine", "return 0;"), code_tool("out", body)]))

    [problem] = code_shape.check(spec, toolchain.ensure())

    assert problem.field == f"tools[1].implementation.code line {line}"


BRACES = [  # (body, expected output): every brace is inside a string, template, comment or regex
    ('return "}";', "}"),
    ('return `${"}"}` + `}${"{"}`;', "}}{"),
    ('// }\nreturn "after a comment }";', "after a comment }"),
    ('/* } { */ return "block";', "block"),
    ('return /\\}/.test("}") ? "regex }" : "no";', "regex }"),
    ('const o = { a: { b: "}" } };\nreturn o.a.b;', "}"),
]


def test_braces_in_strings_templates_comments_and_regexes_still_build(tmp_path: Path):
    spec = load_spec_text(
        spec_text(
            [
                code_tool(f"braces{i}", body, output={"type": "string"}, examples=[{"input": {}, "output": expected}])
                for i, (body, expected) in enumerate(BRACES)
            ]
        )
    )

    assert code_shape.check(spec, toolchain.ensure()) == []
    result = build(spec, tmp_path)
    assert result.ok, result.report.failures  # compiled, and every example returned its brace


def test_the_repair_loop_hears_which_line_leaves_the_function(tmp_path: Path):
    spec = load_spec_text(
        spec_text([code_tool("shout", escaping_body(tmp_path / "mark"), input={"text": {"type": "string"}})])
    )

    problems = typecheck(spec)

    assert problems[0].startswith("tools[0].implementation.code line 2: the body closes its function")
