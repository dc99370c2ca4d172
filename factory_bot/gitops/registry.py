"""What has been published, read from git tags and forge releases; REGISTRY.md and registry.json from it.

Git history is the registry: a tag `<name>-v<version>` says a version exists, the spec at that tag says
what it offers, and its release (when one can be read) says where the package is and its SHA-256.
Outputs carry no timestamps, so regenerating an unchanged registry changes no byte.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from factory_bot.build import clients
from factory_bot.build.clients import CLIENTS
from factory_bot.errors import FactoryError, SpecError
from factory_bot.forge import git as gitrepo
from factory_bot.forge.base import Release
from factory_bot.gitops.publish import SHA_LINE, render_text, tgz_name
from factory_bot.gitops.versioning import key
from factory_bot.spec.loader import load_spec_text
from factory_bot.spec.model import ServerSpec

TAG = re.compile(r"^(?P<name>[a-z][a-z0-9]*(?:-[a-z0-9]+)*)-v(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$")
INDEX_FILES = ("registry.json", "REGISTRY.md")


class RegistryError(FactoryError):
    """The registry has no such server or version. Exit 2."""

    exit_code = 2


@dataclass(frozen=True)
class Version:
    version: str
    tag: str
    commit: str
    description: str
    tools: list[str]
    package: str
    download_url: str | None = None
    sha256: str | None = None
    released: bool = False  # a release with the package attached exists
    install: str = ""
    snippets: dict[str, str] = field(default_factory=dict)
    npm_package: str = ""  # the name in the package's package.json (its .tgz keeps <name>-<version>.tgz)
    mcp_name: str | None = None  # package.json mcpName: the MCP registry's name for the server


@dataclass(frozen=True)
class Server:
    name: str
    description: str
    latest: str
    versions: list[Version]

    def version(self, version: str | None = None) -> Version:
        wanted = version or self.latest
        for entry in self.versions:
            if entry.version == wanted:
                return entry
        raise RegistryError(
            f"{self.name} has no version {wanted}", hint=f"versions: {', '.join(v.version for v in self.versions)}"
        )


def _version(spec: ServerSpec, tag: str, commit: str, release: Release | None, known: dict[str, Any]) -> Version:
    package = tgz_name(spec)
    asset = release.asset(package) if release else None
    match = SHA_LINE.search(release.body) if release else None
    url = asset.url if asset else known.get("download_url")
    sha = match.group(1) if match else known.get("sha256")
    return Version(
        spec.version,
        tag,
        commit,
        spec.description,
        [t.name for t in spec.tools],
        package,
        download_url=url,
        sha256=sha,
        released=bool(asset) or bool(known.get("released")),
        install=clients.install_command(spec, url) if url else "",
        snippets=clients.snippets(spec),
        npm_package=spec.npm_package,
        mcp_name=spec.mcp_name,
    )


def _committed_index(repo: gitrepo.Repo) -> dict[tuple[str, str], dict[str, Any]]:
    """What the committed registry.json already says (download links for a clone with no forge access)."""
    try:
        data = json.loads(gitrepo.show(repo, "HEAD:registry.json") or "{}")
    except ValueError:
        return {}
    return {(s["name"], v["version"]): v for s in data.get("servers", []) for v in s.get("versions", [])}


def read(repo_dir: str | Path, releases: list[Release] | None = None) -> list[Server]:
    """Every published server in the clone at `repo_dir` (its tags), enriched by `releases` if given."""
    repo = gitrepo.open_clone(repo_dir)
    if repo is None:
        raise RegistryError(
            f"{repo_dir} is not a git clone of a factory repository", hint="run inside a clone, or pass --repo PATH"
        ) from None
    by_tag = {r.tag: r for r in releases or []}
    known = _committed_index(repo)
    found: dict[str, list[tuple[Version, ServerSpec]]] = {}
    for ref in repo.tags:
        match = TAG.match(ref.name)
        if not match:
            continue
        name = match["name"]
        text = gitrepo.show(repo, f"{ref.name}:specs/{name}.yaml")
        try:
            if text is None:
                continue
            spec = load_spec_text(text, source=f"{ref.name}:specs/{name}.yaml")
        except SpecError:
            continue  # a tag that is not a factory release (or predates one)
        if spec.version != match["version"]:
            continue
        entry = _version(spec, ref.name, ref.commit.hexsha, by_tag.get(ref.name), known.get((name, spec.version), {}))
        found.setdefault(name, []).append((entry, spec))
    servers = []
    for name in sorted(found):
        ordered = sorted(found[name], key=lambda pair: key(pair[0].version), reverse=True)
        latest = ordered[0]
        servers.append(Server(name, latest[1].description, latest[0].version, [v for v, _ in ordered]))
    return servers


def find(servers: list[Server], name: str) -> Server:
    for server in servers:
        if server.name == name:
            return server
    raise RegistryError(
        f"no server named {name!r} has been released",
        hint="`factory-bot registry list` shows what has; fetch tags with `git fetch --tags`",
    )


def install_text(server: Server, client: str, version: str | None = None) -> str:
    """How to install `server` and wire it into `client` (claude-desktop, claude-code or mcp-json)."""
    if client not in CLIENTS:
        raise RegistryError(f"unknown client {client!r}", hint=f"use one of: {', '.join(CLIENTS)}")
    entry = server.version(version)
    if not entry.install:
        raise RegistryError(
            f"{server.name} {entry.version} has no downloadable package yet",
            hint="its release is not finished; the next release run completes it",
        )
    lines = [f"# 1. install {server.name} {entry.version}", entry.install]
    if entry.sha256:
        lines.insert(1, f"# sha256 {entry.sha256}")
    where = {
        "claude-desktop": "add to claude_desktop_config.json",
        "claude-code": "run",
        "mcp-json": "add to .mcp.json in your project",
    }[client]
    lines += ["", f"# 2. {where}", entry.snippets[CLIENTS[client]]]
    return "\n".join(lines) + "\n"


def index_json(servers: list[Server]) -> str:
    data = {
        "servers": [
            {
                "name": s.name,
                "description": s.description,
                "latest": s.latest,
                "versions": [asdict(v) for v in s.versions],
            }
            for s in servers
        ]
    }
    return json.dumps(data, indent=2, sort_keys=False, ensure_ascii=True) + "\n"


def index_markdown(servers: list[Server]) -> str:
    return render_text("registry.md.j2", servers=servers)


def index_files(servers: list[Server]) -> dict[str, str]:
    return {"registry.json": index_json(servers), "REGISTRY.md": index_markdown(servers)}
