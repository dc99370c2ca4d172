"""Spec YAML in and out: load with line numbers so every problem points at a line; dump canonically."""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

from factory_bot.errors import SpecError, SpecProblem
from factory_bot.spec.model import ServerSpec

MAX_SPEC_BYTES = 256 * 1024
MAX_YAML_DEPTH = 64  # a real spec nests a few levels per parameter, parameters at most spec.MAX_DEPTH deep
SCHEMA_COMMENT = "# yaml-language-server: $schema=spec.schema.json\n"


def positioned_yaml() -> YAML:
    """The YAML reader of every file the bot validates: keeps line numbers, refuses duplicate keys."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def load_spec_file(path: str | Path) -> ServerSpec:
    """Read and validate a spec file; raise SpecError naming file, line and field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError(
            [SpecProblem("", f"cannot read the file: {exc.strerror}")],
            source=str(path),
            hint="check the path; example specs live in specs/",
        ) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([SpecProblem("", "the file is not UTF-8 text")], source=str(path)) from exc
    return load_spec_text(text, source=str(path))


def load_spec_text(text: str, *, source: str = "<spec>") -> ServerSpec:
    """Parse spec YAML text and validate it against the model."""
    if len(text.encode("utf-8")) > MAX_SPEC_BYTES:
        raise SpecError(
            [SpecProblem("", f"the spec is {len(text.encode())} bytes; the limit is {MAX_SPEC_BYTES}")],
            source=source,
            hint="split the server into smaller servers, or shorten long descriptions and code",
        )
    fast = _load_fast(text)
    if fast is not None:
        return fast
    yaml = positioned_yaml()  # the slow path keeps positions, so every problem names its line
    try:
        refused = _refuse_hostile_structure(yaml, text)
        data = yaml.load(text) if refused is None else None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise SpecError(
            [SpecProblem("", f"malformed YAML: {problem}", line)],
            source=source,
            hint="check indentation and quoting on that line (a value with ': ' or '#' needs quotes)",
        ) from exc
    except YAMLError as exc:
        raise SpecError([SpecProblem("", f"malformed YAML: {exc}")], source=source) from exc
    if refused is not None:
        raise SpecError(
            [refused],
            source=source,
            hint="write the value out in full, without &anchors, *aliases "
            f"or more than {MAX_YAML_DEPTH} levels of nesting",
        )
    if not isinstance(data, dict):
        raise SpecError(
            [SpecProblem("", "the spec must be a YAML mapping with name, version, description, tools")], source=source
        )
    return validate_data(data, source=source)


def _refuse_hostile_structure(yaml: YAML, text: str) -> SpecProblem | None:
    """Read the YAML's events (cheap, flat) before building it: aliases and deep nesting are refused.

    An alias repeats a node by reference, so a few lines can stand for billions of nodes (a YAML bomb);
    thousands of nested brackets exhaust the recursion of the YAML loader.
    """
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, AliasEvent):
            return SpecProblem("", "YAML aliases (*name) are not allowed in a spec", event.start_mark.line + 1)
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return SpecProblem("", f"the YAML nests deeper than {MAX_YAML_DEPTH} levels", event.start_mark.line + 1)
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
    return None


def _load_fast(text: str) -> ServerSpec | None:
    """The common case, a valid spec, through the C parser (~10x faster); None sends it the slow way,
    which finds and locates whatever is wrong."""
    yaml = YAML(typ="safe")
    yaml.allow_duplicate_keys = False
    try:
        if _refuse_hostile_structure(yaml, text) is not None:
            return None
        data = yaml.load(text)
        return ServerSpec.model_validate(plain(data)) if isinstance(data, dict) else None
    except (YAMLError, ValidationError, ValueError, TypeError, RecursionError):
        return None


def validate_data(data: Any, *, source: str = "<spec>") -> ServerSpec:
    """Validate already-parsed data (YAML with positions, or plain JSON from a model)."""
    try:
        return ServerSpec.model_validate(plain(data))
    except ValidationError as exc:
        raise SpecError(located_problems(exc, data, _model_at), source=source) from None


