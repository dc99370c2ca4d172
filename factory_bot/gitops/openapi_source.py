"""Specs imported from an OpenAPI document committed in the repository: a change to the document is a change
to its server (the review rebuilds it), and a spec the document has moved away from is named, with the
re-import that brings it up to date and the tools it would add, change or remove."""

from __future__ import annotations

from pathlib import Path

from factory_bot.errors import FactoryError
from factory_bot.spec.loader import load_spec_file


def document_of(tree: Path, name: str) -> Path | None:
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
    document = document_of(tree, name)
    if document is None:
        return None
    from factory_bot.importers.openapi.curation import update

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
