"""HTTP sessions for 2025-era clients: a tool that asks reaches its client through the session, sessions open on
initialize, end on DELETE or when idle, are capped, carry the standalone GET stream, and a dropped stream resumes
from the last event it delivered. Servers whose tools do not ask stay stateless unless told."""

from __future__ import annotations

import json
import signal
import time

import anyio
import httpx2
import pytest
from mcp import types
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client

from .served import ACCEPT, INIT, serving

pytestmark = pytest.mark.e2e
MODERN = "2025-11-25"  # the revision whose streams are resumable (priming events)
CALL = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": "tools/call",
    "params": {"name": "rate_release", "arguments": {"release": "v3"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


@pytest.fixture(scope="module")
def feedback(built):
    return built("feedback")


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


def initialize(server, capabilities: dict | None = None) -> str:
    """A 2025-11-25 handshake by hand; returns the session id the server gave."""
    body = json.loads(json.dumps(INIT))
    body["params"]["capabilities"] = capabilities or {}
    answer = httpx2.post(server.url, json=body, headers=ACCEPT, timeout=30)
    assert answer.status_code == 200, answer.text
    session = answer.headers["mcp-session-id"]
    headers = ACCEPT | {"mcp-session-id": session, "mcp-protocol-version": MODERN}
    assert httpx2.post(server.url, json=INITIALIZED, headers=headers, timeout=30).status_code == 202
    return session


def in_session(session: str) -> dict[str, str]:
    return ACCEPT | {"mcp-session-id": session, "mcp-protocol-version": MODERN}


async def rate_over_http(url: str) -> types.CallToolResult:
    async def elicit(_context, _params):
        return types.ElicitResult(action="accept", content={"rating": "bad", "comment": "crashes"})

    async def sample(_context, _params):
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="It crashes."), model="m"
        )

    async with httpx2.AsyncClient(timeout=30) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="legacy", elicitation_callback=elicit, sampling_callback=sample) as client:
            return await client.call_tool("rate_release", {"release": "v3"})


def test_a_2025_client_over_http_is_asked_through_its_session(feedback):
    with serving(feedback) as server:
        result = anyio.run(rate_over_http, server.url)
    assert not result.is_error, result
    assert result.content[0].text == "v3: bad. It crashes."


def test_without_sessions_a_2025_client_over_http_cannot_be_asked(feedback):
    with serving(feedback, "--stateless") as server:
        try:
            result = anyio.run(rate_over_http, server.url)
        except Exception:  # noqa: BLE001 - however the client gives up, it got no answer
            return
    assert result.is_error, result


def test_a_tools_only_server_is_stateless_unless_sessions_are_asked_for(calculator):
    with serving(calculator) as server:
        assert "mcp-session-id" not in httpx2.post(server.url, json=INIT, headers=ACCEPT, timeout=30).headers
    with serving(calculator, env={"MCP_SESSIONS": "on"}) as server:
        assert server.stderr[-1].endswith("(sessions on)")
        assert httpx2.post(server.url, json=INIT, headers=ACCEPT, timeout=30).headers["mcp-session-id"]


def test_a_session_lives_until_delete_and_then_is_gone(calculator):
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    with serving(calculator, "--sessions") as server:
        session = initialize(server)
        assert httpx2.post(server.url, json=listing, headers=in_session(session), timeout=30).status_code == 200
        assert httpx2.delete(server.url, headers=in_session(session), timeout=30).status_code == 200
        gone = httpx2.post(server.url, json=listing, headers=in_session(session), timeout=30)
        unknown = httpx2.post(server.url, json=listing, headers=in_session("no-such-session"), timeout=30)
        missing = httpx2.post(server.url, json=listing, headers=ACCEPT, timeout=30)
    assert gone.status_code == 404 and unknown.status_code == 404
    assert gone.json()["error"]["message"].startswith("Session not found")
    assert missing.status_code == 400


def test_sessions_are_capped_and_an_initialize_beyond_the_cap_gets_503(calculator):
    with serving(calculator, "--sessions", env={"MCP_MAX_SESSIONS": "2"}) as server:
        first = initialize(server)
        initialize(server)
        refused = httpx2.post(server.url, json=INIT, headers=ACCEPT, timeout=30)
        httpx2.delete(server.url, headers=in_session(first), timeout=30)
        room_again = httpx2.post(server.url, json=INIT, headers=ACCEPT, timeout=30)
    assert refused.status_code == 503
    assert "MCP_MAX_SESSIONS=2" in refused.json()["error"]["message"]
    assert room_again.status_code == 200


