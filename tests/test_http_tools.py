"""`http` tools send their credentials only where the spec says, and never repeat them.

A GitHub-like API with a token: path inputs `..` (or `%2e%2e`, or a `/`) would walk the request, with its
`Authorization` header, to another endpoint of the same host; they are refused at call time, before any
request. No tool result, server log or build report ever contains a header value or a `secret: true` value:
not when the API echoes the request back, not when fetch itself fails, not on a timeout.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters

from factory_bot.build import pipeline
from factory_bot.build.pipeline import build_many
from factory_bot.build.protocol import StdioWithStderr
from factory_bot.build.stub import StubUpstream
from factory_bot.spec.loader import load_spec_text

from .test_build_e2e import npm_install_global

pytestmark = pytest.mark.e2e

SECRET = "tok-SECRET-3f9a7c0d"  # the token the examples run with; it must never come back out
SPEC = f"""\
name: repo-reader
version: 1.0.0
description: Reads a repository's details from a GitHub-like API, with a token.
env:
  - {{name: REPO_API_TOKEN, description: API token, secret: true, example: "{SECRET}"}}
tools:
  - name: get_repo
    description: One repository's details.
    input:
      owner: {{type: string}}
      repo: {{type: string}}
    implementation:
      kind: http
      base_url: https://api.example.com
      base_url_env: REPO_API_BASE_URL
      path: /repos/{{owner}}/{{repo}}
      headers: {{Authorization: "Bearer ${{REPO_API_TOKEN}}"}}
      timeout_ms: 1500
    examples:
      - input: {{owner: acme, repo: tools}}
        upstream: {{body: {{full_name: acme/tools}}}}
        output: {{full_name: acme/tools}}
      # Were any of these sent, the stub's 200 would make the example fail (it expects an error).
      - input: {{owner: "..", repo: ".."}}
        upstream: {{body: {{admin: true}}}}
        error: "the input owner cannot go into the URL path: it is the dot segment"
      - input: {{owner: acme, repo: "%2e%2e"}}
        upstream: {{body: {{admin: true}}}}
        error: "the input repo cannot go into the URL path: it decodes to the dot segment"
      - input: {{owner: acme, repo: "tools/../../admin"}}
        upstream: {{body: {{admin: true}}}}
        error: "cannot go into the URL path: it contains a / or"
      - input: {{owner: acme, repo: "%252E%252e"}}
        upstream: {{body: {{admin: true}}}}
        error: "decodes to the dot segment"
      - input: {{owner: acme, repo: "tools%2F..%2Fadmin%zz"}}
        upstream: {{body: {{admin: true}}}}
        error: "decodes to text with a / or"
      - input: {{owner: "", repo: tools}}
        upstream: {{body: {{admin: true}}}}
        error: "it is empty"
      # An API that echoes the request: the reply carries the header and the token, the error neither.
      - input: {{owner: acme, repo: private}}
        upstream: {{status: 401, body: {{message: Bad credentials, got: "Bearer {SECRET}", token: "{SECRET}"}}}}
        error: 'HTTP 401: {{"message": "Bad credentials", "got": "***", "token": "***"}}'
"""


@pytest.fixture(scope="module")
def repo_reader(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real build of the spec, with every request the validation stub received."""
    stubs: list[StubUpstream] = []

    class RecordingStub(StubUpstream):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            stubs.append(self)

    out = tmp_path_factory.mktemp("repo-reader")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "StubUpstream", RecordingStub)
        [result] = build_many([load_spec_text(SPEC)], out, jobs=1, use_cache=False)
    return {"result": result, "out": out, "requests": [r for stub in stubs for r in stub.requests]}


def test_path_inputs_that_would_leave_the_endpoint_are_refused_before_any_request(repo_reader) -> None:
    result = repo_reader["result"]
    failures = [(c.name, c.tool, c.message, c.details) for c in result.report.failures]
    assert result.ok, failures
    [examples] = [c for c in result.report.checks if c.name == "examples"]
    assert examples.ok and examples.message == "8/8 examples pass"
    # Every session (stdio, legacy, the installed bin) sent only the two examples with plain names; a `..`
    # would have arrived as `/` (new URL resolves it), a `/` as another path.
    requests = repo_reader["requests"]
    assert requests and {r["path"] for r in requests} == {"/repos/acme/tools", "/repos/acme/private"}
    assert all(r["headers"].get("Authorization") == f"Bearer {SECRET}" for r in requests)


