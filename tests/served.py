"""A built server started as its users start it: `node dist/index.js [flags]`, a real process on a real port."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from factory_bot.build.pipeline import BuildResult
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec

FIXTURES = Path(__file__).parent / "fixtures"
_LISTENING = re.compile(r"listening on http://(?P<host>[^/]+):(?P<port>\d+)/mcp")
START_TIMEOUT = 30  # a safety net for a server that never starts, not a measured limit
# The handshake a 2025-11-25 client opens with, and the Accept header Streamable HTTP wants.
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}},
}
ACCEPT = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def build_fixture(name: str, shared_build: Callable[[ServerSpec], BuildResult]) -> BuildResult:
    """tests/fixtures/<name>.yaml built once per run (conftest's `shared_build`)."""
    result = shared_build(load_spec_file(FIXTURES / f"{name}.yaml"))
    assert result.ok, [(c.name, c.message, c.details) for c in result.report.failures]
    return result


def entry(result: BuildResult) -> str:
    return str(result.server_dir / "dist" / "index.js")


def run(result: BuildResult, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the server's command to completion (help, version, misuse), stdin closed."""
    return subprocess.run(
        ["node", entry(result), *args],
        env=os.environ | (env or {}),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )


@dataclass
class Http:
    """A server serving Streamable HTTP; `stderr` collects its log lines as they come."""

    process: subprocess.Popen[str]
    port: int
    stderr: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"


@contextmanager
def serving(result: BuildResult, *args: str, env: dict[str, str] | None = None) -> Iterator[Http]:
    """`node dist/index.js --http --port 0 ARGS`; yields once it logged where it listens; stops it after."""
    process = subprocess.Popen(
        ["node", entry(result), "--http", "--port", "0", *args],
        env=os.environ | (env or {}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    found = threading.Event()
    port: list[int] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            match = _LISTENING.search(line)
            if match and not port:
                port.append(int(match["port"]))
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        found.wait(START_TIMEOUT)
        assert port, f"the server did not start: {lines}"
        yield Http(process, port[0], lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        reader.join(5)
