"""Protocol sessions: the built server speaks MCP to the real Python client and passes its examples.

Each check is a `Check` with pass/fail, duration and a readable message. Generated code only ever runs
through `sandbox.launch` (an OS sandbox, see sandbox.py; on a machine without one, a plain process) from a
scratch copy of the server, in a scrubbed environment (no tokens, no API keys, a throwaway HOME, a capped
heap), with a deadline per call and per session; the client stays outside, and everything the server started
dies with it.
"""

from __future__ import annotations

import json
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from factory_bot import proc
from factory_bot.build import protocol_content, protocol_resources, render_asks, sandbox, sandbox_jail, sandbox_net
from factory_bot.build.expectations import compare_tools, example_env, example_problem
from factory_bot.build.protocol_asks import Answers
from factory_bot.build.report import Check
from factory_bot.build.request_check import sent_problem
from factory_bot.build.stdout_watch import CallTracker, StdoutWatch
from factory_bot.build.stub import StubUpstream
from factory_bot.spec.model import ServerSpec, Tool

CALL_TIMEOUT = 10.0  # one tools/call
SESSION_TIMEOUT = 90.0  # one whole protocol session, examples included
MODERN_VERSION = "2026-07-28"


async def protocol_checks(
    spec: ServerSpec, server_dir: Path, env: dict[str, str], *, stub: StubUpstream | None
) -> list[Check]:
    """The modern session over stdio, with every example, against a scratch copy of the built server."""
    with (
        sandbox.scratch(server_dir) as root,
        sandbox.launch(["node", "dist/index.js"], env, root=root, upstream=stub and stub.socket) as launch,
    ):
        return await session_checks(
            spec, launch.argv, launch.env, mode="auto", name="protocol", run_examples=True, stub=stub, cwd=launch.cwd
        )


async def session_checks(
    spec: ServerSpec,
    command: list[str],
    env: dict[str, str],
    *,
    mode: str,
    name: str,
    run_examples: bool,
    stub: StubUpstream | None = None,
    url: str | None = None,
    cwd: str | None = None,
    uds: Path | None = None,
    only_tools: set[str] | None = None,
) -> list[Check]:
    """Open one MCP session (stdio command, or HTTP url, through a unix socket `uds` when given), compare
    tools/list, optionally run every example (of the `only_tools`, when given: then under `<name>-examples`)."""
    import anyio
    from mcp.client.client import Client
    from mcp.client.stdio import StdioServerParameters

    checks: list[Check] = []
    started = time.monotonic()
    stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    stdio = (
        None
        if url
        else StdioWithStderr(StdioServerParameters(command=command[0], args=command[1:], env=env, cwd=cwd), stderr)
    )
    target: Any = sandbox_net.HttpTransport(url, uds) if url and uds else url or stdio
    answers = Answers()
    try:
        with anyio.fail_after(SESSION_TIMEOUT):
            observer = protocol_content.Observer()  # the notifications of each example's call
            callbacks = {"logging_callback": observer.on_log, **answers.callbacks()}
            async with Client(target, mode=mode, **callbacks) as client:
                calls = CallTracker(stdio.watch if stdio else None)
                version = client.session.protocol_version
                listed = (await client.list_tools()).tools
                problems = compare_tools(spec, listed) + calls.new_problems(None)
                if mode == "auto" and version != MODERN_VERSION:
                    problems.append(f"negotiated {version}, expected {MODERN_VERSION}")
                checks.append(
                    Check(
                        name,
                        not problems,
                        time.monotonic() - started,
                        f"protocol {version}: tools/list matches the spec's {len(spec.tools)} tools"
                        if not problems
                        else "tools/list does not match the spec",
                        details=problems,
                    )
                )
                if run_examples:
                    tools = [t for t in spec.tools if only_tools is None or t.name in only_tools]
                    check_name = "examples" if only_tools is None else f"{name}-examples"
                    checks.extend(
                        await _run_examples(
                            client, tools, stub, calls, answers, observer, check_name, example_env(spec, None)
                        )
                    )
                checks.extend(
                    await protocol_resources.kinds_checks(client, spec, answers, name=name, run_examples=run_examples)
                )
    except TimeoutError:
        checks.append(
            Check(
                name,
                False,
                time.monotonic() - started,
                f"no answer within {SESSION_TIMEOUT:g} s; the server was killed",
                details=_tail(stderr),
            )
        )
    except Exception as exc:  # noqa: BLE001 - any failure to talk MCP is a failed check, with the server's stderr
        checks.append(
            Check(
                name,
                False,
                time.monotonic() - started,
                f"could not complete an MCP session: {type(exc).__name__}: {exc}"[:500],
                details=_tail(stderr),
            )
        )
    finally:
        stderr.close()
    return checks


