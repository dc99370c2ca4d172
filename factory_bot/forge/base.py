"""The narrow forge interface: the few things the flows ask of GitHub (or of the local stand-in).

Everything crosses this boundary as plain frozen data, so plans and tests never see PyGithub objects.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from factory_bot.forge.git import GitRemote  # GitPython: loaded by the forges that push

LABEL_PREFIX = "mcp-factory: "


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    head: str
    base: str
    title: str
    body: str


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    url: str = ""
    author: str = ""  # login of who wrote it: the gate trusts a record only in the bot's own comments


@dataclass(frozen=True)
class Issue:
    number: int
    author: str
    state: str  # "open" | "closed"
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class IssueEvent:
    """One entry of an issue's history; the policy reads `labeled` events (they cannot be edited away)."""

    kind: str  # "labeled", "unlabeled", "closed", ...
    actor: str
    at: datetime
    label: str = ""


@dataclass(frozen=True)
class Access:
    """What the bot's credentials may do here (for `factory-bot doctor`)."""

    login: str | None  # None when the API does not say (an installation token)
    scopes: tuple[str, ...] | None  # a classic token's OAuth scopes; None for fine-grained and App tokens
    permissions: dict[str, bool]  # admin, push, pull... on the repository


@dataclass(frozen=True)
class Asset:
    id: int
    name: str
    size: int
    url: str  # where a person downloads it
    complete: bool = True  # False: an upload that broke off half-way (GitHub's state "starter"/"open")


@dataclass(frozen=True)
class Release:
    id: int
    tag: str
    name: str
    body: str
    url: str
    assets: tuple[Asset, ...] = field(default_factory=tuple)

    def asset(self, name: str) -> Asset | None:
        return next((a for a in self.assets if a.name == name and a.complete), None)


class Forge(ABC):
    """One repository on a forge: pull requests, issue comments and labels, releases, and its git remote."""

    kind: str  # "github" | "local"
    slug: str  # owner/name, or the local path
    default_branch: str

    @abstractmethod
    def remote(self) -> GitRemote:
        """Where git clones from and pushes to, with per-command credentials (never written to disk)."""

    # -- pull requests ---------------------------------------------------------------------------
    @abstractmethod
    def find_pull(self, head: str) -> PullRequest | None:
        """The open pull request whose head is branch `head`, if any."""

    @abstractmethod
    def create_pull(self, *, head: str, base: str, title: str, body: str) -> PullRequest: ...

    @abstractmethod
    def update_pull(self, number: int, *, title: str, body: str) -> PullRequest: ...

    # -- issue (and pull request) conversation ---------------------------------------------------
    @abstractmethod
    def find_comment(self, issue: int, marker: str) -> Comment | None:
        """The first comment on issue/PR `issue` whose body contains the hidden `marker`."""

    @abstractmethod
    def create_comment(self, issue: int, body: str) -> Comment: ...

    @abstractmethod
    def update_comment(self, issue: int, comment_id: int, body: str) -> Comment: ...

    @abstractmethod
    def labels(self, issue: int) -> list[str]: ...

    @abstractmethod
    def set_labels(self, issue: int, labels: list[str]) -> None: ...

    # -- who asks (policy) and what is left over (cleanup) ----------------------------------------
    # Not abstract: a forge that cannot answer them (a test double) still serves every other flow.
    def permission(self, login: str) -> str:
        """`login`'s permission on the repository: "admin", "write", "read" or "none"."""
        raise NotImplementedError

    def issues_by(self, login: str, since: datetime) -> list[Issue]:
        """Issues (not pull requests) opened by `login` and updated since `since`, open or closed."""
        raise NotImplementedError

    def issue_events(self, issue: int) -> list[IssueEvent]:
        """The issue's history, oldest first."""
        raise NotImplementedError

    def own_login(self) -> str:
        """The login the bot's comments are written as (compared with `Comment.author`)."""
        raise NotImplementedError

    def get_issue(self, issue: int) -> Issue | None:
        raise NotImplementedError

    def list_pulls(self) -> list[PullRequest]:
        """Every open pull request."""
        raise NotImplementedError

    def close_pull(self, number: int) -> None:
        raise NotImplementedError

    def access(self) -> Access:
        """Who the credentials are and what they may do (one or two cheap reads)."""
        raise NotImplementedError

    # -- releases --------------------------------------------------------------------------------
    @abstractmethod
    def list_releases(self) -> list[Release]: ...

    @abstractmethod
    def get_release(self, tag: str) -> Release | None: ...

    @abstractmethod
    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        """Create the release of an existing tag; if it already exists, return it (already done)."""

    @abstractmethod
    def update_release(self, release: Release, *, body: str) -> Release: ...

    @abstractmethod
    def upload_asset(self, release: Release, path: Path, *, name: str, content_type: str) -> Asset:
        """Attach a file; a broken-off earlier upload of the same name is replaced."""

    @abstractmethod
    def download_asset(self, asset: Asset) -> bytes: ...

    @abstractmethod
    def download_url(self, tag: str, name: str) -> str:
        """Where a person downloads asset `name` of release `tag` (known before it is uploaded)."""

    def find_comments(self, issue: int, marker: str) -> list[Comment]:
        """Every comment on `issue` carrying `marker` (more than one only after two runs raced)."""
        found = self.find_comment(issue, marker)
        return [found] if found else []

    def own_comments(self, issue: int, marker: str) -> list[Comment]:
        """The comments on `issue` carrying `marker` that the bot itself wrote, oldest first: a marker someone
        pasted into their own comment is never taken for the bot's."""
        found = self.find_comments(issue, marker)
        if not found:
            return []
        me = self.own_login().lower()
        return sorted((c for c in found if c.author.lower() == me), key=lambda c: c.id)

    def delete_comment(self, issue: int, comment_id: int) -> None:
        """Remove one of the bot's own comments (a duplicate left by a race)."""
        raise NotImplementedError

    # -- conveniences built on the primitives ----------------------------------------------------
    def upsert_comment(self, issue: int, marker: str, body: str) -> Comment:
        """Edit the bot's own comment carrying `marker` in place, or create it: one comment per purpose, ever."""
        if marker not in body:
            body = f"{body}\n\n{marker}"
        existing = next(iter(self.own_comments(issue, marker)), None)
        if existing is None:
            created = self.create_comment(issue, body)
            # Two runs at once may both have found none: the oldest comment stays, later ones go.
            oldest = next(iter(self.own_comments(issue, marker)), created)
            if oldest.id == created.id:
                return created
            self.delete_comment(issue, created.id)
            existing = oldest
        if existing.body == body:
            return existing
        return self.update_comment(issue, existing.id, body)

    def set_state_label(self, issue: int, state: str) -> None:
        """Move the issue's `mcp-factory: …` label to `state`, leaving every other label alone."""
        current = self.labels(issue)
        wanted = [label for label in current if not label.startswith(LABEL_PREFIX)] + [LABEL_PREFIX + state]
        if sorted(wanted) != sorted(current):
            self.set_labels(issue, wanted)
