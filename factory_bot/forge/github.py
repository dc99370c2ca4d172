"""The GitHub forge: PyGithub for the REST API, GitPython (forge/git.py) for clone and push.

`base_url` comes from GITHUB_API_URL, so GitHub Enterprise and the tests' local fake work the same way.
Retries (github_retry.py): PyGithub's own GithubRetry (5xx, 403 with Retry-After or a rate-limit message) with exponential
backoff, widened to PATCH (our edits are idempotent) and to 429, GitHub's other secondary-rate-limit status;
every request has a timeout, and a request that times out is retried like a 5xx. Waits are bounded: a rate
limit that would keep us longer than MAX_RATE_LIMIT_WAIT fails at once with what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, UnknownObjectException
from github.GithubException import RateLimitExceededExceedsMaxWait
from github.GitRelease import GitRelease
from github.GitReleaseAsset import GitReleaseAsset
from urllib3 import Retry

from factory_bot.errors import ConfigError, ForgeError
from factory_bot.forge.base import Access, Asset, Comment, Forge, Issue, IssueEvent, PullRequest, Release
from factory_bot.forge.git import GitRemote
from factory_bot.forge.github_retry import default_retry, pacing

DEFAULT_API = "https://api.github.com"
DEFAULT_TIMEOUT = 30  # seconds per request; PyGithub's own default is 15
ACTIONS_BOT = "github-actions[bot]"  # who GITHUB_TOKEN comments as; such a token may not read GET /user
INSTALLATION_TOKEN = "ghs_"  # GitHub's prefix of installation tokens (GITHUB_TOKEN, an App's)


def _already_exists(exc: GithubException) -> bool:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors") or []
    return exc.status == 422 and (
        any(isinstance(e, dict) and e.get("code") == "already_exists" for e in errors)
        or "already exists" in str(data.get("message", "")) + str(errors)
    )


class GitHubForge(Forge):
    """One GitHub repository, reached with a token."""

    kind = "github"

    def __init__(
        self,
        slug: str,
        *,
        token: str | None,
        base_url: str | None = None,
        retry: Retry | None = None,
        timeout: int = DEFAULT_TIMEOUT,
        bot_login: str | None = None,
    ) -> None:
        if not slug or slug.count("/") != 1:
            raise ConfigError(
                f"repository {slug!r} is not owner/name", hint="set GITHUB_REPOSITORY or pass --repo owner/name"
            )
        self.slug = slug
        self._token = token
        self._gh = Github(
            auth=Auth.Token(token) if token else None,
            base_url=(base_url or DEFAULT_API).rstrip("/"),
            retry=retry or default_retry(),
            per_page=100,
            timeout=timeout,
            **pacing(base_url or DEFAULT_API),  # none against a server on this machine
        )
        self._timeout = timeout
        self._repository: Any = None
        self._default_branch: str | None = None
        self._clone_url: str | None = None
        self._html_url = ""
        self._own_login = bot_login

    @classmethod
    def from_env(
        cls, slug: str | None = None, *, token_env: str = "GITHUB_TOKEN", retry: Retry | None = None
    ) -> GitHubForge:
        """The repository and credentials an Actions job provides."""
        return cls(
            slug or os.environ.get("GITHUB_REPOSITORY", ""),
            token=os.environ.get(token_env) or None,
            base_url=os.environ.get("GITHUB_API_URL") or DEFAULT_API,
            retry=retry,
            bot_login=os.environ.get("FACTORY_BOT_LOGIN") or None,
        )

    @contextmanager
    def _api(self, doing: str) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            raise self._error(doing, exc) from None
        except requests.RequestException as exc:  # retries exhausted, connection refused, timeout
            raise ForgeError(
                f"could not reach GitHub to {doing}: {self._why(exc)}",
                hint="GitHub is failing or unreachable; re-run the job later (every step is safe "
                "to repeat: nothing is created twice)",
            ) from None

    def _why(self, exc: requests.RequestException) -> str:
        """What went wrong, in words (requests reports an exhausted read-timeout retry as ConnectionError)."""
        text = str(exc)
        if "timed out" in text.lower():
            return f"no answer within {self._timeout}s, after retrying"
        if match := re.search(r"too many (\d+) error responses", text):
            limited = " (a rate limit)" if match[1] in ("403", "429") else ""
            return f"it kept answering {match[1]}{limited}, after retrying"
        return type(exc).__name__

    def _error(self, doing: str, exc: GithubException) -> ForgeError:
        """A ForgeError that says what failed and what to try, with any token scrubbed."""
        message = exc.message or (exc.data.get("message") if isinstance(exc.data, dict) else None)
        text = f"GitHub refused to {doing}: {exc.status} {message or ''}".strip()
        if isinstance(exc, RateLimitExceededExceedsMaxWait) or exc.status == 429:
            wait = getattr(exc, "wait", None)
            return ForgeError(
                f"GitHub rate-limited the bot while trying to {doing}"
                + (f" and asked it to wait {wait:.0f}s" if wait else ""),
                hint="re-run the job later (every step is safe to repeat); too many requests "
                "at once hit GitHub's secondary rate limits",
            )
        hint = {
            401: "the token is missing or expired",
            403: "the token lacks a permission (contents, pull-requests, issues: write) or hit a "
            "rate limit; re-run later",
            404: f"check that {self.slug} exists and the token can see it",
        }.get(exc.status, "re-run the job; every step is safe to repeat")
        redacted = text.replace(self._token, "***") if self._token else text
        return ForgeError(redacted, hint=hint)

    @property
    def _repo(self) -> Any:
        """The PyGithub Repository, fetched on first use (so building a forge costs no request)."""
        if self._repository is None:
            with self._api(f"read repository {self.slug}"):
                self._repository = self._gh.get_repo(self.slug)
        return self._repository

    def _load(self) -> None:
        if self._clone_url is None:
            self._clone_url = self._repo.clone_url
            self._default_branch = self._repo.default_branch
            self._html_url = self._repo.html_url

    @property  # type: ignore[override]
    def default_branch(self) -> str:
        self._load()
        return self._default_branch or "main"

    def remote(self) -> GitRemote:
        self._load()
        return GitRemote(self._clone_url or "", token=self._token)

    # -- pull requests ---------------------------------------------------------------------------
    @staticmethod
    def _pull(pr: Any) -> PullRequest:
        return PullRequest(pr.number, pr.html_url, pr.head.ref, pr.base.ref, pr.title, pr.body or "")

    def find_pull(self, head: str) -> PullRequest | None:
        owner = self.slug.split("/")[0]
        with self._api(f"list pull requests from {head}"):
            for pr in self._repo.get_pulls(state="open", head=f"{owner}:{head}"):
                if pr.head.ref == head:
                    return self._pull(pr)
        return None

    def create_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest:
        with self._api("open a pull request"):  # network failures, too, become a ForgeError with a hint
            try:
                return self._pull(self._repo.create_pull(base=base, head=head, title=title, body=body))
            except GithubException as exc:
                if exc.status == 422:  # "A pull request already exists": a concurrent run got there first
                    existing = self.find_pull(head)
                    if existing:
                        return self.update_pull(existing.number, title=title, body=body)
                raise self._error("open a pull request", exc) from None

    def update_pull(self, number: int, *, title: str, body: str) -> PullRequest:
        with self._api(f"update pull request #{number}"):
            pr = self._repo.get_pull(number)
            pr.edit(title=title, body=body)
            return self._pull(pr)

    # -- comments and labels ---------------------------------------------------------------------
    @staticmethod
    def _comment(comment: Any) -> Comment:
        return Comment(comment.id, comment.body or "", comment.html_url, comment.user.login if comment.user else "")

    def find_comment(self, issue: int, marker: str) -> Comment | None:
        with self._api(f"read the comments of #{issue}"):
            for comment in self._repo.get_issue(issue).get_comments():
                if marker in (comment.body or ""):
                    return self._comment(comment)
        return None

    def find_comments(self, issue: int, marker: str) -> list[Comment]:
        with self._api(f"read the comments of #{issue}"):
            return [self._comment(c) for c in self._repo.get_issue(issue).get_comments() if marker in (c.body or "")]

    def delete_comment(self, issue: int, comment_id: int) -> None:
        with self._api(f"delete comment {comment_id}"):  # network failures, too, become a ForgeError with a hint
            try:
                self._repo.get_issue(issue).get_comment(comment_id).delete()
            except UnknownObjectException:
                return  # already gone
            except GithubException as exc:
                raise self._error(f"delete comment {comment_id}", exc) from None

    def create_comment(self, issue: int, body: str) -> Comment:
        with self._api(f"comment on #{issue}"):
            return self._comment(self._repo.get_issue(issue).create_comment(body))

    def update_comment(self, issue: int, comment_id: int, body: str) -> Comment:
        with self._api(f"edit comment {comment_id}"):
            comment = self._repo.get_issue(issue).get_comment(comment_id)
            comment.edit(body)
            return Comment(comment.id, body, comment.html_url, comment.user.login if comment.user else "")

    def labels(self, issue: int) -> list[str]:
        with self._api(f"read the labels of #{issue}"):
            return [label.name for label in self._repo.get_issue(issue).labels]

    def set_labels(self, issue: int, labels: list[str]) -> None:
        with self._api(f"label #{issue}"):
            self._repo.get_issue(issue).set_labels(*labels)  # GitHub creates missing labels itself

    # -- who asks (policy) and what is left over (cleanup) ----------------------------------------
    def permission(self, login: str) -> str:
        with self._api(f"read the permission of {login}"):
            try:
                return str(self._repo.get_collaborator_permission(login))
            except UnknownObjectException:
                return "none"  # no such user

    def own_login(self) -> str:
        """Who the token comments as: `bot_login` (FACTORY_BOT_LOGIN) when given, else the token's user (a
        personal token); an Actions or App installation token may not read /user: then github-actions[bot]."""
        if self._own_login is None and (self._token or "").startswith(INSTALLATION_TOKEN):
            self._own_login = ACTIONS_BOT  # asking would only earn a 403 (and a log line in every gate job)
        if self._own_login is None:
            with self._api("read who the token belongs to"):
                try:
                    self._own_login = str(self._gh.get_user().login)
                except GithubException as exc:
                    if exc.status not in (401, 403):
                        raise
                    self._own_login = ACTIONS_BOT
        return self._own_login

    @staticmethod
    def _issue(issue: Any) -> Issue:
        return Issue(
            issue.number,
            issue.user.login if issue.user else "",
            issue.state,
            tuple(label.name for label in issue.labels),
        )

    def issues_by(self, login: str, since: datetime) -> list[Issue]:
        with self._api(f"list the issues of {login}"):
            return [
                self._issue(i)
                for i in self._repo.get_issues(state="all", creator=login, since=since)
                if i.pull_request is None
            ]

    def issue_events(self, issue: int) -> list[IssueEvent]:
        with self._api(f"read the history of #{issue}"):
            return [
                IssueEvent(
                    e.event,
                    e.actor.login if e.actor else "",
                    e.created_at,
                    e.label.name if e.event in ("labeled", "unlabeled") and e.label else "",
                )
                for e in self._repo.get_issue(issue).get_events()
            ]

    def get_issue(self, issue: int) -> Issue | None:
        try:
            return self._issue(self._repo.get_issue(issue))
        except UnknownObjectException:
            return None
        except GithubException as exc:
            raise self._error(f"read issue #{issue}", exc) from None

    def list_pulls(self) -> list[PullRequest]:
        with self._api("list open pull requests"):
            return [self._pull(pr) for pr in self._repo.get_pulls(state="open")]

    def close_pull(self, number: int) -> None:
        with self._api(f"close pull request #{number}"):
            self._repo.get_pull(number).edit(state="closed")

    def access(self) -> Access:
        with self._api(f"read repository {self.slug}"):
            perms = self._repo.permissions
            permissions = (
                {name: bool(getattr(perms, name, False)) for name in ("admin", "maintain", "push", "triage", "pull")}
                if perms
                else {}
            )
            scopes = self._gh.oauth_scopes
        return Access(None, tuple(s for s in scopes if s) if scopes is not None else None, permissions)

    # -- releases --------------------------------------------------------------------------------
    @staticmethod
    def _asset(asset: GitReleaseAsset) -> Asset:
        return Asset(asset.id, asset.name, asset.size, asset.browser_download_url, complete=asset.state == "uploaded")

    def _release(self, release: GitRelease) -> Release:
        return Release(
            release.id,
            release.tag_name,
            release.name or "",
            release.body or "",
            release.html_url,
            tuple(self._asset(a) for a in release.assets),
        )

    def list_releases(self) -> list[Release]:
        with self._api("list releases"):
            return [self._release(r) for r in self._repo.get_releases()]

    def get_release(self, tag: str) -> Release | None:
        with self._api(f"read release {tag}"):  # network failures, too, become a ForgeError with a hint
            try:
                return self._release(self._repo.get_release(tag))
            except UnknownObjectException:
                return None
            except GithubException as exc:
                raise self._error(f"read release {tag}", exc) from None

    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        with self._api(f"create release {tag}"):  # network failures, too, become a ForgeError with a hint
            try:
                return self._release(self._repo.create_git_release(tag, name=name, message=body))
            except GithubException as exc:
                if _already_exists(exc):
                    existing = self.get_release(tag)
                    if existing:
                        return existing
                raise self._error(f"create release {tag}", exc) from None

    def update_release(self, release: Release, *, body: str) -> Release:
        with self._api(f"update release {release.tag}"):
            gh_release = self._repo.get_release(release.id)
            gh_release.update_release(name=release.name, message=body)
            return self._release(self._repo.get_release(release.id))

    def upload_asset(self, release: Release, path: Path, *, name: str, content_type: str) -> Asset:
        with self._api(f"upload {name} to release {release.tag}"):
            gh_release = self._repo.get_release(release.id)
            for asset in gh_release.get_assets():
                if asset.name == name:
                    if asset.state == "uploaded":
                        return self._published(asset, path, release.tag)
                    asset.delete_asset()  # a broken-off upload blocks the name until removed
            try:
                return self._asset(gh_release.upload_asset(str(path), name=name, content_type=content_type))
            except GithubException as exc:
                if not _already_exists(exc):
                    raise
                found = next((a for a in gh_release.get_assets() if a.name == name), None)
                if found is None:
                    raise
                return self._published(found, path, release.tag)

    def _published(self, asset: GitReleaseAsset, path: Path, tag: str) -> Asset:
        """An asset already published under this name: fine when it holds these bytes, refused otherwise."""
        data = path.read_bytes()
        digest = getattr(asset, "digest", None)  # "sha256:…", on GitHub since 2025
        same = digest == f"sha256:{hashlib.sha256(data).hexdigest()}" if digest else asset.size == len(data)
        if not same:
            raise ForgeError(
                f"release {tag} already has {asset.name} with different content; a published asset is never replaced",
                hint="bump the version in the spec to publish a changed package",
            )
        return self._asset(asset)

    def download_asset(self, asset: Asset) -> bytes:
        with self._api(f"download {asset.name}"):
            gh_asset = self._repo.get_release_asset(asset.id)
            _, _, chunks = gh_asset.download_asset(chunk_size=65536)
            return b"".join(chunks)

    def download_url(self, tag: str, name: str) -> str:
        self._load()
        return f"{self._html_url}/releases/download/{quote(tag)}/{quote(name)}"
