"""The real GitHub forge (PyGithub), pointed at the local fake GitHub: the one way tests build it."""

from __future__ import annotations

from factory_bot.forge.github import DEFAULT_TIMEOUT, GitHubForge
from factory_bot.forge.github_retry import default_retry
from tests.fakes.github_api import FakeGitHub

TOKEN = "ghs_fake0forge0token0never0shown"


def forge_for(github: FakeGitHub, token: str = TOKEN, *, timeout: int = DEFAULT_TIMEOUT, **retry: float) -> GitHubForge:
    """GitHubForge for the fake's repository, retrying without backoff (a test passes `backoff=`, `total=` to
    see the retries)."""
    return GitHubForge(
        github.slug, token=token, base_url=github.url, retry=default_retry(**{"backoff": 0, **retry}), timeout=timeout
    )
