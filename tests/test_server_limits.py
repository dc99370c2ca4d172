"""Limits that answer on stdio: a line that is not JSON gets -32700 and the server reads on; a line over the size
limit (12 MiB against the default 10 MiB) gets a JSON-RPC error, then the server exits with code 1 and says why,
instead of staying alive but deaf."""

from __future__ import annotations

import json
import subprocess
import threading

import pytest

from .served import INIT, entry

TIMEOUT = 60  # a safety net for a server that never answers, not a measured limit


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


class Stdio:
    """The server on stdio, spoken to line by line as a client would."""

    def __init__(self, result, env: dict[str, str] | None = None) -> None:
        import os

        self.process = subprocess.Popen(
            ["node", entry(result)],
            env=os.environ | (env or {}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def send(self, data: bytes) -> None:
        assert self.process.stdin
        try:
            self.process.stdin.write(data)
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the server stopped reading: what the over-size test expects

    def message(self) -> dict:
        assert self.process.stdout
        line = self.process.stdout.readline()
        assert line, f"stdout closed; stderr: {self.process.stderr.read() if self.process.stderr else ''}"
        return json.loads(line)

    def handshake(self) -> None:
        self.send((json.dumps(INIT) + "\n").encode())
        assert self.message()["id"] == 1
        self.send(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')

    def ping(self, id_: int) -> dict:
        self.send((json.dumps({"jsonrpc": "2.0", "id": id_, "method": "ping"}) + "\n").encode())
        return self.message()

    def close(self) -> tuple[int, str]:
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        code = self.process.wait(timeout=TIMEOUT)
        assert self.process.stderr
        return code, self.process.stderr.read().decode(errors="replace")


def test_a_line_that_is_not_json_gets_a_parse_error_and_the_server_reads_on(calculator):
    server = Stdio(calculator)
    server.handshake()
    server.send(b'{"jsonrpc": "2.0", "id": 2, "method": \n')
    error = server.message()
    assert error["id"] is None and error["error"]["code"] == -32700
    assert server.ping(3) == {"jsonrpc": "2.0", "id": 3, "result": {}}
    assert server.close()[0] == 0


def test_json_that_is_not_json_rpc_gets_invalid_request_and_the_server_reads_on(calculator):
    server = Stdio(calculator)
    server.handshake()
    server.send(b'{"hello": "world"}\n')
    error = server.message()
    assert error["id"] is None and error["error"]["code"] == -32600
    assert server.ping(4)["result"] == {}
    assert server.close()[0] == 0


def test_a_12_mib_line_gets_an_error_then_a_clean_exit_with_a_reason(calculator):
    server = Stdio(calculator)
    server.handshake()
    assert server.ping(2)["result"] == {}
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "add", "arguments": {}}}
    huge = json.dumps(call | {"padding": "x" * (12 * 1024 * 1024)}).encode() + b"\n"
    writer = threading.Thread(target=server.send, args=(huge,))
    writer.start()
    error = server.message()
    writer.join(TIMEOUT)
    code, stderr = server.close()
    assert error["jsonrpc"] == "2.0" and error["id"] is None
    assert error["error"]["code"] == -32600
    assert "over 10485760 bytes" in error["error"]["message"]
    assert code == 1
    assert "a message over 10485760 bytes (MCP_MAX_MESSAGE_BYTES) arrived on stdin: exiting" in stderr


def test_the_line_limit_is_set_by_mcp_max_message_bytes(calculator):
    server = Stdio(calculator, env={"MCP_MAX_MESSAGE_BYTES": "4096"})
    server.handshake()
    fits = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"_meta": {"pad": "x" * 3000}}}
    server.send((json.dumps(fits) + "\n").encode())
    assert server.message()["id"] == 2
    server.send((json.dumps(fits | {"params": {"_meta": {"pad": "x" * 5000}}}) + "\n").encode())
    assert "over 4096 bytes" in server.message()["error"]["message"]
    assert server.close()[0] == 1
