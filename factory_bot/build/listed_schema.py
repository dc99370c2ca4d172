"""The JSON Schemas a tool lists through tools/list, written into its source at build time.

The spec decides a tool's schemas (Tool.input_schema and output_schema, which validation compares the listed ones
with); zod validates the arguments and the result. Listing used to convert the zod schemas on the first tools/list
(~10 ms of every start); now the tool hands the SDK the spec's own JSON Schema, spelled as zod converts it, so
clients see what they saw before:
- the root names its dialect (`$schema`, JSON Schema 2020-12);
- an integer carries the safe-integer bounds zod checks (`z.number().int()`), which makes a nullable or united
  integer no bare type: it is listed as `anyOf`, not compacted into `type: [...]`;
- an integer `enum` is listed as a number enum (`z.literal([...])`).
"""

from __future__ import annotations

from typing import Any

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SAFE_INTEGER = 2**53 - 1  # Number.MAX_SAFE_INTEGER


def listed(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input or output schema (a spec's, from Param.json_schema) as tools/list lists it."""
    return {"$schema": DIALECT} | _spelled(schema)


def _spelled(schema: dict[str, Any]) -> dict[str, Any]:
    out = dict(schema)
    for key in ("properties", "$defs"):
        if key in out:
            out[key] = {name: _spelled(child) for name, child in out[key].items()}
    if isinstance(out.get("items"), dict):
        out["items"] = _spelled(out["items"])
    if "anyOf" in out:
        out["anyOf"] = [_spelled(choice) for choice in out["anyOf"]]
    kind = out.get("type")
    if isinstance(kind, list) and "integer" in kind:  # compacted by the spec; zod's bounded integer is not bare
        del out["type"]
        out["anyOf"] = [_spelled({"type": member}) for member in kind]
    elif kind == "integer" and "enum" in out:
        out["type"] = "number"
    elif kind == "integer":
        out = {"type": "integer", "minimum": -SAFE_INTEGER, "maximum": SAFE_INTEGER} | out
    return out
