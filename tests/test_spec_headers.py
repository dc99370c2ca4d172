"""An input a spec marks with `header` is advertised as `x-mcp-header` (SEP-2243); a misplaced one is refused."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from factory_bot.build.pipeline import build
from factory_bot.build.render import zod
from factory_bot.errors import SpecError
from factory_bot.spec.loader import load_spec_text

from .served import serving

SPEC = """\
name: demo
version: 1.0.0
description: A demo.
tools:
  - name: route
    description: Route a call.
    input:
{inputs}
{output}    implementation: {{kind: code, code: "{code}"}}
"""


def load(inputs: str, output: str = "", code: str = "return 1;"):
    return load_spec_text(SPEC.format(inputs=inputs, output=output, code=code), source="spec.yaml")


def problems_of(inputs: str, output: str = "") -> list[str]:
    with pytest.raises(SpecError) as caught:
        load(inputs, output)
    return [p.render("spec.yaml") for p in caught.value.problems]


def test_header_input_is_advertised_as_x_mcp_header_in_schema_and_zod() -> None:
    tool = load("      region: {type: string, description: Where, header: Region}").tools[0]
    assert tool.input_schema()["properties"]["region"] == {
        "type": "string",
        "description": "Where",
        "x-mcp-header": "Region",
    }
    # One .meta() carries both: a .describe() followed by .meta() would lose the description.
    assert zod(tool.input["region"]) == 'z.string().meta({"description": "Where", "x-mcp-header": "Region"})'


@pytest.mark.parametrize(
    ("inputs", "output", "says"),
    [
        ("      n: {type: number, header: N}", "", "string, integer or boolean inputs, not number"),
        ("      tags: {type: array, items: {type: string}, header: Tags}", "", "not array"),
        ("      r: {type: string, header: 'Re gion'}", "", "is not an HTTP header name"),
        ("      r: {type: string, header: 'Région'}", "", "is not an HTTP header name"),
        (
            "      where: {type: object, properties: {region: {type: string, header: Region}}}",
            "",
            "a tool's own inputs, not to fields or items inside them",
        ),
        (
            "      a: {type: string, header: Region}\n      b: {type: string, header: region}",
            "",
            "use the same `header` 'region'",
        ),
        ("      a: {type: string}", "    output: {type: string, header: Out}\n", "not to the output"),
    ],
)
def test_misplaced_header_is_refused_with_what_to_change(inputs: str, output: str, says: str) -> None:
    problems = problems_of(inputs, output)
    assert any(says in p for p in problems), problems


def post(url: str, body: dict, headers: dict[str, str]) -> tuple[int, dict]:
    """One 2026-07-28 JSON-RPC POST; the status and the JSON-RPC answer (from JSON or the SSE data line)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    data = [line.removeprefix("data:").strip() for line in text.splitlines() if line.startswith("data:")]
    return status, json.loads(data[-1] if data else text)


@pytest.mark.e2e
def test_http_call_whose_mcp_param_header_disagrees_with_the_argument_is_refused(tmp_path: Path) -> None:
    spec = load("      region: {type: string, header: Region}", code="return region;")
    result = build(spec, tmp_path)
    assert result.ok, [(c.name, c.message) for c in result.report.failures]
    with serving(result) as server:
        url = server.url
        listed = post(url, rpc("tools/list", {}), {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"})
        assert listed[1]["result"]["tools"][0]["inputSchema"]["properties"]["region"]["x-mcp-header"] == "Region"

        def call(**header: str) -> tuple[int, dict]:
            routing = {"MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "route"}
            return post(
                url, rpc("tools/call", {"name": "route", "arguments": {"region": "eu-west-1"}}), routing | header
            )

        status, answer = call(**{"Mcp-Param-Region": "eu-west-1"})
        assert (status, answer["result"]["content"][0]["text"]) == (200, "eu-west-1")
        status, answer = call(**{"Mcp-Param-Region": "=?base64?ZXUtd2VzdC0x?="})  # the same value, Base64
        assert (status, answer["result"]["content"][0]["text"]) == (200, "eu-west-1")
        for wrong in ({"Mcp-Param-Region": "us-east-1"}, {}, {"Mcp-Param-Region": "=?base64?ZXUtd2VzdC0x?"}):
            status, answer = call(**wrong)
            assert (status, answer["error"]["code"]) == (400, -32020), wrong


def rpc(method: str, params: dict) -> dict:
    meta = {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1.0.0"},
    }
    return {"jsonrpc": "2.0", "id": 1, "method": method, "params": {**params, "_meta": meta}}
