"""Drift: where a committed server directory differs from what its spec renders to.

One definition for `validate --server`, the PR review and publishing: an edited, a missing and an extra
file each count (a hand-added `src/extra.ts` is drift, not noise).
"""

from __future__ import annotations

from pathlib import Path

from factory_bot.build.render import render_server
from factory_bot.spec.model import ServerSpec

BUILD_OUTPUTS = ("node_modules", "dist", ".git")


def read_tree(directory: Path, *, skip: tuple[str, ...] = BUILD_OUTPUTS) -> dict[str, str]:
    """Text of every file under `directory`, relative path → text (build outputs skipped)."""
    files: dict[str, str] = {}
    if not directory.is_dir():
        return files
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if path.is_file() and rel.parts[0] not in skip and not path.name.endswith(".tgz"):
            files[rel.as_posix()] = path.read_text(encoding="utf-8", errors="replace")
    return files


def drift(spec: ServerSpec, files: dict[str, str]) -> list[str]:
    """Paths where `files` (a server directory's text) differ from what the spec renders to."""
    expected = render_server(spec)
    problems = [
        f"{rel}: differs from what the spec generates"
        for rel in expected
        if rel in files and files[rel] != expected[rel]
    ]
    problems += [f"{rel}: missing" for rel in expected if rel not in files]
    problems += [f"{rel}: not generated from the spec" for rel in sorted(set(files) - set(expected))]
    return problems


def drift_of(spec: ServerSpec, directory: Path) -> list[str]:
    """`drift` of the server directory on disk."""
    return drift(spec, read_tree(directory))