class StdioWithStderr:
    """A stdio transport whose server stderr goes to a file we can quote in the report, and whose stdout
    lines that are not JSON-RPC are caught by `watch` (see stdout_watch.py)."""

    def __init__(self, params: Any, errlog: Any) -> None:
        self.params, self.errlog = params, errlog
        self.watch: StdoutWatch | None = None

    async def __aenter__(self) -> Any:
        from mcp.client.stdio import stdio_client

        self._cm = stdio_client(self.params, errlog=self.errlog)
        read, write = await self._cm.__aenter__()
        self.watch = StdoutWatch(read)
        return self.watch, write

    async def __aexit__(self, *exc: Any) -> Any:
        return await self._cm.__aexit__(*exc)


def _tail(stream: Any, lines: int = 15) -> list[str]:
    try:
        stream.flush()
        stream.seek(0)
        return [f"stderr: {line}" for line in stream.read().splitlines()[-lines:]]
    except (OSError, ValueError):
        return []


async def _run_examples(
    client: Any,
    tools: list[Tool],
    stub: StubUpstream | None,
    calls: CallTracker,
    answers: Answers,
    observer: protocol_content.Observer,
    check_name: str,
    env: dict[str, str],
) -> list[Check]:
    import anyio
    from mcp.shared.exceptions import MCPError
    from mcp.types import CONNECTION_CLOSED

    modern = client.session.protocol_version == MODERN_VERSION
    checks = []
    for tool in tools:
        if not tool.examples:
            continue
        started = time.monotonic()
        problems = []
        hung = False
        failed = 0
        for index, example in enumerate(tool.examples):
            if stub is not None:
                stub.reply = example.upstream
            asked = len(stub.requests) if stub is not None else 0
            label = f"examples[{index}] {json.dumps(example.input)[:120]}"
            answers.expect(example.answers)
            calls.calling(tool.name)
            try:
                with anyio.fail_after(CALL_TIMEOUT):
                    options = await protocol_content.call_options(client, example, observer, modern=modern)
                    result = await client.call_tool(tool.name, example.input, **options)
                    await observer.settle(example)
            except TimeoutError:
                problems.append(f"examples[{index}]: no answer within {CALL_TIMEOUT:g} s (does the code loop?)")
                hung = True
                break
            except RuntimeError as exc:  # the client's strict output validation refused the answer
                problem = f"the client refused the answer: {exc}"[:400]
            except MCPError as exc:  # an error answer, e.g. to an ask the example has no answer for
                if exc.code == CONNECTION_CLOSED:
                    raise  # the server died (out of heap, crashed): the session fails, not one example
                problem = f"the call failed: {exc}"[:400]
            else:
                problem = example_problem(tool, example, result) or protocol_content.content_problem(
                    tool, example, result
                )
            finally:
                calls.calling(None)
            seen = protocol_content.observation_problems(example, observer)
            sent = sent_problem(example.request, stub.requests[asked:], env) if stub is not None else None
            found = [
                p
                for p in [*answers.problems, answers.leftover(), problem, sent, *seen, *calls.new_problems(tool.name)]
                if p
            ]
            problems.extend(f"{label}: {p}" for p in found)
            failed += bool(found)
        passed = len(tool.examples) - failed
        checks.append(
            Check(
                check_name,
                not problems,
                time.monotonic() - started,
                f"{passed}/{len(tool.examples)} examples pass",
                tool=tool.name,
                details=problems,
            )
        )
        if hung:  # a stuck event loop answers nothing more; the session deadline will reap it
            break
    return checks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def http_checks(spec: ServerSpec, entry: Path, env: dict[str, str]) -> list[Check]:
    """Start the server with --http, list tools over Streamable HTTP, and check DNS-rebinding protection."""
    import anyio

    sandboxed = sandbox.current().ok
    port = sandbox_jail.SERVER_PORT if sandboxed else free_port()  # inside the sandbox the port is its own
    started = time.monotonic()
    with (
        sandbox.scratch(entry.parent.parent) as root,
        sandbox.launch(["node", "dist/index.js", "--http", "--port", str(port)], env, root=root, expose=port) as launch,
    ):
        process = proc.start(launch.argv, env=launch.env, cwd=launch.cwd, stdout=False)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if sandbox_net.accepts(port, launch.socket):
                    break
                if process.poll() is not None:
                    break
                await anyio.sleep(0.02)
            else:
                return [Check("http", False, time.monotonic() - started, "the server did not listen within 15 s")]
            if process.poll() is not None:
                err = process.stderr.read() if process.stderr else ""  # proc.start reads text
                return [
                    Check(
                        "http",
                        False,
                        time.monotonic() - started,
                        "the server exited at start",
                        details=err.splitlines()[-10:],
                    )
                ]
            over_http = {"url": f"http://127.0.0.1:{port}/mcp", "uds": launch.socket}
            checks = await session_checks(spec, [], {}, mode="auto", name="http", run_examples=False, **over_http)
            asking = {tool.name for tool in spec.tools if tool.asks}
            if render_asks.spec_asks(spec):  # a 2025-era client is asked through its session: the examples
                # of the tools that ask (and, as in every session with examples, the resources' and prompts')
                checks += await session_checks(
                    spec, [], {}, mode="legacy", name="http-legacy", run_examples=True, only_tools=asking, **over_http
                )
            checks.append(await _rebinding_check(port, launch.socket))
            return checks
        finally:
            proc.kill_group(process)
            process.wait()
            proc.wait_group_gone(process.pid)


