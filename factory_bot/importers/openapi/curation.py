"""Curation that survives a re-import: the spec's `source:` holds the document, the filters and the overrides;
`update` reads the maintainer's edits off the spec (renames, edited titles and descriptions, dropped tools),
keeps them as overrides, re-imports the (changed) document and says which tools were added, changed or
removed and which version that calls for.

The edits are found against a baseline: the tools the previous document gives with the spec's own choices
(gitops/openapi_source.py finds it: the document as last committed when it changed since, else the document).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from factory_bot.importers.openapi import ImportOptions, ImportResult
from factory_bot.importers.openapi.operations import Filters
from factory_bot.spec.model import HttpImplementation, ServerSpec, Tool
from factory_bot.spec.source import OpenAPISource

KEPT_FIELDS = ("description", "instructions", "package", "license", "license_text", "author", "repository")
KEPT_FIELDS += ("homepage", "resources", "resource_templates", "prompts")


def document_of(source: OpenAPISource, spec_dir: Path) -> str:
    """Where the document named by `source.openapi` is: a URL as it is, a path relative to the spec's directory."""
    return source.openapi if source.is_url else str(spec_dir / source.openapi)


def recorded(openapi: str, spec_dir: Path) -> str:
    """`source.openapi` for a document: relative to the spec's directory (committed beside it), or the URL."""
    if "://" in openapi:
        return openapi
    return Path(os.path.relpath(Path(openapi).resolve(), spec_dir.resolve())).as_posix()


def options_for(source: OpenAPISource, name: str, **extra: Any) -> ImportOptions:
    filters = Filters(
        include=tuple(source.include),
        exclude=tuple(source.exclude),
        tags=tuple(source.tags),
        methods=tuple(source.methods),
        include_deprecated=source.include_deprecated,
    )
    return ImportOptions(
        filters=filters,
        name=name,
        base_url=source.base_url,
        bearer_env=source.bearer_env,
        max_tools=source.max_tools,
        allow_url=source.is_url,
        overrides={k: v.model_dump(exclude_none=True) for k, v in source.overrides.items()},
        source=source.model_dump(mode="json", exclude_defaults=True),
        **extra,
    )


def _where(tool: Tool) -> tuple[str, str] | None:
    impl = tool.implementation
    return (impl.method, impl.path) if isinstance(impl, HttpImplementation) else None


def read_edits(
    spec: ServerSpec, source: OpenAPISource, baseline: ImportResult | None, kept: list[str]
) -> OpenAPISource:
    """`source` with the spec's renames, edited texts and dropped tools (against `baseline`) as overrides."""
    if baseline is None:
        return source
    overrides = {k: v.model_dump(exclude_none=True) for k, v in source.overrides.items()}
    exclude = list(source.exclude)
    mine = {_where(t): t for t in spec.tools if _where(t)}
    for tool in baseline.spec.tools:
        key = baseline.keys[tool.name]
        edited = mine.get(_where(tool))
        if edited is None:
            exclude.append(_literal(key))
            kept.append(f"{key}: dropped from the spec, so left out (source.exclude)")
            continue
        for part in ("name", "title", "description"):
            value = getattr(edited, part)
            if value is not None and value != getattr(tool, part):
                overrides.setdefault(key, {})[part] = value
                kept.append(f"{key}: your {part} kept (source.overrides)")
    return OpenAPISource.model_validate(
        source.model_dump(exclude_defaults=True) | {"overrides": overrides, "exclude": list(dict.fromkeys(exclude))}
    )


def hand_written(spec: ServerSpec, baseline: ImportResult | None) -> list[Tool]:
    """The spec's tools that no operation of the baseline gives: the maintainer's own, kept as they are
    (without a baseline, only the code tools can be told apart)."""
    imported = {_where(t) for t in (baseline.spec if baseline else spec).tools}
    return [t for t in spec.tools if _where(t) is None or _where(t) not in imported]


def _literal(key: str) -> str:
    """An operation key as an include/exclude pattern that matches only itself (`[` is a glob character)."""
    return key.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
