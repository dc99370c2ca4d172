"""Incremental builds: a content hash of spec + templates + generator + toolchain decides what to rebuild.

A hit is verified, not assumed: the recorded build must have passed, the .tgz must still hash to the
recorded sha256, and every file of the server source must still hash to what the build wrote.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from factory_bot import __version__
from factory_bot.build import toolchain
from factory_bot.build.package import Package, sha256_of
from factory_bot.build.report import ValidationReport
from factory_bot.spec.model import ServerSpec
from factory_bot.text import templates_dir

# What decides what a build produces or how strictly it is checked, besides the spec and the templates: every
# file of the spec model and of the build (render and its helpers, validation, the sandbox, packing), and the text
# escapes. Whole packages, not a list of modules: a list missed the render helpers (listed_schema, render_schema,
# readme, ...), whose changes then left an earlier build's cache valid. Relative to the factory_bot package.
_GENERATOR_PACKAGES = ("spec", "build")
_GENERATOR_MODULES = ("text.py",)


def generator_sources() -> list[str]:
    """The files (relative to the factory_bot package) whose bytes the generator hash covers."""
    package_dir = Path(__file__).resolve().parents[1]
    found = [
        path.relative_to(package_dir).as_posix()
        for folder in _GENERATOR_PACKAGES
        for path in (package_dir / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    ]
    return sorted(found) + list(_GENERATOR_MODULES)


@lru_cache(maxsize=1)
def generator_hash() -> str:
    """Hash of everything besides the spec that a build's output depends on."""
    digest = hashlib.sha256(f"factory-bot {__version__}\ntoolchain {toolchain.lock_hash()}\n".encode())
    package_dir = Path(__file__).resolve().parents[1]
    for name in generator_sources():
        digest.update(name.encode() + b"\0" + (package_dir / name).read_bytes())
    root = templates_dir()
    for path in sorted(p for p in (root / "server").rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cache_key(spec: ServerSpec) -> str:
    canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(f"{generator_hash()}\n{canonical}".encode()).hexdigest()


def file_hashes(server_dir: Path) -> dict[str, str]:
    """sha256 of every generated file (not node_modules, not dist)."""
    return {
        p.relative_to(server_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(server_dir.rglob("*"))
        if p.is_file() and not {"node_modules", "dist"} & set(p.relative_to(server_dir).parts)
    }


def verified_hit(spec: ServerSpec, out_dir: Path) -> dict[str, Any] | None:
    """The recorded build.json when it is a verified build of exactly this spec, else None."""
    record_path = out_dir / f"{spec.name}.build.json"
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return None
    if not record.get("ok") or record.get("cache_key") != cache_key(spec):
        return None
    tgz = Path(record.get("tgz") or "")
    server_dir = Path(record.get("server_dir") or "")
    if not tgz.is_file() or sha256_of(tgz) != record.get("sha256"):
        return None
    if not server_dir.is_dir() or file_hashes(server_dir) != record.get("files"):
        return None
    return record


def report_from_json(record: dict[str, Any]) -> ValidationReport:
    return ValidationReport.from_json(record["checks"])


def package_from_json(record: dict[str, Any]) -> Package:
    return Package(
        tgz=Path(record["tgz"]),
        sha256=record["sha256"],
        size=record["size"],
        files=record.get("package_files", []),
        snippets=record["snippets"],
    )
