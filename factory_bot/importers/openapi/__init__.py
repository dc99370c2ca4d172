"""An OpenAPI 3.0 / 3.1 or Swagger 2.0 document → a spec of `kind: http` tools, with no model call.

read the document → resolve `$ref`s → select operations → map each to a tool → the spec (validated by the
model) and a report of what was left out and why. Same document and options → the same spec.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi.operations import Filters, Operation, op_key, operations, select, tool_names
from factory_bot.importers.openapi.refs import Refs
from factory_bot.importers.openapi.schemas import Unmappable
from factory_bot.importers.openapi.source import read_document
from factory_bot.importers.openapi.texts import clean, snake
from factory_bot.importers.openapi.tools import map_operation
from factory_bot.importers.openapi.view import View
from factory_bot.spec.loader import MAX_SPEC_BYTES, dump_spec, validate_data
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.params import ENV_NAME, MAX_TOOLS, SERVER_NAME

DEFAULT_MAX_TOOLS = 40  # clients degrade past 40-80 tools; more only when asked (--max-tools)


@dataclass(frozen=True)
class ImportOptions:
    filters: Filters = Filters()
    name: str | None = None
    base_url: str | None = None
    bearer_env: str | None = None  # send `Authorization: Bearer ${NAME}` where the document declares no security
    max_tools: int = DEFAULT_MAX_TOOLS
    allow_url: bool = False
    allow_remote_refs: bool = False
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # operation key → name/title/description
    source: dict[str, Any] | None = None  # the spec's `source:`, written with the tools when given


@dataclass
class ImportReport:
    """What the import did: counts, the tools made, each operation left out with its reason, notes per tool."""

    document: str
    openapi: str
    operations: int
    matched: int
    tools: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (operation, reason)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (tool, note)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "document": self.document,
            "openapi": self.openapi,
            "operations": self.operations,
            "matched": self.matched,
            "tools": self.tools,
            "skipped": [{"operation": op, "reason": reason} for op, reason in self.skipped],
            "notes": [{"tool": tool, "note": note} for tool, note in self.notes],
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ImportResult:
    spec: ServerSpec
    report: ImportReport
    text: str  # the spec's canonical YAML
    keys: dict[str, str] = field(default_factory=dict)  # tool name → its operation's key (see curation.op_key)
    wires: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # tool → input → (in, name)


class TooManyOperations(OpenAPIError):
    """More operations match than one server should hold: the count, the biggest tags and how to narrow."""

    def __init__(self, report: ImportReport, tags: list[tuple[str, int]], limit: int, where: str) -> None:
        self.report = report
        top = ", ".join(f"{tag} ({count})" for tag, count in tags[:8])
        super().__init__(
            f"{report.matched} of its {report.operations} operations match; a server holds at most {limit} tools "
            f"unless you ask for more (clients degrade past 40)" + (f". By tag: {top}" if top else ""),
            where=where,
            hint="narrow it with --tags TAG, --include 'PATTERN' (operationId, tool name or 'GET /path', globs "
            f"allowed), --exclude 'PATTERN' or --methods GET; or raise --max-tools (at most {MAX_TOOLS})",
        )


def import_openapi(source: str, options: ImportOptions = ImportOptions()) -> ImportResult:
    """Read SOURCE and return the spec and the report; OpenAPIError when the document or the selection is refused."""
    started = time.perf_counter()
    document = read_document(source, allow_url=options.allow_url)
    refs = Refs(document, allow_remote=options.allow_remote_refs)
    view = View(document.data, document.version, refs)
    info = document.data.get("info") if isinstance(document.data.get("info"), dict) else {}
    paths = document.data.get("paths") or {}
    ops = operations(paths, lambda item: refs.deref(item)[0])
    selection = select(ops, options.filters)
    report = ImportReport(document.label, document.version, len(ops), len(selection.matched))
    report.skipped += [(op.label, "deprecated (pass --include-deprecated to import it)") for op in selection.deprecated]
    if len(selection.matched) > options.max_tools:
        raise TooManyOperations(report, selection.tag_counts(), options.max_tools, document.label)
    if not selection.matched:
        raise OpenAPIError(
            f"no operation matches (of {len(ops)})"
            + (f"; {len(selection.deprecated)} deprecated" if selection.deprecated else ""),
            where=document.label,
            hint="loosen --tags/--include/--exclude/--methods; `--include '*'` matches every operation",
        )
    name = options.name or server_name(str(info.get("title") or ""))
    if not SERVER_NAME.match(name) or len(name) > 64:
        raise OpenAPIError(f"{name!r} is not a server name", hint="pass --name in kebab-case, e.g. --name petstore")
    prefix = name.upper().replace("-", "_")
    if options.bearer_env is not None and not ENV_NAME.match(options.bearer_env):
        raise OpenAPIError(
            f"{options.bearer_env!r} is not an env var name", hint="use UPPER_SNAKE_CASE, e.g. GITHUB_TOKEN"
        )
    tools, env, bases, keys, wires = [], {}, {}, {}, {}
    names = tool_names(selection.matched)
    for index, op in enumerate(selection.matched):
        try:
            mapped = map_operation(op, names[index], view, prefix, options.base_url, options.bearer_env)
        except Unmappable as exc:
            report.skipped.append((op.label, str(exc)))
            continue
        keys[mapped.tool["name"]] = op_key(op)
        override = options.overrides.get(op_key(op))
        if override:
            _override(mapped.tool, override, keys)
        _base_url_env(mapped, bases, prefix)
        for var in mapped.env:
            env.setdefault(var["name"], var)
        tools.append(mapped.tool)
        wires[mapped.tool["name"]] = mapped.wire
        report.tools.append(mapped.tool["name"])
        report.notes += [(mapped.tool["name"], note) for note in dict.fromkeys(mapped.notes)]
        if mapped.server_note and ("*", mapped.server_note) not in report.notes:
            report.notes.insert(0, ("*", mapped.server_note))
    if not tools:
        raise OpenAPIError(
            f"none of the {len(selection.matched)} matching operations can be mapped: {report.skipped[-1][1]}",
            where=document.label,
            hint="see the reasons per operation with --json; choose other operations",
        )
    description = clean(info.get("description"), "info.description") or clean(info.get("title"), "info.title")
    data = {
        "name": name,
        "version": "1.0.0",
        "description": description or f"Imported from {document.label}",
        "env": list(env.values()),
        "tools": tools,
    }
    if options.source is not None:
        data["source"] = options.source
    spec = validate_data(data, source=f"the spec imported from {document.label}")
    text = dump_spec(spec)
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise OpenAPIError(
            f"the spec of its {len(tools)} tools would be {len(text.encode())} bytes; a spec holds {MAX_SPEC_BYTES}",
            where=document.label,
            hint="import fewer operations (--include, --exclude, --tags) and split the API into several servers",
        )
    report.seconds = time.perf_counter() - started
    return ImportResult(spec=spec, report=report, text=text, keys=keys, wires=wires)


def _override(tool: dict[str, Any], override: dict[str, str], keys: dict[str, str]) -> None:
    """The maintainer's name, title and description in place of the document's."""
    if override.get("name") and override["name"] != tool["name"]:
        keys[override["name"]] = keys.pop(tool["name"])
        tool["name"] = override["name"]
    for part in ("title", "description"):
        if override.get(part):
            tool[part] = override[part]


def _base_url_env(mapped, bases: dict[str, str], prefix: str) -> None:
    """The first base URL uses the default <SERVER>_BASE_URL; each other one gets its own env var."""
    url = mapped.base_url
    if not bases:
        bases[url] = ""
    if url not in bases:
        bases[url] = f"{prefix}_BASE_URL_{len(bases) + 1}"
    if bases[url]:
        mapped.tool["implementation"]["base_url_env"] = bases[url]


def server_name(title: str) -> str:
    """kebab-case of the document's title: `Swagger Petstore` → swagger-petstore."""
    name = re.sub(r"-+", "-", snake(title).replace("_", "-")).strip("-")[:64].strip("-")
    if not name or not name[0].isalpha():
        name = f"api-{name}".strip("-") if name else "openapi-server"
    return name


__all__ = [
    "Filters",
    "ImportOptions",
    "ImportReport",
    "ImportResult",
    "Operation",
    "TooManyOperations",
    "import_openapi",
]