async def _rebinding_check(port: int, uds: Path | None = None) -> Check:
    """A request naming a foreign Host or Origin must be refused (DNS rebinding protection)."""
    import anyio

    started = time.monotonic()
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "factory-bot", "version": "0"},
            },
        }
    )
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}

    def status(extra: dict[str, str]) -> int:
        connection = sandbox_net.Connection(port, uds)
        try:
            connection.request("POST", "/mcp", body=body, headers=headers | extra)
            return connection.getresponse().status
        finally:
            connection.close()

    evil_host = await anyio.to_thread.run_sync(status, {"host": "evil.example"})
    evil_origin = await anyio.to_thread.run_sync(status, {"origin": "http://evil.example"})
    ok = evil_host == 403 and evil_origin == 403
    return Check(
        "http-host-check",
        ok,
        time.monotonic() - started,
        "foreign Host and Origin are refused with 403"
        if ok
        else f"foreign Host → {evil_host}, foreign Origin → {evil_origin}; expected 403",
    )


async def installed_checks(spec: ServerSpec, command: Path, env: dict[str, str], started: float) -> list[Check]:
    """Talk MCP to the npm-installed command (installed by install_tgz since `started`) over the legacy
    `initialize` handshake: one session proves the package installs and runs, and that 2025-era clients work."""
    session_started = time.monotonic()
    prefix = command.parent.parent  # a throwaway npm prefix: the sandbox's scratch copy
    with sandbox.launch([command.relative_to(prefix).as_posix()], env, root=prefix) as launch:
        checks = await session_checks(
            spec, launch.argv, launch.env, mode="legacy", name="protocol-legacy", run_examples=False, cwd=launch.cwd
        )
        [session] = [c for c in checks if c.name == "protocol-legacy"]
        kinds = [c for c in checks if c.name != "protocol-legacy"]  # resources and prompts on 2025-11-25
    session.message = f"{session.message} (the npm-installed `{spec.name}` command)" if session.ok else session.message
    installed = Check(
        "installed-bin",
        session.ok,
        time.monotonic() - started,
        f"npm install -g of the .tgz gives a `{spec.name}` command that answers MCP"
        if session.ok
        else f"the npm-installed `{spec.name}` command did not complete an MCP session",
        details=[] if session.ok else session.details,
    )
    session.seconds = time.monotonic() - session_started
    return [session, installed, *kinds]
