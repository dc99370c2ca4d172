"""Each imported tool's examples: a call with the document's own example values (or values made from the schema)
and the upstream reply it documents, plus an error reply where the document lists one, so that validation
runs the real wiring against the local stub."""

from __future__ import annotations

import json
import re
from typing import Any

from factory_bot.importers.openapi.view import first_example, resolved
from factory_bot.spec.params import Param, object_schema, schema_errors

TEXT_EXAMPLE = "example text"
# Replies Node's fetch acts on itself: a 407 fails the fetch (proxy authentication), a 421 is sent again.
# The tool still returns an error for either, but not the one an example of that status would expect.
FETCH_OWN = ("407", "421")
MAX_REPLY_BYTES = 2048  # a spec holds 256 KiB; GitHub documents replies of 10 KB and more


def examples_for(inputs: dict[str, dict], documented: dict[str, Any], output: dict | None, response, responses, view,
                 exercise: frozenset[str] = frozenset()):  # fmt: skip
    """The examples of one tool; `exercise` names optional inputs the call gives all the same (headers and
    cookies: validation then proves they are sent)."""
    params = {name: Param.model_validate(value) for name, value in inputs.items()}
    call = _call(params, documented, exercise)
    kind, chosen = response
    status = _status(chosen.status) if chosen is not None else 200
    reply = _reply(kind, chosen, output, status, view)
    success: dict[str, Any] = {"input": call, "upstream": _upstream(status, reply, kind), "output": _output(reply)}
    examples = [success]
    failure = next((r for r in responses if re.fullmatch(r"4(\d\d|XX)", r.status) and r.status not in FETCH_OWN), None)
    if failure is not None:
        code = _status(failure.status)
        body = _documented_reply(failure, view)
        if body is None or isinstance(body, str):
            body = {"message": failure.description[:200] or f"error {code}"}
        examples.append({"input": call, "upstream": {"status": code, "body": body}, "error": f"HTTP {code}"})
    return examples


def _status(code: str) -> int:
    if code == "default":
        return 200
    return int(code.replace("XX", "00"))


def _call(params: dict[str, Param], documented: dict[str, Any], exercise: frozenset[str]) -> dict[str, Any]:
    call: dict[str, Any] = {}
    for name, param in params.items():
        value = documented.get(name)
        if value is not None and not schema_errors(value, param.json_schema(for_default=True)):
            call[name] = value
        elif not param.optional or name in exercise:
            call[name] = make(param)
    schema = object_schema(params)
    schema["additionalProperties"] = False
    if schema_errors(call, schema):  # a documented value that does not fit after all: made values only
        call = {name: make(p) for name, p in params.items() if not p.optional or name in exercise}
    return call


def _documented_reply(response, view) -> Any:
    for node in response.media.values():
        if not isinstance(node, dict):
            continue
        if "example" in node:
            return resolved(view, node["example"])
        examples = node.get("examples")
        if isinstance(examples, dict):
            value = first_example(examples, view)
            if value is not None:
                return value
        schema, _, _ = view.refs.deref(node.get("schema"), response.base)
        if isinstance(schema, dict) and "example" in schema:
            return resolved(view, schema["example"])
    return None


def _reply(kind: str, chosen, output: dict | None, status: int, view) -> Any:
    if chosen is None or status in (204, 205) or not chosen.media:
        return ""  # no content: the stub sends an empty body, the tool returns null
    documented = _documented_reply(chosen, view)
    if kind == "text":
        return documented if isinstance(documented, str) and documented else TEXT_EXAMPLE
    documented = _small(documented)
    if output is None:
        return documented if documented is not None and not isinstance(documented, str) else {}
    param = Param.model_validate(output)
    if documented is not None and not schema_errors(documented, closed(param.json_schema())):
        return documented
    return make(param, full=True)


def closed(schema: Any) -> Any:
    """`schema` with no extra keys allowed anywhere: what a client holds a reply to, as zod advertises outputs."""
    if isinstance(schema, list):
        return [closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: closed(v) for k, v in schema.items()}
    if schema.get("type") == "object":
        out["additionalProperties"] = False
    return out


def _small(reply: Any) -> Any:
    """A documented reply short enough for a spec: a list keeps its first item; one still over
    MAX_REPLY_BYTES is not used (a reply made from the schema, or an empty one, proves the wiring as well)."""
    if isinstance(reply, list):
        reply = reply[:1]
    if len(json.dumps(reply)) > MAX_REPLY_BYTES:
        return [] if isinstance(reply, list) else None
    return reply


def _upstream(status: int, reply: Any, kind: str) -> dict[str, Any]:
    if kind == "json" and isinstance(reply, str) and reply:
        # The stub sends a string body as it is: a JSON string reply goes out encoded, typed as JSON.
        return {"status": status, "body": json.dumps(reply), "headers": {"content-type": "application/json"}}
    return {"status": status, "body": reply}


def _output(reply: Any) -> Any:
    return None if reply == "" else reply


def make(param: Param, *, full: bool = False) -> Any:
    """A value that fits `param` (every field when `full`, else the required ones)."""
    if param.default is not None:
        return param.default
    if param.anyOf:
        return make(param.anyOf[0], full=full)
    if param.enum:
        return param.enum[0]
    if param.type == "string":
        text = "example"
        if param.minLength and len(text) < param.minLength:
            text = text * (param.minLength // len(text) + 1)
        return text[: param.maxLength] if param.maxLength is not None and param.maxLength > 0 else text
    if param.type in ("integer", "number"):
        value: float = 1
        if param.minimum is not None:
            value = max(value, param.minimum)
        if param.maximum is not None:
            value = min(value, param.maximum)
        return int(value) if param.type == "integer" or float(value).is_integer() else value
    if param.type == "boolean":
        return True
    if param.type == "array":
        assert param.items is not None
        return [make(param.items, full=full)] * max(1, param.minItems or 0) if param.maxItems != 0 else []
    return {
        name: make(child, full=full) for name, child in (param.properties or {}).items() if full or not child.optional
    }
