"""A local stand-in for the upstream API of `http` tools, answering with each example's recorded reply.

It listens on 127.0.0.1, or on a unix socket for a sandboxed server (whose loopback is its own: the sandbox's
relay carries its 127.0.0.1:UPSTREAM_PORT to this socket).
"""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from factory_bot.spec.examples import UpstreamReply


class _UnixHTTPServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True


class StubUpstream:
    """Serves `reply` to every request on 127.0.0.1 (or on the unix socket `socket`) and records what it was asked."""

    def __init__(self, socket: Path | None = None) -> None:
        self.socket = socket
        self.reply: UpstreamReply | None = None
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
                stub.requests.append(
                    {"method": self.command, "path": self.path, "body": body, "headers": dict(self.headers)}
                )
                reply = stub.reply
                if reply is None:
                    self._send(502, "text/plain", b"no upstream reply recorded for this example")
                    return
                if isinstance(reply.body, str):
                    payload, kind = reply.body.encode(), "text/plain; charset=utf-8"
                else:
                    payload, kind = json.dumps(reply.body).encode(), "application/json"
                self._send(reply.status, reply.headers.get("content-type", kind), payload, reply.headers)

            def _send(self, status: int, kind: str, payload: bytes, extra: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", kind)
                self.send_header("content-length", str(len(payload)))
                for name, value in (extra or {}).items():
                    if name.lower() not in ("content-type", "content-length"):
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:  # keep validation output clean
                pass

        if socket is not None:
            self._server: socketserver.BaseServer = _UnixHTTPServer(str(socket), Handler)
            socket.chmod(0o666)  # the sandbox may run as another uid (under root)
        else:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval: shutdown() waits for the loop to notice, and builds wait for shutdown().
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        """Where an unsandboxed server reaches the stub (a sandboxed one: sandbox_jail.UPSTREAM_PORT)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self.socket is not None:
            self.socket.unlink(missing_ok=True)