def plain(node: Any) -> Any:
    """ruamel's commented containers → plain dicts and lists (the model should not see YAML types)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if hasattr(node, "__float__") and type(node).__name__ == "ScalarFloat":
        return float(node)
    if type(node).__name__ in ("ScalarBoolean",):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int) and not isinstance(node, bool):
        return int(node)
    return node


def located_problems(
    exc: ValidationError, data: Any, model_at: Callable[[list[Any]], type[BaseModel] | None]
) -> list[SpecProblem]:
    """Every error of a validation of YAML `data`, named by field path and line; an unknown field comes with
    the fields allowed there (`model_at` says which model a location points into). The spec and the policy
    file both report through this."""
    return [_problem(err, data, model_at) for err in exc.errors()]


def _problem(error: Any, data: Any, model_at: Callable[[list[Any]], type[BaseModel] | None]) -> SpecProblem:
    loc = list(error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        unknown = str(loc[-1])
        parent_model = model_at(loc[:-1])
        known = list(parent_model.model_fields) if parent_model else []
        close = difflib.get_close_matches(unknown, known, n=1)
        message = f"unknown field {unknown!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
        if known:
            message += f"; allowed here: {', '.join(known)}"
    elif error["type"] == "missing":
        message = f"required field {loc[-1]!r} is missing"
    elif error["type"] == "union_tag_invalid" and error.get("ctx", {}).get("discriminator") == "'type'":
        message = f"type must be one of {error['ctx']['expected_tags']} (got {error['ctx']['tag']!r})"  # content
    elif error["type"] == "union_tag_invalid":
        message = "implementation.kind must be `code` or `http`"
    elif error["type"] == "literal_error":
        message = f"{message} (got {error.get('input')!r})"
    column = None
    example = _EXAMPLE_PROBLEM.match(message)
    if example and loc and isinstance(loc[-1], int) and "tools" in loc:
        # The tool's own validator found it, so pydantic points at the tool: point at the example's value instead.
        inside = example["inside"].split("/") if example["inside"] else []
        loc += ["examples", int(example["index"]), *([example["part"]] if example["part"] else [])]
        loc += [int(p) if p.isdigit() else p for p in inside]
        path, _ = locate(loc[: loc.index("examples")], data)  # named as before: the tool, then the message
        line, column = position(loc, data)
        return SpecProblem(path, message, line, column=column)
    inside_schema = _SCHEMA_PROBLEM.match(message)
    if inside_schema and loc and loc[-1] == "inputSchema":  # point at the keyword inside the verbatim schema
        path, _ = locate(loc, data)
        line, column = position(loc + [int(p) if p.isdigit() else p for p in inside_schema["at"].split("/")], data)
        return SpecProblem(path, message, line, column=column)
    path, line = locate(loc, data)
    return SpecProblem(path, message, line)


# "inputSchema at allOf/0/anyOf: …" (spec/raw_schema.py)
_SCHEMA_PROBLEM = re.compile(r"^inputSchema at (?P<at>[^:]+):")
# "examples[2].input does not match the tool's input: at unit: 'x' is not one of [...]" (spec/model.py)
_EXAMPLE_PROBLEM = re.compile(
    r"examples\[(?P<index>\d+)\](?:\.(?P<part>input|output|upstream|request))?(?:[^:]*: at (?P<inside>[^:]+):)?"
)


def position(loc: list[Any], data: Any) -> tuple[int | None, int | None]:
    """The 1-based line and column of the deepest node of `loc` found in the YAML: a value where it has one."""
    found: tuple[int | None, int | None] = (None, None)
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, col = (
                node.lc.value(part) if not isinstance(node[part], (CommentedMap, CommentedSeq)) else (node.lc.key(part))
            )
            found, node = (line + 1, col + 1), node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, col = node.lc.item(part)
            found, node = (line + 1, col + 1), node[part]
        elif part in ("code", "http"):
            continue
        else:
            break
    return found


def _model_at(loc: list[Any]) -> type[BaseModel] | None:
    """Which model class a location points into, to suggest the fields it allows."""
    from factory_bot.spec import asks, examples, requests
    from factory_bot.spec import model as m
    from factory_bot.spec.params import Param

    model: type[BaseModel] | None = ServerSpec
    nested = {
        ("ServerSpec", "tools"): m.Tool,
        ("ServerSpec", "env"): m.EnvVar,
        ("Tool", "input"): Param,
        ("Tool", "output"): Param,
        ("Tool", "annotations"): m.Annotations,
        ("Tool", "examples"): examples.Example,
        ("Example", "upstream"): requests.UpstreamReply,
        ("Example", "answers"): asks.Answer,
        ("Answer", "elicitation"): asks.ElicitAnswer,
        ("Answer", "sampling"): asks.SampleAnswer,
        ("Example", "request"): requests.ExpectedRequest,
        ("Param", "items"): Param,
        ("Param", "properties"): Param,
    }
    expecting_key = False
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if part == "code" and model is m.Tool:
            model = m.CodeImplementation
            continue
        if part == "http" and model is m.Tool:
            model = m.HttpImplementation
            continue
        if expecting_key:  # a user-chosen key (an input name) inside a dict of Params
            expecting_key = False
            continue
        if part == "implementation" and model is m.Tool:
            continue
        child = nested.get((model.__name__, part))
        if child is None:
            return None
        expecting_key = part in ("input", "properties")
        model = child
    return model


def locate(loc: list[Any], data: Any) -> tuple[str, int | None]:
    """Turn a pydantic location into a readable path and the YAML line it points at."""
    path = ""
    line: int | None = None
    node = data
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            path += f".{part}" if path else str(part)
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            path += f"[{part}]"
            node = node[part]
        elif isinstance(node, dict) and part in node:
            path += f".{part}" if path else str(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            path += f"[{part}]"
            node = node[part]
        elif part in ("code", "http") and isinstance(node, dict):
            continue  # the discriminator's own step in the location, not a key in the file
        else:
            path += f".{part}" if path else str(part)
    return path, line


def dump_spec(spec: ServerSpec) -> str:
    """Canonical YAML of a spec: defaults left out, key order as in the model, block scalars for code."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    _keep_explicit_example_outputs(spec, data)
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    stream = io.StringIO()
    yaml.dump(_literal_blocks(data), stream)
    return SCHEMA_COMMENT + stream.getvalue()


def _keep_explicit_example_outputs(spec: ServerSpec, data: dict[str, Any]) -> None:
    # `output: null` and `request: {body: null}` are real expectations; exclude_defaults would drop them.
    for tool, tool_data in zip(spec.tools, data["tools"]):
        for example, example_data in zip(tool.examples, tool_data.get("examples", [])):
            if example.expects_output:
                example_data["output"] = example.output
            if example.request is not None and example.request.checks_body:
                example_data["request"]["body"] = example.request.body


def _literal_blocks(node: Any) -> Any:
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(node, dict):
        return {k: _literal_blocks(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_literal_blocks(v) for v in node]
    if isinstance(node, str) and "\n" in node and _safe_block(node):
        return LiteralScalarString(node)
    return node


def _safe_block(text: str) -> bool:
    # A literal block cannot hold trailing spaces on lines or control characters faithfully.
    return all(ch == "\n" or ch == "\t" or ch.isprintable() for ch in text) and not any(
        line != line.rstrip(" ") for line in text.split("\n")
    )
