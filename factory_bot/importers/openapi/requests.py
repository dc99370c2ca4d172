"""The request each imported example must make, worked out from the document (its method, path template and
each parameter's `in` and name), not from the tool's implementation: validation's stub API then proves the
mapping. What the server does with an input is what zod gives it: omitted inputs with a default are sent."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from factory_bot.spec.params import HEADER_INPUT, Param

SAFE = "-_.!~*'()"  # what encodeURIComponent leaves as it is


def expected_request(
    method: str,
    template: str,
    wire: dict[str, tuple[str, str]],
    inputs: dict[str, dict[str, Any]],
    headers: dict[str, str],
    cookies: dict[str, str],
    call: dict[str, Any],
    fixed_query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`request:` for an example calling with `call`: `wire` maps each input to (location, name in the document);
    ("body", "") is an input that is the whole body. `headers` are the tool's and `fixed_query` the credentials'
    query values (`${ENV}` kept for the check)."""
    params = {name: Param.model_validate(value) for name, value in inputs.items()}
    args = with_defaults(params, call)
    path, query, body, sent = template.split("#", 1)[0], {}, {}, {}
    cookie_values = {}
    for name, (location, wire_name) in wire.items():
        value = args.get(name)
        if location == "path" and value is not None:
            path = path.replace(f"{{{wire_name}}}", urllib.parse.quote(_text(value), safe=SAFE))
        elif location == "query" and value is not None:
            query[wire_name] = _text(value)
        elif location in ("header", "cookie") and value is not None:
            (sent if location == "header" else cookie_values)[wire_name] = _text(value)
        elif location == "body" and name in args:
            body = args[name] if wire_name == "" else {**body, wire_name: args[name]}
    request: dict[str, Any] = {"method": method, "path": path, "query": query | (fixed_query or {})}
    named = {k: v for k, v in headers.items() if not HEADER_INPUT.search(v)}  # constants and credentials
    named |= {k: v for k, v in sent.items() if k in headers}
    jar = [f"{k}={cookie_values[k]}" for k in cookies if k in cookie_values]
    if jar:
        fixed = next((k for k in named if k.lower() == "cookie"), None)
        named["Cookie"] = "; ".join(([named.pop(fixed)] if fixed else []) + jar)
    if named:
        request["headers"] = named
    whole = any(location == "body" and wire_name == "" for location, wire_name in wire.values())
    if whole and not any(location == "body" and name in args for name, (location, _) in wire.items()):
        body = None  # an optional whole body left out: none is sent
    request["body"] = body if any(location == "body" for location, _ in wire.values()) else None
    return request


def with_defaults(params: dict[str, Param], values: dict[str, Any]) -> dict[str, Any]:
    """`values` as zod parses them: each omitted field with a default gets it, nested objects too."""
    out = dict(values)
    for name, param in params.items():
        if name not in out:
            if param.default is not None:
                out[name] = param.default
            continue
        out[name] = _defaults_in(param, out[name])
    return out


def _defaults_in(param: Param, value: Any) -> Any:
    if param.type == "object" and param.properties and isinstance(value, dict):
        return with_defaults(param.properties, value)
    if param.type == "array" and param.items is not None and isinstance(value, list):
        return [_defaults_in(param.items, item) for item in value]
    return value


def _text(value: Any) -> str:
    """A value as the generated server puts it in a URL: a string as it is, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON.stringify(10.0) is "10"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
