"""Reading an OpenAPI document: a file (or, only when asked, a URL), YAML or JSON, with the hostile shapes refused
before anything is built from it (YAML aliases, deep nesting, oversized files)."""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent

from factory_bot.errors import OpenAPIError

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024  # GitHub's description is 13 MB
MAX_NESTING = 200  # JSON/YAML levels; real documents stay under 30
URL_TIMEOUT_S = 15


@dataclass(frozen=True)
class Document:
    """A parsed OpenAPI document and where it came from (its URI resolves relative `$ref`s)."""

    data: dict[str, Any]
    uri: str
    label: str  # what error messages call it
    version: str  # "2.0", "3.0" or "3.1"


def read_document(source: str, *, allow_url: bool = False) -> Document:
    """Load SOURCE (a path; a http(s) URL only with allow_url) and check it is an OpenAPI/Swagger document."""
    if "://" in source:
        if not allow_url:
            raise OpenAPIError(
                f"{source} is a URL, and the import reads a URL only when asked",
                hint="download the document and commit it (the spec can name it), or pass --allow-url",
            )
        text, uri = fetch_url(source), source
    else:
        path = Path(source)
        if not path.is_file():
            raise OpenAPIError(f"no file {source}", hint="give the path of an OpenAPI document (YAML or JSON)")
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            raise OpenAPIError(
                f"{source} is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB", hint="import a smaller document"
            )
        text, uri = path.read_text(encoding="utf-8", errors="replace"), path.resolve().as_uri()
    data = parse_text(text, source)
    return Document(data=data, uri=uri, label=source, version=_version(data, source))


def parse_text(text: str, label: str) -> dict[str, Any]:
    """JSON or YAML text → a mapping; aliases (YAML bombs) and nesting deeper than MAX_NESTING are refused."""
    data: Any
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except RecursionError:
            raise _too_deep(label, None) from None
        except ValueError as exc:
            raise OpenAPIError(f"is not valid JSON: {exc}", where=label, hint="fix the document's syntax") from None
        _check_depth(data, label)
    else:
        yaml = YAML(typ="safe")
        try:
            _refuse_hostile_yaml(yaml, text, label)
            data = yaml.load(text)
        except YAMLError as exc:
            raise OpenAPIError(f"is not valid YAML: {exc}", where=label, hint="fix the document's syntax") from None
    if not isinstance(data, dict):
        raise OpenAPIError("is not a mapping", where=label, hint="an OpenAPI document is a JSON or YAML object")
    return data


def _refuse_hostile_yaml(yaml: YAML, text: str, label: str) -> None:
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, AliasEvent):
            raise OpenAPIError(
                f"uses a YAML alias (*name) on line {event.start_mark.line + 1}",
                where=label,
                hint="aliases can expand a few lines into billions of nodes; write the value out or convert to JSON",
            )
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                raise _too_deep(label, event.start_mark.line + 1)
        elif isinstance(event, CollectionEndEvent):
            depth -= 1


def _check_depth(data: Any, label: str) -> None:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise _too_deep(label, None)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _too_deep(label: str, line: int | None) -> OpenAPIError:
    return OpenAPIError(
        f"nests deeper than {MAX_NESTING} levels" + (f" (line {line})" if line else ""),
        where=label,
        hint="no real API description nests this deep; check where the document came from",
    )


def _version(data: dict[str, Any], label: str) -> str:
    openapi, swagger = data.get("openapi"), data.get("swagger")
    if isinstance(swagger, str) and swagger.startswith("2."):
        version = "2.0"
    elif isinstance(openapi, str) and openapi.startswith(("3.0", "3.1")):
        version = openapi[:3]
    else:
        found = f"openapi: {openapi!r}" if openapi is not None else f"swagger: {swagger!r}"
        raise OpenAPIError(
            f"is not OpenAPI 3.0, 3.1 or Swagger 2.0 ({found})",
            where=label,
            hint='the import reads `openapi: 3.0.x`, `openapi: 3.1.x` and `swagger: "2.0"` documents',
        )
    if not isinstance(data.get("paths", {}), dict):
        raise OpenAPIError("`paths` is not a mapping", where=label, hint="fix the document")
    return version


def refuse_private_address(url: str, where: str, *, resolve: bool = True) -> None:
    """SSRF guard: a URL whose host is (or, with `resolve`, resolves to) loopback, private, link-local or reserved
    is refused."""
    host = urllib.parse.urlsplit(url).hostname or ""
    addresses: set[str] = set()
    try:
        addresses.add(str(ipaddress.ip_address(host)))
    except ValueError:
        if resolve:
            try:
                addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
            except (OSError, UnicodeError):
                pass
    if host in ("localhost", "") or host.endswith(".localhost"):
        addresses.add("127.0.0.1")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast:
            raise OpenAPIError(
                f"refusing to fetch {url}: {host} is a {_kind(ip)} address",
                where=where,
                hint="a document that points at this machine or its network is a request forgery (SSRF); "
                "put what it refers to into the document itself",
            )
    if not addresses and resolve:
        raise OpenAPIError(f"cannot resolve the host of {url}", where=where, hint="check the URL")


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return "loopback" if ip.is_loopback else "link-local" if ip.is_link_local else "private or reserved"


def fetch_url(url: str, where: str | None = None) -> str:
    """GET a public http(s) URL (never this machine or its network), at most MAX_DOCUMENT_BYTES."""
    where = where or url
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise OpenAPIError(f"refusing to fetch {url}: only http and https", where=where, hint="use a http(s) URL")
    refuse_private_address(url, where)

    class Checked(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
                raise OpenAPIError(f"refusing the redirect to {newurl}", where=where, hint="use a http(s) URL")
            refuse_private_address(newurl, where)  # a public URL must not redirect to this machine
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    try:
        with urllib.request.build_opener(Checked).open(url, timeout=URL_TIMEOUT_S) as response:
            payload = response.read(MAX_DOCUMENT_BYTES + 1)
    except OpenAPIError:
        raise
    except OSError as exc:
        raise OpenAPIError(f"cannot fetch {url}: {exc}", where=where, hint="download it and import the file") from None
    if len(payload) > MAX_DOCUMENT_BYTES:
        raise OpenAPIError(f"{url} is larger than {MAX_DOCUMENT_BYTES // 2**20} MiB", where=where, hint="")
    return payload.decode("utf-8", "replace")
