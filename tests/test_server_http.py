"""The generated server over HTTP, deployed for real: a health endpoint, any Host behind a proxy, a warning on a
public bind, opt-in CORS, bearer tokens, and limits that answer in JSON-RPC."""

from __future__ import annotations

import json

import anyio
import httpx2
import pytest
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from .served import ACCEPT, INIT, serving

APP = "https://app.example"


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


def post(server, headers: dict[str, str] | None = None, body: object = INIT, **kwargs) -> httpx2.Response:
    if isinstance(body, bytes | str):
        return httpx2.post(server.url, content=body, headers=ACCEPT | (headers or {}), timeout=30, **kwargs)
    return httpx2.post(server.url, json=body, headers=ACCEPT | (headers or {}), timeout=30, **kwargs)


def rpc(answer: httpx2.Response) -> dict:
    """The JSON-RPC message of an answer, sent as JSON or as one SSE event (the 2025 leg streams)."""
    if answer.headers["content-type"].startswith("text/event-stream"):
        [data] = [line[5:] for line in answer.text.splitlines() if line.startswith("data:")]
        return json.loads(data)
    return answer.json()


async def list_tools(url: str, headers: dict[str, str] | None = None) -> list[str]:
    """tools/list through the real MCP client (protocol negotiation as a client does it)."""
    async with httpx2.AsyncClient(headers=headers or {}, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            return sorted(tool.name for tool in (await client.list_tools()).tools)


def test_healthz_answers_200_with_name_and_version(calculator):
    with serving(calculator) as server:
        answer = httpx2.get(f"{server.base}/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"status": "ok", "name": "calculator", "version": "1.0.0"}


def test_initialize_promises_no_tool_list_changes(calculator):
    with serving(calculator) as server:
        capabilities = rpc(post(server))["result"]["capabilities"]
    assert capabilities["tools"] == {"listChanged": False}


def test_any_host_is_accepted_with_allowed_hosts_star_and_refused_without(calculator):
    with serving(calculator) as server:
        assert post(server, {"host": "mcp.example.com"}).status_code == 403
    with serving(calculator, env={"MCP_ALLOWED_HOSTS": "*"}) as server:
        answer = post(server, {"host": "mcp.example.com"})
    assert answer.status_code == 200
    assert rpc(answer)["result"]["serverInfo"]["name"] == "calculator"


def test_a_listed_host_is_accepted_and_others_still_refused(calculator):
    with serving(calculator, env={"MCP_ALLOWED_HOSTS": "mcp.example.com"}) as server:
        assert post(server, {"host": "mcp.example.com"}).status_code == 200
        assert post(server, {"host": "evil.example"}).status_code == 403


def test_binding_every_interface_without_allowed_hosts_warns_at_start(calculator):
    with serving(calculator, "--host", "0.0.0.0") as server:
        pass
    assert any(line.startswith("[calculator] warning: bound to 0.0.0.0") for line in server.stderr), server.stderr
    with serving(calculator, "--host", "0.0.0.0", env={"MCP_ALLOWED_HOSTS": "mcp.example.com"}) as server:
        pass
    with serving(calculator) as local:
        pass
    assert not any("warning" in line for line in server.stderr + local.stderr)


def test_cors_is_off_unless_origins_are_listed(calculator):
    with serving(calculator) as server:
        answer = post(server, {"origin": "http://localhost:5173"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_a_listed_origin_gets_a_preflight_and_the_mcp_headers_exposed(calculator):
    with serving(calculator, env={"MCP_CORS_ORIGINS": f"{APP},https://other.example"}) as server:
        preflight = httpx2.options(
            server.url,
            headers={
                "origin": APP,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type, mcp-protocol-version, authorization",
            },
        )
        answer = post(server, {"origin": APP})
        foreign = post(server, {"origin": "https://evil.example"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == APP
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert all(name in allowed for name in ("content-type", "mcp-protocol-version", "authorization"))
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP
    exposed = answer.headers["access-control-expose-headers"].lower()
    assert "mcp-session-id" in exposed and "mcp-protocol-version" in exposed
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers


def test_bearer_auth_refuses_a_missing_or_wrong_token_and_accepts_the_right_one(calculator):
    with serving(calculator, env={"MCP_AUTH_TOKEN": "s3cret-token"}) as server:
        missing = post(server)
        wrong = post(server, {"authorization": "Bearer s3cret-tokeN"})
        health = httpx2.get(f"{server.base}/healthz")
        tools = anyio.run(list_tools, server.url, {"authorization": "Bearer s3cret-token"})
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the client wraps the 401 its own way
            anyio.run(list_tools, server.url, {"authorization": "Bearer guess"})
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert "invalid_token" in wrong.headers["www-authenticate"]
    assert health.status_code == 200  # a load balancer's probe needs no token
    assert tools == ["add", "divide", "multiply", "subtract"]
    assert refused.value is not None
    assert any("(bearer token required)" in line for line in server.stderr)
    assert not any("s3cret" in line for line in server.stderr)


def test_bearer_tokens_can_come_from_a_file_one_per_line(calculator, tmp_path):
    tokens = tmp_path / "tokens"
    tokens.write_text("# for the dashboard\nfirst-token\n\nsecond-token\n")
    with serving(calculator, env={"MCP_AUTH_TOKENS_FILE": str(tokens)}) as server:
        assert post(server, {"authorization": "Bearer second-token"}).status_code == 200
        assert post(server, {"authorization": "Bearer first-token"}).status_code == 200
        assert post(server, {"authorization": "Bearer # for the dashboard"}).status_code == 401
        assert post(server).status_code == 401


def test_an_unreadable_token_file_stops_the_start_in_one_line(calculator, tmp_path):
    from .served import run

    done = run(calculator, "--http", "--port", "0", env={"MCP_AUTH_TOKENS_FILE": str(tmp_path / "nope")})
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"calculator: cannot read MCP_AUTH_TOKENS_FILE {tmp_path / 'nope'}")


def test_an_over_size_body_gets_413_with_a_json_rpc_error(calculator):
    with serving(calculator, env={"MCP_MAX_MESSAGE_BYTES": "2048"}) as server:
        big = INIT | {"params": INIT["params"] | {"clientInfo": {"name": "x" * 4096, "version": "0"}}}
        answer = post(server, body=big)
        small = post(server)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["jsonrpc"] == "2.0" and answer.json()["error"]["code"] < 0
    assert small.status_code == 200


def test_a_body_that_is_not_json_gets_a_parse_error(calculator):
    with serving(calculator) as server:
        answer = post(server, body=b'{"jsonrpc": "2.0", "id": 1, "method": ')
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["error"]["code"] == -32700
