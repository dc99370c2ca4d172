"""The one way the bot runs a subprocess: timeouts, captured output, typed errors, scrubbed environments."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from factory_bot.errors import CommandError

# Variables generated code may see. Everything else (tokens, API keys, cloud credentials) stays out.
_PASS_THROUGH = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "TMPDIR")
GENERATED_CODE_MEMORY_MB = 512


def sandbox_env(extra: Mapping[str, str] | None = None, *, home: str | None = None) -> dict[str, str]:
    """Environment for running generated code: no secrets, a throwaway HOME, capped heap."""
    env = {k: os.environ[k] for k in _PASS_THROUGH if k in os.environ}
    if "HOME" not in (extra or {}):
        env["HOME"] = home or tempfile.mkdtemp(prefix="mcp-factory-home-")
    env["NODE_OPTIONS"] = f"--max-old-space-size={GENERATED_CODE_MEMORY_MB}"
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


_SECRETISH = ("TOKEN", "KEY", "SECRET", "PASSWORD", "CREDENTIAL")


def holds_secrets() -> bool:
    """Whether this process's environment has anything that looks like a credential."""
    return any(s in k.upper() for k in os.environ for s in _SECRETISH)


def protect_secrets() -> None:
    """Make this process non-dumpable, so code it runs cannot read its environment via /proc/<pid>/environ.

    Children get a scrubbed environment anyway; this closes the side door of reading the parent's. Linux
    only; root can still read it, which is why the workflows never hold secrets where generated code runs.
    """
    if sys.platform != "linux":
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def tool_env() -> dict[str, str]:
    """Environment for our own tools (npm, tsc, esbuild): the user's, minus anything secret-looking."""
    return {k: v for k, v in os.environ.items() if not any(s in k.upper() for s in _SECRETISH)} | {"NO_COLOR": "1"}


def start(
    command: Sequence[str | Path],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bool = False,
    stdout: bool = True,
    stderr: Literal["pipe", "merge", "discard"] = "pipe",
    hint: str | None = None,
) -> subprocess.Popen[str]:
    """Start a long-running child (tsc in the background, a server under test) in its own session.

    The caller talks to it through the pipes asked for and ends it with `kill_group`, which takes whatever it
    spawned too. A missing program raises CommandError, like `run`.
    """
    argv = [str(c) for c in command]
    try:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else tool_env(),
            text=True,
            encoding="utf-8",
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr={"pipe": subprocess.PIPE, "merge": subprocess.STDOUT, "discard": subprocess.DEVNULL}[stderr],
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise CommandError(
            argv,
            returncode=None,
            output=str(exc),
            not_found=True,
            hint=hint or f"install {argv[0]} and make sure it is on PATH",
        ) from exc


def run(
    command: Sequence[str | Path],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    check: bool = True,
    hint: str | None = None,
    input: str | None = None,
    merge_stderr: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; on failure or timeout raise CommandError with the output's tail.

    The child gets its own process group, and a timeout kills the whole group, so a command that
    spawns children cannot outlive its deadline. With merge_stderr=False, stdout and stderr stay apart
    (for a child whose last stdout line is its answer).
    """
    argv = [str(c) for c in command]
    proc = start(argv, cwd=cwd, env=env, stdin=input is not None, stderr="merge" if merge_stderr else "pipe", hint=hint)
    try:
        output, errors = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        output, errors = proc.communicate()
        raise CommandError(
            argv,
            returncode=None,
            output=(output or "") + (errors or ""),
            timed_out=True,
            hint=hint or f"it ran longer than {timeout:g} s",
        ) from None
    result = subprocess.CompletedProcess(argv, proc.returncode, output, errors or "")
    if check and proc.returncode != 0:
        raise CommandError(argv, returncode=proc.returncode, output=output + (errors or ""), hint=hint)
    return result


def kill_group(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Kill a process and everything it spawned (it was started in its own session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_group_gone(pgid: int, timeout: float = 2.0) -> None:
    """After kill_group: wait until no member is left running (a sandbox's PID namespace takes a moment to empty).

    A member that is only a zombie counts as gone: it runs nothing and holds nothing but its pid. Orphaned by the
    kill (the launcher's own namespace init, reparented to pid 1), it waits for pid 1 to reap it, and a machine's
    init may take its time: on ours ~1.1 s, every build, for a process that had already ended.
    """
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        if not _running_members(pgid):
            return
        time.sleep(0.005)


def _running_members(pgid: int) -> list[int]:
    """The processes of group `pgid` that are not zombies (from /proc: Linux only; elsewhere, assume some are)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return [-1]
    running = []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # After the command's closing parenthesis: state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            running.append(int(entry))
    return running
