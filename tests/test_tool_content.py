"""Issue 13, part A: a tool answers with content blocks (an image, an embedded resource, a link), reports
progress, sends its log lines to the client at the client's level, and names its input types ($defs/$ref) —
each declared by the spec, served to the real MCP client on both protocol revisions, and observed by the
examples validation runs."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

from factory_bot.build.pipeline import build
from factory_bot.build.render import render_server
from factory_bot.errors import FactoryError
from factory_bot.spec.loader import load_spec_text

pytestmark = pytest.mark.e2e

LOG_LEVEL_META = "io.modelcontextprotocol/logLevel"


def spec_text(name: str, tools: list[dict[str, Any]], **server: Any) -> str:
    return json.dumps({"name": name, "version": "0.1.0", "description": "Tool extras.", "tools": tools, **server})


def failures(result: Any) -> dict[str, list[str]]:
    return {f"{c.name} {c.tool or ''}".strip(): c.details for c in result.report.failures}


async def session(server_dir: Path, mode: str, work: Any, **client: Any) -> Any:
    params = StdioServerParameters(command="node", args=[str(server_dir / "dist" / "index.js")])
    async with Client(params, mode=mode, **client) as connected:
        return await work(connected)


def test_the_chart_spec_builds_and_validation_observed_its_content_progress_and_logs(built) -> None:
    result = built("chart")

    assert result.ok, failures(result)
    by_tool = {c.tool: c for c in result.report.checks if c.name == "examples"}
    assert by_tool["bar_chart"].message == "2/2 examples pass"
    assert by_tool["axis_label"].message == "3/3 examples pass"


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 and the 2025-11-25 initialize handshake
def test_a_content_tool_answers_with_an_image_an_embedded_csv_and_a_link_and_lists_no_output_schema(
    built, mode: str
) -> None:
    async def work(client: Any) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        return listed, await client.call_tool("bar_chart", {"values": [2, 1]})

    listed, answer = anyio.run(session, built("chart").server_dir, mode, work)

    assert listed["bar_chart"].output_schema is None and listed["axis_label"].output_schema is not None
    text, image, embedded, link = answer.content
    assert text.text == "A chart of 2 bars:"
    assert image.mime_type == "image/svg+xml"
    assert base64.b64decode(image.data).decode().startswith('<svg xmlns="http://www.w3.org/2000/svg" width="40"')
    assert (str(embedded.resource.uri), embedded.resource.text) == ("chart://data.csv", "2\n1")
    assert (link.type, str(link.uri), link.name, link.mime_type) == (
        "resource_link",
        "chart://data.csv",
        "data.csv",
        "text/csv",
    )
    assert answer.structured_content is None and not answer.is_error


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_progress_reaches_a_client_that_sent_a_progress_token_and_a_call_without_one_still_answers(
    built, mode: str
) -> None:
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async def work(client: Any) -> Any:
        quiet = await client.call_tool("bar_chart", {"values": [1]})
        await client.call_tool("bar_chart", {"values": [1]}, progress_callback=on_progress)
        return quiet

    quiet = anyio.run(session, built("chart").server_dir, mode, work)

    assert seen == [(1, 2, "drawn"), (2, 2, "encoded")]
    assert not quiet.is_error


# What these two tests exercise is the 2025 wire's logging/setLevel, which the client warns is deprecated.
LEGACY_SET_LEVEL = pytest.mark.filterwarnings(
    "ignore:The logging capability is deprecated:mcp.shared.exceptions.MCPDeprecationWarning"
)


@LEGACY_SET_LEVEL
@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_log_lines_reach_the_client_at_its_level_and_no_further(built, mode: str) -> None:
    lines: list[tuple[str, Any]] = []

    async def on_log(params: Any) -> None:
        lines.append((params.level, params.data))

    async def call(client: Any, level: str | None) -> None:
        if mode == "legacy" and level is not None:
            await client.session.set_logging_level(level=level)
        meta = {LOG_LEVEL_META: level} if mode == "auto" and level is not None else None
        await client.call_tool("bar_chart", {"values": [1, 2, 3]}, meta=meta)
        for _ in range(50):  # a notification may land just after the answer
            await anyio.sleep(0.02)
            if lines:
                break

    async def work(client: Any) -> tuple[list[Any], list[Any], bool]:
        seen = []
        for level in ("info", "warning"):
            lines.clear()
            await call(client, level)
            seen.append(list(lines))
        return seen[0], seen[1], client.server_capabilities.logging is not None

    at_info, at_warning, advertised = anyio.run(
        functools.partial(session, logging_callback=on_log), built("chart").server_dir, mode, work
    )

    assert at_info == [("info", "drawing 3 bars")]
    assert at_warning == []  # the line is info: below the level the client asked for
    assert advertised


@LEGACY_SET_LEVEL
def test_a_server_without_logging_true_offers_no_logging_and_keeps_log_lines_on_stderr(built) -> None:
    async def work(client: Any) -> Any:
        try:
            await client.session.set_logging_level(level="debug")
        except MCPError as refused:
            return refused.error.code
        return None

    code = anyio.run(session, built("calculator").server_dir, "legacy", work)

    assert code == -32601  # method not found: no logging capability, so no logging/setLevel handler
    runtime = render_server(load_spec_text((Path(__file__).parent.parent / "specs" / "calculator.yaml").read_text()))
    assert "src/request.ts" not in runtime and "sendLog" not in runtime["src/runtime.ts"]


def test_a_named_type_lists_as_defs_with_a_ref_an_unknown_field_in_it_is_refused_and_any_of_is_a_union(built) -> None:
    async def work(client: Any) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        refused = await client.call_tool("axis_label", {"axis": {"name": "Weight", "units": "kg"}})
        return listed["axis_label"].input_schema, refused

    schema, refused = anyio.run(session, built("chart").server_dir, "legacy", work)

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["properties"]["axis"] == {"description": "The axis to label", "$ref": "#/$defs/axis"}
    assert schema["$defs"]["axis"]["properties"]["unit"] == {"description": "e.g. kg", "type": "string"}
    assert schema["$defs"]["axis"]["additionalProperties"] is False and schema["additionalProperties"] is False
    assert refused.is_error and "units" in refused.content[0].text
    assert schema["properties"]["ticks"]["anyOf"] == [
        {"type": "integer", "minimum": 1, "maximum": 9007199254740991},
        {"type": "array", "items": {"type": "number"}},
    ]


def test_examples_whose_content_progress_or_logs_the_server_does_not_meet_fail_validation(tmp_path: Path) -> None:
    png = "iVBORw0KGgo="
    tools = [
        {
            "name": "picture",
            "description": "A picture.",
            "returns": "content",
            "implementation": {"kind": "code", "code": f'return image("{png}", "image/png");'},
            "examples": [{"input": {}, "content": [{"type": "image", "mimeType": "image/gif", "data": png}]}],
        },
        {
            "name": "steps",
            "description": "Two steps.",
            "implementation": {
                "kind": "code",
                "code": 'await progress(1, 2); log("notice", "half"); await progress(2, 2); return "ok";',
            },
            "examples": [
                {"input": {}, "progress": [1, 2, 3]},
                {"input": {}, "logs": ["half", "done"]},
                {"input": {}, "log_level": "error", "logs": ["half"]},
            ],
        },
    ]

    result = build(load_spec_text(spec_text("wrong-extras", tools, logging=True)), tmp_path)

    assert not result.ok
    failed = failures(result)
    assert "expected the content" in failed["examples picture"][0] and "image/gif" in failed["examples picture"][0]
    steps = failed["examples steps"]
    assert steps[0].endswith("expected progress [1.0, 2.0, 3.0], the client saw [1.0, 2.0]")
    assert steps[1].endswith("expected the log lines ['half', 'done'] at level debug, the client saw ['half']")
    assert steps[2].endswith("expected the log lines ['half'] at level error, the client saw []")


def test_helper_names_stay_a_bodys_own_words_and_progress_works_without_logging(tmp_path: Path) -> None:
    tools = [
        {
            "name": "echo",
            "description": "Echoes, with a local named like a helper.",
            "input": {"word": {"type": "string"}},
            "implementation": {"kind": "code", "code": "const text = word.trim();\nreturn text;"},
            "examples": [{"input": {"word": " hi "}, "output": "hi"}],
        },
        {
            "name": "caption",
            "description": "An input named like a helper is the input.",
            "input": {"image": {"type": "string"}},
            "returns": "content",
            "implementation": {"kind": "code", "code": "return [text(`caption of ${image}`)];"},
            "examples": [{"input": {"image": "x"}, "content": [{"type": "text", "text": "caption of x"}]}],
        },
        {
            "name": "steps",
            "description": "Progress in a server without logging: log stays on stderr.",
            "implementation": {"kind": "code", "code": 'await progress(1, 1);\nlog("quiet");\nreturn "done";'},
            "examples": [{"input": {}, "output": "done", "progress": [1]}],
        },
    ]

    result = build(load_spec_text(spec_text("helper-names", tools)), tmp_path)

    assert result.ok, failures(result)
    caption = (result.server_dir / "src" / "tools" / "caption.ts").read_text()
    assert 'import { contentResult, text, toolError, withRequest } from "../runtime.js";' in caption
    assert "sendLog" not in (result.server_dir / "src" / "runtime.ts").read_text()


@pytest.mark.parametrize(
    ("tool", "problem"),
    [
        ({"returns": "content", "output": {"type": "string"}}, "drop `output`"),
        ({"examples": [{"input": {}, "content": [{"type": "text", "text": "x"}]}]}, "needs `returns: content`"),
        ({"returns": "content", "examples": [{"input": {}, "output": "x"}]}, "expects `content:`, not `output:`"),
        ({"examples": [{"input": {}, "logs": ["x"]}]}, "needs `logging: true` on the server"),
        ({"input": {"a": {"ref": "nowhere"}}}, "`ref: nowhere` names no type"),
        ({"types": {"spare": {"type": "string"}}}, "type spare is not used by any input"),
        ({"types": {"t": {"type": "string"}}, "input": {"a": {"ref": "t", "type": "string"}}}, "either `type` or"),
        (
            {"input": {"a": {"anyOf": [{"type": "string"}, {"type": "integer", "required": False}]}}},
            "cannot be optional",
        ),
        ({"input": {"a": {"anyOf": [{"type": "string"}, {"type": "integer"}], "enum": ["x"]}}}, "takes only"),
    ],
)
def test_spec_rules_for_content_logging_and_named_types(tool: dict[str, Any], problem: str) -> None:
    base = {"name": "t", "description": "A tool.", "implementation": {"kind": "code", "code": 'return "x";'}}

    with pytest.raises(FactoryError) as refused:
        load_spec_text(spec_text("rules", [base | tool]))

    assert problem in str(refused.value)