def test_the_secret_is_in_no_build_output(repo_reader) -> None:
    out: Path = repo_reader["out"]
    report = (out / "repo-reader.build.json").read_text(encoding="utf-8")
    assert json.loads(report)["ok"] is True
    for path in [out / "repo-reader.build.json", *sorted((out / "repo-reader").rglob("*"))]:
        if path.is_file() and "node_modules" not in path.parts:
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path


class EchoingApi:
    """A local API that answers 401 with every request header echoed back, or hangs on /slow/…"""

    def __init__(self) -> None:
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                api.paths.append(self.path)
                if self.path.startswith("/repos/slow/"):
                    time.sleep(3)  # longer than the tool's timeout_ms
                payload = json.dumps({"message": "Bad credentials", "request_headers": dict(self.headers)}).encode()
                try:
                    self.send_response(401)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (the timeout case)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def calls(command: str, env: dict[str, str], errlog: Path, arguments: list[dict[str, str]]) -> list[Any]:
    with errlog.open("w", encoding="utf-8") as stderr:
        async with Client(StdioWithStderr(StdioServerParameters(command=command, env=env), stderr)) as client:
            return [await client.call_tool("get_repo", args) for args in arguments]


def test_an_installed_server_never_repeats_its_token_and_never_leaves_the_endpoint(repo_reader, tmp_path) -> None:
    bin_dir = npm_install_global(repo_reader["result"].tgz, tmp_path / "prefix")
    api = EchoingApi()
    errlog = tmp_path / "stderr.txt"
    try:
        env = {"REPO_API_BASE_URL": api.url, "REPO_API_TOKEN": SECRET}
        echoed, walked, slow = anyio.run(
            calls,
            str(bin_dir / "repo-reader"),
            env,
            errlog,
            [{"owner": "acme", "repo": "tools"}, {"owner": "..", "repo": ".."}, {"owner": "slow", "repo": "x"}],
        )
        [bad_header] = anyio.run(
            calls,
            str(bin_dir / "repo-reader"),  # fetch would quote the value
            {"REPO_API_BASE_URL": api.url, "REPO_API_TOKEN": f"{SECRET}\n"},
            tmp_path / "stderr-2.txt",
            [{"owner": "acme", "repo": "tools"}],
        )
        [refused_host] = anyio.run(
            calls,
            str(bin_dir / "repo-reader"),
            {"REPO_API_BASE_URL": f"http://127.0.0.1:{closed_port()}", "REPO_API_TOKEN": SECRET},
            tmp_path / "stderr-3.txt",
            [{"owner": "acme", "repo": "tools"}],
        )
        [in_url] = anyio.run(
            calls,
            str(bin_dir / "repo-reader"),
            {"REPO_API_BASE_URL": api.url.replace("//", f"//me:{SECRET}@"), "REPO_API_TOKEN": "x" * 8},
            tmp_path / "stderr-4.txt",
            [{"owner": "acme", "repo": "tools"}],
        )
    finally:
        api.server.shutdown()
    texts = {
        name: r.content[0].text
        for name, r in [
            ("echoed", echoed),
            ("walked", walked),
            ("slow", slow),
            ("bad_header", bad_header),
            ("refused", refused_host),
            ("in_url", in_url),
        ]
    }
    assert all(r.is_error for r in (echoed, walked, slow, bad_header, refused_host, in_url)), texts
    assert "answered HTTP 401" in texts["echoed"] and "Bad credentials" in texts["echoed"]
    assert '"authorization": "***"' in texts["echoed"].lower()
    assert "cannot go into the URL path" in texts["walked"]
    assert "timed out after 1500 ms" in texts["slow"]
    assert "the header Authorization has a value HTTP cannot carry" in texts["bad_header"]
    assert "REPO_API_TOKEN" in texts["bad_header"]
    assert "failed" in texts["refused"] and "ECONNREFUSED" in texts["refused"]
    assert "carries credentials: send them in a header instead" in texts["in_url"]
    assert api.paths.count("/repos/acme/tools") == 1 and "/repos/slow/x" in api.paths  # `..` never arrived
    assert all(not p.startswith("/repos/..") and p != "/" for p in api.paths)
    outputs = [*texts.values(), *(p.read_text(encoding="utf-8") for p in sorted(tmp_path.glob("stderr*.txt")))]
    for text in outputs:
        assert SECRET not in text and "3f9a7c0d" not in text, text
