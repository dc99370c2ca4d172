"""The package ships one minified bundle, dist/server.cjs, and its source map, which names sources by relative paths
only (no build directory, no cache location), so two builds anywhere give the same bytes; dist/index.js is the
command that runs it (through the user's compile cache: tests/test_compile_cache.py)."""

from __future__ import annotations

import json
import subprocess
import tarfile

import pytest


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


def test_the_package_holds_a_minified_bundle_and_its_source_map(calculator):
    with tarfile.open(calculator.tgz) as archive:
        names = archive.getnames()
        command = archive.extractfile("package/dist/index.js").read().decode()  # type: ignore[union-attr]
        bundle = archive.extractfile("package/dist/server.cjs").read().decode()  # type: ignore[union-attr]
        source_map = json.loads(archive.extractfile("package/dist/server.cjs.map").read())  # type: ignore[union-attr]
    assert {"package/dist/index.js", "package/dist/server.cjs", "package/dist/server.cjs.map"} <= set(names)
    assert command.startswith("#!/usr/bin/env node\n") and '"server.cjs"' in command
    assert bundle.rstrip().endswith("//# sourceMappingURL=server.cjs.map")
    assert bundle.isascii()  # the command reads it one byte a character
    # Minified: a few very long lines, where the unminified bundle had one statement per line.
    assert len(bundle.splitlines()) < len(bundle) / 1000
    assert source_map["version"] == 3
    assert {
        "../src/index.ts",
        "../src/cli.ts",
        "../src/http.ts",
        "../src/stdio.ts",
        "../src/shims.ts",
        "../src/tools/add.ts",
    } <= set(source_map["sources"])


def test_the_source_map_names_no_path_outside_the_package(calculator):
    source_map = json.loads((calculator.server_dir / "dist" / "server.cjs.map").read_text())
    outside = [
        source
        for source in source_map["sources"]
        if not (source.startswith("../src/") or source.startswith("../node_modules/"))
        or str(calculator.server_dir) in source
        or "mcp-factory" in source
    ]
    assert outside == []
    assert "sourcesContent" not in source_map  # file:line for stack traces; the sources are in the repository
    assert "sourceRoot" not in source_map or source_map["sourceRoot"] == ""


def test_the_bundle_script_in_package_json_is_the_command_the_build_ran(calculator):
    from factory_bot.build.render import BUNDLE_ARGS, START_ARGS

    scripts = json.loads((calculator.server_dir / "package.json").read_text())["scripts"]
    assert scripts["bundle"] == f"esbuild {' '.join(BUNDLE_ARGS)} && esbuild {' '.join(START_ARGS)}"
    assert "--minify" in BUNDLE_ARGS and "--sourcemap" in BUNDLE_ARGS


def test_the_bundle_leaves_ajv_out_for_the_sdks_own_lighter_validator(calculator):
    bundle = (calculator.server_dir / "dist" / "server.cjs").read_text()
    source_map = json.loads((calculator.server_dir / "dist" / "server.cjs.map").read_text())
    assert not [source for source in source_map["sources"] if "ajv" in source]
    assert "cfWorkerProvider" in " ".join(source_map["sources"])
    assert "@modelcontextprotocol/server/_shims" not in bundle


# Whatever node loaded, read at exit (a preload, so the server's own code is untouched).
LOADED_AT_EXIT = """
process.on("exit", () => process.stderr.write(`loaded: ${JSON.stringify(process.moduleLoadList)}\\n`));
"""
# Every function compiled from a string (`new Function`, `Function(...)`), counted at exit.
COMPILED_AT_EXIT = """
let compiled = 0;
globalThis.Function = new Proxy(globalThis.Function, {
  construct: (target, args, newTarget) => (compiled++, Reflect.construct(target, args, newTarget)),
  apply: (target, self, args) => (compiled++, Reflect.apply(target, self, args)),
});
process.on("exit", () => process.stderr.write(`compiled: ${compiled}\\n`));
"""
SESSION = "".join(
    json.dumps(message) + "\n"
    for message in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
    )
)


def stdio_session(calculator, tmp_path, preload: str) -> tuple[list[dict], str]:
    """The calculator's answers to SESSION on stdio (stdin then closes, so it exits), and the preload's line."""
    script = tmp_path / "preload.mjs"
    script.write_text(preload)
    entry = calculator.server_dir / "dist" / "index.js"
    done = subprocess.run(
        ["node", "--import", script.as_uri(), str(entry)], input=SESSION, capture_output=True, text=True, timeout=60
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [answer["id"] for answer in answers] == [1, 2, 3], done.stderr
    assert {tool["name"] for tool in answers[1]["result"]["tools"]} == {"add", "subtract", "multiply", "divide"}
    assert answers[2]["result"]["structuredContent"] == {"result": 5}
    [line] = [line for line in done.stderr.splitlines() if line.startswith(("loaded: ", "compiled: "))]
    return answers, line.split(": ", 1)[1]


def test_a_stdio_start_loads_none_of_the_node_modules_only_http_uses(calculator, tmp_path):
    """node:http, node:http2 (compiled on every load: not in Node's startup snapshot) and node:crypto cost a
    stdio start ~13 ms; they load with the HTTP transport, which a stdio server never loads."""
    _, line = stdio_session(calculator, tmp_path, LOADED_AT_EXIT)
    loaded = {name.removeprefix("NativeModule ") for name in json.loads(line)}
    assert {"http", "http2", "crypto", "internal/http2/core"} & loaded == set()
    assert "net" in loaded  # the preload saw the whole start: stdin/stdout pipes are net sockets


def test_a_stdio_session_compiles_no_code_from_strings(calculator, tmp_path):
    """zod runs jitless (the bundle's banner): no validator compiled with `new Function` per object schema,
    which cost each start ~5 ms (19 compiled for a handshake and one call); parsing gives the same results."""
    _, compiled = stdio_session(calculator, tmp_path, COMPILED_AT_EXIT)
    assert compiled == "0"
