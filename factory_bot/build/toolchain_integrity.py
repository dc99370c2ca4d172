"""Is the installed toolchain still exactly what `npm ci` put there? Recorded once, checked before every use.

Right after `npm ci` (which checked every tarball against the lockfile's integrity hashes) the install is
recorded in `.manifest.json`: per file its path, size, mode and sha256, plus the stat data that changes
whenever a file is rewritten — mtime can be set back by anyone, ctime and the inode cannot. Every use runs
the cheap check: one directory walk, comparing stat data (a few ms for ~1,650 files); a file whose stat
data moved is hashed, so a copied or restored cache costs one hash pass and then is cheap again. The full
check (`factory-bot toolchain --verify`) hashes every file. Both also catch files added or removed and a
top-level package whose package.json is not the locked version.

The limit: someone who can write the cache as the same user can rewrite the manifest too. The sandbox keeps
generated code from writing the cache, and CI jobs that publish restore no cache at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".manifest.json"
NOT_RECORDED = {".complete", MANIFEST}  # the bookkeeping files beside node_modules
FORMAT = 1


@dataclass
class Verdict:
    """What one check found; `ok` when the toolchain may be used."""

    files: int = 0
    bytes: int = 0
    hashed: int = 0  # files whose contents were read (all of them in a full check)
    seconds: float = 0.0
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # "zod is 4.0.0, the lockfile pins 4.6.7"
    restat: dict[str, list[int]] = field(default_factory=dict)  # same contents, new stat data (a copy)
    missing_manifest: bool = False

    @property
    def ok(self) -> bool:
        return not (self.changed or self.added or self.removed or self.versions or self.missing_manifest)

    def problems(self, limit: int = 8) -> list[str]:
        """One line per kind of change, naming the files (capped)."""

        def names(paths: list[str]) -> str:
            more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
            return ", ".join(sorted(paths)[:limit]) + more

        lines = []
        if self.missing_manifest:
            lines.append("no content manifest was recorded at install")
        if self.changed:
            lines.append(f"changed: {names(self.changed)}")
        if self.added:
            lines.append(f"added: {names(self.added)}")
        if self.removed:
            lines.append(f"removed: {names(self.removed)}")
        lines += self.versions
        return lines

    def summary(self) -> str:
        what = "hashed every file" if self.hashed == self.files else f"stat check, {self.hashed} files hashed"
        return f"{self.files} files, {self.bytes / 1e6:.1f} MB, {what}, {self.seconds * 1000:.0f} ms"


def _scan(root: Path) -> dict[str, os.stat_result]:
    """Every file and symlink under root (relative path → lstat), the bookkeeping files left out."""
    found: dict[str, os.stat_result] = {}

    def walk(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    walk(entry.path, rel + "/")
                elif rel not in NOT_RECORDED:
                    found[rel] = info

    walk(str(root), "")
    return found


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _content(root: Path, rel: str, info: os.stat_result) -> str:
    """A file's sha256, or `link:<target>` for a symlink."""
    path = root / rel
    return f"link:{os.readlink(path)}" if stat.S_ISLNK(info.st_mode) else _sha256(path)


def _stamp(info: os.stat_result) -> list[int]:
    return [info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def describe(root: Path) -> dict:
    """The manifest of the install under root as it is now (every file hashed)."""
    files = {
        rel: {"size": info.st_size, "mode": info.st_mode, "sha256": _content(root, rel, info), "stamp": _stamp(info)}
        for rel, info in sorted(_scan(root).items())
    }
    return {"format": FORMAT, "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}


def record(root: Path, data: dict | None = None) -> dict:
    """Write root's manifest (atomically): call right after `npm ci`, which checked the lockfile's hashes."""
    data = data or describe(root)
    _write(root, data)
    return data


def _write(root: Path, data: dict) -> None:
    staging = root / f"{MANIFEST}.{os.getpid()}"
    staging.write_text(json.dumps(data, separators=(",", ":")))
    staging.replace(root / MANIFEST)


def load(root: Path) -> dict | None:
    try:
        data = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return (
        data
        if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("files"), dict)
        else None
    )


def verify(root: Path, lock: dict, *, full: bool = False) -> Verdict:
    """Compare the install with its manifest: stat data (hashing only files whose stat moved), or every
    file's sha256 with full=True. `lock` is the toolchain's package-lock.json."""
    started = time.monotonic()
    verdict = Verdict()
    manifest = load(root)
    if manifest is None:
        verdict.missing_manifest = True
        return verdict
    recorded: dict[str, dict] = manifest["files"]
    present = _scan(root) if root.is_dir() else {}
    verdict.files = len(present)
    verdict.added = sorted(set(present) - set(recorded))
    verdict.removed = sorted(set(recorded) - set(present))
    for rel, info in present.items():
        expected = recorded.get(rel)
        if expected is None:
            continue
        verdict.bytes += info.st_size
        if info.st_size != expected["size"] or info.st_mode != expected["mode"]:
            verdict.changed.append(rel)
            continue
        if not full and _stamp(info) == expected["stamp"]:
            continue
        verdict.hashed += 1
        if _content(root, rel, info) != expected["sha256"]:
            verdict.changed.append(rel)
        elif _stamp(info) != expected["stamp"]:
            verdict.restat[rel] = _stamp(info)
    verdict.versions = version_problems(root, lock)
    verdict.seconds = time.monotonic() - started
    return verdict


def version_problems(root: Path, lock: dict) -> list[str]:
    """Each top-level package of the lockfile is installed at its locked version."""
    problems = []
    for key, entry in lock.get("packages", {}).items():
        if not key.startswith("node_modules/") or "/node_modules/" in key[len("node_modules/") :]:
            continue
        name = key[len("node_modules/") :]
        path = root / key / "package.json"
        if not path.is_file():
            if not entry.get("optional"):  # platform binaries of other systems are never installed
                problems.append(f"{name} is not installed (the lockfile pins {entry.get('version')})")
            continue
        try:
            version = json.loads(path.read_text()).get("version")
        except ValueError:
            version = "unreadable"
        if version != entry.get("version"):
            problems.append(f"{name} is {version}, the lockfile pins {entry.get('version')}")
    return problems


def refresh_stamps(root: Path, restat: dict[str, list[int]]) -> None:
    """Accept new stat data for files whose contents were just found unchanged (a copy or a restore)."""
    manifest = load(root)
    if manifest is None or not restat:
        return
    for rel, stamp in restat.items():
        if rel in manifest["files"]:
            manifest["files"][rel]["stamp"] = stamp
    _write(root, manifest)


def same_contents(a: dict, b: dict) -> bool:
    """Two manifests describe the same files with the same contents and modes."""

    def shape(data: dict) -> dict:
        return {rel: (e["size"], e["mode"], e["sha256"]) for rel, e in data["files"].items()}

    return shape(a) == shape(b)
