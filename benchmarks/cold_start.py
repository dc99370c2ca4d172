"""Cold start of a built server: process start to the first `tools/list` reply on stdio, against `node -e 0`.

usage: python benchmarks/cold_start.py SERVER_DIR [SERVER_DIR ...] [--runs N] [--node-flag FLAG]

Each run starts `node dist/index.js`, writes the legacy handshake and a tools/list request at once, and stops the
clock at the tools/list reply (then kills the server). Prints medians of wall time and of the CPU time the process
used (user + sys, from wait4: steadier than wall time on a busy machine); a benchmark, never a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

HANDSHAKE = "".join(
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


def first_tools_list(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds from process start to the tools/list reply."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdin and process.stdout
    process.stdin.write(HANDSHAKE)
    process.stdin.flush()
    for line in process.stdout:
        if json.loads(line).get("id") == 2:
            break
    elapsed = time.perf_counter() - started
    process.kill()
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = -9
    return elapsed, usage.ru_utime + usage.ru_stime


def node_floor() -> tuple[float, float]:
    started = time.perf_counter()
    process = subprocess.Popen(["node", "-e", "0"])
    _, _, usage = os.wait4(process.pid, 0)
    process.returncode = 0
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("servers", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--node-flag", action="append", default=[])
    args = parser.parse_args()
    floor, starts = [], {str(s): [] for s in args.servers}
    for _ in range(args.runs):  # interleaved, so a noisy second hits every subject alike
        floor.append(node_floor())
        for server in args.servers:
            starts[str(server)].append(first_tools_list(["node", *args.node_flag, str(server / "dist" / "index.js")]))
    wall, cpu = (statistics.median(t[i] for t in floor) for i in (0, 1))
    print(f"node -e 0: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU (medians of {args.runs})")
    for server, times in starts.items():
        size = (Path(server) / "dist" / "index.js").stat().st_size
        w, c = (statistics.median(t[i] for t in times) for i in (0, 1))
        print(
            f"{server} ({size / 1024:.0f} KiB): first tools/list {w * 1000:.0f} ms wall = {w / wall:.2f}x,"
            f" {c * 1000:.0f} ms CPU = {c / cpu:.2f}x node -e 0"
        )


if __name__ == "__main__":
    main()
