"""The generated server's command line, as a user or a process manager meets it: help, version, misuse in one
line with exit code 2, a busy port in one line with exit code 1, a drain deadline on SIGTERM, and an index
module that a test can import without starting a server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from pathlib import Path

import httpx2
import pytest

from .served import ACCEPT, build_fixture, entry, run, serving

FLAGS = ["--stdio", "--http", "--host", "--port", "--drain-timeout-ms", "--help", "--version"]
VARIABLES = [
    "MCP_TRANSPORT",
    "MCP_HOST",
    "MCP_PORT",
    "PORT",
    "MCP_DRAIN_TIMEOUT_MS",
    "MCP_ALLOWED_HOSTS",
    "MCP_CORS_ORIGINS",
    "MCP_AUTH_TOKEN",
    "MCP_AUTH_TOKENS_FILE",
    "MCP_MAX_MESSAGE_BYTES",
]


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


@pytest.fixture(scope="module")
def sleeper(shared_build):
    return build_fixture("sleeper", shared_build)


def test_help_names_every_flag_and_environment_variable(calculator):
    done = run(calculator, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("calculator 1.0.0: an MCP server.")
    for name in FLAGS + VARIABLES:
        assert name in done.stdout, name


def test_version_prints_the_version_and_exits_0(calculator):
    for flag in ("--version", "-V"):
        done = run(calculator, flag)
        assert (done.returncode, done.stdout, done.stderr) == (0, "1.0.0\n", "")


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--htp"], {}, "unknown option --htp"),
        (["--port"], {}, "--port needs a value"),
        (["--http", "--port", "abc"], {}, '--port must be a whole number from 0 to 65535, not "abc"'),
        (["--http", "--port", "70000"], {}, "--port must be a whole number from 0 to 65535"),
        (["--http"], {"MCP_PORT": ""}, 'MCP_PORT must be a whole number from 0 to 65535, not ""'),
        (["--http"], {"MCP_DRAIN_TIMEOUT_MS": "soon"}, "MCP_DRAIN_TIMEOUT_MS must be a whole number"),
        ([], {"MCP_TRANSPORT": "htp"}, 'MCP_TRANSPORT must be http or stdio, not "htp"'),
        (["serve"], {}, "unexpected argument serve"),
        (["--http", "--stdio"], {}, "--http and --stdio exclude each other"),
    ],
)
def test_a_misused_command_line_says_what_is_wrong_in_one_line_and_exits_2(calculator, args, env, says):
    done = run(calculator, *args, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"calculator: {says}" + done.stderr.split(says, 1)[1].rstrip("\n")]
    assert "(see --help)" in done.stderr


def test_a_port_in_use_is_one_line_and_exit_code_1(calculator):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run(calculator, "--http", "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"calculator: 127.0.0.1:{port} is already in use (another server? pick one with --port or MCP_PORT)"
    ]


def _call_sleep(url: str, ms: int, answers: list[httpx2.Response | Exception]) -> None:
    """tools/call sleep over Streamable HTTP (the stateless 2025 leg), in a thread; the answer goes to `answers`."""
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": ms}}}
    headers = ACCEPT | {"mcp-protocol-version": "2025-11-25"}
    try:
        answers.append(httpx2.post(url, json=call, headers=headers, timeout=120))
    except Exception as exc:  # noqa: BLE001 - a cut connection is one of the outcomes under test
        answers.append(exc)


def _in_flight(server, ms: int) -> tuple[threading.Thread, list]:
    """Start a `sleep` call and return once the tool is running (it logs `sleeping N ms` to stderr)."""
    answers: list = []
    caller = threading.Thread(target=_call_sleep, args=(server.url, ms, answers))
    caller.start()
    waiting = threading.Event()
    while not any(f"sleeping {ms} ms" in line for line in server.stderr):
        assert server.process.poll() is None and caller.is_alive(), (server.stderr, answers)
        waiting.wait(0.02)
    return caller, answers


def test_sigterm_during_a_long_http_call_cuts_it_at_the_drain_deadline(sleeper):
    with serving(sleeper, "--drain-timeout-ms", "500") as server:
        caller, answers = _in_flight(server, 60_000)
        server.process.send_signal(signal.SIGTERM)
        # Without the deadline the server would wait out the 60 s call; the safety timeout here is half that.
        code = server.process.wait(timeout=30)
        caller.join(30)
    assert code == 1
    assert any("SIGTERM: waiting up to 500 ms for 1 request(s) in flight" in line for line in server.stderr)
    assert any("drain deadline of 500 ms passed: cutting 1 request(s) off" in line for line in server.stderr)
    assert answers and not (isinstance(answers[0], httpx2.Response) and "slept" in answers[0].text)


def test_sigterm_lets_a_short_call_finish_then_exits_0(sleeper):
    with serving(sleeper, env={"MCP_DRAIN_TIMEOUT_MS": "20000"}) as server:
        caller, answers = _in_flight(server, 1500)
        server.process.send_signal(signal.SIGTERM)
        code = server.process.wait(timeout=30)
        caller.join(30)
    assert code == 0
    [answer] = answers
    assert isinstance(answer, httpx2.Response) and answer.status_code == 200
    assert "slept 1500 ms" in answer.text


def test_sigterm_with_nothing_in_flight_exits_0_at_once(calculator):
    with serving(calculator) as server:
        assert httpx2.get(f"{server.base}/healthz").status_code == 200
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


IMPORTER = """
const server = await import(process.argv[2]);
const mcp = server.createMcpServer();
process.stdout.write(JSON.stringify({name: server.SERVER_NAME, version: server.SERVER_VERSION,
  main: typeof server.main, registers: typeof mcp.registerTool}) + "\\n");
"""


def test_the_index_module_imports_without_starting_a_server(calculator, tmp_path):
    script = tmp_path / "import-it.mjs"
    script.write_text(IMPORTER)
    # stdin stays open: had main() run, the stdio server would wait on it and the process would never end.
    process = subprocess.Popen(
        ["node", str(script), Path(entry(calculator)).as_uri(), "--http"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert json.loads(out) == {"name": "calculator", "version": "1.0.0", "main": "function", "registers": "function"}
    assert "listening" not in err


def test_the_command_runs_through_a_bin_symlink_as_npm_installs_it(calculator, tmp_path):
    link = tmp_path / "bin" / "calculator"
    link.parent.mkdir()
    os.symlink(entry(calculator), link)
    done = subprocess.run([str(link), "--version"], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "1.0.0\n")
