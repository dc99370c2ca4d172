"""A server's second start compiles nothing: its command keeps a V8 code cache of the bundle in the user's cache
folder (never in the package, whose bytes stay reproducible). A cache that is off, unwritable, foreign, stale or
tampered with is not used, and the server answers all the same. NODE_DEBUG=mcp-compile-cache says what it did."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.npm_tools import node22
from tests.served import INIT

CACHE_WRITE_WAIT = 60  # a safety net for a cache that is never written, not a measured limit
SESSION = "".join(
    json.dumps(message) + "\n"
    for message in (
        INIT,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 2, "b": 3}}},
    )
)


@pytest.fixture(scope="module")
def calculator(built):
    return built("calculator")


def cache_files(cache_home: Path) -> list[Path]:
    return sorted(path for path in cache_home.rglob("*") if path.is_file())


def start(calculator, cache_home: Path, *, node: str = "node", until_cached: bool = False, **env: str) -> str:
    """One stdio session (initialize, then add 2 + 3) with XDG_CACHE_HOME=`cache_home`; returns its debug lines.

    With `until_cached` stdin stays open until the server has written its cache (it does so once idle): until the
    folder's files change."""
    before = cache_files(cache_home)
    process = subprocess.Popen(
        [node, str(calculator.server_dir / "dist" / "index.js")],
        env=os.environ | {"XDG_CACHE_HOME": str(cache_home), "NODE_DEBUG": "mcp-compile-cache"} | env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin and process.stdout
    process.stdin.write(SESSION)
    process.stdin.flush()
    answers = [json.loads(process.stdout.readline()) for _ in range(2)]
    if until_cached:
        deadline = time.monotonic() + CACHE_WRITE_WAIT
        while cache_files(cache_home) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # node's own cache (Node >= 22.8) writes one file per module
    _, stderr = process.communicate(timeout=CACHE_WRITE_WAIT)
    assert answers[1]["result"]["structuredContent"] == {"result": 5}, stderr
    return stderr


def test_the_second_start_compiles_the_server_from_the_users_cache(calculator, tmp_path):
    first = start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    assert "wrote: " in first and "hit: " not in first
    assert cache.parent == tmp_path / "mcp-server-compile-cache" / "calculator"
    assert cache.name.startswith(f"{subprocess.check_output(['node', '--version'], text=True).strip()}-")
    # Only this user may read or write it: a folder and a file of their own.
    assert cache.parent.stat().st_mode & 0o777 == 0o700 and cache.stat().st_mode & 0o777 == 0o600

    second = start(calculator, tmp_path)
    assert f"hit: {cache}" in second
    assert "wrote: " not in second  # a cache that was used stays as it is


def killed_after_first_reply(calculator, cache_home: Path) -> str:
    """A start killed (SIGKILL) as soon as its first tools/list reply arrives, as a loop timing starts does."""
    process = subprocess.Popen(
        ["node", str(calculator.server_dir / "dist" / "index.js")],
        env=os.environ | {"XDG_CACHE_HOME": str(cache_home), "NODE_DEBUG": "mcp-compile-cache"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    process.stdin.write(SESSION.splitlines(keepends=True)[0].encode() + (json.dumps(listing) + "\n").encode())
    process.stdin.flush()
    assert json.loads(process.stdout.readline())["id"] == 1
    assert [tool["name"] for tool in json.loads(process.stdout.readline())["result"]["tools"]][0] == "add"
    process.kill()
    process.wait()
    return process.stderr.read().decode()


def test_a_start_killed_right_after_its_first_reply_leaves_a_cache_the_next_start_uses(calculator, tmp_path):
    first = killed_after_first_reply(calculator, tmp_path)
    [cache] = cache_files(tmp_path)  # written at load, before any request was answered; no scratch file left
    assert f"wrote: {cache} (at load)" in first
    assert cache.read_bytes().startswith(b"mcp-compile-cache 0\n")

    second = killed_after_first_reply(calculator, tmp_path)
    assert f"hit: {cache}" in second and "wrote: " not in second  # killed again before it could complete it

    # A start that lives to its exit completes it (what the first requests compiled); the next one just uses it.
    third = start(calculator, tmp_path)
    assert f"hit: {cache}" in third and f"wrote: {cache}\n" in third
    assert cache.read_bytes().startswith(b"mcp-compile-cache 1\n")
    fourth = start(calculator, tmp_path)
    assert f"hit: {cache}" in fourth and "wrote: " not in fourth


def test_the_scratch_file_of_a_start_killed_while_writing_is_removed(calculator, tmp_path):
    start(calculator, tmp_path)
    [cache] = cache_files(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()  # a process id that no process has now
    scratch = cache.with_name(f"{cache.name}.{dead.pid}.tmp")
    scratch.write_bytes(b"half a cache")
    mine = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")  # a live process's: still being written
    mine.write_bytes(b"")
    cache.unlink()

    stderr = start(calculator, tmp_path)
    assert f"removed: {scratch}" in stderr
    assert cache_files(tmp_path) == sorted([cache, mine])


def test_no_cache_is_read_or_written_when_turned_off(calculator, tmp_path):
    start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    cache.unlink()
    off = start(calculator, tmp_path, MCP_NO_COMPILE_CACHE="1")
    time.sleep(2)  # the cache would have been written by now (at idle, a second after the start)
    assert "off: MCP_NO_COMPILE_CACHE=1" in off
    assert cache_files(tmp_path) == []


def test_an_unwritable_cache_folder_is_skipped_and_the_server_answers(calculator, tmp_path):
    # As root no folder is read-only, so the cache's home is a file: nothing can be created under it.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    stderr = start(calculator, blocked, until_cached=False)
    time.sleep(2)
    stderr += start(calculator, blocked)
    assert "hit: " not in stderr and "wrote: " not in stderr
    assert "Error" not in stderr.replace("ENOTDIR", "")  # nothing but the debug lines: no stack trace


def test_a_tampered_cache_is_rejected_and_replaced(calculator, tmp_path):
    start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    source = (calculator.server_dir / "dist" / "server.cjs").read_bytes()
    head = len(b"mcp-compile-cache 1\n") + len(source)
    data = cache.read_bytes()
    cache.write_bytes(data[:head] + bytes(len(data) - head))  # V8's part zeroed: its checksum no longer holds

    stderr = start(calculator, tmp_path, until_cached=False)
    assert f"rejected by V8: {cache}" in stderr
    start(calculator, tmp_path)


def test_a_cache_written_for_other_bundle_bytes_is_not_used(calculator, tmp_path):
    start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    data = bytearray(cache.read_bytes())
    data[len(b"mcp-compile-cache 1\n") + 100] ^= 1  # one bit of the bundle copy: another build of the same size
    cache.write_bytes(bytes(data))

    stderr = start(calculator, tmp_path)
    assert f"stale: {cache}" in stderr and "hit: " not in stderr


def test_a_new_cache_removes_the_one_an_earlier_bundle_left_for_the_same_node(calculator, tmp_path):
    start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    version, arch, _size = cache.name.removesuffix(".v8").split("-")
    earlier = cache.with_name(f"{version}-{arch}-1234.v8")  # an older release of the server, another size
    other_node = cache.with_name(f"v99.0.0-{arch}-1234.v8")  # kept: another node may still start it
    cache.rename(earlier)
    other_node.write_bytes(b"")

    stderr = start(calculator, tmp_path, until_cached=True)
    assert f"removed: {earlier}" in stderr
    assert cache_files(tmp_path) == sorted([cache, other_node])


def test_a_cache_another_user_can_write_is_never_read(calculator, tmp_path):
    start(calculator, tmp_path, until_cached=True)
    [cache] = cache_files(tmp_path)
    cache.parent.chmod(0o777)  # anyone could have put this file here
    stderr = start(calculator, tmp_path)
    assert "hit: " not in stderr and "not a folder of this user's alone" in stderr

    cache.parent.chmod(0o700)
    os.chown(cache, 65534, 65534)  # a file of someone else's (nobody) in the user's own folder
    stderr = start(calculator, tmp_path)
    assert "hit: " not in stderr and f"off: {cache} is not this user's" in stderr


def test_node_22_keeps_its_own_compile_cache_in_the_same_folder(calculator, tmp_path):
    node = str(node22())
    first = start(calculator, tmp_path, node=node, until_cached=True)
    assert f"node compile cache: {tmp_path / 'mcp-server-compile-cache' / 'calculator'} (status 1)" in first
    assert cache_files(tmp_path)
    second = start(calculator, tmp_path, node=node, NODE_DEBUG_NATIVE="COMPILE_CACHE")
    assert f"cache for {calculator.server_dir / 'dist' / 'server.cjs'} was accepted" in second


def test_importing_the_command_starts_nothing_and_gives_the_server(calculator):
    entry = calculator.server_dir / "dist" / "index.js"
    # process.stdout.write: the server's runtime sends console.log to stderr (stdout belongs to the protocol).
    show = "(m) => process.stdout.write(typeof m.main + ' ' + m.SERVER_NAME)"
    script = f"import({json.dumps(entry.as_uri())}).then({show})"
    done = subprocess.run(
        ["node", "-e", script], stdin=subprocess.PIPE, capture_output=True, text=True, timeout=CACHE_WRITE_WAIT
    )
    assert done.stdout == "function calculator", done.stderr


def test_stack_traces_map_to_the_sources_when_node_is_asked_to(calculator, tmp_path):
    """NODE_OPTIONS=--enable-source-maps: node maps only code it loads itself, so the command then loads the bundle
    without its cache (Node 20), and a stack trace names the SDK's source file, not the minified bundle."""
    entry = calculator.server_dir / "dist" / "index.js"
    script = (
        f"const server = require({json.dumps(str(entry))}).createMcpServer();"
        "try { server.registerTool('add', {}, () => ({ content: [] })) } catch (e) { process.stdout.write(e.stack) }"
    )
    env = os.environ | {"XDG_CACHE_HOME": str(tmp_path), "NODE_DEBUG": "mcp-compile-cache"}
    mapped = subprocess.run(
        ["node", "--enable-source-maps", "-e", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert "Tool add is already registered" in mapped.stdout and "src/server/mcp.ts:" in mapped.stdout
    assert "off: --enable-source-maps" in mapped.stderr
    plain = subprocess.run(["node", "-e", script], env=env, capture_output=True, text=True, timeout=60)
    assert "dist/server.cjs:" in plain.stdout  # without the flag: the bundle's own file:line (through the cache)
