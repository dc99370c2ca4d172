"""Checks that read the server without running it: tsc (strict, in the background), the esbuild bundle, the
dependency pins. Compiler errors inside a code body are mapped back to the tool that owns it."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

from factory_bot import proc
from factory_bot.build.render import BUNDLE_ARGS, CODE_END, START_ARGS
from factory_bot.build.report import Check, timed
from factory_bot.build.toolchain import Toolchain, pinned_versions
from factory_bot.errors import CommandError

# tools: "tools[3] name"; resources and prompts (render_kinds): "resources[0].code name" — the field in the spec
_CODE_BEGIN = re.compile(r"^\s*// ── begin code: (\S+) (\S+) ──$")  # indented with the body


_TSC_ERROR = re.compile(r"^(?P<file>[^(\n]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<code>TS\d+): (?P<msg>.*)$")


class Typecheck:
    """`tsc --noEmit` (strict, from tsconfig) running in the background while other checks go on."""

    def __init__(self, toolchain: Toolchain, server_dir: Path) -> None:
        import threading

        self.server_dir = server_dir
        self.started = time.monotonic()
        self.finished: float | None = None
        self.output = ""
        self.returncode: int | None = None
        # --singleThreaded: a server is a handful of files; tsc's worker threads cost twice the CPU for no speed.
        self._process = proc.start(
            [*toolchain.tsc, "-p", str(server_dir), "--pretty", "false", *toolchain.tsc_flags],
            cwd=server_dir,
            stderr="merge",
        )
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        try:
            self.output, _ = self._process.communicate(timeout=120)
            self.returncode = self._process.returncode
        except subprocess.TimeoutExpired:
            proc.kill_group(self._process)
            self._process.communicate()
        self.finished = time.monotonic()

    def result(self) -> list[Check]:
        """Wait for tsc; errors inside a tool's code are reported against that tool."""
        self._waiter.join()
        seconds = (self.finished or time.monotonic()) - self.started
        if self.returncode is None:
            return [Check("typescript", False, seconds, "tsc timed out after 120 s")]
        return typecheck_checks(self.returncode, self.output, self.server_dir, seconds)


def start_typecheck(toolchain: Toolchain, server_dir: Path) -> Typecheck:
    return Typecheck(toolchain, server_dir)


def typecheck_checks(returncode: int, output: str, server_dir: Path, seconds: float) -> list[Check]:
    """tsc's verdict as checks: one per tool whose code has errors, one for errors elsewhere."""
    if returncode == 0:
        return [Check("typescript", True, seconds, "compiles with strict, 0 errors")]
    by_tool: dict[str | None, list[str]] = {}
    for line in output.splitlines():
        match = _TSC_ERROR.match(line.strip())
        if not match:
            continue
        tool, where = locate_code_line(server_dir / match["file"], int(match["line"]))
        by_tool.setdefault(tool, []).append(
            f"{where or match['file'] + ':' + match['line']}: {match['code']}: {match['msg']}"
        )
    if not by_tool:
        by_tool[None] = [output.strip()[-2000:] or f"tsc exited with {returncode}"]
    return [
        Check(
            "typescript",
            False,
            seconds,
            f"tool {tool}'s code does not compile" if tool else "the generated server does not compile",
            tool=tool,
            details=messages,
        )
        for tool, messages in by_tool.items()
    ]


def locate_code_line(path: Path, line: int) -> tuple[str | None, str | None]:
    """Map a line of a generated tool file to (tool name, 'code line N') when it falls in the tool's code."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None, None
    begin: re.Match[str] | None = None  # the begin marker of the code block we are inside, and its line
    begin_line = 0
    for number, text in enumerate(lines, start=1):
        match = _CODE_BEGIN.match(text)
        if match:
            begin, begin_line = match, number
        elif text.strip() == CODE_END and begin is not None:
            if begin_line < line < number:
                field = begin.group(1)
                if re.fullmatch(r"tools\[\d+\]", field):
                    return begin.group(2), f"{field}.implementation.code line {line - begin_line}"
                return None, f"{field} line {line - begin_line}"  # a resource or prompt: no tool to name
            begin = None
    return None, None


def bundle(toolchain: Toolchain, server_dir: Path) -> Check:
    """esbuild: src/index.ts → one dependency-free, minified dist/server.cjs and its source map, and the command that
    runs it, src/start.ts → dist/index.js (what the .tgz ships).

    --preserve-symlinks (in BUNDLE_ARGS): modules keep their path through the server's node_modules link, so the
    source map names `node_modules/...` and never the cache's location or the output directory.
    """
    with timed("bundle") as state:
        try:
            for args in (BUNDLE_ARGS, START_ARGS):
                proc.run([*toolchain.esbuild, *args, "--log-level=error"], cwd=server_dir, timeout=120)
            size = (server_dir / "dist" / "server.cjs").stat().st_size
            state["message"] = (
                f"dist/server.cjs, {size / 1024:.0f} KiB minified (+ source map), no runtime dependencies"
            )
        except CommandError as exc:
            state.update(ok=False, message="esbuild could not bundle the server", details=[exc.output[-2000:]])
    return state["check"]


def dependencies(server_dir: Path) -> Check:
    """Only the allowed, pinned packages; lockfile present and consistent with package.json."""
    with timed("dependencies") as state:
        problems: list[str] = []
        allowed = pinned_versions()
        package = json.loads((server_dir / "package.json").read_text())
        if package.get("dependencies"):
            problems.append(f"runtime dependencies {sorted(package['dependencies'])}: the bundle must need none")
        dev = package.get("devDependencies", {})
        for name, version in dev.items():
            if name not in allowed:
                problems.append(f"{name} is not in the allowed toolchain ({', '.join(allowed)})")
            elif version != allowed[name]:
                problems.append(f"{name}@{version} is not pinned to {allowed[name]}")
        lock_path = server_dir / "package-lock.json"
        if not lock_path.exists():
            problems.append("package-lock.json is missing")
        else:
            lock = json.loads(lock_path.read_text())
            root = lock.get("packages", {}).get("", {})
            if lock.get("lockfileVersion") != 3:
                problems.append("package-lock.json is not lockfileVersion 3")
            if root.get("devDependencies") != dev or lock.get("name") != package.get("name"):
                problems.append("package-lock.json does not match package.json")
            for name, version in dev.items():
                entry = lock.get("packages", {}).get(f"node_modules/{name}", {})
                if entry.get("version") != version or not entry.get("integrity"):
                    problems.append(f"lockfile entry for {name} is not {version} with an integrity hash")
        state.update(
            ok=not problems,
            details=problems,
            message=f"{len(dev)} pinned dev dependencies, 0 runtime"
            if not problems
            else f"{len(problems)} dependency problem(s)",
        )
    return state["check"]
