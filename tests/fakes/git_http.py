"""The fake GitHub's git endpoint: smart HTTP (`git http-backend`) over the real bare repository, with
the token checked the way GitHub checks it (fetch needs contents: read on a private repository, push needs
contents: write; https://docs.github.com/en/rest/authentication/permissions-required-for-github-apps,
"contents").

Git presents the token as `Authorization: basic base64(x-access-token:<token>)`, as actions/checkout
and the bot configure it (http.extraheader).
"""

from __future__ import annotations

import base64
import os
import subprocess
from typing import Any

from .github_permissions import Need


def git_path(fake: Any, path: str) -> str | None:
    """The part after `/{owner}/{repo}.git` when `path` is a git smart-HTTP request, else None."""
    for prefix in (f"/{fake.slug}.git", f"/{fake.slug}"):
        rest = path[len(prefix) :]
        if path.startswith(prefix) and rest in ("/info/refs", "/git-upload-pack", "/git-receive-pack"):
            return rest
    return None


def token_of(authorization: str) -> str | None:
    """The token of a `token x`, `Bearer x` or `Basic base64(user:x)` header."""
    kind, _, value = authorization.partition(" ")
    if kind.lower() in ("token", "bearer"):
        return value or None
    if kind.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[2] or None
        except ValueError:
            return None
    return None


def read_body(handler: Any) -> bytes:
    """The request body, whether sent with Content-Length or chunked (git chunks large pushes)."""
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        data = b""
        while True:
            size = int(handler.rfile.readline().strip().split(b";")[0], 16)
            if size == 0:
                handler.rfile.readline()
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def need_for(rest: str, query: dict[str, str]) -> Need:
    pushing = rest == "/git-receive-pack" or query.get("service") == "git-receive-pack"
    return Need("contents", "write" if pushing else "read")


def serve(handler: Any, fake: Any, rest: str, query_string: str, body: bytes, user: str) -> None:
    """Answer one smart-HTTP request with `git http-backend` over the bare repository."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "GIT_PROJECT_ROOT": str(fake.bare.parent),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": f"/{fake.bare.name}{rest}",
        "REQUEST_METHOD": handler.command,
        "QUERY_STRING": query_string,
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": user,
        "REMOTE_ADDR": "127.0.0.1",  # an authenticated user may receive-pack
        "GIT_PROTOCOL": handler.headers.get("Git-Protocol", ""),
        "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
    }
    proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, timeout=300)
    head, _, payload = proc.stdout.partition(b"\r\n\r\n")
    status, headers = 200, []
    for line in head.decode("latin-1").split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers.append((key, value.strip()))
    handler.send_response(status)
    for key, value in headers:
        handler.send_header(key, value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


def refuse(handler: Any, status: int, text: str) -> None:
    """A git-level refusal; git prints `The requested URL returned error: <status>`."""
    data = text.encode()
    handler.send_response(status)
    if status == 401:
        handler.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
    handler.send_header("Content-Type", "text/plain")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
