"""What a tool call gives a real client: outputs as declared (undeclared fields dropped, strings as plain
text), inputs with unknown properties refused by name, and a stdout that carries nothing but the protocol.

Each story goes through the real Python `mcp` client, which validates structured content strictly.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build.pipeline import BuildResult, build
from factory_bot.build.protocol import StdioWithStderr
from factory_bot.build.render import render_server
from factory_bot.spec.loader import load_spec_text

pytestmark = pytest.mark.e2e

SPEC = """\
name: tool-calls
version: 1.0.0
description: Tools whose answers show what a call returns.
tools:
  - name: today
    description: A date, as a string output.
    output: {type: string}
    implementation:
      kind: code
      code: |
        return "2026-03-03";
    examples:
      - {input: {}, output: "2026-03-03"}
  - name: profile
    description: A code result with a field its output does not declare.
    input:
      name: {type: string}
    output:
      type: object
      properties:
        name: {type: string}
        tags: {type: array, items: {type: object, properties: {label: {type: string}}}}
    implementation:
      kind: code
      code: |
        const record = { name, internal_id: 42, tags: [{ label: "a", score: 0.5 }] }; // a row from elsewhere
        return record;
    examples:
      - {input: {name: ada}, output: {name: ada, tags: [{label: a}]}}
  - name: tag
    description: A free-form object (one that declares no properties) passes through whole.
    input:
      labels: {type: object}
    output:
      type: object
      properties:
        labels: {type: object}
    implementation:
      kind: code
      code: |
        return { labels };
    examples:
      - {input: {labels: {env: prod, tier: 1}}, output: {labels: {env: prod, tier: 1}}}
  - name: poem
    description: A template literal across lines keeps its lines (the body is not indented into it).
    input:
      who: {type: string}
      unused: {type: string, required: false}
    implementation:
      kind: code
      code: |
        return `roses for ${who}
        violets`;
    examples:
      - {input: {who: ada}, output: "roses for ada\\nviolets"}
  - name: chatty
    description: Prints debug output the way people do.
    input:
      word: {type: string}
    implementation:
      kind: code
      code: |
        console.log("debug");
        console.info("info", word);
        console.debug({ word });
        console.dir({ word });
        console.table([{ word }]);
        return word;
    examples:
      - {input: {word: hi}, output: hi}
"""

BYPASS = """\
name: bypass
version: 1.0.0
description: A tool that writes to stdout behind console's back.
tools:
  - name: quiet
    description: Returns a word.
    implementation:
      kind: code
      code: |
        return "ok";
    examples:
      - {input: {}, output: ok}
  - name: noisy
    description: Writes a raw line to stdout.
    implementation:
      kind: code
      code: |
        process.stdout.write("debug\\n");
        return "ok";
    examples:
      - {input: {}, output: ok}
"""


@pytest.fixture(scope="module")
def tool_calls(shared_build) -> BuildResult:
    result = shared_build(load_spec_text(SPEC))
    assert result.ok, [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
    return result


def _session(result: BuildResult, steps: Any) -> Any:
    async def go() -> Any:
        stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
        params = StdioServerParameters(command="node", args=[str(result.server_dir / "dist" / "index.js")])
        transport = StdioWithStderr(params, stderr)
        async with Client(transport, mode="auto") as client:
            out = await steps(client)
        assert transport.watch is not None
        stderr.seek(0)
        return out, transport.watch.stray, stderr.read()

    return anyio.run(go)


def test_a_string_output_comes_back_as_plain_text_and_wrapped_structured_content(tool_calls: BuildResult) -> None:
    (result, _, _) = _session(tool_calls, lambda client: client.call_tool("today", {}))
    assert not result.is_error
    assert [c.text for c in result.content] == ["2026-03-03"]  # not "\"2026-03-03\""
    assert result.structured_content == {"result": "2026-03-03"}


def test_a_code_result_with_undeclared_fields_reaches_a_strict_client_without_them(tool_calls: BuildResult) -> None:
    async def steps(client: Any) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        return listed["profile"].output_schema, await client.call_tool("profile", {"name": "ada"})

    ((schema, result), _, _) = _session(tool_calls, steps)
    assert schema["additionalProperties"] is False  # the schema stays closed and precise
    assert schema["properties"]["tags"]["items"]["additionalProperties"] is False
    assert not result.is_error, result.content
    assert result.structured_content == {"name": "ada", "tags": [{"label": "a"}]}
    assert json.loads(result.content[0].text) == result.structured_content  # text and structure agree


def test_the_weather_example_whose_upstream_reply_has_extra_fields_passes_validation(built) -> None:
    result = built("weather")
    [check] = [c for c in result.report.checks if c.name == "examples" and c.tool == "find_city"]
    assert check.ok, check.details
    example = result.spec.tools[1].examples[0]
    assert "generationtime_ms" in example.upstream.body and "generationtime_ms" not in example.output


def test_an_unknown_input_property_is_refused_by_name_and_the_schema_says_so(tool_calls: BuildResult) -> None:
    async def steps(client: Any) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        return listed["profile"].input_schema, await client.call_tool("profile", {"name": "ada", "nmae": "x"})

    ((schema, result), _, _) = _session(tool_calls, steps)
    assert schema["additionalProperties"] is False
    assert result.is_error
    assert 'Unrecognized key: "nmae"' in result.content[0].text


def test_console_output_in_a_code_body_goes_to_stderr_not_stdout(tool_calls: BuildResult) -> None:
    (result, stray, stderr) = _session(tool_calls, lambda client: client.call_tool("chatty", {"word": "hi"}))
    assert [c.text for c in result.content] == ["hi"]
    assert stray == []  # nothing but JSON-RPC on stdout
    assert "debug" in stderr and "info hi" in stderr and "word" in stderr


def test_a_server_that_writes_to_stdout_fails_validation_naming_the_tool(tmp_path: Path) -> None:
    result = build(load_spec_text(BYPASS), tmp_path)
    assert not result.ok and result.tgz is None
    [failure] = result.report.failures
    assert failure.name == "examples" and failure.tool == "noisy"
    assert any("wrote a line to stdout that is not JSON-RPC: 'debug'" in d for d in failure.details), failure.details


def test_tools_import_only_what_their_code_uses() -> None:
    files = render_server(load_spec_text(SPEC))
    assert 'import { conform, toolError, toolResult } from "../runtime.js";' in files["src/tools/today.ts"]
    assert "async function run(_args: Input, _signal: AbortSignal)" in files["src/tools/today.ts"]
    assert "const { name } = args;" in files["src/tools/profile.ts"]
