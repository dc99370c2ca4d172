"""One sandboxed launch: the bwrap command line (read-only system, a scratch copy of the server as /server,
own PID, network and user namespaces, limits), or the plain child process where there is no sandbox."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from factory_bot import proc
from factory_bot.errors import FactoryError

if TYPE_CHECKING:
    from factory_bot.build.sandbox import Status

INSIDE = "/server"  # the scratch copy of the server: the only writable directory besides /tmp
SOCKETS = "/run/factory"  # unix sockets the bot's client connects to
UPSTREAM_SOCKET = "/run/upstream.sock"  # the bot's stub upstream
UPSTREAM_PORT = 8787  # where the code finds the stub: 127.0.0.1 inside its own network namespace
SERVER_PORT = 3000  # where the --http server listens inside
RELAY = Path(__file__).with_name("sandbox_relay.mjs")
LAUNCH = Path(__file__).with_name("sandbox_launch.py")


def sandbox_tmp() -> str | None:
    """Where to make the directories a sandbox reaches (its scratch copy, sockets, the staged bwrap): the temp
    dir, unless a unix socket path under it would pass AF_UNIX's 107 bytes, or we are root (whose sandbox runs
    as a uid of its own) and that uid cannot traverse it (a TMPDIR made by `mktemp -d` is 0700): then /tmp.
    None means tempfile's default."""
    base = tempfile.gettempdir()
    if len(base) <= 48 and (os.getuid() != 0 or _traversable(Path(base))):
        return None
    return "/tmp" if os.access("/tmp", os.W_OK) and _traversable(Path("/tmp")) else None


def _traversable(path: Path) -> bool:
    """Whether any user may pass through `path` and each of its parents."""
    path = path.resolve()
    return all(directory.stat().st_mode & 0o001 for directory in [path, *path.parents])


# Measured: node and fetch run under RLIMIT_DATA=1 GiB; RLIMIT_AS would need 16 GiB (wasm reservations).
LIMITS = {"DATA": 1 << 30, "NPROC": 256, "FSIZE": 256 << 20, "CPU": 120, "CORE": 0, "NOFILE": 1024}
TMPFS_BYTES = 256 << 20
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
    "ssl",
    "ca-certificates",
    "pki",
    "nsswitch.conf",
    "hosts",
    "passwd",
    "group",
)


def _fresh_id() -> int:
    import secrets

    return 1_000_000_000 + secrets.randbelow(1_000_000_000)


@dataclass
class Launch:
    """How to start one server: argv, its environment and cwd, and where its HTTP endpoint is reached."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    socket: Path | None = None  # the unix socket the client connects to (sandboxed --http server)


def opened_to(user: tuple[int, int] | None, *paths: Path) -> None:
    """Let the sandbox's user reach paths inside our temporary directories (mkdtemp makes them 0700)."""
    if user is None:
        return
    bases = {Path(tempfile.gettempdir()).resolve(), Path(sandbox_tmp() or tempfile.gettempdir()).resolve()}
    for path in paths:
        for directory in [path, *path.parents]:
            if directory in bases or not bases & set(directory.parents):
                break
            mode = directory.stat().st_mode
            if not mode & 0o001:
                directory.chmod(mode & 0o7777 | 0o711)


def readable_to_all(root: Path) -> None:
    """Make a tree we made for the sandbox readable (and its commands runnable) by the sandbox's own uid,
    whatever this process's umask left them at: 0644/0755, never writable by it."""
    for directory, _dirs, files in os.walk(root):
        os.chmod(directory, os.stat(directory).st_mode & 0o7777 | 0o755)
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                mode = os.stat(path).st_mode & 0o7777
                os.chmod(path, mode | 0o644 | (0o111 if mode & 0o100 else 0))


