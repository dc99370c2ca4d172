"""Cold start of a built server: process start to the first `tools/list` reply on stdio, against `node -e 0`.

usage: python benchmarks/cold_start.py SERVER_DIR [SERVER_DIR ...] [--runs N] [--node-flag FLAG]

Each run starts `node dist/index.js`, writes the legacy handshake and a tools/list request at once, and stops the
clock at the tools/list reply. Prints medians; a benchmark, never a test (timings on a shared machine are noisy).
"""

from __future__ import annotations

import argparse
import json
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


def first_tools_list(argv: list[str]) -> float:
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
    process.wait()
    return elapsed


def node_floor() -> float:
    started = time.perf_counter()
    subprocess.run(["node", "-e", "0"], check=True)
    return time.perf_counter() - started


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
    base = statistics.median(floor)
    print(f"node -e 0: {base * 1000:.0f} ms (median of {args.runs})")
    for server, times in starts.items():
        size = (Path(server) / "dist" / "index.js").stat().st_size
        median = statistics.median(times)
        print(
            f"{server}: first tools/list {median * 1000:.0f} ms = {median / base:.2f}x node -e 0; {size / 1024:.0f} KiB"
        )


if __name__ == "__main__":
    main()
