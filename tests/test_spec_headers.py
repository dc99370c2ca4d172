"""An input a spec marks with `header` is advertised as `x-mcp-header` (SEP-2243); a misplaced one is refused."""

from __future__ import annotations

import pytest

from factory_bot.build.render import zod
from factory_bot.errors import SpecError
from factory_bot.spec.loader import load_spec_text

SPEC = """\
name: demo
version: 1.0.0
description: A demo.
tools:
  - name: route
    description: Route a call.
    input:
{inputs}
{output}    implementation: {{kind: code, code: "return 1;"}}
"""


def load(inputs: str, output: str = ""):
    return load_spec_text(SPEC.format(inputs=inputs, output=output), source="spec.yaml")


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
