"""OpenAPI / JSON Schema → the spec's `Param` (as data): `$ref`s followed, `allOf` merged, `oneOf`/`anyOf` folded
when their alternatives share a shape, cycles and depth bounded. What the spec cannot say raises `Unmappable`
with the reason; nothing is approximated in a way that would send or accept the wrong thing.

Inputs and outputs differ: an input may drop an optional field it cannot express (the caller just cannot send
it); an output schema is closed today (a client rejects fields it does not list), so any field it cannot
express drops the whole output schema, and outputs keep types and structure but not bounds or enums (a real
API's reply should not fail on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from factory_bot.importers.openapi.refs import Refs
from factory_bot.importers.openapi.texts import clean
from factory_bot.spec.params import MAX_ALTERNATIVES as MAX_UNION
from factory_bot.spec.params import MAX_DEPTH, MAX_ENUM, MAX_PARAMS, PARAM_NAME, Param

Mode = Literal["input", "output"]
SCALARS = ("string", "number", "integer", "boolean")
MAX_ALTERNATIVES = 32


class Unmappable(Exception):
    """The spec cannot express this schema; the message says why."""


@dataclass
class Context:
    refs: Refs
    mode: Mode
    notes: list[str] = field(default_factory=list)  # optional fields left out, and why
    # A path or query value goes out as text whatever its type: a union of scalars (`oneOf: [string, integer]`,
    # `type: [string, integer]`) fits a string input there; in a body it would change the JSON sent.
    as_text: bool = False


def to_param(schema: Any, base: str | None, ctx: Context, where: str, *, depth: int = 1) -> dict[str, Any]:
    """The Param data for `schema` (without `required`, which the parent decides)."""
    raw, base, stack = flatten(schema, base, ctx, where, ())
    return _convert(raw, base, ctx, where, depth, stack)


def flatten(schema: Any, base: str | None, ctx: Context, where: str, stack: tuple[str, ...]) -> tuple[dict, str, tuple]:
    """`schema` with its `$ref` followed and its `allOf` merged into one mapping."""
    node, base, ref = ctx.refs.deref(schema, base)
    if ref is not None:
        if ref in stack:
            raise Unmappable(f"the schema {ref.rsplit('/', 1)[-1]} contains itself (a circular schema)")
        stack = (*stack, ref)
    if not isinstance(node, dict):
        raise Unmappable("the schema is not an object")
    if "allOf" not in node:
        return node, base, stack
    parts = node["allOf"]
    if not isinstance(parts, list) or len(parts) > MAX_ALTERNATIVES:
        raise Unmappable("allOf is not a short list")
    merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
    for part in parts:
        flat, _part_base, stack = flatten(part, base, ctx, where, stack)
        _merge(merged, _inline_properties(flat, _part_base))
    return merged, base, stack


def _inline_properties(flat: dict[str, Any], base: str) -> dict[str, Any]:
    # Properties of a part that came from another file keep their base through a marker the converter reads.
    if "properties" in flat and isinstance(flat["properties"], dict):
        return {**flat, "properties": {k: {"x-base": base, "x-schema": v} for k, v in flat["properties"].items()}}
    return flat


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if key == "properties" and isinstance(value, dict):
            into.setdefault("properties", {})
            for name, prop in value.items():
                into["properties"].setdefault(name, prop)
        elif key == "required" and isinstance(value, list):
            into["required"] = sorted(set(into.get("required", [])) | {v for v in value if isinstance(v, str)})
        elif key == "type" and "type" in into and into["type"] != value:
            into["type"] = _both_types(into["type"], value)
        else:
            into.setdefault(key, value)


def _both_types(first: Any, second: Any) -> Any:
    """The type a value of both `allOf` parts has; Unmappable when none has both (`allOf: [string, integer]`)."""
    one, two = ({*kind} if isinstance(kind, list) else {kind} for kind in (first, second))
    common = one & two
    if {"integer", "number"} <= one | two and "integer" not in common:
        common.add("integer")  # an integer is a number: it satisfies both parts
    if not common:
        raise Unmappable(f"allOf of incompatible types ({first}, {second}): no value is both")
    return common.pop() if len(common) == 1 else sorted(common)


def _convert(raw: dict, base: str, ctx: Context, where: str, depth: int, stack: tuple) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise Unmappable(f"it nests deeper than {MAX_DEPTH} levels")
    alternatives = raw.get("oneOf") or raw.get("anyOf")
    if alternatives is not None:
        return _alternatives(raw, alternatives, base, ctx, where, depth, stack)
    kinds = [k for k in raw["type"] if k != "null"] if isinstance(raw.get("type"), list) else []
    if ctx.as_text and len(kinds) > 1 and set(kinds) <= set(SCALARS):
        return _text_union(raw, sorted(kinds), ctx, where)
    kind, nullable = _type(raw)
    param: dict[str, Any] = {"type": kind}
    if nullable and ctx.mode == "output":  # an input is sent as it is given: null is never needed there
        param["nullable"] = True
    description = clean(raw.get("description") or raw.get("title") or "", f"{where}.description")
    if description:
        param["description"] = description
    if kind == "array":
        items = raw.get("items")
        if items is None:
            raise Unmappable("an array without `items`")
        item_raw, item_base, item_stack = flatten(items, base, ctx, where, stack)
        param["items"] = _convert(item_raw, item_base, ctx, f"{where}.items", depth + 1, item_stack)
    elif kind == "object":
        param["properties"] = _properties(raw, base, ctx, where, depth, stack)
    if ctx.mode == "input":
        _bounds(raw, kind, param)
        enum = _enum(raw, kind)
        if enum is not None:
            param["enum"] = enum
        if "default" in raw and raw["default"] is not None:
            param["default"] = raw["default"]
    return _checked(param)


def _type(raw: dict) -> tuple[str, bool]:
    kind = raw.get("type")
    nullable = raw.get("nullable") is True or raw.get("x-nullable") is True
    if isinstance(kind, list):  # 3.1: type: [string, "null"]
        nullable = nullable or "null" in kind
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != 1:
            raise Unmappable(f"a value of several types ({', '.join(map(str, kinds))})")
        kind = kinds[0]
    if kind is None:
        if "properties" in raw:
            kind = "object"
        elif "items" in raw:
            kind = "array"
        elif isinstance(raw.get("enum"), list) and raw["enum"] and all(isinstance(v, str) for v in raw["enum"]):
            kind = "string"
        else:
            raise Unmappable("a schema without a type (any value)")
    if kind == "null":
        raise Unmappable("a value that is always null")
    if kind == "file":  # Swagger 2.0 uploads
        raise Unmappable("a file upload")
    if kind not in (*SCALARS, "array", "object"):
        raise Unmappable(f"the type {kind!r}")
    return kind, nullable


def _properties(raw: dict, base: str, ctx: Context, where: str, depth: int, stack: tuple) -> dict[str, Any]:
    properties = raw.get("properties") or {}
    extra = raw.get("additionalProperties")
    if not properties and extra is not False:
        raise Unmappable("an object with free-form keys (a map), which the spec cannot say yet")
    if extra not in (None, False) and ctx.mode == "output":
        raise Unmappable("an object with extra keys (additionalProperties), which an output cannot say yet")
    required = set(raw.get("required") or [])
    skip = "readOnly" if ctx.mode == "input" else "writeOnly"
    out: dict[str, Any] = {}
    for name, prop in properties.items():
        here = f"{where}.{name}"
        prop_base = base
        if isinstance(prop, dict) and "x-schema" in prop:
            prop, prop_base = prop["x-schema"], prop["x-base"]
        try:
            flat, flat_base, flat_stack = flatten(prop, prop_base, ctx, here, stack)
            if flat.get(skip) is True:
                continue
            if not PARAM_NAME.match(name) or len(name) > 64:
                raise Unmappable(f"the field name {name!r} is not an identifier")
            child = _convert(flat, flat_base, ctx, here, depth + 1, flat_stack)
        except Unmappable as exc:
            if ctx.mode == "output" or name in required:
                raise Unmappable(f"{'required ' if name in required else ''}field {name}: {exc}") from None
            ctx.notes.append(f"left out the optional field {here.split('.', 1)[-1]}: {exc}")
            continue
        if name not in required:
            child["required"] = False
        out[name] = child
    if len(out) > MAX_PARAMS:
        raise Unmappable(f"an object with more than {MAX_PARAMS} fields")
    if not out and properties:
        raise Unmappable("none of the object's fields can be expressed")
    return out


def _alternatives(raw: dict, options: Any, base: str, ctx: Context, where: str, depth: int, stack: tuple) -> dict:
    if not isinstance(options, list) or not options or len(options) > MAX_ALTERNATIVES:
        raise Unmappable("oneOf/anyOf is not a short list")
    flats = [flatten(option, base, ctx, where, stack) for option in options]
    nullable = any(flat.get("type") == "null" or flat.get("enum") == [None] for flat, _, _ in flats)
    flats = [f for f in flats if not (f[0].get("type") == "null" or f[0].get("enum") == [None])]
    outer = {k: v for k, v in raw.items() if k not in ("oneOf", "anyOf", "discriminator")}
    if nullable and ctx.mode == "output":
        outer["nullable"] = True  # `oneOf: [T, {type: null}]`: T or null
    if len(flats) == 1:
        flat, flat_base, flat_stack = flats[0]
        return _convert(
            {**flat, **{k: v for k, v in outer.items() if k != "type"}}, flat_base, ctx, where, depth, flat_stack
        )
    kinds = {_type(flat)[0] for flat, _, _ in flats}
    if kinds == {"object"}:
        # Any alternative fits an object listing every field of every alternative, none of them required.
        merged: dict[str, Any] = {**outer, "type": "object", "properties": {}}
        for flat, flat_base, _ in flats:
            for name, prop in (_inline_properties(flat, flat_base).get("properties") or {}).items():
                merged["properties"].setdefault(name, prop)
        merged.pop("required", None)
        return _convert(merged, base, ctx, where, depth, stack)
    if kinds <= {"integer", "number"} or (len(kinds) == 1 and not kinds & {"array"}):
        kind = "number" if kinds == {"integer", "number"} else kinds.pop()
        enums = [flat.get("enum") for flat, _, _ in flats]
        merged = {**outer, "type": kind}
        if all(isinstance(e, list) for e in enums):
            merged["enum"] = [v for e in enums for v in e]
        return _convert(merged, base, ctx, where, depth, stack)
    if ctx.as_text and kinds <= set(SCALARS):
        return _text_union(outer, sorted(kinds), ctx, where)
    return _union(outer, flats, sorted(kinds), ctx, where, depth)


def _union(outer: dict, flats: list, kinds: list[str], ctx: Context, where: str, depth: int) -> dict[str, Any]:
    """Alternatives of different types (or differently shaped arrays): the spec's `anyOf`, each one whole."""
    if outer.get("nullable"):
        raise Unmappable(f"a value that may be null or one of several types ({', '.join(kinds)})")
    if len(flats) > MAX_UNION:
        raise Unmappable(f"oneOf/anyOf of more than {MAX_UNION} types")
    choices = []
    for flat, flat_base, flat_stack in flats:
        choice = _convert(flat, flat_base, ctx, where, depth + 1, flat_stack)
        choices.append({k: v for k, v in choice.items() if k != "default"})
    union: dict[str, Any] = {"anyOf": choices}
    description = clean(outer.get("description") or outer.get("title") or "", f"{where}.description")
    if description:
        union["description"] = description
    return _checked(union)


