"""What a GITHUB_TOKEN may do: each fake endpoint mapped to the permission GitHub's docs give it.

Sources:
- https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/controlling-permissions-for-github_token
  (the scope names; "when the permissions key is used, all unspecified permissions are set to no access,
  with the exception of the metadata scope, which always gets read access"; `write` includes `read`;
  `read-all` / `write-all`; `{}` disables everything)
- https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps (endpoint → permission;
  issue endpoints on a pull request's number accept the pull-requests permission instead)
A refusal answers like GitHub does to an installation token: 403 "Resource not accessible by integration".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SCOPES = (
    "actions",
    "attestations",
    "checks",
    "contents",
    "deployments",
    "discussions",
    "id-token",
    "issues",
    "metadata",
    "models",
    "packages",
    "pages",
    "pull-requests",
    "repository-projects",
    "security-events",
    "statuses",
)
LEVEL = {"none": 0, "read": 1, "write": 2}
REFUSED = "Resource not accessible by integration"
DOCS = "https://docs.github.com/rest/authentication/permissions-required-for-github-apps"


class PermissionsError(Exception):
    """A `permissions:` block GitHub would reject (unknown scope or level)."""


def token_permissions(block: Any) -> dict[str, str]:
    """The scopes a job's token holds for its effective `permissions:` block (job level, else workflow level)."""
    if block is None:
        # Without any block the repository's default applies (permissive or restricted): a test must not
        # depend on a setting it cannot see, so our workflows always declare one.
        raise PermissionsError("no permissions: block; the token would get the repository's default")
    if block in ("read-all", "write-all"):
        level = block.removesuffix("-all")
        return {
            scope: ("write" if level == "write" and scope not in ("metadata",) else "read")
            for scope in SCOPES
            if scope != "id-token"
        } | ({"id-token": "write"} if level == "write" else {})
    if not isinstance(block, dict):
        raise PermissionsError(f"permissions: {block!r} is neither a mapping, read-all nor write-all")
    granted = {"metadata": "read"}
    for scope, level in block.items():
        if scope not in SCOPES or level not in LEVEL:
            raise PermissionsError(f"permissions: {scope}: {level} is not a GitHub scope and level")
        if LEVEL[level]:
            granted[scope] = level
    return granted


@dataclass(frozen=True)
class Need:
    """The permission one request needs; `alt` is the scope that also suffices (issues ↔ pull-requests)."""

    scope: str
    level: str
    alt: str | None = None


_READ = {"GET", "HEAD"}
# (methods, path under /repos/{owner}/{repo}, scope); the level is read for GET, else write.
_RULES: list[tuple[set[str] | None, str, str]] = [
    ({"GET"}, r"", "metadata"),
    ({"GET"}, r"/collaborators/[^/]+/permission", "metadata"),
    (None, r"/pulls(/\d+)?", "pull-requests"),
    (None, r"/issues", "issues"),
    (None, r"/issues/(?P<number>\d+)(/comments|/labels|/events)?", "issues"),
    (None, r"/issues/comments/(?P<comment>\d+)", "issues"),
    (None, r"/releases(/.*)?", "contents"),
]


def needed(fake: Any, method: str, rest: str) -> Need | None:
    """The permission `method /repos/{slug}{rest}` needs, or None for a path the rules do not cover."""
    for methods, pattern, scope in _RULES:
        match = re.fullmatch(pattern, rest)
        if match and (methods is None or method in methods):
            level = "read" if method in _READ else "write"
            number = match.groupdict().get("number")
            comment = match.groupdict().get("comment")
            if comment and int(comment) in fake.comments:
                number = fake.comments[int(comment)]["issue"]
            if scope == "issues" and number and int(number) in fake.pulls:
                return Need("pull-requests", level, alt="issues")  # a PR is an issue: either scope works
            return Need(scope, level)
    return None


def allows(granted: dict[str, str], need: Need) -> str | None:
    """The scope of `granted` that satisfies `need`, or None."""
    for scope in (need.scope, need.alt):
        if scope and LEVEL[granted.get(scope, "none")] >= LEVEL[need.level]:
            return scope
    return None


def refusal() -> dict[str, str]:
    """GitHub's body for a call the token's permissions do not allow."""
    return {"message": REFUSED, "documentation_url": DOCS, "status": "403"}


def _error(status: int, message: str) -> tuple[int, dict[str, str]]:
    return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}


def authorize(fake: Any, token: str | None, need: Need | None, method: str, path: str) -> tuple[int, Any] | None:
    """None when `fake` lets `token` make this call, else GitHub's refusal; records the scope each call used."""
    if not fake.grants:
        return None  # no token registered: the fake accepts anything (the unit tests of the forge)
    if need is None:
        return _error(500, f"the fake maps no permission for {method} {path}: add a rule")
    public_read = not fake.private and need.level == "read"  # anyone may read a public repository
    if token is None:
        return (
            None
            if public_read
            else _error(404 if fake.private else 401, "Not Found" if fake.private else "Requires authentication")
        )
    granted = fake.grants.get(token)
    if granted is None:
        return _error(401, "Bad credentials")
    scope = allows(granted, need)
    if scope is None:
        if public_read:
            return None
        fake.refused.append((token, method, path, need))
        return 403, refusal()
    held = fake.used.setdefault(token, {})
    if LEVEL[need.level] > LEVEL[held.get(scope, "none")]:
        held[scope] = need.level
    return None
