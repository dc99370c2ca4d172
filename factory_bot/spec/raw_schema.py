"""A tool's `inputSchema` given verbatim as a JSON Schema 2020-12 document, for what typed `input:` cannot say
(`$anchor`, `allOf`/`anyOf` of `required` sets, `if`/`then`/`else`): listed as written, validated at call time
by the SDK's JSON Schema validator, and checked here as a schema before anything renders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema

from factory_bot.spec.params import MAX_PARAMS, PARAM_NAME

DIALECT = "https://json-schema.org/draft/2020-12/schema"
MAX_SCHEMA = 64 * 1024  # characters of its compact JSON
DOC = (
    "The tool's inputSchema as a JSON Schema 2020-12 object, listed verbatim and checked at call time (instead "
    "of `input` and `types`; for code tools): for keywords typed inputs cannot express, such as $anchor, "
    "allOf/anyOf of required sets, if/then/else. `$ref`s stay inside the document (`#...`). Each property named "
    "like an identifier is a local of the body, typed from its schema; `args` holds them all."
)
_REFS = ("$ref", "$dynamicRef")
_URI = "urn:mcp-factory:input-schema"  # the document's own base: a local `#…` ref resolves inside it


def checked(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` when it is a JSON Schema 2020-12 object schema whose refs all resolve inside it; else ValueError
    saying where (`at allOf/0/anyOf: …`)."""
    if len(json.dumps(schema, separators=(",", ":"))) > MAX_SCHEMA:
        raise ValueError(f"inputSchema is larger than {MAX_SCHEMA} characters of JSON")
    if schema.get("$schema", DIALECT) != DIALECT:
        raise ValueError(f"inputSchema's $schema is {schema['$schema']!r}: only {DIALECT} is supported")
    if schema.get("type") != "object":
        raise ValueError("inputSchema must say `type: object` (MCP tool inputs are an object of arguments)")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        raise ValueError(
            f"inputSchema{_at(error.path)}: not a valid JSON Schema 2020-12 document: {error.message}"
        ) from None
    refs = resolver(schema)
    for path, key, value in _walk(schema, []):
        if key == "$id":
            raise ValueError(f"inputSchema{_at(path)}: $id is not supported; use $anchor to name a subschema")
        if key == "__proto__":  # a JavaScript object literal would read it as the prototype, not a key
            raise ValueError(f"inputSchema{_at(path)}: the key __proto__ is not supported")
        if key == "x-mcp-header":
            raise ValueError(f"inputSchema{_at(path)}: x-mcp-header is for typed inputs: use `input:` with `header:`")
        if key in _REFS and isinstance(value, str):
            if not value.startswith("#"):
                raise ValueError(
                    f"inputSchema{_at(path)}: {key} {value!r} points outside the document; a tool's schema may "
                    "not load anything remote: copy the subschema under $defs and refer to it as #/$defs/<name>"
                )
            try:
                refs.lookup(value)
            except referencing.exceptions.Unresolvable:
                raise ValueError(f"inputSchema{_at(path)}: {key} {value!r} names nothing in the schema") from None
    properties = schema.get("properties", {})
    if len(properties) > MAX_PARAMS:
        raise ValueError(f"at most {MAX_PARAMS} inputs per tool, got {len(properties)}")
    return schema


def resolver(schema: dict[str, Any]) -> referencing.Resolver:
    """Resolves the document's local `#…` refs (JSON pointers and `$anchor`s) inside the document."""
    return (
        referencing.Registry()
        .with_resource(_URI, referencing.jsonschema.DRAFT202012.create_resource(schema))
        .resolver(base_uri=_URI)
    )


def input_names(schema: dict[str, Any]) -> list[str]:
    """The properties a code body gets as locals: those named like identifiers."""
    return [name for name in schema.get("properties", {}) if PARAM_NAME.match(name)]


def input_rows(tool: Any) -> list[tuple[str, str, bool]]:
    """(name, type in a word, optional) of each input of a tool, typed or verbatim, for READMEs and PR bodies."""
    if tool.inputSchema is None:
        return [(name, param.label, param.optional) for name, param in tool.input.items()]
    required = set(tool.inputSchema.get("required") or [])
    return [(name, _label(sub), name not in required) for name, sub in tool.inputSchema.get("properties", {}).items()]


def _label(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("$ref"), str):
        return schema["$ref"].rsplit("/", 1)[-1].lstrip("#")
    kinds = schema.get("type")
    return " | ".join(kinds) if isinstance(kinds, list) else kinds if isinstance(kinds, str) else "JSON Schema"


def check_tool(tool: Any) -> None:
    """A tool with `inputSchema` declares no typed inputs and runs code; raises ValueError."""
    if tool.inputSchema is None:
        return
    if tool.input or tool.types:
        raise ValueError("a tool gives either `input` (and `types`) or `inputSchema`, not both")
    if tool.implementation.kind != "code":
        raise ValueError("`inputSchema` is for code tools; an http tool declares typed `input`")


def _walk(node: Any, path: list[str]) -> Iterator[tuple[list[str], str, Any]]:
    """Every (path, key, value) of the document's objects, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from _walk(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, str(index)])


def _at(path: Any) -> str:
    parts = [str(p) for p in path]
    return f" at {'/'.join(parts)}" if parts else ""
