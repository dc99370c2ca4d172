"""GitHub's retry policy: PyGithub's GithubRetry (5xx, 403 with Retry-After or a rate-limit message) with
exponential backoff, widened to PATCH (our edits are idempotent) and to 429; waits are bounded by
MAX_RATE_LIMIT_WAIT, past which a rate limit fails at once with what to do."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from github import GithubRetry
from github.GithubException import RateLimitExceededExceedsMaxWait
from urllib3 import Retry

MAX_RATE_LIMIT_WAIT = 600  # longer than this and a CI job is better off failing with a hint
SECONDARY_RATE_WAIT = 60  # GitHub: without Retry-After, wait at least a minute after a secondary limit


class FactoryRetry(GithubRetry):
    """GithubRetry that also treats 429 as a rate limit: Retry-After when given, else at least a minute."""

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> Retry:
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        if response is not None and response.status == 429 and "Retry-After" not in response.headers:
            if self.max_rate_limit_wait is not None and self.secondary_rate_wait > self.max_rate_limit_wait:
                raise RateLimitExceededExceedsMaxWait(
                    429, {"message": "secondary rate limit"}, None, wait=self.secondary_rate_wait
                )
            wait = max(self.secondary_rate_wait, retry.get_backoff_time())
            retry.get_backoff_time = lambda: wait  # type: ignore[method-assign]
        return retry


def default_retry(backoff: float = 1.0, *, secondary_wait: float = SECONDARY_RATE_WAIT, total: int = 5) -> GithubRetry:
    """GitHub's retry policy: a few tries with exponential backoff; Retry-After always wins."""
    return FactoryRetry(
        total=total,
        backoff_factor=backoff,
        secondary_rate_wait=secondary_wait,
        max_rate_limit_wait=MAX_RATE_LIMIT_WAIT,
        retry_after_max=MAX_RATE_LIMIT_WAIT,
        status_forcelist=[*range(500, 600), 429],
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
    )


def pacing(base_url: str) -> dict[str, float | None]:
    """PyGithub's pauses between requests (0.25 s) and between writes (1 s), which GitHub asks of clients to
    stay clear of its secondary rate limits; a server on this machine (a test double) has none to respect."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "localhost" or _is_loopback(host):
        return {"seconds_between_requests": None, "seconds_between_writes": None}
    return {}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
