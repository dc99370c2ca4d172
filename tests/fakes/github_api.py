"""A local HTTP server that answers like GitHub's REST API, for exactly the calls our flows make.

State lives in memory; git traffic goes to a real bare repository whose path is the repo's `clone_url`.
Every exchange is recorded so tests/test_fake_github_openapi.py can check each response against the
operation's schema in GitHub's OpenAPI description (@octokit/openapi): the fake cannot drift from GitHub.

With `git_http=True` the repository is also served over smart HTTP (tests/fakes/git_http.py) at
`clone_url`, and once a token is registered with `grant()` every call is checked against that token's
permissions (tests/fakes/github_permissions.py): a call they do not allow gets GitHub's 403.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from . import git_http
from .github_permissions import Need, authorize, needed

NOW = "2026-01-15T12:00:00Z"
URL_TEMPLATES = (
    "archive_url assignees_url blobs_url branches_url collaborators_url comments_url commits_url "
    "compare_url contents_url contributors_url deployments_url downloads_url events_url forks_url "
    "git_commits_url git_refs_url git_tags_url hooks_url issue_comment_url issue_events_url "
    "issues_url keys_url labels_url languages_url merges_url milestones_url notifications_url "
    "pulls_url releases_url stargazers_url statuses_url subscribers_url subscription_url tags_url "
    "teams_url trees_url"
).split()


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


class FakeGitHub:
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

    # -- shapes (as GitHub's OpenAPI description requires them) ----------------------------------
    def user(self, login: str) -> dict[str, Any]:
        base = f"{self.url}/users/{login}"
        return {
            "login": login,
            "id": abs(hash(login)) % 10_000,
            "node_id": f"U_{login}",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "avatar_url": f"{self.url}/avatars/{login}",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.url}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "site_admin": False,
        }

    def repo_json(self) -> dict[str, Any]:
        api = f"{self.url}/repos/{self.slug}"
        data: dict[str, Any] = {name: f"{api}/{name.removesuffix('_url')}" for name in URL_TEMPLATES}
        data.update(
            {
                "id": 1,
                "node_id": "R_1",
                "name": self.name,
                "full_name": self.slug,
                "owner": self.user(self.owner),
                "private": self.private,
                "html_url": f"{self.url}/{self.slug}",
                "description": "MCP servers",
                "fork": False,
                "url": api,
                "clone_url": self.clone_url,
                "git_url": self.clone_url,
                "ssh_url": self.clone_url,
                "svn_url": f"{self.url}/{self.slug}",
                "mirror_url": None,
                "homepage": None,
                "language": "TypeScript",
                "forks": 0,
                "forks_count": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "watchers": 0,
                "size": 1,
                "default_branch": "main",
                "open_issues": 0,
                "open_issues_count": 0,
                "has_issues": True,
                "has_projects": False,
                "has_wiki": False,
                "has_pages": False,
                "has_downloads": True,
                "has_discussions": False,
                "archived": False,
                "disabled": False,
                "license": None,
                "pushed_at": NOW,
                "created_at": NOW,
                "updated_at": NOW,
                "network_count": 0,
                "subscribers_count": 0,
                "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
            }
        )
        return data

    def label_json(self, name: str) -> dict[str, Any]:
        return {
            "id": abs(hash(name)) % 100_000,
            "node_id": f"L_{name}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
            "url": f"{self.url}/repos/{self.slug}/labels/{name.replace(' ', '%20')}",
        }

    def issue_json(self, number: int) -> dict[str, Any]:
        issue = self.issues[number]
        api = f"{self.url}/repos/{self.slug}/issues/{number}"
        return {
            "id": issue["id"],
            "node_id": f"I_{number}",
            "number": number,
            "title": issue["title"],
            "body": issue["body"],
            "state": issue["state"],
            "locked": False,
            "user": self.user(issue["login"]),
            "labels": [self.label_json(n) for n in issue["labels"]],
            "assignee": None,
            "milestone": None,
            "comments": len(self.comments_on(number)),
            "url": api,
            "repository_url": f"{self.url}/repos/{self.slug}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{self.url}/{self.slug}/issues/{number}",
            "closed_at": None,
            "created_at": NOW,
            "updated_at": issue.get("updated", NOW),
            "author_association": issue.get("association", "OWNER"),
        }

    def event_json(self, number: int, event: dict[str, Any]) -> dict[str, Any]:
        api = f"{self.url}/repos/{self.slug}/issues/events/{event['id']}"
        return {
            "id": event["id"],
            "node_id": f"LE_{event['id']}",
            "url": api,
            "actor": self.user(event["actor"]),
            "event": event["event"],
            "commit_id": None,
            "commit_url": None,
            "created_at": event["at"],
            "performed_via_github_app": None,
            "label": {"name": event["label"], "color": "ededed"},
        }

    def permission_json(self, login: str) -> dict[str, Any]:
        permission = self.collaborators.get(login, "read")
        return {"permission": permission, "role_name": permission, "user": self.user(login) | {"role_name": permission}}

    def comment_json(self, comment_id: int) -> dict[str, Any]:
        comment = self.comments[comment_id]
        return {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "body": comment["body"],
            "user": self.user(comment.get("author", self.bot)),
            "author_association": "NONE",
            "url": f"{self.url}/repos/{self.slug}/issues/comments/{comment_id}",
            "html_url": f"{self.url}/{self.slug}/issues/{comment['issue']}#issuecomment-{comment_id}",
            "issue_url": f"{self.url}/repos/{self.slug}/issues/{comment['issue']}",
            "created_at": NOW,
            "updated_at": NOW,
        }

    def _branch(self, ref: str) -> dict[str, Any]:
        return {
            "label": f"{self.owner}:{ref}",
            "ref": ref,
            "sha": "0" * 40,
            "user": self.user(self.owner),
            "repo": self.repo_json(),
        }

    def pull_json(self, number: int, *, simple: bool = False) -> dict[str, Any]:
        pr = self.pulls[number]
        api = f"{self.url}/repos/{self.slug}/pulls/{number}"
        html = f"{self.url}/{self.slug}/pull/{number}"
        issue_api = f"{self.url}/repos/{self.slug}/issues/{number}"
        links = {
            "self": api,
            "html": html,
            "issue": issue_api,
            "comments": f"{issue_api}/comments",
            "review_comments": f"{api}/comments",
            "review_comment": f"{self.url}/repos/{self.slug}/pulls/comments{{/number}}",
            "commits": f"{api}/commits",
            "statuses": f"{self.url}/repos/{self.slug}/statuses/{'0' * 40}",
        }
        data: dict[str, Any] = {
            "id": pr["id"],
            "node_id": f"PR_{number}",
            "number": number,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "body": pr["body"],
            "user": self.user("mcp-factory[bot]"),
            "labels": [],
            "assignee": None,
            "milestone": None,
            "head": self._branch(pr["head"]),
            "base": self._branch(pr["base"]),
            "_links": {k: {"href": v} for k, v in links.items()},
            "url": api,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": links["review_comment"],
            "comments_url": f"{issue_api}/comments",
            "statuses_url": links["statuses"],
            "merge_commit_sha": None,
            "merged_at": None,
            "closed_at": None,
            "created_at": NOW,
            "updated_at": NOW,
            "author_association": "NONE",
            "auto_merge": None,
        }
        if not simple:
            data.update(
                {
                    "merged": False,
                    "mergeable": True,
                    "mergeable_state": "clean",
                    "merged_by": None,
                    "comments": 0,
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 0,
                    "changed_files": 1,
                }
            )
        return data

    def asset_json(self, asset_id: int) -> dict[str, Any]:
        asset = self.assets[asset_id]
        release = self.releases[asset["release"]]
        return {
            "id": asset_id,
            "node_id": f"RA_{asset_id}",
            "name": asset["name"],
            "label": None,
            "content_type": asset["content_type"],
            "size": asset["size"],
            "state": asset["state"],
            "digest": asset["digest"],
            "download_count": 0,
            "uploader": self.user("mcp-factory[bot]"),
            "url": f"{self.url}/repos/{self.slug}/releases/assets/{asset_id}",
            "browser_download_url": f"{self.url}/{self.slug}/releases/download/{release['tag']}/{asset['name']}",
            "created_at": NOW,
            "updated_at": NOW,
        }

    def release_json(self, release_id: int) -> dict[str, Any]:
        release = self.releases[release_id]
        api = f"{self.url}/repos/{self.slug}/releases/{release_id}"
        return {
            "id": release_id,
            "node_id": f"RE_{release_id}",
            "tag_name": release["tag"],
            "target_commitish": "main",
            "name": release["name"],
            "body": release["body"],
            "draft": False,
            "prerelease": False,
            "author": self.user("mcp-factory[bot]"),
            "url": api,
            "html_url": f"{self.url}/{self.slug}/releases/tag/{release['tag']}",
            "assets_url": f"{api}/assets",
            "upload_url": f"{self.url}/repos/{self.slug}/releases/{release_id}/assets{{?name,label}}",
            "tarball_url": f"{self.url}/repos/{self.slug}/tarball/{release['tag']}",
            "zipball_url": f"{self.url}/repos/{self.slug}/zipball/{release['tag']}",
            "created_at": NOW,
            "published_at": NOW,
            "assets": [self.asset_json(a) for a in sorted(self.assets) if self.assets[a]["release"] == release_id],
        }

    def release_by_tag(self, tag: str) -> dict[str, Any] | None:
        return next((self.release_json(i) for i, r in self.releases.items() if r["tag"] == tag), None)


def _error(status: int, message: str, **extra: Any) -> tuple[int, Any]:
    return status, {"message": message, "documentation_url": "https://docs.github.com/rest", **extra}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _respond(self) -> None:
        fake = self.fake
        parsed = urlparse(self.path)
        path, query = parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}
        raw = git_http.read_body(self)
        token = git_http.token_of(self.headers.get("Authorization", ""))
        if fake.git_http and (rest := git_http.git_path(fake, path)) is not None:
            with fake._lock:
                denied = fake._authorize(token, git_http.need_for(rest, query), self.command, path)
            if denied is not None:
                git_http.refuse(self, denied[0], f"Permission to {fake.slug}.git denied.\n")
                return
            git_http.serve(self, fake, rest, parsed.query, raw, user="x-access-token" if token else "")
            return
        if token:
            fake.tokens_seen.add(token)  # tokens that reached the REST API (git traffic is checked, not listed)
        fault = fake._take_fault(self.command, path)
        if fault is not None and fault.hang:
            fake._released.wait(fault.hang)  # bounded: the client's timeout fires long before
            self.close_connection = True
            return
        if fault is not None:
            self._send(
                fault.status,
                {"message": fault.message, "documentation_url": "https://docs.github.com/rest"},
                fault.headers,
            )
            return
        with fake._lock:
            denied = fake._authorize(token, _need(fake, self.command, path), self.command, path)
            status, body = denied or _route(fake, self.command, path, query, raw, self.headers)
        if isinstance(body, bytes):
            self._send_bytes(status, body)
            return
        fake.exchanges.append(Exchange(self.command, path, status, body))
        self._send(status, body)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.fake.scopes is not None:
            self.send_header("X-OAuth-Scopes", self.fake.scopes)
        if status == 302:
            self.send_header("Location", body)
            data = b""
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_bytes(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _respond


def _need(fake: FakeGitHub, method: str, path: str) -> Need | None:
    if path.startswith(f"/{fake.slug}/releases/download/"):
        return Need("contents", "read")  # a release asset of a private repository needs contents: read
    repo = f"/repos/{fake.slug}"
    return needed(fake, method, path[len(repo) :]) if path.startswith(repo) else None


def _route(
    fake: FakeGitHub, method: str, path: str, query: dict[str, str], raw: bytes, headers: Any
) -> tuple[int, Any]:
    repo = f"/repos/{fake.slug}"
    uploading = method == "POST" and path.endswith("/assets")
    body = json.loads(raw) if raw and not uploading else {}
    if path.startswith(f"/{fake.slug}/releases/download/"):
        tag, name = unquote(path.rsplit("/", 2)[1]), unquote(path.rsplit("/", 1)[1])
        for asset_id, asset in fake.assets.items():
            if fake.releases[asset["release"]]["tag"] == tag and asset["name"] == name:
                return 200, fake.blobs[asset_id]
        return _error(404, "Not Found")
    if path == "/user" and method == "GET":  # what GitHub answers an installation token (GITHUB_TOKEN, an App)
        return _error(403, "Resource not accessible by integration")
    if not path.startswith(repo):
        return _error(404, "Not Found")
    rest = path[len(repo) :]
    if rest == "" and method == "GET":
        return 200, fake.repo_json()
    if rest == "/pulls" and method == "GET":
        head = query.get("head", "")
        found = [
            fake.pull_json(n, simple=True)
            for n, p in sorted(fake.pulls.items())
            if p["state"] == query.get("state", "open") and (not head or f"{fake.owner}:{p['head']}" == head)
        ]
        return 200, found
    if rest == "/pulls" and method == "POST":
        if any(p["head"] == body["head"] and p["state"] == "open" for p in fake.pulls.values()):
            return _error(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "PullRequest",
                        "code": "custom",
                        "message": f"A pull request already exists for {fake.owner}:{body['head']}.",
                    }
                ],
            )
        fake._numbers += 1
        fake.pulls[fake._numbers] = {
            "id": fake._id(),
            "head": body["head"],
            "base": body["base"],
            "title": body["title"],
            "body": body.get("body", ""),
            "state": "open",
        }
        return 201, fake.pull_json(fake._numbers)
    if m := re.fullmatch(r"/pulls/(\d+)", rest):
        number = int(m[1])
        if number not in fake.pulls:
            return _error(404, "Not Found")
        if method == "PATCH":
            fake.pulls[number].update({k: body[k] for k in ("title", "body", "state") if k in body})
        return 200, fake.pull_json(number)
    if m := re.fullmatch(r"/collaborators/([^/]+)/permission", rest):
        login = unquote(m[1])
        if login.startswith("ghost-"):  # a login no account has
            return _error(404, "Not Found")
        return 200, fake.permission_json(login)
    if rest == "/issues" and method == "GET":
        since = query.get("since")
        found = [
            n
            for n, i in sorted(fake.issues.items())
            if n not in fake.pulls
            and (query.get("state", "open") == "all" or i["state"] == query.get("state", "open"))
            and (not query.get("creator") or i["login"].lower() == query["creator"].lower())
            and (not since or datetime.fromisoformat(i.get("updated", NOW)) >= datetime.fromisoformat(since))
        ]
        return 200, [fake.issue_json(n) for n in found]
    if m := re.fullmatch(r"/issues/(\d+)/events", rest):
        number = int(m[1])
        if number not in fake.issues:
            return _error(404, "Not Found")
        return 200, [fake.event_json(number, e) for e in fake.events.get(number, [])]
    if m := re.fullmatch(r"/issues/(\d+)", rest):
        number = int(m[1])
        if number not in fake.issues and number not in fake.pulls:
            return _error(404, "Not Found")
        if number in fake.pulls and number not in fake.issues:  # a PR is an issue too
            pr = fake.pulls[number]
            fake.issues[number] = {
                "number": number,
                "title": pr["title"],
                "body": pr["body"],
                "labels": [],
                "login": "mcp-factory[bot]",
                "state": "open",
                "id": fake._id(),
            }
        return 200, fake.issue_json(number)
    if m := re.fullmatch(r"/issues/(\d+)/comments", rest):
        number = int(m[1])
        if method == "POST":
            comment_id = fake._id()
            fake.comments[comment_id] = {"issue": number, "body": body["body"], "author": fake.bot}
            if number in fake.issues:
                fake.issues[number]["updated"] = fake._stamp()
            return 201, fake.comment_json(comment_id)
        return 200, [fake.comment_json(c) for c in sorted(fake.comments) if fake.comments[c]["issue"] == number]
    if m := re.fullmatch(r"/issues/comments/(\d+)", rest):
        comment_id = int(m[1])
        if comment_id not in fake.comments:
            return _error(404, "Not Found")
        if method == "DELETE":
            del fake.comments[comment_id]
            return 204, None
        if method == "PATCH":
            fake.comments[comment_id]["body"] = body["body"]
        return 200, fake.comment_json(comment_id)
    if (m := re.fullmatch(r"/issues/(\d+)/labels", rest)) and method == "PUT":
        number = int(m[1])
        # The documented body is {"labels": [...]}; PyGithub sends the older bare list, also accepted.
        names = body.get("labels", []) if isinstance(body, dict) else body
        names = [n["name"] if isinstance(n, dict) else n for n in names]
        fake._set_labels(number, names, fake.bot)
        return 200, [fake.label_json(n) for n in fake.issues[number]["labels"]]
    if rest == "/releases" and method == "GET":
        return 200, [fake.release_json(i) for i in sorted(fake.releases, reverse=True)]
    if rest == "/releases" and method == "POST":
        if fake.release_by_tag(body["tag_name"]):
            return _error(
                422,
                "Validation Failed",
                errors=[{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
            )
        release_id = fake._id()
        fake.releases[release_id] = {
            "tag": body["tag_name"],
            "name": body.get("name") or body["tag_name"],
            "body": body.get("body", ""),
        }
        return 201, fake.release_json(release_id)
    if m := re.fullmatch(r"/releases/tags/(.+)", rest):
        found = fake.release_by_tag(unquote(m[1]))
        return (200, found) if found else _error(404, "Not Found")
    if m := re.fullmatch(r"/releases/(\d+)", rest):
        release_id = int(m[1])
        if release_id not in fake.releases:
            return _error(404, "Not Found")
        if method == "PATCH":
            fake.releases[release_id].update({k: body[k] for k in ("name", "body") if k in body})
        return 200, fake.release_json(release_id)
    if m := re.fullmatch(r"/releases/(\d+)/assets", rest):
        release_id = int(m[1])
        if method == "POST":
            name = query["name"]
            if any(a["name"] == name and a["release"] == release_id for a in fake.assets.values()):
                return _error(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "ReleaseAsset", "code": "already_exists", "field": "name"}],
                )
            import hashlib

            asset_id = fake._id()
            fake.assets[asset_id] = {
                "release": release_id,
                "name": name,
                "size": len(raw),
                "state": "uploaded",
                "content_type": headers.get("Content-Type", "application/octet-stream"),
                "digest": f"sha256:{hashlib.sha256(raw).hexdigest()}",
            }
            fake.blobs[asset_id] = raw
            return 201, fake.asset_json(asset_id)
        return 200, [fake.asset_json(a) for a in sorted(fake.assets) if fake.assets[a]["release"] == release_id]
    if m := re.fullmatch(r"/releases/assets/(\d+)", rest):
        asset_id = int(m[1])
        if asset_id not in fake.assets:
            return _error(404, "Not Found")
        if method == "DELETE":
            del fake.assets[asset_id]
            fake.blobs.pop(asset_id, None)
            return 204, None
        if "octet-stream" in headers.get("Accept", ""):
            return 302, fake.asset_json(asset_id)["browser_download_url"]
        return 200, fake.asset_json(asset_id)
    return _error(404, f"the fake GitHub does not implement {method} {path}")


# -- real git repositories for the fake to point at --------------------------------------------------
def seed_bare_repo(bare: Path, files: dict[str, str] | None = None) -> Path:
    """A bare repository with one commit on main (a README, plus `files`), like a fresh factory repo."""
    import git

    git.Repo.init(bare, bare=True, initial_branch="main")
    work = bare.parent / f"{bare.name}-seed"
    repo = git.Repo.clone_from(str(bare), work)
    for rel, text in {"README.md": "# MCP servers\n", **(files or {})}.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text, encoding="utf-8")
    repo.git.add("--all")
    repo.git.commit("-m", "Start the factory repository", env=_IDENTITY)
    repo.git.push("origin", "HEAD:refs/heads/main")
    return bare


def merge_branch(bare: Path, branch: str, *, message: str = "Merge pull request") -> str:
    """Merge `branch` into main of the bare repo the way GitHub's merge button does; the new main sha."""
    import tempfile

    import git

    with tempfile.TemporaryDirectory() as tmp:
        repo = git.Repo.clone_from(str(bare), Path(tmp) / "w", branch="main")
        repo.git.merge("--no-ff", f"origin/{branch}", "-m", message, env=_IDENTITY)
        repo.git.push("origin", "HEAD:refs/heads/main")
        return repo.head.commit.hexsha


def branch_files(bare: Path, ref: str) -> dict[str, str]:
    """Path → text of every file at `ref` in the bare repo."""
    import git

    repo = git.Repo(bare)
    names = repo.git.ls_tree("-r", "--name-only", ref).splitlines()
    return {name: repo.git.show(f"{ref}:{name}", strip_newline_in_stdout=False) for name in names}


_IDENTITY = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "alice@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "alice@example.com",
}
