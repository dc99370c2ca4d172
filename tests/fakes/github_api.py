"""A local HTTP server that answers like GitHub's REST API, for exactly the calls our flows make.

State lives in memory; git traffic goes to a real bare repository whose path is the repo's `clone_url`
(tests/fakes/git_repos.py makes one). `FakeGitHub` here holds the state and the events a test sends; the JSON it
answers with is built by tests/fakes/github_shapes.py and the calls are answered by tests/fakes/github_routes.py.
Every exchange is recorded so tests/test_fake_github_openapi.py can check each response against the
operation's schema in GitHub's OpenAPI description (@octokit/openapi): the fake cannot drift from GitHub.

With `git_http=True` the repository is also served over smart HTTP (tests/fakes/git_http.py) at
`clone_url`, and once a token is registered with `grant()` every call is checked against that token's
permissions (tests/fakes/github_permissions.py): a call they do not allow gets GitHub's 403.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .github_permissions import Need, authorize
from .github_routes import _Handler
from .github_shapes import GitHubShapes


@dataclass
class Exchange:
    """One request and the fake's answer, as the OpenAPI check needs it."""

    method: str
    path: str
    status: int
    body: Any


@dataclass
class Fault:
    method: str
    pattern: str
    status: int
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    hang: float = 0.0  # > 0: accept the request and answer nothing for this many seconds, then hang up


