"""Spec → package by steps that run none of the generated code: render, esbuild bundle, pack (`npm pack`'s files).

The build pipeline makes its package here, and so does every stage that publishes (the PR's checksum, the
release asset): the same spec and toolchain give the same bytes in any directory, with any cache location,
umask or clock. A publish stage compares its own bytes with what the build job (where generated code ran)
reported, and refuses a difference as possible tampering.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from factory_bot.build import code_shape, static_checks, toolchain
from factory_bot.build.package import Package, pack
from factory_bot.build.render import write_server
from factory_bot.build.report import Check
from factory_bot.errors import CommandError, IntegrityError, SpecError
from factory_bot.spec.model import ServerSpec

# Every script npm runs by itself around install, pack or publish (docs.npmjs.com/cli/using-npm/scripts).
LIFECYCLE_SCRIPTS = frozenset(
    {
        "preinstall",
        "install",
        "postinstall",
        "preuninstall",
        "uninstall",
        "postuninstall",
        "prepublish",
        "preprepare",
        "prepare",
        "postprepare",
        "prepublishOnly",
        "publish",
        "postpublish",
        "prepack",
        "pack",
        "postpack",
        "dependencies",
        "prerestart",
        "restart",
        "postrestart",
        "preversion",
        "version",
        "postversion",
        "preshrinkwrap",
        "shrinkwrap",
        "postshrinkwrap",
    }
)


@dataclass(frozen=True)
class Made:
    """What make_package produced: the server source, the bundle check, and the package (None if it failed)."""

    spec: ServerSpec
    server_dir: Path
    bundle: Check
    package: Package | None
    failure: Check | None  # npm pack failed (the bundle itself did not)
    seconds: float

    @property
    def sha256(self) -> str | None:
        return self.package.sha256 if self.package else None


def make_package(
    spec: ServerSpec,
    out_dir: Path,
    *,
    tools: toolchain.Toolchain | None = None,
    progress: Callable[[str], None] | None = None,
) -> Made:
    """Render `spec` into out_dir/<name>, bundle it and pack it into out_dir; nothing generated runs.

    The server directory is rendered afresh (anything else in it but the node_modules link is removed), so
    leftovers of an earlier build can never reach the package. Raises SpecError when a code body leaves its
    function (and leaves nothing behind), IntegrityError when the package would carry an install script.
    """
    started = time.monotonic()
    out_dir = Path(out_dir).resolve()
    server_dir = out_dir / spec.name
    tools = tools or toolchain.ensure(progress=progress)
    # TypeScript's parser checks that each code body stays inside its function while render, esbuild and npm
    # pack go on: a body that closes its function would put code at the top level of every server process.
    shape = code_shape.start(spec, tools)
    try:
        made = _make(spec, out_dir, server_dir, tools, started)
        shape.refuse_if_broken()
    except SpecError:
        (out_dir / f"{spec.name}-{spec.version}.tgz").unlink(missing_ok=True)
        shutil.rmtree(server_dir, ignore_errors=True)
        raise
    if made.package is not None:
        refuse_install_scripts(spec, made.package.tgz)
    return made


def _make(spec: ServerSpec, out_dir: Path, server_dir: Path, tools: toolchain.Toolchain, started: float) -> Made:
    if server_dir.is_dir():
        for entry in server_dir.iterdir():
            if entry.name == "node_modules":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    write_server(spec, server_dir)
    tools.link_into(server_dir)
    (out_dir / f"{spec.name}-{spec.version}.tgz").unlink(missing_ok=True)
    bundled = static_checks.bundle(tools, server_dir)
    if not bundled.ok:
        return Made(spec, server_dir, bundled, None, None, time.monotonic() - started)
    mark = time.monotonic()
    try:
        package = pack(spec, server_dir, out_dir)
    except CommandError as exc:
        failure = Check(
            "installed-bin", False, time.monotonic() - mark, "npm pack failed", details=[exc.output[-1500:]]
        )
        return Made(spec, server_dir, bundled, None, failure, time.monotonic() - started)
    return Made(spec, server_dir, bundled, package, None, time.monotonic() - started)


def manifest_in(tgz: Path) -> dict:
    """The package.json inside a .tgz, as npm will read it when installing."""
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/package.json")
        data = json.loads(member.read()) if member else None
    if not isinstance(data, dict):
        raise IntegrityError(
            f"{tgz.name} has no readable package/package.json",
            hint="rebuild it; a package npm cannot read is never published",
        )
    return data


def refuse_install_scripts(spec: ServerSpec, tgz: Path) -> None:
    """A package whose package.json names a lifecycle script (npm would run it on install) is never made."""
    manifest = manifest_in(tgz)
    scripts = manifest.get("scripts") or {}
    found = sorted(name for name in scripts if name in LIFECYCLE_SCRIPTS) if isinstance(scripts, dict) else ["?"]
    with tarfile.open(tgz) as archive:
        if "package/binding.gyp" in archive.getnames() or manifest.get("gypfile"):
            found.append("install (npm's default `node-gyp rebuild` for a binding.gyp)")
    if found:
        raise IntegrityError(
            f"{tgz.name} declares the install-time script(s) {', '.join(found)}: npm would run "
            "them on the user's machine, so the package is refused",
            hint="generated servers never need install scripts; remove them from templates/server/package.json.j2",
        )
    if (manifest.get("name"), manifest.get("version")) != (spec.npm_package, spec.version):
        raise IntegrityError(
            f"{tgz.name} holds {manifest.get('name')} {manifest.get('version')}, not {spec.npm_package} {spec.version}",
            hint="rebuild it from the spec",
        )


def compare(made: Made, claimed_sha256: str, *, where: str) -> Package:
    """The trusted package when the build job's reported sha256 is its sha256; IntegrityError otherwise."""
    if made.package is None:
        failed = made.failure or made.bundle
        raise IntegrityError(
            f"the trusted rebuild of {made.spec.name} {made.spec.version} failed "
            f"({failed.name}: {failed.message}), but {where} says the build passed",
            hint="possible tampering with the build job's report; nothing was published. "
            "Re-run the whole workflow, and look at what the build job ran",
        )
    if made.package.sha256 != claimed_sha256:
        raise IntegrityError(
            f"possible tampering: {where} reports the package sha256 {claimed_sha256}, but the trusted rebuild "
            f"of {made.spec.name} {made.spec.version} from the spec is {made.package.sha256}",
            hint="nothing was published. The build job (where generated code runs) handed over other bytes "
            "than the spec makes: re-run the whole workflow, and read the spec's code before trusting it",
        )
    return made.package
