"""The TypeScript type a code body sees for a tool's verbatim `inputSchema` (JSON Schema 2020-12): what the
listed keywords say of each property's shape, `unknown` where a keyword says more than a type can."""

from __future__ import annotations

from typing import Any

import referencing
import referencing.exceptions

from factory_bot.spec import raw_schema
from factory_bot.text import js

MAX_DEPTH = 8  # a `$ref` cycle (a tree type) ends as `unknown` here, not in an endless type
_PRIMITIVES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "null": "null"}


def input_type(schema: dict[str, Any]) -> str:
    """The type of the arguments object: each property optional unless listed in the root's `required`."""
    return _object(schema, raw_schema.resolver(schema), 0)


def ts_type(node: Any, refs: referencing.Resolver, depth: int) -> str:
    """The TypeScript type of one subschema (a union for enum, const, anyOf, oneOf and type lists)."""
    if node is True or not isinstance(node, dict) or depth > MAX_DEPTH:
        return "unknown"
    if isinstance(node.get("$ref"), str):
        try:
            target = refs.lookup(node["$ref"]).contents
        except referencing.exceptions.Unresolvable:  # what a type cannot follow
            return "unknown"
        return ts_type(target, refs, depth + 1)
    if "const" in node:
        return js(node["const"])
    if isinstance(node.get("enum"), list) and node["enum"]:
        return _union(js(value) for value in node["enum"])
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list) and node[key]:
            return _union(ts_type(choice, refs, depth + 1) for choice in node[key])
    kinds = node.get("type")
    if isinstance(kinds, list):
        return _union(ts_type({**node, "type": kind}, refs, depth) for kind in kinds)
    if kinds in _PRIMITIVES:
        return _PRIMITIVES[kinds]
    if kinds == "array":
        return f"Array<{ts_type(node.get('items', True), refs, depth + 1)}>"
    if kinds == "object":
        return _object(node, refs, depth + 1)
    return "unknown"


def _object(node: dict[str, Any], refs: referencing.Resolver, depth: int) -> str:
    properties = node.get("properties") or {}
    if not properties:
        return "Record<string, unknown>"
    required = set(node.get("required") or [])
    fields = [
        f"{js(name)}{'' if name in required else '?'}: {ts_type(sub, refs, depth)}" for name, sub in properties.items()
    ]
    return "{ " + "; ".join(fields) + " }"


def _union(types: Any) -> str:
    unique = list(dict.fromkeys(types))
    return unique[0] if len(unique) == 1 else "(" + " | ".join(unique) + ")"
