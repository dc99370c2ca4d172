"""Specs imported from an OpenAPI document: `update` re-imports one keeping its curation (importers/openapi/
curation.py reads the edits) and proposes the version; in the repository, a change to a committed document is
a change to its server (the review rebuilds it), and a spec the document has moved away from is named, with
the re-import that brings it up to date and the tools it would add, change or remove."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from factory_bot.errors import FactoryError, OpenAPIError
from factory_bot.forge import git as gitrepo
from factory_bot.gitops import versioning
from factory_bot.importers.openapi import ImportResult, import_openapi
from factory_bot.importers.openapi.curation import (
    KEPT_FIELDS,
    document_of,
    hand_written,
    options_for,
    read_edits,
    recorded,
)
from factory_bot.spec.loader import dump_spec, load_spec_file, validate_data
from factory_bot.spec.model import ServerSpec
from factory_bot.spec.source import OpenAPISource


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
    """Re-import the spec at `spec_path` from `document` (default: its `source.openapi`), keeping its curation;
    `previous` is the document it was imported from (default: as last committed, when it changed since)."""
    spec = load_spec_file(spec_path)
    if spec.source is None:
        raise OpenAPIError(
            f"{spec_path} has no `source:`, so there is nothing to re-import from",
            hint="import it once with `factory-bot import openapi DOCUMENT --out SPEC`, which writes `source:`",
        )
    spec_dir = spec_path.parent
    document = document or document_of(spec.source, spec_dir)
    baseline = _baseline(spec.source, spec, spec_dir, previous)
    kept: list[str] = []
    source = read_edits(spec, spec.source, baseline, kept)
    source = source.model_copy(update={"openapi": recorded(document, spec_dir)})
    imported = import_openapi(document, options_for(source, spec.name))
    data = imported.spec.model_dump(mode="json", exclude_unset=True)
    data.update(spec.model_dump(mode="json", include=set(KEPT_FIELDS), exclude_unset=True))
    data["tools"] += [t.model_dump(mode="json", exclude_unset=True) for t in hand_written(spec, baseline)]
    data["version"] = spec.version
    new = validate_data(data, source=f"the spec re-imported from {document}")
    proposal = versioning.propose(spec, new)
    if proposal.version:
        new = new.model_copy(update={"version": proposal.version})
    return Update(spec=new, text=dump_spec(new), imported=imported, proposal=proposal, kept=kept)


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
    """The document as last committed, when a clone holds it and it changed since; None otherwise."""
    path = path.resolve()
    root = next((p for p in path.parents if (p / ".git").exists()), None)
    repo = gitrepo.open_clone(root) if root is not None else None
    shown = gitrepo.show(repo, f"HEAD:{path.relative_to(root).as_posix()}") if repo and root else None
    if shown is None or not path.is_file() or shown == path.read_text(encoding="utf-8", errors="replace"):
        return None
    copy = tmp / path.name
    copy.write_text(shown, encoding="utf-8")
    return str(copy)


def committed_document(tree: Path, name: str) -> Path | None:
    """The committed document `specs/<name>.yaml` names in `source.openapi`, relative to the tree; None if none."""
    spec_path = tree / "specs" / f"{name}.yaml"
    try:
        spec = load_spec_file(spec_path) if spec_path.is_file() else None
    except FactoryError:
        return None
    if spec is None or spec.source is None or spec.source.is_url:
        return None
    document = (spec_path.parent / spec.source.openapi).resolve()
    try:
        return document.relative_to(tree.resolve())
    except ValueError:
        return None  # outside the repository: not a document the review can read


def stale_finding(tree: Path, name: str, base: Path | None) -> str | None:
    """Why `specs/<name>.yaml` does not say what its committed document now gives (None when it does)."""
    document = committed_document(tree, name)
    if document is None:
        return None
    spec_path = tree / "specs" / f"{name}.yaml"
    before = base / document if base is not None and (base / document).is_file() else None
    try:
        fresh = update(spec_path, previous=str(before or tree / document))
    except FactoryError as exc:
        return f"source: {document} cannot be re-imported: {exc.message}"
    spec = load_spec_file(spec_path)
    if fresh.spec.model_dump(exclude={"version"}) == spec.model_dump(exclude={"version"}):
        return None
    changes = "; ".join(fresh.changes) or "text only"
    return (
        f"source: {document} changed and specs/{name}.yaml was not re-imported: run `factory-bot import openapi "
        f"--update specs/{name}.yaml` and commit it ({fresh.spec.version}: {changes})"
    )


def with_curation(requested: ServerSpec, previous: ServerSpec, checkout: Path) -> ServerSpec:
    """A server requested again from its document keeps the maintainer's renames and edited texts (read off
    the released spec, as `--update` does); the request's own choice of operations replaces the old one."""
    if requested.source is None or previous.source is None:
        return requested
    specs = checkout / "specs"
    baseline = _baseline(previous.source, previous, specs, None)
    curated = read_edits(previous, previous.source, baseline, [])
    source = requested.source.model_copy(update={"overrides": curated.overrides | requested.source.overrides})
    imported = import_openapi(document_of(source, specs), options_for(source, requested.name))
    return imported.spec.model_copy(update={"version": requested.version})
