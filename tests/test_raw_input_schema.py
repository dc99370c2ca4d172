"""Issue 13: a tool whose `inputSchema` is a JSON Schema 2020-12 document given verbatim, for what typed inputs
cannot say ($anchor, allOf/anyOf of `required` sets, if/then/else): a real client lists it as written, the server
refuses arguments it does not admit, the body reads typed locals, and a broken or remote schema is refused with
its line before anything renders."""

from __future__ import annotations

import json
import tempfile
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build.pipeline import BuildResult, build
from factory_bot.build.protocol import StdioWithStderr
from factory_bot.build.render import render_server
from factory_bot.errors import SpecError
from factory_bot.spec.loader import load_spec_text

CONTACT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"city": {"type": "string"}}}},
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#addressDef"},
        "via": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "required": ["name"],
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"via": {"const": "phone"}}, "required": ["via"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


def spec_text(**tool: Any) -> str:
    body = {
        "name": "contact",
        "description": "Says how to reach someone.",
        "inputSchema": CONTACT,
        # `address?.city` and `name.toUpperCase()` compile only if the locals are typed from the schema
        "implementation": {"kind": "code", "code": "return `${name.toUpperCase()} in ${address?.city ?? '?'}`;"},
        "examples": [
            {"input": {"name": "ada", "address": {"city": "London"}, "email": "a@x"}, "output": "ADA in London"}
        ],
        **tool,
    }
    return json.dumps({"name": "raw-schema", "version": "1.0.0", "description": "A raw schema.", "tools": [body]})


def problem(**tool: Any) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec_text(spec_text(**tool), source="spec.yaml")
    return "\n".join(p.render("spec.yaml") for p in caught.value.problems)


@pytest.fixture(scope="module")
def contact(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    result = build(load_spec_text(spec_text()), tmp_path_factory.mktemp("raw-schema"))
    assert result.ok, [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
    return result


def _calls(result: BuildResult, *arguments: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    async def go() -> Any:
        params = StdioServerParameters(command="node", args=[str(result.server_dir / "dist" / "index.js")])
        with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as stderr:
            async with Client(StdioWithStderr(params, stderr), mode="auto") as client:
                [tool] = (await client.list_tools()).tools
                return tool.input_schema, [await client.call_tool("contact", args) for args in arguments]

    return anyio.run(go)


@pytest.mark.e2e
def test_a_verbatim_input_schema_is_listed_as_written_and_holds_at_call_time(contact: BuildResult) -> None:
    listed, (good, neither, broken_if, extra) = _calls(
        contact,
        {"name": "ada", "via": "phone", "phone": "555"},
        {"name": "ada"},  # allOf/anyOf: phone or email
        {"name": "ada", "via": "phone", "email": "a@x"},  # if via is phone then phone
        {"name": "ada", "email": "a@x", "age": 3},  # additionalProperties: false
    )
    assert listed == CONTACT  # $anchor, allOf, if/then/else: nothing dropped or rewritten
    assert not good.is_error and good.content[0].text == "ADA in ?"
    for refused in (neither, broken_if, extra):
        assert refused.is_error, refused.content
        assert "Input validation error" in refused.content[0].text, refused.content[0].text
    assert [c for c in contact.report.checks if c.name == "examples" and c.tool == "contact"][0].ok


def test_only_a_tool_with_a_verbatim_schema_imports_the_json_schema_validator() -> None:
    files = render_server(load_spec_text(spec_text()))
    source = files["src/tools/contact.ts"]
    assert "fromJsonSchema<Input>(" in source and 'import * as z from "zod"' not in source
    assert 'type Input = { "name": string; "address"?: { "city"?: string }; "via"?: ("phone" | "email")' in source
    assert "`name` (string), `address` (addressDef, optional), `via` (string, optional)" in files["README.md"]
    calculator = render_server(load_spec_text(open("specs/calculator.yaml").read()))
    assert not [path for path, text in calculator.items() if "fromJsonSchema" in text]


def test_a_schema_that_is_not_json_schema_2020_12_is_refused_at_its_line() -> None:
    broken = {**CONTACT, "allOf": [{"anyOf": [{"required": "phone"}]}]}
    text = json.dumps(json.loads(spec_text(inputSchema=broken)), indent=1)
    with pytest.raises(SpecError) as caught:
        load_spec_text(text, source="spec.yaml")
    [found] = caught.value.problems
    assert found.field == "tools[0].inputSchema"
    assert "at allOf/0/anyOf/0/required: not a valid JSON Schema 2020-12 document: 'phone' is not of type 'array'" in (
        found.message
    )
    assert found.line == next(i for i, line in enumerate(text.splitlines(), 1) if '"required": "phone"' in line)


def test_a_remote_or_dangling_ref_is_refused() -> None:
    remote = {"type": "object", "properties": {"p": {"$ref": "https://example.com/profile.json"}}}
    assert "$ref 'https://example.com/profile.json' points outside the document" in problem(inputSchema=remote)
    dangling = {"type": "object", "properties": {"p": {"$ref": "#/$defs/nope"}}}
    assert "$ref '#/$defs/nope' names nothing in the schema" in problem(inputSchema=dangling)
    based = {"type": "object", "$id": "https://example.com/s.json", "properties": {}}
    assert "$id is not supported" in problem(inputSchema=based)


def test_a_verbatim_schema_replaces_typed_inputs_and_is_for_code_tools() -> None:
    assert "either `input` (and `types`) or `inputSchema`, not both" in problem(input={"name": {"type": "string"}})
    http = {"kind": "http", "base_url": "https://api.example.com"}
    assert "`inputSchema` is for code tools" in problem(implementation=http, examples=[])
    assert "must say `type: object`" in problem(inputSchema={"type": "string"})


def test_an_example_input_the_schema_refuses_is_refused_before_the_build() -> None:
    examples = [{"input": {"name": "ada", "via": "phone", "email": "a@x"}, "output": "x"}]
    assert "examples[0].input does not match the tool's input: 'phone' is a required property" in problem(
        examples=examples
    )


def test_the_body_types_follow_the_schema_and_stay_finite_and_escaped() -> None:
    tree = {
        "type": "object",
        "$defs": {
            "node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}}}
        },
        "properties": {
            "root": {"$ref": "#/$defs/node"},  # a cycle: the type ends as `unknown` some levels down
            "size": {"type": ["integer", "null"]},
            "pick": {"anyOf": [{"const": 1}, {"type": "string"}]},
            "*/ </script>": {"type": "boolean"},  # not an identifier: reachable through `args` only
        },
        "required": ["size"],
    }
    source = render_server(load_spec_text(spec_text(inputSchema=tree, examples=[])))["src/tools/contact.ts"]
    [declared] = [line for line in source.splitlines() if line.startswith("type Input = ")]
    assert '"size": (number | null); "pick"?: (1 | string); "*/ \\u003c/script\\u003e"?: boolean }' in declared
    assert declared.count('"kids"?: Array<') == 3 and "unknown" in declared
    assert "</script>" not in source


def test_a_proto_key_which_a_javascript_literal_would_swallow_is_refused() -> None:
    proto = {"type": "object", "properties": {"__proto__": {"type": "string"}}}
    assert "the key __proto__ is not supported" in problem(inputSchema=proto)


def test_a_changed_verbatim_schema_is_a_major_version_and_a_new_description_a_patch() -> None:
    from factory_bot.gitops import versioning

    old = load_spec_text(spec_text())
    stricter = {**CONTACT, "required": ["name", "email"]}
    assert versioning.propose(old, load_spec_text(spec_text(inputSchema=stricter))).version == "2.0.0"
    described = {**CONTACT, "description": "Who to reach, and how."}
    assert versioning.propose(old, load_spec_text(spec_text(inputSchema=described))).version == "1.0.1"
