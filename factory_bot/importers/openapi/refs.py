"""`$ref` resolution through `referencing` (the jsonschema project's resolver): references inside the document
and to files beside it resolve; a remote reference is refused unless allowed, and one that points at this
machine or its network always is."""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Any

from referencing import Registry, Resource, Specification
from referencing.exceptions import NoSuchResource, PointerToNowhere, Unresolvable

from factory_bot.errors import OpenAPIError
from factory_bot.importers.openapi.source import Document, fetch_url, parse_text, refuse_private_address

MAX_REF_HOPS = 32  # a $ref to a $ref to …: more than this is a loop


class Refs:
    """Resolves `$ref`s of one document; each node comes back with the URI it lives at (for nested refs)."""

    def __init__(self, document: Document, *, allow_remote: bool = False) -> None:
        self.document = document
        self.allow_remote = allow_remote
        root = Path(urllib.parse.urlsplit(document.uri).path).parent if document.uri.startswith("file:") else None
        self._root_dir = root
        resource: Resource[Any] = Specification.OPAQUE.create_resource(document.data)
        registry: Registry[Any] = Registry(retrieve=self._retrieve).with_resource(document.uri, resource)  # type: ignore[call-arg]
        self._resolver = registry.resolver(base_uri=document.uri)

    def _retrieve(self, uri: str) -> Resource[Any]:
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme == "file":
            path = Path(urllib.parse.unquote(parts.path)).resolve()
            if self._root_dir is None or not path.is_relative_to(self._root_dir.resolve()):
                raise OpenAPIError(
                    f"refusing the $ref to {path}: it is outside the document's directory",
                    where=self.document.label,
                    hint="keep referenced files next to the document (or below it)",
                )
            if not path.is_file():
                raise NoSuchResource(ref=uri)
            data = parse_text(path.read_text(encoding="utf-8", errors="replace"), str(path))
            return Specification.OPAQUE.create_resource(data)
        if parts.scheme in ("http", "https"):
            if not self.allow_remote:
                refuse_private_address(uri, self.document.label, resolve=False)  # no lookup: name a loopback target
                raise OpenAPIError(
                    f"refusing the remote $ref {uri}",
                    where=self.document.label,
                    hint="a remote $ref makes the import fetch from the network (SSRF); bundle it into the "
                    "document, or pass --allow-remote-refs to fetch public URLs",
                )
            data = parse_text(fetch_url(uri, self.document.label), uri)
            return Specification.OPAQUE.create_resource(data)
        raise OpenAPIError(f"refusing the $ref {uri}: unsupported scheme", where=self.document.label, hint="")

    def deref(self, node: Any, base: str | None = None) -> tuple[Any, str, str | None]:
        """Follow `$ref`s until a node that is not one: (node, its base URI, the last ref's absolute URI)."""
        base = base or self.document.uri
        ref_uri = None
        for _ in range(MAX_REF_HOPS):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node, base, ref_uri
            ref = node["$ref"]
            resolver = self._resolver if base == self.document.uri else _at(self._resolver, base)
            try:
                resolved = resolver.lookup(ref)
            except PointerToNowhere:
                raise OpenAPIError(
                    f"$ref {ref!r} points at nothing", where=self.document.label, hint="fix the reference"
                ) from None
            except Unresolvable as exc:
                cause: BaseException | None = exc
                while cause is not None:  # referencing wraps what retrieve raised, twice
                    if isinstance(cause, OpenAPIError):
                        raise cause from None
                    cause = cause.__cause__ or cause.__context__
                raise OpenAPIError(
                    f"$ref {ref!r} cannot be resolved", where=self.document.label, hint="fix the reference"
                ) from None
            ref_uri = urllib.parse.urljoin(base, ref)
            node, base = resolved.contents, ref_uri.split("#", 1)[0]
        raise OpenAPIError(
            f"more than {MAX_REF_HOPS} $refs in a row (a reference loop?)", where=self.document.label, hint=""
        )


def _at(resolver: Any, base: str) -> Any:
    """A resolver whose relative references resolve against `base` (a referenced file)."""
    return resolver.lookup(base).resolver
