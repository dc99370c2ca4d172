"""Curation that survives a re-import: the spec's `source:` holds the document, the filters and the overrides;
`update` reads the maintainer's edits off the spec (renames, edited titles and descriptions, dropped tools),
keeps them as overrides, re-imports the (changed) document and says which tools were added, changed or
removed and which version that calls for.

The edits are found against a baseline: the tools the previous document gives with the spec's own choices
(`previous`: by default the document as last committed when it changed since, else the document itself).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory_bot.errors import OpenAPIError
from factory_bot.gitops import versioning
from factory_bot.importers.openapi import ImportOptions, ImportResult, import_openapi
from factory_bot.importers.openapi.operations import Filters
from factory_bot.spec.loader import dump_spec, load_spec_file, validate_data
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


@dataclass
class Update:
    spec: ServerSpec
    text: str
    imported: ImportResult
    proposal: versioning.Proposal
    kept: list[str] = field(default_factory=list)  # the maintainer's choices read off the spec, one line each

    @property
    def changes(self) -> list[str]:
        return self.proposal.reasons


def update(spec_path: Path, document: str | None = None, previous: str | None = None) -> Update:
    """Re-import the spec at `spec_path` from `document` (default: its `source.openapi`), keeping its curation."""
    spec = load_spec_file(spec_path)
    if spec.source is None:
        raise OpenAPIError(
            f"{spec_path} has no `source:`, so there is nothing to re-import from",
            hint="import it once with `factory-bot import openapi DOCUMENT --out SPEC`, which writes `source:`",
        )
    spec_dir = spec_path.parent
    source = spec.source
    document = document or document_of(source, spec_dir)
    baseline = _baseline(source, spec, spec_dir, previous)
    kept: list[str] = []
    source = _read_edits(spec, source, baseline, kept)
    source = source.model_copy(update={"openapi": recorded(document, spec_dir)})
    imported = import_openapi(document, options_for(source, spec.name))
    data = imported.spec.model_dump(mode="json", exclude_unset=True)
    data.update(spec.model_dump(mode="json", include=set(KEPT_FIELDS), exclude_unset=True))
    data["tools"] += [t.model_dump(mode="json", exclude_unset=True) for t in _hand_written(spec, baseline)]
    data["version"] = spec.version
    new = validate_data(data, source=f"the spec re-imported from {document}")
    proposal = versioning.propose(spec, new)
    if proposal.version:
        new = new.model_copy(update={"version": proposal.version})
    return Update(spec=new, text=dump_spec(new), imported=imported, proposal=proposal, kept=kept)


def _where(tool: Tool) -> tuple[str, str] | None:
    impl = tool.implementation
    return (impl.method, impl.path) if isinstance(impl, HttpImplementation) else None


def _read_edits(spec: ServerSpec, source: OpenAPISource, baseline: ImportResult | None, kept: list[str]):
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


def _hand_written(spec: ServerSpec, baseline: ImportResult | None) -> list[Tool]:
    """The spec's tools that no operation of the baseline gives: the maintainer's own, kept as they are."""
    imported = {_where(t) for t in baseline.spec.tools} if baseline else set()
    if baseline is None:
        imported = {_where(t) for t in spec.tools if _where(t)}
    return [t for t in spec.tools if _where(t) is None or _where(t) not in imported]


def _literal(key: str) -> str:
    """An operation key as an include/exclude pattern that matches only itself (`[` is a glob character)."""
    return key.replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")


def _baseline(source: OpenAPISource, spec: ServerSpec, spec_dir: Path, previous: str | None) -> ImportResult | None:
    """The tools the previous document gives with the spec's choices; None when it cannot be read."""
    where = document_of(source, spec_dir)
    with tempfile.TemporaryDirectory(prefix="factory-openapi-") as tmp:
        if previous is None and not source.is_url:
            previous = _committed(Path(where), Path(tmp))
        try:
            return import_openapi(previous or where, options_for(source, spec.name))
        except OpenAPIError:
            return None


def _committed(path: Path, tmp: Path) -> str | None:
    """The document as last committed, when git tracks it and it changed since; None otherwise."""
    run = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=path.parent, capture_output=True, text=False, check=False
    )
    shown = run("show", f"HEAD:./{path.name}")
    if shown.returncode != 0 or not path.is_file() or shown.stdout == path.read_bytes():
        return None
    copy = tmp / path.name
    copy.write_bytes(shown.stdout)
    return str(copy)
