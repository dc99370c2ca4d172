"""One shape for an operation's parameters, body, responses, security and servers, whether the document is
OpenAPI 3.x or Swagger 2.0 (whose body and form parameters, `schemes`/`host`/`basePath`, `produces` and
`securityDefinitions` are read into the 3.x form here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from factory_bot.importers.openapi.operations import Operation
from factory_bot.importers.openapi.refs import Refs

_PARAM_SCHEMA_KEYS = (
    "type", "format", "items", "enum", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "minLength", "maxLength", "pattern", "minItems", "maxItems", "description",
)  # fmt: skip


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path, query, header, cookie
    required: bool
    schema: Any
    base: str
    description: str
    explode: bool  # for arrays in the query: name=a&name=b (True) or name=a,b (False)
    style: str
    example: Any
    content_only: bool  # 3.x `content` instead of `schema`


@dataclass(frozen=True)
class Body:
    required: bool
    media: dict[str, Any]  # media type → {schema, example, examples}
    base: str
    description: str


@dataclass(frozen=True)
class Response:
    status: str
    media: dict[str, Any]
    base: str
    description: str


class View:
    def __init__(self, data: dict[str, Any], version: str, refs: Refs) -> None:
        self.data, self.version, self.refs = data, version, refs

    def _deref(self, node: Any, base: str | None = None) -> tuple[Any, str]:
        value, base, _ = self.refs.deref(node, base)
        return value, base

    def parameters(self, op: Operation) -> tuple[list[Parameter], Body | None, bool]:
        """The operation's parameters, its JSON-or-other body, and whether it has form (formData) parameters."""
        merged: dict[tuple[str, str], tuple[dict, str]] = {}
        for node in [*(op.path_item.get("parameters") or []), *(op.node.get("parameters") or [])]:
            param, base = self._deref(node)
            if isinstance(param, dict) and isinstance(param.get("name"), str):
                merged[(param["name"], str(param.get("in")))] = (param, base)
        params, body, form = [], None, False
        for (name, location), (param, base) in merged.items():
            if self.version == "2.0" and location == "body":
                media = {mime: {"schema": param.get("schema")} for mime in self._mimes(op, "consumes")}
                body = Body(bool(param.get("required")), media, base, str(param.get("description") or ""))
                continue
            if location == "formData":
                form = True
                continue
            if self.version == "2.0":
                schema = {k: param[k] for k in _PARAM_SCHEMA_KEYS if k in param}
                fmt = param.get("collectionFormat", "csv")
                explode = fmt == "multi"
                style = {"csv": "form", "multi": "form"}.get(fmt, fmt) if location == "query" else "simple"
            else:
                schema = param.get("schema")
                style = param.get("style") or ("form" if location in ("query", "cookie") else "simple")
                explode = param.get("explode", style == "form")
            example = resolved(self, param.get("example"))
            if example is None and isinstance(param.get("examples"), dict):
                example = first_example(param["examples"], self)
            params.append(
                Parameter(
                    name=name,
                    location=location,
                    required=bool(param.get("required")) or location == "path",
                    schema=schema,
                    base=base,
                    description=str(param.get("description") or ""),
                    explode=bool(explode),
                    style=str(style),
                    example=example,
                    content_only=schema is None and "content" in param,
                )
            )
        if self.version != "2.0" and op.node.get("requestBody") is not None:
            node, base = self._deref(op.node["requestBody"])
            if isinstance(node, dict):
                content = node.get("content") if isinstance(node.get("content"), dict) else {}
                body = Body(bool(node.get("required")), content, base, str(node.get("description") or ""))
        return params, body, form

    def _mimes(self, op: Operation, key: str) -> list[str]:
        mimes = op.node.get(key, self.data.get(key))
        return [m for m in mimes if isinstance(m, str)] if isinstance(mimes, list) and mimes else ["application/json"]

    def responses(self, op: Operation) -> list[Response]:
        found = []
        responses = op.node.get("responses") if isinstance(op.node.get("responses"), dict) else {}
        for status, node in responses.items():
            node, base = self._deref(node)
            if not isinstance(node, dict):
                continue
            if self.version == "2.0":
                examples = node.get("examples") if isinstance(node.get("examples"), dict) else {}
                media = {}
                if "schema" in node:
                    for mime in self._mimes(op, "produces"):
                        media[mime] = {
                            "schema": node["schema"],
                            **({"example": examples[mime]} if mime in examples else {}),
                        }
            else:
                media = node.get("content") if isinstance(node.get("content"), dict) else {}
            found.append(Response(str(status), media, base, str(node.get("description") or "")))
        return found

    def security(self, op: Operation) -> tuple[list[dict[str, list]], dict[str, Any]]:
        """The operation's requirement alternatives and the document's schemes (2.0 read as 3.x)."""
        requirement = op.node.get("security", self.data.get("security"))
        alternatives = [r for r in requirement if isinstance(r, dict)] if isinstance(requirement, list) else []
        if self.version == "2.0":
            raw = self.data.get("securityDefinitions") or {}
        else:
            raw = (self.data.get("components") or {}).get("securitySchemes") or {}
        schemes = {}
        for name, node in raw.items() if isinstance(raw, dict) else ():
            node, _ = self._deref(node)
            if isinstance(node, dict):
                if node.get("type") == "basic":
                    node = {**node, "type": "http", "scheme": "basic"}
                schemes[name] = node
        return alternatives, schemes

    def servers(self, op: Operation) -> list[dict[str, Any]]:
        if self.version == "2.0":
            host = self.data.get("host")
            if not isinstance(host, str) or not host:
                return []
            schemes = self.data.get("schemes") or ["https"]
            scheme = "https" if "https" in schemes else str(schemes[0])
            return [{"url": f"{scheme}://{host}{self.data.get('basePath') or ''}"}]
        for node in (op.node, op.path_item, self.data):
            servers = node.get("servers")
            if isinstance(servers, list) and servers:
                return [s for s in servers if isinstance(s, dict)]
        return []


def first_example(examples: dict[str, Any], view: View) -> Any:
    for node in examples.values():
        value, _ = view._deref(node)
        if isinstance(value, dict) and "value" in value:
            return resolved(view, value["value"])
    return None


def resolved(view: View, value: Any) -> Any:
    """An example value that is itself a `$ref` (some documents do this), followed."""
    return view._deref(value)[0] if isinstance(value, dict) and "$ref" in value else value
