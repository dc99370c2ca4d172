"""An issue that names an OpenAPI document ("OpenAPI document: path or URL", "Which operations") is imported
with no model call: the path is read from the repository (never outside it), a URL only from a public host.
The spec records the document relative to `specs/` and the operations as its filters, so the re-import and
the review keep following the document."""

from __future__ import annotations

import re
from pathlib import Path

from factory_bot.errors import RequestError
from factory_bot.importers.openapi import ImportOptions, import_openapi
from factory_bot.importers.openapi.operations import Filters
from factory_bot.parse.result import ParseResult

LISTED = re.compile(r"^\s*(tags?|methods?)\s*:\s*(.+)$", re.IGNORECASE)


def import_requested(document: str, operations: str, name: str | None, root: Path) -> ParseResult:
    """The spec of the operations an issue asks for (all of them when it names none, within the tool limit)."""
    document = document.strip().strip("`").strip()
    if "\n" in document or not document:
        raise RequestError("the OpenAPI document field holds more than one line", hint="give one path or URL")
    include, tags, methods = _operations(operations)
    url = document.startswith(("http://", "https://"))
    source = document if url else str(_inside(root, document))
    recorded = document if url else Path("..", _inside(root, document).relative_to(root.resolve())).as_posix()
    fields = {"openapi": recorded, "include": include, "tags": tags, "methods": methods}
    options = ImportOptions(
        filters=Filters(include=tuple(include), tags=tuple(tags), methods=tuple(methods)),
        name=name,
        allow_url=url,
        source={k: v for k, v in fields.items() if v},
    )
    return ParseResult(spec=import_openapi(source, options).spec, source="openapi")


def _inside(root: Path, document: str) -> Path:
    """The document's path in the repository; refused when it leaves it (absolute, `..`, a symlink out)."""
    path = (root / document).resolve()
    if Path(document).is_absolute() or not path.is_relative_to(root.resolve()):
        raise RequestError(
            f"the OpenAPI document {document!r} is not a path inside this repository",
            hint="commit the document (e.g. openapi/petstore.json) and give its path from the repository root",
        )
    return path


def _operations(text: str) -> tuple[list[str], list[str], list[str]]:
    """Patterns (operationId, tool name, 'GET /path', globs), one a line or comma-separated; `tags: a, b` and
    `methods: GET` lines narrow by tag and method."""
    include, tags, methods = [], [], []
    for line in text.splitlines():
        line = line.strip().lstrip("-*").strip().strip("`")
        if not line or line == "_No response_":
            continue
        listed = LISTED.match(line)
        if listed:
            words = [w.strip() for w in listed.group(2).split(",") if w.strip()]
            (tags if listed.group(1).lower().startswith("tag") else methods).extend(words)
            continue
        include += [p.strip() for p in line.split(",") if p.strip()]
    return include, tags, methods