class FakeGitHub(GitHubShapes):
    """GitHub for one repository `owner/name`, whose git remote is the bare repo at `bare`."""

    def __init__(
        self,
        bare: Path,
        owner: str = "acme",
        name: str = "mcp-servers",
        *,
        git_http: bool = False,
        private: bool = False,
    ) -> None:
        self.bare, self.owner, self.name = Path(bare), owner, name
        self.git_http, self.private = git_http, private
        self.grants: dict[str, dict[str, str]] = {}  # token → scope → level; empty: every token may do anything
        self.used: dict[str, dict[str, str]] = {}  # token → scope → the highest level a call needed
        self.refused: list[tuple[str, str, str, Need]] = []  # (token, method, path, what it needed)
        self.issues: dict[int, dict[str, Any]] = {}
        self.pulls: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.releases: dict[int, dict[str, Any]] = {}
        self.assets: dict[int, dict[str, Any]] = {}
        self.blobs: dict[int, bytes] = {}
        self.exchanges: list[Exchange] = []
        self.faults: list[Fault] = []
        self.tokens_seen: set[str] = set()
        # Repository permission per login ("admin", "write", "read"); anyone else is "read" (a public repo).
        self.collaborators: dict[str, str] = {owner: "admin", "alice": "admin"}
        self.events: dict[int, list[dict[str, Any]]] = {}  # issue number → its label history
        self.scopes: str | None = None  # sent as X-OAuth-Scopes (a classic token) when set
        self.shift = timedelta()  # move the fake's clock (rate-limit windows)
        # Who the token belongs to: GITHUB_TOKEN's github-actions[bot], the author of the bot's comments and the
        # actor of its label changes. Like an installation token, it may not read GET /user (403).
        self.bot = "github-actions[bot]"
        self._ids = 100
        self._numbers = 0
        self._lock = threading.Lock()
        self._released = threading.Event()  # ends every hanging request when the fake stops
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> FakeGitHub:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def clone_url(self) -> str:
        """Where git reaches the repository: smart HTTP through the fake, or the bare repo's path."""
        return f"{self.url}/{self.slug}.git" if self.git_http else str(self.bare)

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"

    def _id(self) -> int:
        self._ids += 1
        return self._ids

    def fail(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 502,
        times: int = 1,
        headers: dict[str, str] | None = None,
        message: str = "Server Error",
        hang: float = 0.0,
    ) -> None:
        """Answer the next `times` requests matching (method, path regex) with `status` and `message`;
        with `hang`, accept them and answer nothing (a client must time out)."""
        self.faults.append(Fault(method, pattern, status, times, headers or {}, message, hang))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and re.search(fault.pattern, path):
                    fault.times -= 1
                    return fault
        return None

    def _record(self, method: str, path: str, status: int, body: Any) -> None:
        """Keep one JSON answer for the OpenAPI check (the handler calls this for each)."""
        self.exchanges.append(Exchange(method, path, status, body))

    def grant(self, token: str, permissions: dict[str, str]) -> None:
        """Register a token (a job's GITHUB_TOKEN) with exactly these scopes; from now on tokens are checked."""
        with self._lock:
            self.grants[token] = dict(permissions)

    def _authorize(self, token: str | None, need: Need | None, method: str, path: str) -> tuple[int, Any] | None:
        """None when the call may go ahead, else GitHub's refusal (status, body)."""
        return authorize(self, token, need, method, path)

    def now(self) -> datetime:
        return datetime.now(UTC).replace(microsecond=0) + self.shift

    def _stamp(self) -> str:
        return self.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def relabel(self, number: int, names: list[str], *, actor: str) -> None:
        """Set an issue's labels as `actor` would in the web UI, recording labeled/unlabeled events."""
        with self._lock:
            self._set_labels(number, names, actor)

    def _set_labels(self, number: int, names: list[str], actor: str) -> None:
        before = self.issues[number]["labels"]
        after = list(dict.fromkeys(names))
        history = self.events.setdefault(number, [])
        for kind, changed in (
            ("unlabeled", [n for n in before if n not in after]),
            ("labeled", [n for n in after if n not in before]),
        ):
            history += [
                {"id": self._id(), "event": kind, "label": n, "actor": actor, "at": self._stamp()} for n in changed
            ]
        self.issues[number]["labels"] = after
        self.issues[number]["updated"] = self._stamp()

    def close_issue(self, number: int) -> None:
        with self._lock:
            self.issues[number]["state"] = "closed"
            self.issues[number]["updated"] = self._stamp()

    # -- what a test sets up and inspects --------------------------------------------------------
    def open_issue(self, title: str, body: str, *, login: str = "alice", association: str = "OWNER") -> dict[str, Any]:
        self._numbers += 1
        number = self._numbers
        self.issues[number] = {
            "number": number,
            "title": title,
            "body": body,
            "labels": [],
            "login": login,
            "state": "open",
            "id": self._id(),
            "updated": self._stamp(),
            "association": association,
        }
        return self.issue_json(number)

    def issue_event(self, number: int, action: str = "opened") -> dict[str, Any]:
        return {
            "action": action,
            "issue": self.issue_json(number),
            "repository": self.repo_json(),
            "sender": self.user("alice"),
        }

    def push_event(self, sha: str) -> dict[str, Any]:
        return {"ref": "refs/heads/main", "after": sha, "repository": self.repo_json()}

    def pr_event(self, number: int, head_sha: str, base_sha: str) -> dict[str, Any]:
        pr = self.pull_json(number)
        pr["head"]["sha"], pr["base"]["sha"] = head_sha, base_sha
        return {"action": "synchronize", "number": number, "pull_request": pr, "repository": self.repo_json()}

    def comments_on(self, number: int) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == number]

    def comment_as(self, login: str, number: int, body: str) -> int:
        """A comment `login` writes in the web UI (the bot's own go through the API)."""
        with self._lock:
            comment_id = self._id()
            self.comments[comment_id] = {"issue": number, "body": body, "author": login}
            self.issues[number]["updated"] = self._stamp()
            return comment_id

    def edit_issue(
        self, number: int, *, login: str, title: str | None = None, body: str | None = None
    ) -> dict[str, Any]:
        """`login` edits the issue in the web UI: the `issues.edited` event GitHub sends, with `changes`."""
        with self._lock:
            issue = self.issues[number]
            changes = {
                key: {"from": issue[key]}
                for key, value in (("title", title), ("body", body))
                if value is not None and value != issue[key]
            }
            issue.update({key: value for key, value in (("title", title), ("body", body)) if value is not None})
            issue["updated"] = self._stamp()
        return {
            "action": "edited",
            "issue": self.issue_json(number),
            "changes": changes,
            "repository": self.repo_json(),
            "sender": self.user(login),
        }
