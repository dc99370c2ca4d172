"""The spec's building blocks: the limits and name rules every spec meets, and `Param`, the typed value
(inputs, outputs, nested objects) with its JSON Schema."""

from __future__ import annotations

import re
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, model_validator

# Limits: generous for real servers, small enough that a hostile spec cannot exhaust the builder.
MAX_TOOLS = 50
MAX_PARAMS = 50
MAX_DEPTH = 5
MAX_EXAMPLES = 20
MAX_ENUM = 100
MAX_ENV = 30
MAX_NAME = 64
MAX_DESCRIPTION = 4000
MAX_CODE = 20_000
MAX_TEXT = 500
MAX_ALTERNATIVES = 10

SERVER_NAME = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
TOOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$"
)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
ENV_REFERENCE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
# An input in a header value: `{name}` not preceded by `$` (that is an env reference).
HEADER_INPUT = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
# An HTTP token (RFC 9110): a header or cookie name, e.g. the header an input is mirrored into (SEP-2243).
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# RFC 6265 cookie-octet: what a cookie value may hold without quoting (no space, ", comma, ; or backslash)
COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
HEADER_TYPES = ("string", "integer", "boolean")  # the types 2026-07-28 lets an x-mcp-header carry
# Trojan Source (CVE-2021-42574): bidirectional controls make code read differently than it runs.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
# Other characters that hide in source: zero-width, format controls, C0/C1 controls except tab and newline.
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u180e\u200b-\u200d\u2028\u2029\u2060-\u2064\ufeff]")

# Words a parameter name cannot be as a TypeScript local; such inputs are bound as `<name>_` in code.
TS_RESERVED = frozenset(
    """break case catch class const continue debugger default delete do else enum export extends false
    finally for function if import in instanceof new null return super switch this throw true try typeof
    var void while with as implements interface let package private protected public static yield any
    boolean number string symbol type from of async await arguments eval undefined NaN Infinity
    args env log signal""".split()
)  # `args`, `env`, `log` and `signal` are the names a code body gets from the generated function.


def local_name(param: str) -> str:
    """The TypeScript local a code body sees for an input parameter."""
    return f"{param}_" if param in TS_RESERVED else param


class StrictModel(BaseModel):
    # A typo in a field name must be an error, never silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


JsonScalar = str | int | float | bool


