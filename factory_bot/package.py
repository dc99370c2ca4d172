"""Server dir → `<name>-<version>.tgz` (npm pack), its sha256, and client config snippets."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from . import clients, proc
from .spec import ServerSpec


@dataclass(frozen=True)
class Package:
    tgz: Path
    sha256: str
    size: int
    files: list[str]
    snippets: dict[str, str]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pack(spec: ServerSpec, server_dir: Path, out_dir: Path) -> Package:
    """Run `npm pack` (no scripts: dist/ is already built) and describe the result."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = proc.run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", str(out_dir.resolve()),
                       "--loglevel=error"], cwd=server_dir, timeout=120,
                      hint="npm pack failed; run `npm pack` in the server directory to see why")
    info = json.loads(result.stdout[result.stdout.index("["):])[0]
    tgz = out_dir / info["filename"]
    return Package(tgz=tgz, sha256=sha256_of(tgz), size=tgz.stat().st_size,
                   files=sorted(f["path"] for f in info["files"]), snippets=clients.snippets(spec))


def write_checksum(package: Package) -> Path:
    """`<tgz>.sha256` in the format `sha256sum -c` reads."""
    path = package.tgz.with_name(package.tgz.name + ".sha256")
    path.write_text(f"{package.sha256}  {package.tgz.name}\n")
    return path
