"""What a server's answers must be: its tools as the spec declares them, each example's output or error, and
the environment examples run with. Pure comparisons; the sessions in protocol.py collect the answers."""

from __future__ import annotations

import json
import math
from typing import Any

from factory_bot.spec.model import Example, ServerSpec, Tool


def _shape(schema: Any) -> Any:
    """The part of a JSON Schema that the spec decides (zod adds $schema, bounds and the like)."""
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if "enum" in schema and kind == "integer":
        kind = "number"  # zod advertises an integer enum as a number enum
    shaped: dict[str, Any] = {"type": kind}
    for key in ("description", "default", "enum", "additionalProperties", "$ref", "x-mcp-header"):
        if key in schema:
            shaped[key] = schema[key]
    if "anyOf" in schema:
        shaped["anyOf"] = [_shape(choice) for choice in schema["anyOf"]]
    if "$defs" in schema:  # a tool's named types
        shaped["$defs"] = {k: _shape(v) for k, v in schema["$defs"].items()}
    if "properties" in schema:
        shaped["properties"] = {k: _shape(v) for k, v in schema["properties"].items()}
        shaped["required"] = sorted(schema.get("required", []))
    if "items" in schema:
        shaped["items"] = _shape(schema["items"])
    return shaped


def json_equal(actual: Any, expected: Any) -> bool:
    """JSON equality with a relative tolerance for floats (results of float arithmetic differ in the last bits)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(json_equal(actual[k], expected[k]) for k in expected)
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(json_equal(a, e) for a, e in zip(actual, expected))
    return actual == expected


def compare_tools(spec: ServerSpec, listed: list[Any]) -> list[str]:
    """Differences between the tools a server lists and the tools its spec declares."""
    problems = []
    by_name = {t.name: t for t in listed}
    expected_names = [t.name for t in spec.tools]
    if sorted(by_name) != sorted(expected_names):
        problems.append(f"lists tools {sorted(by_name)}, the spec declares {sorted(expected_names)}")
    for tool in spec.tools:
        got = by_name.get(tool.name)
        if got is None:
            continue
        if got.description != tool.description:
            problems.append(f"{tool.name}: description differs")
        if (got.title or None) != tool.title:
            problems.append(f"{tool.name}: title differs")
        if _shape(got.input_schema) != _shape(tool.input_schema()):
            problems.append(f"{tool.name}: inputSchema differs: {json.dumps(_shape(got.input_schema))}")
        expected_out = tool.output_schema()
        if (got.output_schema is None) != (expected_out is None) or (
            expected_out is not None and _shape(got.output_schema) != _shape(expected_out)
        ):
            problems.append(f"{tool.name}: outputSchema differs")
    return problems


def result_text(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content if getattr(c, "type", "") == "text")


def example_problem(tool: Tool, example: Example, result: Any) -> str | None:
    """Why a tools/call result does not meet an example's expectation (None when it does)."""
    text = result_text(result)
    if example.error is not None:
        if not result.is_error:
            return f"expected an error containing {example.error!r}, got a result: {text[:200]!r}"
        if example.error not in text:
            return f"expected an error containing {example.error!r}, got the error {text[:200]!r}"
        return None
    if result.is_error:
        return f"failed: {text[:300]}"
    if not example.expects_output:
        return None
    if tool.output is not None:
        structured = result.structured_content
        if structured is None:
            return "declares an output but returned no structuredContent"
        actual = structured.get("result") if tool.output_is_wrapped else structured
        problem = _text_problem(text, actual)
        if problem:
            return problem
    else:
        try:
            actual = json.loads(text)
        except ValueError:
            actual = text
    if not json_equal(actual, example.output):
        return f"expected {json.dumps(example.output)[:200]}, got {json.dumps(actual)[:200]}"
    return None


def _text_problem(text: str, value: Any) -> str | None:
    """Why the text content does not say what structuredContent says: a string as itself, anything else as JSON."""
    if isinstance(value, str):
        return None if text == value else f"the text content is {text[:100]!r}, not the plain string {value[:100]!r}"
    try:
        same = json_equal(json.loads(text), value)
    except ValueError:
        same = False
    return None if same else f"the text content {text[:100]!r} is not the JSON of structuredContent"


def example_env(spec: ServerSpec, upstream_url: str | None) -> dict[str, str]:
    """The environment the server runs with during validation: example values, the stub's URL."""
    env = {e.name: e.example for e in spec.env if e.example is not None}
    if upstream_url:
        env.update({name: upstream_url for name in spec.base_urls()})
    return env
