"""The shared Node toolchain: pinned SDK, zod, TypeScript, esbuild and @types/node, installed once and reused.

Installing node_modules per server costs seconds; one toolchain per lockfile, cached and linked into every
build, costs nothing after the first run. The cache key is the lockfile's hash, so changing a pin installs a
fresh toolchain beside the old one instead of mutating it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from factory_bot import proc
from factory_bot.build import toolchain_integrity as integrity
from factory_bot.errors import CommandError, ToolchainError

MANIFEST_DIR = Path(__file__).parent / "toolchain"
MIN_NODE_MAJOR = 20
Progress = Callable[[str], None]


def cache_root() -> Path:
    """Where toolchains live: $FACTORY_BOT_CACHE, else $XDG_CACHE_HOME/mcp-factory, else ~/.cache/mcp-factory."""
    if os.environ.get("FACTORY_BOT_CACHE"):
        return Path(os.environ["FACTORY_BOT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mcp-factory"


def manifest() -> dict:
    return json.loads((MANIFEST_DIR / "package.json").read_text())


def lockfile() -> dict:
    return json.loads((MANIFEST_DIR / "package-lock.json").read_text())


def lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((MANIFEST_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def pinned_versions() -> dict[str, str]:
    """Package → exact version of everything a generated server is built with."""
    return dict(manifest()["devDependencies"])


@dataclass(frozen=True)
class Toolchain:
    """An installed toolchain directory (holding node_modules)."""

    root: Path

    @property
    def node_modules(self) -> Path:
        return self.root / "node_modules"

    @cached_property
    def tsc(self) -> list[str]:
        # TS 7's `tsc` is a node shim around a native binary; calling the binary saves a node start.
        native = self.node_modules / "@typescript" / f"typescript-{_platform()}" / "lib" / "tsc"
        return [str(native)] if native.exists() else [str(self.node_modules / ".bin" / "tsc")]

    @cached_property
    def tsc_flags(self) -> list[str]:
        """Flags for checking one small project: TS 7's native compiler takes --singleThreaded."""
        return ["--singleThreaded"] if "typescript-" in self.tsc[0] else []

    @cached_property
    def esbuild(self) -> list[str]:
        native = self.node_modules / "@esbuild" / _platform() / "bin" / "esbuild"
        return [str(native)] if native.exists() else [str(self.node_modules / ".bin" / "esbuild")]

    def unchanged(self) -> bool:
        """The cheap check again (a few ms): nothing was written to the toolchain since `ensure()`."""
        return integrity.verify(self.root, lockfile()).ok

    def link_into(self, server_dir: Path) -> None:
        """Give a server directory the toolchain's node_modules (a symlink; never packed)."""
        link = server_dir / "node_modules"
        if link.is_symlink() and link.resolve() == self.node_modules.resolve():
            return
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.exists():
            shutil.rmtree(link)
        link.symlink_to(self.node_modules, target_is_directory=True)


def _platform() -> str:
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    return f"{sys.platform}-{machine}"


NODE_INSTALL_HINT = (
    f"install Node.js {MIN_NODE_MAJOR} or newer with npm (https://nodejs.org, or e.g. `apt-get install nodejs npm`) "
    "and put both on PATH"
)


def require_node() -> None:
    """Node and npm are on PATH, or ToolchainError (exit 3) saying what to install; cheap (no process starts)."""
    missing = [name for name in ("node", "npm") if shutil.which(name) is None]
    if missing:
        raise ToolchainError(
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed or not on PATH",
            hint=NODE_INSTALL_HINT,
        )


def check_node() -> str:
    """The node version, or ToolchainError saying how to get a supported one."""
    try:
        out = proc.run(["node", "--version"], timeout=20).stdout.strip()
    except CommandError as exc:
        raise ToolchainError("node is not installed or not on PATH", hint=NODE_INSTALL_HINT) from exc
    major = int(out.lstrip("v").split(".")[0])
    if major < MIN_NODE_MAJOR:
        raise ToolchainError(f"node {out} is too old", hint=NODE_INSTALL_HINT)
    return out


