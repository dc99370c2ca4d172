"""Which files `npm pack` puts in a server's package, read from its package.json without starting npm.

npm's rules (npm-packlist) are many; this module knows the few a generated server meets and answers only for
a plain tree: `files` names plain paths (no globs, no `!`), every file under them is a regular file that no npm
rule drops, and nothing at the root that npm would add by itself is left out of `files`. For anything else it
answers None, and the caller asks npm. A test runs the real `npm pack` on every bundled spec's server and gets
the same list and the same bytes.
"""

from __future__ import annotations

import json
import re
import stat
from dataclasses import dataclass
from pathlib import Path

# npm adds these from the package root whatever `files` says (README*, LICENSE*, LICENCE*, COPYING*).
_ALWAYS = re.compile(r"^(readme|license|licence|copying)(\..*)?$", re.IGNORECASE)
# Names npm drops, or treats by rules of their own, anywhere in the tree: met in an included folder, the
# answer is npm's to give (ignore files, VCS folders, editor and OS litter, nested packages).
_NOT_PLAIN = re.compile(
    r"^(\.npmignore|\.gitignore|\.git|\.svn|\.hg|CVS|\.DS_Store|\._.*|.*\.orig|\..*\.swp|npm-debug\.log"
    r"|\.npmrc|\.lock-wscript|\.wafpickle-\d+|config\.gypi|node_modules|package\.json|package-lock\.json"
    r"|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|archived-packages)$"
)
_GLOB = re.compile(r"[*?\[\]{}!\\]")


@dataclass(frozen=True)
class Entry:
    path: str  # inside `package/`
    source: Path
    executable: bool


def packlist(server_dir: Path) -> list[Entry] | None:
    """The files `npm pack` would take from server_dir, sorted; None when the tree is not plain (ask npm)."""
    try:
        manifest = json.loads((server_dir / "package.json").read_text())
    except (OSError, ValueError):
        return None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    if any(manifest.get(key) for key in ("bundleDependencies", "bundledDependencies", "workspaces")):
        return None
    bins = manifest.get("bin")
    bin_paths = set((bins.values() if isinstance(bins, dict) else [bins]) if bins else [])
    if not all(isinstance(b, str) for b in bin_paths):
        return None
    found: dict[str, Path] = {"package.json": server_dir / "package.json"}
    for item in files:
        name = item.removeprefix("./").rstrip("/")
        parts = name.split("/")
        if not name or _GLOB.search(name) or any(p in ("", ".", "..") or _NOT_PLAIN.match(p) for p in parts):
            return None
        if not _collect(server_dir / name, name, found):
            return None
    for entry in server_dir.iterdir():
        if _ALWAYS.match(entry.name) and entry.name not in found:
            return None  # npm would add it by its own rules (and case-insensitively): its answer, not ours
    bin_paths = {b.removeprefix("./") for b in bin_paths}
    if not bin_paths <= set(found):
        return None  # npm always packs a bin target; one outside `files` is a rule we do not repeat
    if manifest.get("main") and str(manifest["main"]).removeprefix("./") not in found:
        return None
    # npm marks a bin target executable, and keeps the execute bits of any other file.
    return [
        Entry(path, source, path in bin_paths or bool(source.lstat().st_mode & 0o111))
        for path, source in sorted(found.items())
    ]


def _collect(path: Path, name: str, found: dict[str, Path]) -> bool:
    """Add the regular files at or under path; False when something there is not plain."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return True  # npm skips a `files` entry that matches nothing
    if stat.S_ISREG(mode):
        found[name] = path
        return True
    if not stat.S_ISDIR(mode):
        return False  # a link, a socket, a device: npm's rules for those are its own
    for child in path.iterdir():
        if _NOT_PLAIN.match(child.name) or not _collect(child, f"{name}/{child.name}", found):
            return False
    return True
