"""Runs the stages in order — render, compile, validate, package — times them, returns a BuildResult."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__, cache, toolchain, validate
from .package import Package, pack, write_checksum
from .render import write_server
from .spec import ServerSpec
from .stub import StubUpstream
from .validate import Check, ValidationReport

Progress = Callable[[str], None]
# The order checks are reported in, whatever order they finish in.
CHECK_ORDER = ["typescript", "bundle", "protocol", "protocol-legacy", "examples", "installed-bin", "http",
               "http-host-check", "dependencies"]


@dataclass
class BuildResult:
    """Everything one build produced; `to_json()` is what `<name>.build.json` holds."""

    spec: ServerSpec
    server_dir: Path
    report: ValidationReport
    package: Package | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cached: bool = False  # True when a verified earlier build of the same inputs was reused

    @property
    def ok(self) -> bool:
        return self.report.ok and self.package is not None

    @property
    def tgz(self) -> Path | None:
        return self.package.tgz if self.package else None

    @property
    def sha256(self) -> str | None:
        return self.package.sha256 if self.package else None

    @property
    def snippets(self) -> dict[str, str]:
        return self.package.snippets if self.package else {}

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "name": self.spec.name,
            "version": self.spec.version,
            "tools": [t.name for t in self.spec.tools],
            "server_dir": str(self.server_dir),
            "tgz": str(self.tgz) if self.tgz else None,
            "sha256": self.sha256,
            "size": self.package.size if self.package else None,
            "checks": self.report.to_json(),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "snippets": self.snippets,
            "factory_bot": __version__,
            "cached": self.cached,
            "cache_key": cache.cache_key(self.spec),
            "files": cache.file_hashes(self.server_dir) if self.server_dir.is_dir() else {},
            "package_files": self.package.files if self.package else [],
        }


def _prewarm_client() -> threading.Thread:
    # Importing the MCP client costs ~0.5 s; do it while tsc runs.
    def load() -> None:
        import mcp.client.client  # noqa: F401
        import mcp.client.stdio  # noqa: F401
    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    return thread


def build(spec: ServerSpec, out_dir: str | Path, *, progress: Progress | None = None,
          use_cache: bool = False) -> BuildResult:
    """Render, compile, validate and pack one server into out_dir.

    With use_cache, a verified earlier build of exactly these inputs in out_dir is returned instead.
    """
    say = progress or (lambda _msg: None)
    out_dir = Path(out_dir).resolve()  # tools run with the server dir as cwd: relative paths would double
    timings: dict[str, float] = {}
    started = time.monotonic()
    if use_cache:
        record = cache.verified_hit(spec, out_dir)
        if record is not None:
            say(f"cache: {spec.name} {spec.version} is unchanged and its build verified; reusing it")
            return BuildResult(spec, Path(record["server_dir"]), cache.report_from_json(record),
                               cache.package_from_json(record), {"cache": time.monotonic() - started}, cached=True)

    say(f"render: {spec.name} {spec.version} ({len(spec.tools)} tools)")
    server_dir = out_dir / spec.name
    write_server(spec, server_dir)
    timings["render"] = time.monotonic() - started

    mark = time.monotonic()
    tools = toolchain.ensure(progress=say)
    tools.link_into(server_dir)
    timings["toolchain"] = time.monotonic() - mark

    report = ValidationReport()
    result = BuildResult(spec, server_dir, report, timings=timings)
    (out_dir / f"{spec.name}-{spec.version}.tgz").unlink(missing_ok=True)
    mark = time.monotonic()
    say("compile: tsc --noEmit (strict) and esbuild bundle")
    prewarm = _prewarm_client()
    # tsc only reads the source and the protocol checks only need the bundle: they overlap.
    typecheck = validate.start_typecheck(tools, server_dir)
    bundled = validate.bundle(tools, server_dir)
    report.checks.append(bundled)
    timings["bundle"] = time.monotonic() - mark

    package = None
    if bundled.ok:
        validating = time.monotonic()
        say("validate: MCP over stdio (2026-07-28 and legacy), examples, npm-installed bin, Streamable HTTP")
        packing = _in_thread(pack, spec, server_dir, out_dir)  # npm pack needs only dist/: start it first
        prewarm.join()
        package, checks = _run_async(_validate_and_pack, spec, server_dir, packing)
        report.checks += checks
        report.checks.append(validate.dependencies(server_dir))
        timings["validate"] = time.monotonic() - validating
    report.checks += typecheck.result()
    timings["typecheck"] = report.checks[-1].seconds  # overlapped with the stages above, not added to them
    report.checks.sort(key=lambda c: CHECK_ORDER.index(c.name) if c.name in CHECK_ORDER else len(CHECK_ORDER))

    if report.ok and package is not None:
        write_checksum(package)
        result.package = package
    elif package is not None:
        package.tgz.unlink(missing_ok=True)  # a server that failed validation leaves nothing to publish
    timings["total"] = time.monotonic() - started
    return result


def _in_thread(fn: Any, *args: Any) -> Any:
    """Start fn(*args) in a thread; returns a future."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return future