class Jail:
    """The bwrap command line for one launch rooted at `root` (seen as /server inside); `work` is ours."""

    def __init__(self, found: Status, root: Path, work: Path) -> None:
        self.found, self.root, self.work = found, root, work

    def command(
        self, command: list[str], env: Mapping[str, str], *, upstream: Path | None = None, expose: int | None = None
    ) -> Launch:
        node = _node()
        # Root gives each launch a uid of its own: RLIMIT_NPROC counts per uid, so one sandbox's fork bomb
        # cannot use up another's processes (a uid without a passwd entry, owning nothing on this machine).
        user = (_fresh_id(),) * 2 if self.found.own_uid else None
        program = [str(node) if command[0] == "node" else command[0], *command[1:]]
        options = [
            "--unshare-user",
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--hostname",
            "sandbox",
        ]
        if self.found.version >= (0, 8):
            options.append("--disable-userns")
        for path in _SYSTEM:
            if os.path.islink(path):
                options += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                options += ["--ro-bind", path, path]
        options += [
            arg
            for name in _ETC
            if os.path.exists(f"/etc/{name}")
            for arg in ("--ro-bind", f"/etc/{name}", f"/etc/{name}")
        ]
        prefix = node.parent.parent
        if not any(prefix == Path(p) or Path(p) in prefix.parents for p in _SYSTEM):
            options += ["--ro-bind", str(prefix), str(prefix)]
        options += ["--proc", "/proc", "--dev", "/dev"]
        if self.found.version >= (0, 10):
            options += ["--size", str(TMPFS_BYTES)]
        options += ["--tmpfs", "/tmp", "--dir", "/tmp/home", "--bind", str(self.root), INSIDE, "--chdir", INSIDE]
        if user is not None:
            readable_to_all(self.root)
        if user is not None and self.root.stat().st_uid == os.getuid():
            os.chown(self.root, *user)  # its own directory; what it was given stays ours, read-only to it
        opened_to(user, self.root, self.work)
        relay: list[str] = []
        socket = None
        if upstream is not None:
            opened_to(user, upstream.parent)
            options += ["--ro-bind", str(upstream), UPSTREAM_SOCKET]
            relay += ["--upstream", f"{UPSTREAM_PORT}={UPSTREAM_SOCKET}"]
        if expose is not None:
            sockets = self.work / "sockets"
            sockets.mkdir()
            if user is not None:
                os.chown(sockets, *user)
            socket = sockets / "mcp.sock"
            options += ["--bind", str(sockets), SOCKETS]
            relay += ["--expose", f"{SOCKETS}/mcp.sock={expose}"]
        if relay:
            script = self.work / "relay.mjs"
            shutil.copyfile(RELAY, script)  # the package may live where the sandbox's user cannot read
            script.chmod(0o644)
            options += ["--ro-bind", str(script), "/run/relay.mjs"]
            program = [str(node), "/run/relay.mjs", *relay, "--", *program]
        inside = proc.sandbox_env(env, home="/tmp/home") | {
            "HOME": "/tmp/home",
            "TMPDIR": "/tmp",
            "PATH": f"{node.parent}:/usr/local/bin:/usr/bin:/bin",
        }
        options += ["--clearenv", *[arg for key, value in inside.items() for arg in ("--setenv", key, value)]]
        limits = ",".join(f"{name}={value}" for name, value in LIMITS.items())
        who = f"{user[0]}:{user[1]}" if user else "-"
        argv = [
            sys.executable,
            "-I",
            "-S",
            str(LAUNCH),
            str(os.getpid()),
            who,
            limits,
            str(self.found.bwrap),
            *options,
            "--",
            *program,
        ]
        return Launch(argv, {}, str(self.root), socket)


@functools.cache
def _node() -> Path:
    found = shutil.which("node")
    if not found:
        from factory_bot.build.toolchain import NODE_INSTALL_HINT

        raise FactoryError("node is not installed or not on PATH", hint=NODE_INSTALL_HINT)
    return Path(os.path.realpath(found))


def plain(command: list[str], env: Mapping[str, str], root: Path) -> Launch:
    """The unsandboxed launch: a child process with the scrubbed environment, in the scratch copy."""
    program = [
        str(_node()) if command[0] == "node" else str(root / command[0]) if "/" in command[0] else command[0],
        *command[1:],
    ]
    return Launch(program, proc.sandbox_env(env), str(root))
