"""Cold start of a built server: process start to the first `tools/list` reply on stdio, against `node -e 0`.

usage: python benchmarks/cold_start.py SERVER_DIR [SERVER_DIR ...] [--runs N] [--node PATH] [--node-flag FLAG]
                                      [--revision 2025-11-25|2026-07-28] [--sdk-floor]

Each run starts `node dist/index.js`, writes the 2025-11-25 handshake and a tools/list request at once (or, with
`--revision 2026-07-28`, the one stateless tools/list request that revision needs), and stops the clock at the
tools/list reply (then kills the server). Every server is measured three times per round, interleaved with
`node -e 0`: its first-ever start (an empty cache folder of its own: nothing compiled yet), a warm start (the
per-user compile cache that an earlier start wrote; primed once before the rounds), and a start killed in a loop
(one cache folder for all rounds, never primed: what a loop of start, first reply, kill sees from its second
start on, with whatever cache such starts leave). Prints medians of wall time
and of the CPU time the process used (user + sys, from wait4: steadier than wall time on a busy machine); a
benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

LEGACY = "".join(
    json.dumps(message) + "\n"
    for message in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    )
).encode()
MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "bench", "version": "0"},
    "io.modelcontextprotocol/clientCapabilities": {},
}
MODERN = (
    json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"_meta": MODERN_META}}) + "\n"
).encode()
HANDSHAKES = {"2025-11-25": LEGACY, "2026-07-28": MODERN}


def first_tools_list(argv: list[str], handshake: bytes, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds from process start to the tools/list reply."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env and os.environ | env
    )
    assert process.stdin and process.stdout
    process.stdin.write(handshake)
    process.stdin.flush()
    for line in process.stdout:
        if json.loads(line).get("id") == 2:
            break
    elapsed = time.perf_counter() - started
    process.kill()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = -9
    return elapsed, usage.ru_utime + usage.ru_stime


FLOOR_SOURCE = """\
// The SDK's floor: the smallest server it makes, with what the command (dist/index.js) expects of a bundle.
import { McpServer } from "@modelcontextprotocol/server";
import { StdioServerTransport } from "@modelcontextprotocol/server/stdio";
import * as z from "zod";

export const SERVER_NAME = "sdk-floor";
export const SERVER_VERSION = "1.0.0";

export function createMcpServer(): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { capabilities: { tools: {} } });
  server.registerTool("echo", { description: "Echo a text.", inputSchema: z.object({ text: z.string() }) }, (args) => ({
    content: [{ type: "text", text: args.text }],
  }));
  return server;
}

export async function main(): Promise<void> {
  await createMcpServer().connect(new StdioServerTransport());
}
"""


def sdk_floor(server: Path, scratch: Path) -> Path:
    """The SDK's floor server, bundled with `server`'s own toolchain, flags, shims and command (see --sdk-floor)."""
    floor = scratch / "sdk-floor"
    (floor / "src").mkdir(parents=True)
    (floor / "dist").mkdir()
    (floor / "node_modules").symlink_to((server / "node_modules").resolve())
    for name in ("shims.ts", "package.json"):
        if (server / "src" / name).exists():
            (floor / "src" / name).write_bytes((server / "src" / name).read_bytes())
    (floor / "src" / "floor.ts").write_text(FLOOR_SOURCE)
    (floor / "dist" / "index.js").write_bytes((server / "dist" / "index.js").read_bytes())
    # The server's own bundle command (package.json "bundle": esbuild src/index.ts ... && esbuild src/start.ts ...),
    # its first half, on the floor's source.
    script = json.loads((server / "package.json").read_text())["scripts"]["bundle"].split(" && ")[0]
    argv = script.replace("src/index.ts", "src/floor.ts", 1).split()
    assert argv[0] == "esbuild", script
    subprocess.run(
        [str(floor / "node_modules" / ".bin" / "esbuild"), *argv[1:]], cwd=floor, check=True, capture_output=True
    )
    return floor


def bundle_kib(server: Path) -> float:
    dist = server / "dist"
    return sum((dist / name).stat().st_size for name in ("index.js", "server.cjs") if (dist / name).exists()) / 1024


def files(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file() and not path.name.endswith(".tmp")}


def prime(argv: list[str], handshake: bytes, cache_home: Path) -> None:
    """One start that lives until it has written its complete compile cache into `cache_home`: past the second
    after which it writes it, then a clean exit (stdin closed), at which it writes it too."""
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=os.environ | {"XDG_CACHE_HOME": str(cache_home)}
    )
    assert process.stdin
    process.stdin.write(handshake)
    process.stdin.flush()
    before = files(cache_home)
    deadline = time.monotonic() + 60
    while files(cache_home) <= before and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # the command writes its cache (again) a second after the start; Node's own, a folder of files
    process.stdin.close()
    process.wait(timeout=60)


def node_floor(node: str) -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen([node, "-e", "0"])
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--node", default="node", help="the node binary (default: node on PATH)")
    parser.add_argument("--node-flag", action="append", default=[])
    parser.add_argument("--revision", choices=sorted(HANDSHAKES), default="2025-11-25")
    parser.add_argument("--sdk-floor", action="store_true", help="measure the SDK's smallest server beside them")
    args = parser.parse_args()
    handshake = HANDSHAKES[args.revision]
    version = subprocess.run([args.node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    floor: list[tuple[float, float]] = []
    starts: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="cold-start-") as scratch:
        if args.sdk_floor:
            args.servers.append(sdk_floor(args.servers[0], Path(scratch)))
        sizes = {str(server): bundle_kib(server) for server in args.servers}
        labels = {str(server): str(server) for server in args.servers}
        if args.sdk_floor:
            labels[str(args.servers[-1])] = "the SDK's floor"
        # One warm cache folder per server: two builds of one server (before / after) share a cache file name.
        warm_homes = {server: Path(scratch) / f"warm-{index}" for index, server in enumerate(args.servers)}
        for server in args.servers:
            prime([args.node, *args.node_flag, str(server / "dist" / "index.js")], handshake, warm_homes[server])
        for run in range(args.runs):  # interleaved, so a noisy second hits every subject alike
            floor.append(node_floor(args.node))
            for index, server in enumerate(args.servers):
                argv = [args.node, *args.node_flag, str(server / "dist" / "index.js")]
                first_home = Path(scratch) / f"first-{run}-{index}"  # empty: a start writes its cache at load
                first = first_tools_list(argv, handshake, {"XDG_CACHE_HOME": str(first_home)})
                starts.setdefault((str(server), "first-ever"), []).append(first)
                warm = first_tools_list(argv, handshake, {"XDG_CACHE_HOME": str(warm_homes[server])})
                starts.setdefault((str(server), "warm"), []).append(warm)
                # Killed in a loop: one folder, never primed, every start killed right after its reply.
                looped = first_tools_list(argv, handshake, {"XDG_CACHE_HOME": str(Path(scratch) / f"loop-{index}")})
                starts.setdefault((str(server), "killed-in-a-loop"), []).append(looped)
    wall, cpu = (statistics.median(t[i] for t in floor) for i in (0, 1))
    print(f"protocol revision {args.revision}, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"node {version} -e 0: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (medians of {args.runs})")
    for (server, kind), times in starts.items():
        w, c = (statistics.median(t[i] for t in times) for i in (0, 1))
        print(
            f"{labels[server]} ({sizes[server]:.0f} KiB), {kind} start: first tools/list {w * 1000:.0f} ms wall = "
            f"{w / wall:.2f}x, {c * 1000:.0f} ms CPU = {c / cpu:.2f}x node -e 0"
        )


if __name__ == "__main__":
    main()
