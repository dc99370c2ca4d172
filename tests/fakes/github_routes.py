"""The fake GitHub's HTTP side: the request handler, the scope each call needs, and the routes that answer.

`_route` answers each REST call from the state of a `FakeGitHub` (tests/fakes/github_api.py); git traffic goes
to tests/fakes/git_http.py, and every call is first checked against the token's permissions.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from . import git_http
from .github_permissions import Need, needed
from .github_shapes import NOW

if TYPE_CHECKING:
    from .github_api import FakeGitHub


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
        fake._record(self.command, path, status, body)
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