def test_an_idle_session_ends_by_itself(calculator):
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    with serving(calculator, "--sessions", env={"MCP_SESSION_IDLE_MS": "1000"}) as server:
        session = initialize(server)
        deadline = time.monotonic() + 30  # a safety net, not a measured limit: the sweep runs every second
        ended = f"session {session} ended: no request for 1000 ms"
        while not any(ended in line for line in server.stderr) and time.monotonic() < deadline:
            time.sleep(0.2)  # any request would count as activity, so the test watches the log instead
        after = httpx2.post(server.url, json=listing, headers=in_session(session), timeout=30)
    assert any(ended in line for line in server.stderr), server.stderr
    assert after.status_code == 404


def test_get_opens_the_standalone_stream_of_a_session_and_stateless_servers_refuse_it(calculator):
    with serving(calculator, "--sessions") as server:
        session = initialize(server)
        with httpx2.stream("GET", server.url, headers=in_session(session) | {"accept": "text/event-stream"}) as get:
            status, kind = get.status_code, get.headers["content-type"]
    with serving(calculator) as server:
        stateless = httpx2.get(server.url, headers={"accept": "text/event-stream"}, timeout=30).status_code
    assert (status, kind) == (200, "text/event-stream")
    assert stateless == 405


def events(lines) -> list[dict]:
    """SSE events as {id, retry, data} dicts, read until the stream yields what the caller needs."""
    event: dict = {}
    for line in lines:
        if line == "":
            if event:
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value.removeprefix(" ")


def test_a_dropped_stream_is_resumed_from_its_last_event_with_last_event_id(feedback):
    """The POST stream of a call starts with a priming event (an id, a retry time, no data); the client drops it
    after the server's first question, answers, and a GET with Last-Event-ID brings what it missed."""
    with serving(feedback) as server:
        session = initialize(server, {"elicitation": {}, "sampling": {}})
        with httpx2.stream("POST", server.url, json=CALL, headers=in_session(session), timeout=30) as post:
            stream = events(post.iter_lines())
            priming = next(stream)
            question = json.loads(next(stream)["data"])
        # the stream is gone; the answer to the form goes in its own POST, and the call goes on without a reader
        answer = {"jsonrpc": "2.0", "id": question["id"], "result": {"action": "accept", "content": {"rating": "ok"}}}
        assert httpx2.post(server.url, json=answer, headers=in_session(session), timeout=30).status_code == 202
        resumed = in_session(session) | {"accept": "text/event-stream", "last-event-id": priming["id"]}
        with httpx2.stream("GET", server.url, headers=resumed, timeout=30) as get:
            replayed = events(get.iter_lines())
            first, second = json.loads(next(replayed)["data"]), json.loads(next(replayed)["data"])
    assert priming.get("data", "") == "" and priming["retry"] == "1000"
    assert question["method"] == "elicitation/create"
    assert first == question  # replayed: the stream's events after the priming one, in order
    assert second["method"] == "sampling/createMessage"  # sent while nobody was reading


def test_auth_host_checks_cors_and_the_body_limit_hold_with_sessions(calculator):
    env = {"MCP_AUTH_TOKEN": "s3cret-token", "MCP_MAX_MESSAGE_BYTES": "2048", "MCP_CORS_ORIGINS": "https://app.example"}
    token = {"authorization": "Bearer s3cret-token"}
    big = INIT | {"params": INIT["params"] | {"clientInfo": {"name": "x" * 4096, "version": "0"}}}
    with serving(calculator, "--sessions", env=env) as server:
        no_token = httpx2.post(server.url, json=INIT, headers=ACCEPT, timeout=30)
        foreign = httpx2.post(server.url, json=INIT, headers=ACCEPT | token | {"host": "evil.example"}, timeout=30)
        too_big = httpx2.post(server.url, json=big, headers=ACCEPT | token, timeout=30)
        opened = httpx2.post(server.url, json=INIT, headers=ACCEPT | token | {"origin": "https://app.example"})
        session = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        unauthorized_in_session = httpx2.post(server.url, json=listing, headers=in_session(session), timeout=30)
        health = httpx2.get(f"{server.base}/healthz", timeout=30)
    assert no_token.status_code == 401 and unauthorized_in_session.status_code == 401
    assert foreign.status_code == 403
    assert too_big.status_code == 413
    assert opened.headers["access-control-allow-origin"] == "https://app.example"
    assert "Mcp-Session-Id" in opened.headers["access-control-expose-headers"]
    assert health.status_code == 200


def test_sigterm_ends_the_standalone_streams_so_the_drain_is_not_held_by_them(calculator):
    with serving(calculator, "--sessions", "--drain-timeout-ms", "60000") as server:
        session = initialize(server)
        headers = in_session(session) | {"accept": "text/event-stream"}
        with httpx2.stream("GET", server.url, headers=headers, timeout=60) as get:
            assert get.status_code == 200
            server.process.send_signal(signal.SIGTERM)
            list(get.iter_lines())  # the server ends the stream; a held stream would wait out the 60 s drain
        code = server.process.wait(timeout=60)
    assert code == 0  # exit 1 would mean the drain deadline cut a request off