def _run_async(fn: Any, *args: Any) -> Any:
    import anyio

    return anyio.run(fn, *args)


async def _validate_and_pack(spec: ServerSpec, server_dir: Path, packing: Any) -> tuple[Package | None, list[Check]]:
    """Every protocol check at once: they are independent servers, and the machine has cores to spare."""
    import anyio

    from . import proc

    checks: list[Check] = []
    package: Package | None = None
    entry = server_dir / "dist" / "index.js"
    has_http_tools = bool(spec.base_urls())

    if proc.holds_secrets():
        proc.protect_secrets()
    with StubUpstream() as stub, tempfile.TemporaryDirectory(prefix="mcp-factory-home-") as home:
        # One throwaway HOME for every process of this validation, removed with everything written to it.
        env = validate.example_env(spec, stub.url if has_http_tools else None) | {"HOME": home}
        node = ["node", str(entry)]

        async def modern() -> None:
            checks.extend(await validate.session_checks(spec, node, proc.sandbox_env(env), mode="auto",
                                                        name="protocol", run_examples=True, stub=stub))

        async def legacy() -> None:
            checks.extend(await validate.session_checks(spec, node, proc.sandbox_env(env), mode="legacy",
                                                        name="protocol-legacy", run_examples=False))

        async def http() -> None:
            checks.extend(await validate.http_checks(spec, entry, env))

        async def pack_and_install() -> None:
            nonlocal package
            started = time.monotonic()
            try:
                package = await anyio.to_thread.run_sync(packing.result)
            except Exception as exc:  # noqa: BLE001 - reported as a failed check
                checks.append(Check("installed-bin", False, time.monotonic() - started, f"npm pack failed: {exc}"))
                return
            checks.extend(await validate.installed_checks(spec, package.tgz, env))

        async with anyio.create_task_group() as group:
            for task in (modern, legacy, http, pack_and_install):
                group.start_soon(task)
    return package, checks


def build_many(specs: list[ServerSpec], out_dir: str | Path, *, jobs: int = 2, progress: Progress | None = None,
               use_cache: bool = True) -> list[BuildResult]:
    """Build several servers, `jobs` at a time, rebuilding only what changed; writes each build.json."""
    from concurrent.futures import ThreadPoolExecutor

    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        from .errors import SpecError, SpecProblem

        raise SpecError([SpecProblem("name", f"{n!r} is the name of more than one spec") for n in duplicates],
                        hint="server names must be unique across the specs you build together")
    toolchain.ensure(progress=progress)  # install once, before the workers race for it

    def one(spec: ServerSpec) -> BuildResult:
        result = build(spec, out_dir, progress=progress, use_cache=use_cache)
        if not result.cached:
            write_build_json(result, out_dir)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, specs))


def write_build_json(result: BuildResult, out_dir: str | Path) -> Path:
    path = Path(out_dir) / f"{result.spec.name}.build.json"
    path.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path


def clean(out_dir: Path, spec: ServerSpec) -> None:
    """Remove a previous build of this server from out_dir."""
    shutil.rmtree(out_dir / spec.name, ignore_errors=True)