class Param(StrictModel):
    """One input (or the output) of a tool: a small, JSON-Schema-like type."""

    type: Literal["string", "number", "integer", "boolean", "array", "object"] | None = Field(
        None, description="Required unless the value is a `ref` or an `anyOf`."
    )
    ref: str | None = Field(None, description="Instead of `type`: one of the tool's `types` (a `$ref` to `$defs`).")
    anyOf: list[Param] | None = Field(
        None, min_length=2, max_length=MAX_ALTERNATIVES, description="Instead of `type`: a value of any of these types."
    )
    description: str = Field("", max_length=MAX_DESCRIPTION)
    enum: list[str | int | float] | None = Field(None, min_length=1, max_length=MAX_ENUM)
    items: Param | None = Field(None, description="Element type; required when type is array.")
    properties: dict[str, Param] | None = Field(None, description="Fields; for type object.")
    required: bool = Field(True, description="false makes the input optional (so does a default).")
    nullable: bool = Field(False, description="true: the value may also be null (an API's reply often says so).")
    default: Any = Field(None, description="Value used when the caller omits this input.")
    minimum: float | None = None
    maximum: float | None = None
    minLength: int | None = Field(None, ge=0)
    maxLength: int | None = Field(None, ge=0)
    minItems: int | None = Field(None, ge=0)
    maxItems: int | None = Field(None, ge=0)
    header: str | None = Field(
        None,
        max_length=MAX_NAME,
        description="Streamable HTTP (2026-07-28): clients also send this input as header Mcp-Param-<header> "
        "(x-mcp-header, SEP-2243) so proxies can route on it; the server refuses a request whose header and "
        "argument disagree. For a tool's own string, integer or boolean inputs.",
    )

    @property
    def optional(self) -> bool:
        return not self.required or self.default is not None

    @model_validator(mode="after")
    def _coherent(self) -> Param:
        if self.ref is not None:
            return self._a_reference()
        if self.anyOf is not None:
            return self._alternatives()
        kind = self.type
        if kind is None:
            raise ValueError("give a `type` (string, number, integer, boolean, array, object), a `ref` or an `anyOf`")
        if kind == "array" and self.items is None:
            raise ValueError("an array needs `items` (the element type), e.g. items: {type: string}")
        if kind != "array" and self.items is not None:
            raise ValueError(f"`items` only applies to arrays, not {kind}")
        if kind != "object" and self.properties is not None:
            raise ValueError(f"`properties` only applies to objects, not {kind}")
        if self.enum is not None:
            if kind not in ("string", "number", "integer"):
                raise ValueError(f"`enum` applies to string, number or integer, not {kind}")
            if len(set(map(repr, self.enum))) != len(self.enum):
                raise ValueError("`enum` values must be unique")
            wrong = [v for v in self.enum if not _is_type(v, kind)]
            if wrong:
                raise ValueError(f"`enum` value {wrong[0]!r} is not a {kind}")
        if (self.minimum is not None or self.maximum is not None) and kind not in ("number", "integer"):
            raise ValueError("`minimum`/`maximum` apply to numbers only")
        if (self.minLength is not None or self.maxLength is not None) and kind != "string":
            raise ValueError("`minLength`/`maxLength` apply to strings only")
        if (self.minItems is not None or self.maxItems is not None) and kind != "array":
            raise ValueError("`minItems`/`maxItems` apply to arrays only")
        if self.header is not None and not HEADER_NAME.match(self.header):
            raise ValueError(
                f"`header` {self.header!r} is not an HTTP header name: letters, digits and !#$%&'*+-.^_`|~"
            )
        if self.header is not None and kind not in HEADER_TYPES:
            raise ValueError(f"`header` applies to string, integer or boolean inputs, not {kind}")
        if any(child.header for child in _children(self)):
            raise ValueError("`header` applies to a tool's own inputs, not to fields or items inside them")
        if self.properties is not None:
            check_param_names(self.properties)
        if _depth(self) > MAX_DEPTH:
            raise ValueError(f"types nest deeper than {MAX_DEPTH} levels")
        if self.nullable and self.header is not None:
            raise ValueError("`header` applies to inputs that are never null")
        if self.default is not None:
            errors = schema_errors(self.default, self.json_schema(for_default=True))
            if errors:
                raise ValueError(f"`default` does not match the type: {errors[0]}")
        return self

    def _a_reference(self) -> Param:
        if self.type is not None:
            raise ValueError(f"give either `type` or `ref: {self.ref}`, not both")
        if not PARAM_NAME.match(self.ref or ""):
            raise ValueError(f"`ref` {self.ref!r} must name a type of the tool's `types`")
        extra = [k for k in self.model_fields_set if k not in ("ref", "description", "required")]
        if extra:
            raise ValueError(f"a `ref` takes only description and required: move `{sorted(extra)[0]}` into the type")
        return self

    def _alternatives(self) -> Param:
        if self.type is not None:
            raise ValueError("give either `type` or `anyOf`, not both")
        extra = [k for k in self.model_fields_set if k not in ("anyOf", "description", "required")]
        if extra:
            raise ValueError(f"`anyOf` takes only description and required: move `{sorted(extra)[0]}` into its types")
        if any(choice.optional for choice in self.anyOf or []):
            raise ValueError(
                "a type of `anyOf` cannot be optional (required: false or a default): make the whole optional"
            )
        if _depth(self) > MAX_DEPTH:
            raise ValueError(f"types nest deeper than {MAX_DEPTH} levels")
        return self

    @property
    def label(self) -> str:
        """The type in a word, for tables: its type, the named type, or the alternatives."""
        return self.type or self.ref or " | ".join(choice.label for choice in self.anyOf or [])

    def refs(self) -> set[str]:
        """The named types this type (and what it nests) refers to."""
        children = [*(self.properties or {}).values(), *([self.items] if self.items else []), *(self.anyOf or [])]
        return ({self.ref} if self.ref else set()).union(*(c.refs() for c in children))

    @staticmethod
    def check_headers(inputs: dict[str, Param], output: Param | None) -> None:
        """A tool's `header` names: each names one input (header names ignore case), and outputs have none."""
        if output is not None and output.header is not None:
            raise ValueError("`header` applies to inputs (the client sends it), not to the output")
        seen: dict[str, str] = {}
        for name, param in inputs.items():
            if param.header is None:
                continue
            other = seen.setdefault(param.header.lower(), name)
            if other != name:
                raise ValueError(
                    f"inputs {other!r} and {name!r} use the same `header` {param.header!r} (case is ignored)"
                )

    def json_schema(self, *, for_default: bool = False) -> dict[str, Any]:
        """This type as JSON Schema, in the shape zod 4 advertises it through tools/list."""
        if self.ref is not None:
            described = {"description": self.description} if self.description and not for_default else {}
            return described | {"$ref": f"#/$defs/{self.ref}"}
        if self.anyOf is not None:
            choices = [choice.json_schema(for_default=for_default) for choice in self.anyOf]
            described = {"description": self.description} if self.description and not for_default else {}
            return _compact({"anyOf": choices} | described)
        schema: dict[str, Any] = {"type": self.type}
        if self.enum is not None:
            schema = {"type": self.type, "enum": list(self.enum)}
        if self.description and not for_default:
            schema["description"] = self.description
        for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
            value = getattr(self, key)
            if value is not None:
                schema[key] = value
        if self.items is not None:
            schema["items"] = self.items.json_schema(for_default=for_default)
        if self.type == "object" and not self.properties:
            schema.update({"type": "object", "properties": {}, "additionalProperties": {}})  # free-form
        elif self.type == "object":
            schema.update(object_schema(self.properties or {}, for_default=for_default))
        if self.nullable:
            schema = _or_null(schema)
        if self.default is not None and not for_default:
            schema["default"] = self.default
        if self.header is not None and not for_default:
            schema["x-mcp-header"] = self.header
        return schema


