"""The document's operations, the user's filters over them (tags, methods, include/exclude patterns, deprecated),
and each one's tool name (from operationId, else method + path; our naming rule; unique; at most 64)."""

from __future__ import annotations

import fnmatch
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from factory_bot.importers.openapi.texts import snake
from factory_bot.spec.params import MAX_NAME

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str
    node: dict[str, Any]
    path_item: dict[str, Any]

    @property
    def operation_id(self) -> str:
        value = self.node.get("operationId")
        return value if isinstance(value, str) else ""

    @property
    def tags(self) -> list[str]:
        tags = self.node.get("tags")
        return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []

    @property
    def deprecated(self) -> bool:
        return self.node.get("deprecated") is True

    @property
    def label(self) -> str:
        """How reports name it: `GET /pet/{petId} (getPetById)`."""
        return f"{self.method} {self.path}" + (f" ({self.operation_id})" if self.operation_id else "")

    @property
    def where(self) -> str:
        return f"paths.{self.path}.{self.method.lower()}"


@dataclass(frozen=True)
class Filters:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    include_deprecated: bool = False


@dataclass
class Selection:
    total: int
    matched: list[Operation]
    deprecated: list[Operation] = field(default_factory=list)  # matched, left out as deprecated

    def tag_counts(self) -> list[tuple[str, int]]:
        counts = Counter(tag for op in self.matched for tag in (op.tags or ["(no tag)"]))
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def operations(paths: dict[str, Any], deref) -> list[Operation]:
    """Every operation, in document order; `deref` resolves a path item given as a `$ref`."""
    found = []
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        item = deref(item)
        if not isinstance(item, dict):
            continue
        for method, node in item.items():  # the document's order
            if method in METHODS and isinstance(node, dict):
                found.append(Operation(method.upper(), path, node, item))
    return found


def select(ops: list[Operation], filters: Filters) -> Selection:
    tags = {t.lower() for t in filters.tags}
    methods = {m.upper() for m in filters.methods}
    chosen, deprecated = [], []
    for op in ops:
        if tags and not tags & {t.lower() for t in op.tags}:
            continue
        if methods and op.method not in methods:
            continue
        if filters.include and not any(_matches(op, p) for p in filters.include):
            continue
        if any(_matches(op, p) for p in filters.exclude):
            continue
        (deprecated if op.deprecated and not filters.include_deprecated else chosen).append(op)
    return Selection(total=len(ops), matched=chosen, deprecated=deprecated)


def _matches(op: Operation, pattern: str) -> bool:
    """A pattern names an operation by its operationId, its tool name, `METHOD /path` or `/path` (globs)."""
    candidates = [op.operation_id, base_name(op), f"{op.method} {op.path}", op.path]
    if " " in pattern:
        method, _, rest = pattern.partition(" ")
        pattern = f"{method.upper()} {rest.strip()}"
    return any(c and fnmatch.fnmatchcase(c, pattern) for c in candidates)


def op_key(op: Operation) -> str:
    """How `source.overrides` names an operation: its operationId, else `METHOD /path`."""
    return op.operation_id or f"{op.method} {op.path}"


def base_name(op: Operation) -> str:
    """The tool name before uniqueness: snake_case of the operationId, else of method + path."""
    if op.operation_id:
        name = snake(op.operation_id)
    else:
        parts = [op.method.lower()]
        for segment in op.path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                parts.append("by_" + snake(segment[1:-1]))
            elif segment:
                parts.append(snake(segment))
        name = "_".join(p for p in parts if p)
    if not name or not name[0].isalpha():
        name = f"op_{name}" if name else "op"
    return name


def tool_names(ops: list[Operation]) -> dict[int, str]:
    """A unique name of at most MAX_NAME characters per operation (keyed by its index in `ops`)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for index, op in enumerate(ops):
        name = base_name(op)
        if len(name) > MAX_NAME:  # keep the start readable, and a short hash of the whole for uniqueness
            digest = hashlib.sha256(name.encode()).hexdigest()[:6]
            name = f"{name[: MAX_NAME - 7].rstrip('_')}_{digest}"
        candidate, counter = name, 2
        while candidate in taken:
            suffix = f"_{counter}"
            candidate = f"{name[: MAX_NAME - len(suffix)]}{suffix}"
            counter += 1
        taken.add(candidate)
        names[index] = candidate
    return names
