"""Runs the stages in order — make the package (render, bundle, pack: trusted.make_package, no generated code
runs), then compile and validate it — times them, returns a BuildResult."""

from __future__ import annotations

import atexit
import json
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory_bot import __version__
from factory_bot.build import cache, expectations, npm_install, protocol, static_checks, toolchain, trusted
from factory_bot.build.package import Package, write_checksum
from factory_bot.build.report import Check, ValidationReport
from factory_bot.build.stub import StubUpstream
from factory_bot.spec.model import ServerSpec

Progress = Callable[[str], None]
# The order checks are reported in, whatever order they finish in.
CHECK_ORDER = [
    "typescript",
    "bundle",
    "protocol",
    "protocol-legacy",
    "examples",
    "installed-bin",
    "http",
    "http-host-check",
    "dependencies",
]


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


_prewarm: threading.Thread | None = None


def prewarm_client() -> threading.Thread:
    """Start importing the MCP client in the background (once per process): it costs ~1 s, and the
    validator needs it only after render, bundle and tsc have had their turn. Node and npm are checked first
    (ToolchainError, exit 3): without them no build starts, and an import left running would only hold up the exit."""
    global _prewarm
    toolchain.require_node()
    if _prewarm is None:

        def load() -> None:
            import mcp.client.client  # noqa: F401
            import mcp.client.stdio  # noqa: F401

        _prewarm = threading.Thread(target=load, daemon=True)
        _prewarm.start()
        # An interpreter that exits mid-import aborts ("FATAL: exception not rethrown"): any caller, not only the CLI
        atexit.register(settle_prewarm)
    return _prewarm


def settle_prewarm(timeout: float = 10.0) -> None:
    """Let a background import finish before the interpreter shuts down (it aborts otherwise)."""
    if _prewarm is not None:
        _prewarm.join(timeout)


def build(
    spec: ServerSpec, out_dir: str | Path, *, progress: Progress | None = None, use_cache: bool = False
) -> BuildResult:
    """Render, bundle and pack one server into out_dir, then compile and validate it.

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
            return BuildResult(
                spec,
                Path(record["server_dir"]),
                cache.report_from_json(record),
                cache.package_from_json(record),
                {"cache": time.monotonic() - started},
                cached=True,
            )

    prewarm = prewarm_client()  # not for a cache hit: it validates nothing
    mark = time.monotonic()
    tools = toolchain.ensure(progress=say)  # verified before every use: a changed toolchain is reinstalled
    timings["toolchain"] = time.monotonic() - mark
    say(f"render, bundle and pack: {spec.name} {spec.version} ({len(spec.tools)} tools)")
    mark = time.monotonic()
    # The package is made before any generated code runs, by the same function the publish stages rebuild it
    # with: what validation then checks is the package, and what it reports is the trusted rebuild's sha256.
    # It also refuses a code body that leaves its function (TypeScript's parser), before anything runs.
    made = trusted.make_package(spec, out_dir, tools=tools, progress=say)
    server_dir = made.server_dir
    timings["package"] = time.monotonic() - mark
    timings["bundle"] = made.bundle.seconds

    report = ValidationReport()
    result = BuildResult(spec, server_dir, report, timings=timings)
    say("compile: tsc --noEmit (strict)")
    typecheck = static_checks.start_typecheck(tools, server_dir)
    report.checks.append(made.bundle)
    # Nothing may have changed the toolchain before esbuild read it (ctime only moves forward): checked
    # once more, overlapping validation; a change fails this build, so its package is never kept.
    unchanged = _in_thread(tools.unchanged)

    package = made.package
    if made.bundle.ok:
        validating = time.monotonic()
        say("validate: MCP over stdio (2026-07-28 and legacy), examples, npm-installed bin, Streamable HTTP")
        # It holds the stub's unix socket: a short enough path, however long TMPDIR is.
        from factory_bot.build.sandbox_jail import sandbox_tmp

        with tempfile.TemporaryDirectory(prefix="mcp-factory-validate-", dir=sandbox_tmp()) as scratch:
            # npm install needs only the .tgz: it starts first, in a thread of its own.
            installing = _in_thread(_install, spec, made, Path(scratch) / "prefix")
            prewarm.join()
            checks = _run_async(_validate, spec, server_dir, installing, Path(scratch) / "home")
        report.checks += checks
        report.checks.append(static_checks.dependencies(server_dir))
        timings["validate"] = time.monotonic() - validating
    report.checks += typecheck.result()
    timings["typecheck"] = report.checks[-1].seconds  # overlapped with the stages above, not added to them
    if not unchanged.result():
        report.checks.append(
            Check(
                "toolchain",
                False,
                0.0,
                "the Node toolchain changed while this server was built; the next build reinstalls it",
                details=["run the build again"],
            )
        )
    report.checks.sort(key=lambda c: CHECK_ORDER.index(c.name) if c.name in CHECK_ORDER else len(CHECK_ORDER))

    if report.ok and package is not None:
        write_checksum(package)
        result.package = package
    elif package is not None:
        package.tgz.unlink(missing_ok=True)  # a server that failed validation leaves nothing to publish
    timings["total"] = time.monotonic() - started
    return result


@dataclass
class _Installed:
    started: float
    command: Path | None = None
    failure: Check | None = None


def _install(spec: ServerSpec, made: trusted.Made, prefix: Path) -> _Installed:
    """npm install of the made .tgz into an empty prefix: the installed-bin check's first half."""
    from factory_bot.errors import CommandError

    outcome = _Installed(time.monotonic())
    if made.package is None:
        outcome.failure = made.failure or Check("installed-bin", False, 0.0, "npm pack failed")
        return outcome
    try:
        outcome.command = npm_install.install_tgz(spec, made.package.tgz, prefix)
    except CommandError as exc:
        outcome.failure = Check(
            "installed-bin",
            False,
            time.monotonic() - outcome.started,
            "npm timed out installing the .tgz" if exc.timed_out else "npm could not install the .tgz",
            details=[exc.output[-1500:] or str(exc)],
        )
    except FileNotFoundError as exc:
        outcome.failure = Check("installed-bin", False, time.monotonic() - outcome.started, str(exc))
    return outcome


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


