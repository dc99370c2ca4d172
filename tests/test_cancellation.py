"""A cancelled tool call stops its upstream request: the client's `notifications/cancelled` (stdio) or a
dropped HTTP connection aborts the request's signal, which reaches `http` tools' fetch and code bodies.

The upstream is a local server that would answer after 4 s and records when its client went away. The
assertions are generous (the upstream sees the disconnect long before its reply was due); the figure, in the
order of milliseconds, is printed for the report.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot import proc
from factory_bot.build.protocol import free_port
from factory_bot.spec.loader import load_spec_text

pytestmark = pytest.mark.e2e

REPLY_AFTER = 4.0  # the upstream's reply would take this long

SPEC = """\
name: slow-calls
version: 1.0.0
description: Calls that take a while, to prove a cancelled call stops its upstream request.
env:
  - {name: SLOW_URL, description: Where the slow upstream listens, default: "http://127.0.0.1:9"}
tools:
  - name: fetch_slowly
    description: An http tool whose upstream takes its time.
    input:
      id: {type: string}
    implementation:
      kind: http
      base_url: https://slow.example.com
      base_url_env: SLOW_CALLS_BASE_URL
      path: /items/{id}
      timeout_ms: 20000
    examples:
      - input: {id: a1}
        upstream: {body: {id: a1}}
        output: {id: a1}
  - name: wait_for_upstream
    description: A code body that passes its signal to fetch.
    input:
      id: {type: string}
    implementation:
      kind: code
      code: |
        const response = await fetch(`${env.SLOW_URL}/items/${encodeURIComponent(id)}`, { signal });
        return await response.text();
"""


class SlowUpstream:
    """Answers each request after REPLY_AFTER seconds, unless the client disconnects first; records both."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.received = threading.Event()
        self.received_at: float | None = None
        self.cancelled_at: float | None = None  # set by the test when it cancels or disconnects
        self.gone_at: float | None = None
        self.answered = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.received_at = time.monotonic()
            self.received.set()
            deadline = self.received_at + REPLY_AFTER
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([connection], [], [], left)
                if readable and connection.recv(65536) == b"":
                    self.gone_at = time.monotonic()
                    return
            connection.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 4\r\n\r\nlate")
            self.answered = True

    def wait_gone(self, timeout: float) -> None:
        self._thread.join(timeout)

    def close(self) -> None:
        self.listener.close()

    @property
    def stopped_after_ms(self) -> float:
        assert self.gone_at is not None and self.cancelled_at is not None
        return (self.gone_at - self.cancelled_at) * 1000


@pytest.fixture(scope="module")
def server(shared_build) -> Path:
    result = shared_build(load_spec_text(SPEC))
    assert result.ok, [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
    return result.server_dir / "dist" / "index.js"


@pytest.fixture
def upstream() -> Iterator[SlowUpstream]:
    slow = SlowUpstream()
    yield slow
    slow.close()


def _env(upstream: SlowUpstream) -> dict[str, str]:
    return {"SLOW_CALLS_BASE_URL": upstream.url, "SLOW_URL": upstream.url}


@pytest.mark.parametrize("tool", ["fetch_slowly", "wait_for_upstream"])
def test_a_call_cancelled_over_stdio_stops_its_upstream_request(
    server: Path, upstream: SlowUpstream, tool: str
) -> None:
    async def cancel_mid_call() -> None:
        params = StdioServerParameters(command="node", args=[str(server)], env=_env(upstream))
        async with Client(params, mode="auto") as client:
            call = anyio.CancelScope()

            async def call_tool() -> None:
                with call:
                    await client.call_tool(tool, {"id": "a1"})

            async with anyio.create_task_group() as group:
                group.start_soon(call_tool)
                await anyio.to_thread.run_sync(upstream.received.wait, 10)
                upstream.cancelled_at = time.monotonic()
                call.cancel()  # the client sends notifications/cancelled for the abandoned call
            # The session (and the server) stay up: only the cancellation can stop the upstream request.
            await anyio.to_thread.run_sync(upstream.wait_gone, REPLY_AFTER + 2)
            assert (await client.list_tools()).tools, "the server stopped answering after a cancellation"

    anyio.run(cancel_mid_call)
    assert upstream.received_at is not None, "the call never reached the upstream"
    assert not upstream.answered and upstream.gone_at is not None, "the upstream request ran to its end"
    print(f"stdio {tool}: upstream request stopped {upstream.stopped_after_ms:.0f} ms after the cancellation")


@pytest.mark.parametrize("tool", ["fetch_slowly", "wait_for_upstream"])
def test_a_call_whose_http_client_disconnects_stops_its_upstream_request(
    server: Path, upstream: SlowUpstream, tool: str
) -> None:
    port = free_port()
    process = proc.start(
        ["node", str(server), "--http", "--port", str(port)],
        env=proc.tool_env() | _env(upstream),
        stdout=False,
        stderr="discard",
    )
    try:
        client = _connect(port)
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {
                    "name": tool,
                    "arguments": {"id": "a1"},
                    "_meta": {
                        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "0"},
                        "io.modelcontextprotocol/clientCapabilities": {},
                    },
                },
            }
        ).encode()
        client.sendall(
            b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"accept: application/json, text/event-stream\r\nmcp-protocol-version: 2026-07-28\r\n"
            + f"mcp-method: tools/call\r\nmcp-name: {tool}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert upstream.received.wait(10), "the call never reached the upstream"
        upstream.cancelled_at = time.monotonic()
        client.close()  # the HTTP client goes away mid-call
        upstream.wait_gone(REPLY_AFTER + 2)
    finally:
        proc.kill_group(process)
        process.wait()
    assert not upstream.answered and upstream.gone_at is not None, "the upstream request ran to its end"
    print(f"http {tool}: upstream request stopped {upstream.stopped_after_ms:.0f} ms after the disconnect")


def _connect(port: int) -> socket.socket:
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
