"""One operation → one `kind: http` tool: parameters and JSON body fields become inputs, the success reply's
schema the output, the method the annotations. What the spec cannot send raises `Unmappable`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from factory_bot.importers.openapi.auth import auth_for, base_url, bearer_for_all
from factory_bot.importers.openapi.examples import examples_for
from factory_bot.importers.openapi.operations import Operation
from factory_bot.importers.openapi.requests import expected_request
from factory_bot.importers.openapi.schemas import Context, Unmappable, to_param
from factory_bot.importers.openapi.texts import clean, snake, title
from factory_bot.importers.openapi.view import Body, Parameter, Response, View, first_example, resolved
from factory_bot.spec.params import COOKIE_OCTETS, HEADER_NAME, PARAM_NAME

SUPPORTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
IGNORED_HEADERS = {"accept", "content-type", "authorization"}  # OpenAPI says these parameters are ignored
# Headers HTTP itself (fetch) sets: a value from the document or the caller would break the request.
TRANSPORT_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "keep-alive", "upgrade", "te",
                     "trailer", "expect", "cookie"}  # fmt: skip
ANNOTATIONS = {
    "GET": {"readOnlyHint": True, "idempotentHint": True, "openWorldHint": True},
    "POST": {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False, "openWorldHint": True},
    "PUT": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True, "openWorldHint": True},
    "PATCH": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False, "openWorldHint": True},
    "DELETE": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True, "openWorldHint": True},
}


@dataclass
class Mapped:
    tool: dict[str, Any]
    env: list[dict[str, Any]]
    base_url: str
    notes: list[str] = field(default_factory=list)
    server_note: str | None = None  # the same for every tool of a server: reported once
    wire: dict[str, tuple[str, str]] = field(default_factory=dict)  # input → (location, name in the document)


@dataclass
class _Inputs:
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"
    wire: dict[str, tuple[str, str]] = field(default_factory=dict)  # input → (location, wire name)
    examples: dict[str, Any] = field(default_factory=dict)  # input → the document's example value
    headers: dict[str, str] = field(default_factory=dict)  # header name → constant or `{input}`
    cookies: dict[str, str] = field(default_factory=dict)  # cookie name → `{input}`
    body_input: str | None = None  # the input that is the whole body (an array or scalar body)


def map_operation(
    op: Operation, name: str, view: View, prefix: str, base_override: str | None, bearer_env: str | None = None
) -> Mapped:
    if op.method not in SUPPORTED_METHODS:
        raise Unmappable(f"the method {op.method} (the spec's http tools send {', '.join(SUPPORTED_METHODS)})")
    notes: list[str] = []
    params, body, form = view.parameters(op)
    if form:
        raise Unmappable("a form (formData) body: multipart and urlencoded uploads are not supported yet")
    path = op.path.split("#", 1)[0]  # a fragment is never sent (some documents use it to list a path twice)
    if not re.fullmatch(r"/[^\s?#]*", path):
        raise Unmappable(f"the path {path!r} has a space or a query in it")
    inputs = _Inputs(path=path)
    for param in params:
        _parameter(param, view, inputs, notes, op.where)
    body_kind = _body(body, view, inputs, notes, op.where, op.method)
    response, output = _success(view.responses(op), view, notes, op.where)
    alternatives, schemes = view.security(op)
    auth = auth_for(alternatives, schemes, prefix, op.where)
    if bearer_env and not auth.headers and not auth.query:
        auth = bearer_for_all(bearer_env)
    headers = _merged(inputs.headers, auth.headers)
    _drop_overridden(inputs, headers, auth.query, notes)
    inputs.query |= auth.query  # an API key in the query: `${ENV}`
    url, server_note = base_url(view.servers(op), base_override, op.where)
    notes.extend(n for n in (auth.note,) if n)
    summary = title(op.node.get("summary"), f"{op.where}.summary")
    text = clean(op.node.get("description"), f"{op.where}.description")
    description = "\n\n".join(t for t in (summary, text) if t) or f"{op.method} {op.path}"
    implementation: dict[str, Any] = {"kind": "http", "method": op.method, "base_url": url, "path": inputs.path}
    if inputs.query:
        implementation["query"] = inputs.query
    if headers:
        implementation["headers"] = headers
    if inputs.cookies:
        implementation["cookies"] = inputs.cookies
    if body_kind:
        implementation["body"] = "json"
    if inputs.body_input:
        implementation["body_input"] = inputs.body_input
    if response[0] == "text":
        implementation["response"] = "text"
    tool: dict[str, Any] = {"name": name, "description": clean(description, op.where)}
    if summary:
        tool["title"] = summary
    tool["input"] = inputs.values
    if output is not None:
        tool["output"] = output
    tool["annotations"] = ANNOTATIONS[op.method]
    tool["implementation"] = implementation
    sent_aside = frozenset(name for name, (location, _) in inputs.wire.items() if location in ("header", "cookie"))
    examples = examples_for(inputs.values, inputs.examples, output, response, view.responses(op), view, sent_aside)
    for example in examples:
        request = expected_request(
            op.method, op.path, inputs.wire, inputs.values, headers, inputs.cookies, example["input"], auth.query
        )
        example["request"] = request
    tool["examples"] = [{"input": e["input"], "request": e["request"], **e} for e in examples]
    return Mapped(tool=tool, env=auth.env, base_url=url, notes=notes, server_note=server_note, wire=inputs.wire)


def _merged(fixed: dict[str, str], auth: dict[str, str]) -> dict[str, str]:
    """The parameters' constant headers with the credentials' (which win; cookies are joined)."""
    merged = dict(fixed)
    for name, value in auth.items():
        same = next((k for k in merged if k.lower() == name.lower()), None)
        if same is not None and name.lower() == "cookie":
            merged[same] = f"{merged[same]}; {value}"
        else:
            merged.pop(same or "", None)
            merged[name] = value
    return merged


def _drop_overridden(inputs: _Inputs, headers: dict[str, str], query: dict[str, str], notes: list[str]) -> None:
    """A header or query input the credentials replace (same header or query name) would go nowhere: it is left
    out."""
    for name, (location, wire) in list(inputs.wire.items()):
        in_header = location == "header" and headers.get(wire) != f"{{{name}}}"
        if in_header or (location == "query" and wire in query):
            del inputs.values[name], inputs.wire[name]
            inputs.examples.pop(name, None)
            if location == "query":
                del inputs.query[wire]
            notes.append(f"left out the {location} parameter {wire}: the credentials set that {location} value")


def _input_name(wire: str, inputs: _Inputs) -> str:
    name = wire if PARAM_NAME.match(wire) and len(wire) <= 64 else snake(wire)[:64]
    if not name or not PARAM_NAME.match(name):
        name = f"p_{name}"
    if name in inputs.values:
        raise Unmappable(f"two inputs would both be named {name}")
    return name


def _parameter(param: Parameter, view: View, inputs: _Inputs, notes: list[str], where: str) -> None:
    here = f"{where}.parameters.{param.name}"
    try:
        if param.location in ("header", "cookie"):
            if param.location == "header" and param.name.lower() in IGNORED_HEADERS:
                return
            if _fixed_parameter(param, view, inputs, notes, here):
                return
        if param.content_only:
            raise Unmappable("a parameter given as `content`")
        if param.schema is None:
            raise Unmappable("a parameter without a schema")
        ctx = Context(view.refs, "input", as_text=True)
        value = to_param(param.schema, param.base, ctx, here)
        notes.extend(f"the {param.location} parameter {param.name}: {n}" for n in ctx.notes)
        if value["type"] == "object":
            raise Unmappable("an object parameter (deepObject and similar styles)")
        if param.location == "path" and param.style != "simple":
            raise Unmappable(f"a path parameter in the {param.style} style")
        if value["type"] == "array":
            value = _array_parameter(param, value, notes)
        _sendable_name(param)
        description = clean(param.description, f"{here}.description") or value.get("description", "")
        if description:
            value["description"] = description
        name = _input_name(param.name, inputs)
        if not param.required:
            value["required"] = False
        if param.location == "path":
            if f"{{{param.name}}}" not in inputs.path:
                return  # declared but not in the template: nothing to fill
            inputs.path = inputs.path.replace(f"{{{param.name}}}", f"{{{name}}}")
        elif param.location == "query":
            inputs.query[param.name] = f"{{{name}}}"
        elif param.location == "header":
            inputs.headers[param.name] = f"{{{name}}}"
        else:
            inputs.cookies[param.name] = f"{{{name}}}"
        inputs.values[name] = value
        inputs.wire[name] = (param.location, param.name)
        if param.example is not None and _sendable_example(param):
            inputs.examples[name] = param.example
    except Unmappable as exc:
        if param.required:
            raise Unmappable(f"the required {param.location} parameter {param.name}: {exc}") from None
        notes.append(f"left out the optional {param.location} parameter {param.name}: {exc}")


def _fixed_parameter(param: Parameter, view: View, inputs: _Inputs, notes: list[str], here: str) -> bool:
    """A header or cookie parameter the document allows one value for (a single enum value, or the default of a
    required one) is sent as that constant (True); any other becomes an input like a query parameter (False)."""
    value = to_param(param.schema, param.base, Context(view.refs, "input"), here) if param.schema else {}
    enum = value.get("enum") or []
    fixed = enum[0] if len(enum) == 1 else value.get("default") if param.required else None
    if fixed is None or isinstance(fixed, (dict, list)):
        return False
    text = fixed if isinstance(fixed, str) else json.dumps(fixed)
    if "${" in text or not re.fullmatch(r"[\x20-\x7e]*", text) or (param.location == "cookie" and ";" in text):
        raise Unmappable(f"a {param.location} parameter whose value {text[:40]!r} cannot be sent as it is")
    _sendable_name(param)
    if param.location == "header":
        inputs.headers[param.name] = text
    else:
        cookie = f"{param.name}={text}"
        inputs.headers["Cookie"] = f"{inputs.headers['Cookie']}; {cookie}" if "Cookie" in inputs.headers else cookie
    notes.append(f"the {param.location} parameter {param.name} is always sent as {text!r}, its only documented value")
    return True


def _sendable_name(param: Parameter) -> None:
    if param.location == "header" and not HEADER_NAME.match(param.name):
        raise Unmappable(f"the header name {param.name!r}")
    if param.location == "header" and param.name.lower() in TRANSPORT_HEADERS:
        raise Unmappable(f"the header {param.name}, which HTTP itself sets")
    if param.location == "cookie" and not HEADER_NAME.match(param.name):  # a cookie name is an HTTP token too
        raise Unmappable(f"the cookie name {param.name!r}")


def _sendable_example(param: Parameter) -> bool:
    """A documented header or cookie example the runtime would send as it is (else the example makes one)."""
    if param.location not in ("header", "cookie"):
        return True
    text = param.example if isinstance(param.example, str) else json.dumps(param.example)
    pattern = COOKIE_OCTETS if param.location == "cookie" else re.compile(r"[\x20-\x7e]*")
    return bool(pattern.fullmatch(text))


def _array_parameter(param: Parameter, value: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    items = value["items"]
    if param.location not in ("query", "header") or items["type"] not in ("string", "number", "integer", "boolean"):
        raise Unmappable(f"an array in the {param.location}")
    if param.location == "header":  # the simple style: one comma-separated value
        notes.append(f"the header parameter {param.name} takes its values comma-separated, as one string")
        return {"type": "string", "description": "Comma-separated values."}
    if not param.explode and param.style == "form":
        notes.append(f"the query parameter {param.name} takes its values comma-separated, as one string")
        return {"type": "string", "description": "Comma-separated values."}
    notes.append(
        f"the query parameter {param.name} sends one value (the API accepts several; the spec cannot repeat it yet)"
    )
    single = {k: v for k, v in items.items() if k != "required"}
    if "default" in value and isinstance(value["default"], list) and value["default"]:
        single["default"] = value["default"][0]
    return single


def _json_media(media: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    for mime, node in media.items():
        base = mime.split(";", 1)[0].strip().lower()
        if base == "application/json" or base.endswith("+json") or base == "*/*":
            return mime, node if isinstance(node, dict) else {}
    return None


def _media_reason(media: dict[str, Any]) -> str:
    kinds = {m.split(";", 1)[0].strip().lower() for m in media}
    if any("multipart" in k for k in kinds):
        return "a multipart upload"
    if "application/x-www-form-urlencoded" in kinds:
        return "a urlencoded form body"
    if any("xml" in k for k in kinds):
        return "XML"
    if any(k in ("text/event-stream", "application/x-ndjson", "application/jsonl") for k in kinds):
        return "a streaming body"
    return f"the media type {sorted(kinds)[0]}" if kinds else "a body without a schema"


def _body(body: Body | None, view: View, inputs: _Inputs, notes: list[str], where: str, method: str) -> bool:
    if body is None or not body.media:
        return False
    chosen = _json_media(body.media)
    try:
        if method == "GET":
            raise Unmappable("a body on a GET, which fetch cannot send")
        if chosen is None:
            raise Unmappable(_media_reason(body.media))
        mime, node = chosen
        if node.get("schema") is None:
            raise Unmappable("a JSON body without a schema")
        ctx = Context(view.refs, "input")
        value = to_param(node["schema"], body.base, ctx, f"{where}.requestBody", depth=0)
        notes.extend(ctx.notes)
    except Unmappable as exc:
        if body.required:
            raise Unmappable(f"the request body: {exc}") from None
        notes.append(f"left out the optional request body: {exc}")
        return False
    example = resolved(view, node.get("example"))
    if example is None and isinstance(node.get("examples"), dict):
        example = first_example(node["examples"], view)
    if value.get("type") != "object":  # an array, a scalar or a union (anyOf)
        _whole_body(value, body, example, inputs, notes, where)
        return True
    for field_name, field_value in (value.get("properties") or {}).items():
        if field_name in inputs.values:
            _rename_parameter(inputs, field_name)
        if not body.required:
            field_value = {**field_value, "required": False}
        inputs.values[field_name] = field_value
        inputs.wire[field_name] = ("body", field_name)
        if isinstance(example, dict) and field_name in example:
            inputs.examples[field_name] = example[field_name]
    return True


def _whole_body(value: dict[str, Any], body: Body, example: Any, inputs: _Inputs, notes: list[str], where: str) -> None:
    """An array or scalar JSON body: one input, `body`, is the whole body (`body_input`)."""
    name = "body" if "body" not in inputs.values else "request_body"
    if name in inputs.values:
        raise Unmappable("the request body: two inputs would both be named body and request_body")
    kind = value.get("type") or " or ".join(choice.get("type") or "value" for choice in value["anyOf"])
    description = clean(body.description, f"{where}.requestBody.description") or value.get("description", "")
    value = {**value, "description": description or f"The request body: {_article(kind)} {kind}."}
    if not body.required:
        value["required"] = False
    inputs.values[name] = value
    inputs.wire[name] = ("body", "")
    inputs.body_input = name
    if example is not None:
        inputs.examples[name] = example
    notes.append(f"the request body is {_article(kind)} {kind}: the input {name} is the whole body")


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


def _rename_parameter(inputs: _Inputs, name: str) -> None:
    """A body field takes its wire name as input name; a parameter of the same name becomes `<location>_<name>`."""
    location, wire = inputs.wire[name]
    new = f"{location}_{name}"
    if new in inputs.values or location == "body":
        raise Unmappable(f"the body field {name} has the name of another input")
    inputs.values[new] = inputs.values.pop(name)
    inputs.wire[new] = inputs.wire.pop(name)
    if name in inputs.examples:
        inputs.examples[new] = inputs.examples.pop(name)
    if location == "path":
        inputs.path = inputs.path.replace(f"{{{name}}}", f"{{{new}}}")
    else:
        {"query": inputs.query, "header": inputs.headers, "cookie": inputs.cookies}[location][wire] = f"{{{new}}}"


def _success(responses: list[Response], view: View, notes: list[str], where: str):
    """((response kind, the chosen Response), output Param data or None)."""
    codes = sorted((r for r in responses if re.fullmatch(r"2(\d\d|XX)", r.status)), key=lambda r: r.status)
    chosen = codes[0] if codes else next((r for r in responses if r.status == "default"), None)
    if chosen is None:
        notes.append("no success reply is documented: no output schema; the example assumes 200 with an empty body")
        return ("json", None), None
    if not chosen.media:
        return ("json", chosen), None
    json_media = _json_media(chosen.media)
    if json_media is None:
        kinds = [m for m in chosen.media if m.split(";", 1)[0].strip().lower().startswith("text/plain")]
        if kinds:
            return ("text", chosen), None
        raise Unmappable(f"the success reply is {_media_reason(chosen.media)}")
    _, node = json_media
    if node.get("schema") is None:
        return ("json", chosen), None
    ctx = Context(view.refs, "output")
    try:
        return ("json", chosen), to_param(node["schema"], chosen.base, ctx, f"{where}.responses.{chosen.status}")
    except Unmappable as exc:
        notes.append(f"no output schema: the reply has {exc}")
        return ("json", chosen), None