def ensure(progress: Progress | None = None) -> Toolchain:
    """Return the installed toolchain, verified against the manifest recorded at install; installs it (once,
    under a lock) when missing, and reinstalls it when it was changed since."""
    say = progress or (lambda _msg: None)
    require_node()  # every build packs and installs with npm and runs node: say so before anything starts
    root = cache_root() / f"toolchain-{lock_hash()}"
    toolchain = Toolchain(root)
    if (root / ".complete").exists():
        verdict = integrity.verify(root, lockfile())
        if verdict.ok and not verdict.restat:
            return toolchain
        if not verdict.ok and not verdict.missing_manifest:
            _warn_tampered(say, root, verdict)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent builds wait for one install instead of racing
        verdict = integrity.verify(root, lockfile()) if (root / ".complete").exists() else None
        if verdict is not None and verdict.ok:
            integrity.refresh_stamps(root, verdict.restat)  # a copy or a restored cache: same contents
            return toolchain
        check_node()
        started = time.monotonic()
        if verdict is not None and verdict.missing_manifest:
            # Installed by a factory-bot that kept no manifest: compare it with a fresh install.
            say(f"the toolchain in {root} has no content manifest; comparing it with a fresh install…")
            staging = _install(root)
            fresh = integrity.load(staging)
            if fresh is not None and integrity.same_contents(integrity.describe(root), fresh):
                shutil.rmtree(staging, ignore_errors=True)
                integrity.record(root)
                say(f"toolchain verified against a fresh install in {time.monotonic() - started:.1f} s")
                return toolchain
            verdict.missing_manifest = False
            verdict.changed = ["(differs from a fresh install of the lockfile)"]
            _warn_tampered(say, root, verdict)
        else:
            say(
                f"reinstalling the Node toolchain into {root} from the lockfile…"
                if verdict is not None
                else f"installing the shared Node toolchain into {root} (first run only)…"
            )
            staging = _install(root)
            if verdict is None:
                shutil.rmtree(root, ignore_errors=True)  # an install that never finished
        if root.exists():
            aside = root.parent / f"{root.name}.tampered-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
            root.rename(aside)
            say(f"moved the changed toolchain aside to {aside} (`factory-bot cleanup --apply` removes it)")
        staging.rename(root)
        say(f"toolchain ready in {time.monotonic() - started:.1f} s")
    return toolchain


def _warn_tampered(say: Progress, root: Path, verdict: integrity.Verdict) -> None:
    say(
        f"warning: the toolchain in {root} changed since it was installed; it will not be used: "
        + "; ".join(verdict.problems())
        + ". Reinstalling it from the lockfile."
    )


def _install(root: Path) -> Path:
    """npm ci of the lockfile into a staging directory beside root, recorded in its manifest."""
    staging = root.parent / f"{root.name}.staging-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for name in ("package.json", "package-lock.json"):
        shutil.copy(MANIFEST_DIR / name, staging / name)
    try:
        # --ignore-scripts: nothing in the toolchain needs an install script, and none should run.
        # --prefer-offline: a tarball already in npm's cache is used without asking the registry again (the
        # lockfile's integrity hash still checks it); a fresh machine fetches as before: ~0.9 s less CPU an install.
        proc.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--loglevel=error"],
            cwd=staging,
            timeout=600,
            hint="npm could not install the toolchain; check that the npm registry is reachable",
        )
    except CommandError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolchainError(
            f"could not install the Node toolchain: {exc.message}",
            hint=f"check that the npm registry is reachable, or remove {root} and run `factory-bot toolchain` again",
        ) from exc
    problems = integrity.version_problems(staging, lockfile())
    if problems:
        shutil.rmtree(staging, ignore_errors=True)
        raise ToolchainError(
            "npm installed versions the lockfile does not pin: " + "; ".join(problems),
            hint="check factory_bot/build/toolchain/package-lock.json and the npm registry",
        )
    (staging / ".complete").write_text(json.dumps(pinned_versions(), indent=2))
    integrity.record(staging)
    return staging


def verify(*, full: bool = True) -> integrity.Verdict:
    """Check the installed toolchain without changing anything (`factory-bot toolchain --verify`)."""
    return integrity.verify(cache_root() / f"toolchain-{lock_hash()}", lockfile(), full=full)
