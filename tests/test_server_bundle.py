"""The package ships one minified dist/index.js and its source map, which names sources by relative paths only
(no build directory, no cache location), so two builds anywhere give the same bytes."""

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
        bundle = archive.extractfile("package/dist/index.js").read().decode()  # type: ignore[union-attr]
        source_map = json.loads(archive.extractfile("package/dist/index.js.map").read())  # type: ignore[union-attr]
    assert {"package/dist/index.js", "package/dist/index.js.map"} <= set(names)
    assert bundle.startswith("#!/usr/bin/env node\n")
    assert bundle.rstrip().endswith("//# sourceMappingURL=index.js.map")
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
    source_map = json.loads((calculator.server_dir / "dist" / "index.js.map").read_text())
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
    from factory_bot.build.render import BUNDLE_ARGS

    scripts = json.loads((calculator.server_dir / "package.json").read_text())["scripts"]
    assert scripts["bundle"] == "esbuild " + " ".join(BUNDLE_ARGS)
    assert "--minify" in BUNDLE_ARGS and "--sourcemap" in BUNDLE_ARGS


def test_the_bundle_leaves_ajv_out_for_the_sdks_own_lighter_validator(calculator):
    bundle = (calculator.server_dir / "dist" / "index.js").read_text()
    source_map = json.loads((calculator.server_dir / "dist" / "index.js.map").read_text())
    assert not [source for source in source_map["sources"] if "ajv" in source]
    assert "cfWorkerProvider" in " ".join(source_map["sources"])
    assert "@modelcontextprotocol/server/_shims" not in bundle


# Whatever node loaded, read at exit (a preload, so the server's own code is untouched).
LOADED_AT_EXIT = """
process.on("exit", () => process.stderr.write(`loaded: ${JSON.stringify(process.moduleLoadList)}\\n`));
"""
HANDSHAKE = "".join(
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
    )
)


def test_a_stdio_start_loads_none_of_the_node_modules_only_http_uses(calculator, tmp_path):
    """node:http, node:http2 (compiled on every load: not in Node's startup snapshot) and node:crypto cost a
    stdio start ~13 ms; they load with the HTTP transport, which a stdio server never loads."""
    preload = tmp_path / "loaded-at-exit.mjs"
    preload.write_text(LOADED_AT_EXIT)
    entry = calculator.server_dir / "dist" / "index.js"
    done = subprocess.run(
        ["node", "--import", preload.as_uri(), str(entry)], input=HANDSHAKE, capture_output=True, text=True, timeout=60
    )
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [answer["id"] for answer in answers] == [1, 2]
    assert {tool["name"] for tool in answers[1]["result"]["tools"]} == {"add", "subtract", "multiply", "divide"}
    [line] = [line for line in done.stderr.splitlines() if line.startswith("loaded: ")]
    loaded = {name.removeprefix("NativeModule ") for name in json.loads(line.removeprefix("loaded: "))}
    assert {"http", "http2", "crypto", "internal/http2/core"} & loaded == set()
    assert "net" in loaded  # the preload saw the whole start: stdin/stdout pipes are net sockets