def _or_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null, as zod 4 advertises `.nullable()`: `anyOf: [schema, {type: null}]` (compacted: a bare
    type becomes `type: [T, "null"]`); the description stays outside."""
    outer = {k: schema[k] for k in ("description",) if k in schema}
    inner = {k: v for k, v in schema.items() if k not in outer}
    return _compact({"anyOf": [inner, {"type": "null"}], **outer})


def _compact(schema: dict[str, Any]) -> dict[str, Any]:
    """zod 4's compactTypeUnion: `anyOf` of bare type assertions is spelled `type: [a, b]` (members unique)."""
    options = schema.get("anyOf")
    if not options or "type" in schema or any(not isinstance(o, dict) or list(o) != ["type"] for o in options):
        return schema
    types: list[str] = []
    for option in options:
        for member in option["type"] if isinstance(option["type"], list) else [option["type"]]:
            if member not in types:
                types.append(member)
    return {**{k: v for k, v in schema.items() if k != "anyOf"}, "type": types[0] if len(types) == 1 else types}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def object_schema(properties: dict[str, Param], *, for_default: bool = False) -> dict[str, Any]:
    """JSON Schema of an object whose fields are `properties`, and no others: an input with an unknown
    property is refused by name, an output's undeclared fields are dropped before it is returned."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: p.json_schema(for_default=for_default) for name, p in properties.items()},
    }
    required = [name for name, p in properties.items() if not p.optional]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _children(param: Param) -> list[Param]:
    return list((param.properties or {}).values()) + ([param.items] if param.items else []) + (param.anyOf or [])


def _depth(param: Param) -> int:
    return 1 + max((_depth(c) for c in _children(param)), default=0)


def check_param_names(params: dict[str, Param]) -> None:
    if len(params) > MAX_PARAMS:
        raise ValueError(f"at most {MAX_PARAMS} inputs per tool or object, got {len(params)}")
    for name in params:
        if not PARAM_NAME.match(name) or len(name) > MAX_NAME:
            raise ValueError(
                f"input name {name!r} is not an identifier: use letters, digits and _ "
                f"(not starting with a digit), at most {MAX_NAME} characters"
            )


def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Messages for each way `value` breaks `schema` (empty when it conforms)."""
    validator = jsonschema.Draft202012Validator(schema)
    return [
        (f"at {'/'.join(map(str, e.absolute_path))}: " if e.absolute_path else "") + e.message
        for e in sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
    ]