def _text_union(outer: dict, kinds: list[str], ctx: Context, where: str) -> dict[str, Any]:
    param: dict[str, Any] = {"type": "string"}
    what = " or ".join(kinds)
    article = "an" if what[0] in "aeiou" else "a"
    description = clean(outer.get("description") or outer.get("title") or "", f"{where}.description")
    param["description"] = " ".join(t for t in (description, f"{article.title()} {what}, as text.") if t)
    ctx.notes.append(f"{article} {what} value is taken as text (it is sent as text)")
    return param


def _bounds(raw: dict, kind: str, param: dict[str, Any]) -> None:
    if kind in ("number", "integer"):
        for key, exclusive, step in (("minimum", "exclusiveMinimum", 1), ("maximum", "exclusiveMaximum", -1)):
            value, flag = raw.get(key), raw.get(exclusive)
            if isinstance(flag, (int, float)) and not isinstance(flag, bool):  # 3.1: the bound itself
                value, flag = flag, True
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            if flag is True:
                if kind != "integer" or not float(value).is_integer():
                    continue  # an exclusive bound on a number is left to the API (looser, never wrong)
                value = int(value) + step
            param[key] = value
    keys = {"string": ("minLength", "maxLength"), "array": ("minItems", "maxItems")}.get(kind, ())
    for key in keys:
        if isinstance(raw.get(key), int) and not isinstance(raw.get(key), bool) and raw[key] >= 0:
            param[key] = raw[key]


def _enum(raw: dict, kind: str) -> list | None:
    values = raw.get("enum")
    if "const" in raw:
        values = [raw["const"]]
    if not isinstance(values, list):
        return None
    values = [v for v in values if v is not None]
    if kind == "string":
        values = [v for v in values if isinstance(v, str)]
    elif kind in ("number", "integer"):
        values = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    else:
        return None
    unique = list(dict.fromkeys(values))
    return unique if 0 < len(unique) <= MAX_ENUM else None


def _checked(param: dict[str, Any]) -> dict[str, Any]:
    """The Param must construct (the spec's own rules); a default that breaks them is left out."""
    for attempt in range(2):
        try:
            Param.model_validate(param)
            return param
        except ValidationError as exc:
            if attempt == 0 and "default" in param:
                param = {k: v for k, v in param.items() if k != "default"}
                continue
            raise Unmappable(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    return param
