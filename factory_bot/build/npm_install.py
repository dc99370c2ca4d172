"""The made .tgz installed as a user installs it: `npm install --global` into a throwaway prefix."""

from __future__ import annotations

import shutil
from pathlib import Path

from factory_bot import proc
from factory_bot.spec.model import ServerSpec


def npm_install(tgz: Path, prefix: Path, *, timeout: float = 60) -> None:
    """`npm install --global --prefix PREFIX ./the.tgz`, as a user would, running none of its scripts.

    npm is our tool and --ignore-scripts runs nothing of the package, so npm gets the tool environment.
    The bundle has no runtime dependencies, so npm runs --offline: it never waits on a registry. npm itself
    has been seen to hang, rarely, on a loaded machine (once in ~40 runs, 120 s, no output), so a hang is
    retried once into a fresh prefix before it counts as a failure. Raises CommandError when npm fails.
    """
    from factory_bot.errors import CommandError

    argv = ["npm", "install", "--global", "--prefix", str(prefix), "--no-audit", "--no-fund", "--ignore-scripts"]
    argv += ["--offline", "--no-update-notifier", "--loglevel=error", str(tgz)]
    try:
        proc.run(argv, env=proc.tool_env(), timeout=timeout)
    except CommandError as exc:
        if not exc.timed_out:
            raise
        shutil.rmtree(prefix, ignore_errors=True)
        proc.run(argv, env=proc.tool_env(), timeout=timeout, hint=f"npm hung twice, {timeout:g} s each; run it again")


def install_tgz(spec: ServerSpec, tgz: Path, prefix: Path) -> Path:
    """npm_install the .tgz; returns the installed command.

    Raises CommandError when npm fails, FileNotFoundError when the package installs no command.
    """
    npm_install(tgz, prefix)
    command = prefix / "bin" / spec.name
    if not command.exists():
        raise FileNotFoundError(f"the installed package has no `{spec.name}` command")
    return command