def _quiet_stale_wakeups() -> None:
    """The MCP client's HTTP stream resumption (a tool that reconnects) can wake a future it already cancelled;
    asyncio then prints an InvalidStateError traceback for a build that passes. Only that one is dropped."""
    import asyncio

    loop = asyncio.get_running_loop()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), asyncio.InvalidStateError):
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)


async def _validate(spec: ServerSpec, server_dir: Path, installing: Any, home: Path) -> list[Check]:
    """Every protocol check at once: they are independent servers, and the machine has cores to spare."""
    import anyio

    from factory_bot import proc
    from factory_bot.build import sandbox, sandbox_jail

    checks: list[Check] = []
    entry = server_dir / "dist" / "index.js"
    has_http_tools = bool(spec.base_urls())
    _quiet_stale_wakeups()

    if proc.holds_secrets():
        proc.protect_secrets()
    home.mkdir(parents=True, exist_ok=True)
    sandboxed = sandbox.current().ok
    # A sandboxed server reaches the stub through a unix socket, which its relay serves on its own loopback.
    with StubUpstream(home.parent / "upstream.sock" if sandboxed and has_http_tools else None) as stub:
        upstream = f"http://127.0.0.1:{sandbox_jail.UPSTREAM_PORT}" if stub.socket else stub.url
        # One throwaway HOME for every unsandboxed process of this validation (a sandbox has its own, in /tmp).
        env = expectations.example_env(spec, upstream if has_http_tools else None) | {"HOME": str(home)}

        async def modern() -> None:
            checks.extend(await protocol.protocol_checks(spec, server_dir, env, stub=stub))

        async def http() -> None:
            checks.extend(await protocol.http_checks(spec, entry, env))

        async def installed_bin_over_legacy_handshake() -> None:
            # The npm-installed command is the packed server itself, so the legacy `initialize` round trip
            # runs against it: one server process proves both, and a build starts one node process fewer.
            installed: _Installed = await anyio.to_thread.run_sync(installing.result)
            if installed.failure is not None:
                checks.append(installed.failure)
                checks.append(Check("protocol-legacy", False, 0.0, "not run: the package did not install"))
            elif installed.command is not None:
                checks.extend(await protocol.installed_checks(spec, installed.command, env, installed.started))

        async with anyio.create_task_group() as group:
            for task in (modern, http, installed_bin_over_legacy_handshake):
                group.start_soon(task)
    return checks


def build_many(
    specs: list[ServerSpec],
    out_dir: str | Path,
    *,
    jobs: int = 2,
    progress: Progress | None = None,
    use_cache: bool = True,
) -> list[BuildResult]:
    """Build several servers, `jobs` at a time, rebuilding only what changed; writes each build.json."""
    from concurrent.futures import ThreadPoolExecutor

    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        from factory_bot.errors import SpecError, SpecProblem

        raise SpecError(
            [SpecProblem("name", f"{n!r} is the name of more than one spec") for n in duplicates],
            hint="server names must be unique across the specs you build together",
        )
    mark = time.monotonic()
    toolchain.ensure(progress=progress)  # install once, before the workers race for it
    installing = time.monotonic() - mark  # a first install's seconds belong to the first build's toolchain stage
    first_built = threading.Lock()

    def one(spec: ServerSpec) -> BuildResult:
        nonlocal installing
        result = build(spec, out_dir, progress=progress, use_cache=use_cache)
        if not result.cached:
            with first_built:
                waited, installing = installing, 0.0
            result.timings["toolchain"] += waited
            result.timings["total"] += waited
            write_build_json(result, out_dir)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, specs))


def write_build_json(result: BuildResult, out_dir: str | Path) -> Path:
    path = Path(out_dir) / f"{result.spec.name}.build.json"
    path.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    return path
