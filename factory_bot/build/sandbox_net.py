"""The bot's side of the sandbox's network boundary: reaching a server whose loopback is its own.

A sandboxed `--http` server listens on 127.0.0.1 inside its network namespace; the sandbox's relay carries a unix
socket in a directory shared with the bot to it. The client speaks ordinary HTTP with `Host: 127.0.0.1:PORT` over
that socket, so the server sees exactly the requests an unsandboxed one would.
"""

from __future__ import annotations

import functools
import http.client
import socket
import ssl
from pathlib import Path
from typing import Any


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default context, made once per process: loading the CA store costs ~30 ms a build, and the
    sandboxed server speaks plain HTTP over the socket anyway."""
    import httpx2

    return httpx2.create_ssl_context()


class HttpTransport:
    """Streamable HTTP to a server reached through a unix socket (the sandboxed server's relay)."""

    def __init__(self, url: str, uds: Path) -> None:
        self.url, self.uds = url, uds

    async def __aenter__(self) -> Any:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        self._http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(30.0, read=300.0),  # the SDK's own defaults
            transport=httpx2.AsyncHTTPTransport(uds=str(self.uds), verify=_tls()),
        )
        await self._http.__aenter__()
        self._cm = streamable_http_client(self.url, http_client=self._http)
        return await self._cm.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._cm.__aexit__(*exc)
        finally:
            await self._http.__aexit__(None, None, None)


def accepts(port: int, uds: Path | None) -> bool:
    """Whether the server takes connections: on loopback, or through the sandbox's socket once it exists."""
    if uds is not None and not uds.exists():
        return False
    with socket.socket(socket.AF_UNIX if uds else socket.AF_INET) as sock:
        return sock.connect_ex(str(uds) if uds else ("127.0.0.1", port)) == 0


class Connection(http.client.HTTPConnection):
    """HTTP to 127.0.0.1:PORT (as the Host header says), carried over a unix socket when `uds` is set."""

    def __init__(self, port: int, uds: Path | None) -> None:
        super().__init__("127.0.0.1", port, timeout=10)
        self.uds = uds

    def connect(self) -> None:
        if self.uds is None:
            return super().connect()
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.uds))
