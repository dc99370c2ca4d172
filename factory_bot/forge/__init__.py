"""The outside world behind a narrow interface: GitHub (PyGithub + GitPython) or a local stand-in.

`open` is the one place a forge is made; only this package imports `github` or `git`.
"""

from __future__ import annotations

from pathlib import Path

from factory_bot.errors import ConfigError
from factory_bot.forge.base import Forge

KINDS = ("github", "local")


def open(
    kind: str,
    repo: str | Path | None = None,
    *,
    releases: str | Path | None = None,  # noqa: A001
    token_env: str = "GITHUB_TOKEN",
) -> Forge:
    """The forge of `kind`: "local" is a git repository on disk at `repo` (default "."), "github" is the
    repository `repo` (owner/name, default $GITHUB_REPOSITORY) with the token in `$token_env`."""
    if kind == "local":
        from factory_bot.forge.local import LocalForge

        return LocalForge(repo or ".", releases=releases)
    if kind == "github":
        from factory_bot.forge.github import GitHubForge

        return GitHubForge.from_env(str(repo) if repo else None, token_env=token_env)
    raise ConfigError(f"unknown forge {kind!r}", hint=f"use one of: {', '.join(KINDS)}")
