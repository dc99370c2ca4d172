"""Named types of a tool (`types:`), used by its inputs with `ref: <name>`: the inputSchema carries them as
JSON Schema 2020-12 `$defs` with `$ref`s to them, as zod 4 lists a schema registered with an id."""

from __future__ import annotations

from typing import Any

from factory_bot.spec.params import PARAM_NAME, Param

MAX_TYPES = 20
TYPES_DOC = "Named types the inputs use with `ref: <name>`: the inputSchema's `$defs`."


def check_types(tool: str, types: dict[str, Param], inputs: dict[str, Param], output: Param | None) -> None:
    """Every `ref` names a declared type, every type is used, types refer to no other type; raises ValueError."""
    for name, declared in types.items():
        if not PARAM_NAME.match(name):
            raise ValueError(f"tool {tool}: type name {name!r} is not an identifier")
        if declared.refs():
            raise ValueError(
                f"tool {tool}: type {name} refers to {sorted(declared.refs())[0]}; a type cannot use `ref`"
            )
    used = set().union(*(p.refs() for p in inputs.values())) if inputs else set()
    unknown = used - set(types)
    if unknown:
        raise ValueError(
            f"tool {tool}: `ref: {sorted(unknown)[0]}` names no type; types are: {', '.join(types) or 'none'}"
        )
    unused = set(types) - used
    if unused:
        raise ValueError(f"tool {tool}: type {sorted(unused)[0]} is not used by any input; remove it")
    if output is not None and output.refs():
        raise ValueError(f"tool {tool}: `ref` is for inputs; write the output's type out")


def with_defs(schema: dict[str, Any], types: dict[str, Param]) -> dict[str, Any]:
    """`schema` (the object of a tool's inputs) with its named types under `$defs`."""
    if not types:
        return schema
    return schema | {"$defs": {name: t.json_schema() for name, t in types.items()}}


def type_local(name: str) -> str:
    """The TypeScript const holding a named type's zod schema."""
    return f"type_{name}"
