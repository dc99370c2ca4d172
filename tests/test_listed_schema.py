"""A tool lists the schemas written into its source at build time (the spec's JSON Schema in zod's spelling): a
start converts no zod schema on its first tools/list, and zod still checks every call. The spelling is pinned
against zod's own conversion, for every tool of every bundled spec."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest

from factory_bot.build import listed_schema, render, toolchain
from factory_bot.build.render import zod, zod_object
from factory_bot.spec import schema_types
from factory_bot.spec.loader import load_spec_file
from factory_bot.text import js
from tests.test_tool_content import session

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.yaml"))
# Each case's zod schema, built in a fresh registry (a named type registers its id), converted as the SDK would.
CONVERT = """
const z = require(process.argv[1]);
const out = {};
for (const [key, { types, expr, io }] of Object.entries(JSON.parse(process.argv[2]))) {
  z.globalRegistry.clear();
  const body = types.map(([local, type, name]) => `const ${local} = ${type}.meta({ id: ${JSON.stringify(name)} });`);
  const schema = new Function("z", `${body.join("\\n")}\\nreturn ${expr};`)(z);
  out[key] = schema["~standard"].jsonSchema[io]({ target: "draft-2020-12" });
}
process.stdout.write(JSON.stringify(out));
"""


def cases() -> tuple[dict[str, Any], dict[str, Any]]:
    """Per tool and direction: the zod expression the tool file holds, and the literal it lists."""
    convert: dict[str, Any] = {}
    written: dict[str, Any] = {}
    for path in SPECS:
        spec = load_spec_file(path)
        for tool in spec.tools:
            types = [[schema_types.type_local(name), zod(t, strict=True), name] for name, t in tool.types.items()]
            if tool.inputSchema is None:  # a verbatim inputSchema is listed as written (fromJsonSchema)
                key = f"{spec.name}/{tool.name}/input"
                convert[key] = {"types": types, "expr": zod_object(tool.input, strict=True), "io": "input"}
                written[key] = listed_schema.listed(tool.input_schema())
            if tool.output is not None:
                value = zod(tool.output)
                key = f"{spec.name}/{tool.name}/output"
                expr = f'z.object({{ "result": {value} }})' if tool.output_is_wrapped else value
                convert[key] = {"types": [], "expr": expr, "io": "output"}
                written[key] = listed_schema.listed(tool.output_schema() or {})
    return convert, written


def test_every_written_schema_is_what_zod_converts_the_tools_zod_schema_to() -> None:
    convert, written = cases()
    zod_dir = toolchain.ensure().node_modules / "zod"
    done = subprocess.run(
        ["node", "-e", CONVERT, str(zod_dir), json.dumps(convert)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    converted = json.loads(done.stdout)
    assert len(converted) > 20  # every bundled spec's tools, inputs and outputs
    assert {key: written[key] for key in converted} == converted


@pytest.mark.parametrize("spelling", [{"type": ["integer", "null"], "description": "d"}])
def test_a_nullable_integer_is_listed_as_zod_lists_it(spelling: dict[str, Any]) -> None:
    bound = {"type": "integer", "minimum": -listed_schema.SAFE_INTEGER, "maximum": listed_schema.SAFE_INTEGER}
    schema = {"type": "object", "properties": {"n": spelling}}
    listed = listed_schema.listed(schema)["properties"]["n"]
    assert listed == {"description": "d", "anyOf": [bound, {"type": "null"}]}


def test_the_server_lists_its_source_literal_and_zod_still_refuses_a_bad_call(built) -> None:
    server = built("calculator")
    spec = load_spec_file(Path(__file__).parent.parent / "specs" / "calculator.yaml")
    source = (server.server_dir / render.tool_file(spec.tools[3])).read_text()
    literal = js(listed_schema.listed(spec.tools[3].input_schema()))
    assert f"export const inputSchema = listed(inputObject, {literal});" in source

    async def work(client: Any) -> Any:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        return listed["divide"], await client.call_tool("divide", {"a": 1, "b": "2", "c": 3})

    divide, refused = anyio.run(session, server.server_dir, "legacy", work)
    assert divide.input_schema == listed_schema.listed(spec.tools[3].input_schema())
    assert divide.output_schema == listed_schema.listed(spec.tools[3].output_schema() or {})
    text = refused.content[0].text
    assert refused.is_error and "Invalid arguments for tool divide" in text and '"c"' in text, text
