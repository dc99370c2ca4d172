"""The registry is read from git tags (and releases when the forge is reachable); works from a plain clone."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from factory_bot.forge.base import Asset, Release
from factory_bot.gitops import registry
from factory_bot.spec.loader import dump_spec, load_spec_file

SPECS = Path(__file__).resolve().parent.parent / "specs"
IDENTITY = {
    "GIT_AUTHOR_NAME": "Alice",
    "GIT_AUTHOR_EMAIL": "a@example.com",
    "GIT_COMMITTER_NAME": "Alice",
    "GIT_COMMITTER_EMAIL": "a@example.com",
}


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A factory repository where calculator 1.0.0, 1.10.0 and 1.9.0 were released (tags), plus a stray tag."""
    repo = git.Repo.init(tmp_path / "repo", initial_branch="main")
    spec = load_spec_file(SPECS / "calculator.yaml")
    for version in ("1.0.0", "1.9.0", "1.10.0"):
        (tmp_path / "repo" / "specs").mkdir(exist_ok=True)
        text = dump_spec(spec.model_copy(update={"version": version, "description": f"Arithmetic {version}."}))
        (tmp_path / "repo" / "specs" / "calculator.yaml").write_text(text)
        repo.git.add("--all")
        repo.git.commit("-m", f"calculator {version}", env=IDENTITY)
        repo.git.tag(f"calculator-v{version}")
    repo.git.tag("v0-not-ours")
    return tmp_path / "repo"


def released(tag: str, sha: str) -> Release:
    name = tag.replace("-v", "-") + ".tgz"
    return Release(1, tag, tag, f"**SHA-256:** `{sha}`", "u", (Asset(1, name, 9, f"https://dl/{tag}/{name}"),))


def test_versions_come_from_tags_newest_first_and_stray_tags_are_ignored(clone: Path):
    [server] = registry.read(clone)
    assert server.name == "calculator" and server.latest == "1.10.0"
    assert [v.version for v in server.versions] == ["1.10.0", "1.9.0", "1.0.0"]
    assert server.description == "Arithmetic 1.10.0."
    assert server.versions[0].tools == ["add", "subtract", "multiply", "divide"]
    assert not server.versions[0].released and server.versions[0].download_url is None


def test_releases_add_download_links_checksums_and_install_snippets(clone: Path):
    [server] = registry.read(clone, [released("calculator-v1.10.0", "f" * 64)])
    latest = server.version()
    assert latest.released and latest.sha256 == "f" * 64
    assert latest.download_url == "https://dl/calculator-v1.10.0/calculator-1.10.0.tgz"
    text = registry.install_text(server, "claude-code")
    assert "npm install -g https://dl/calculator-v1.10.0/calculator-1.10.0.tgz" in text
    assert "claude mcp add calculator -- calculator" in text
    assert '"mcpServers"' in registry.install_text(server, "claude-desktop")
    assert '"type": "stdio"' in registry.install_text(server, "mcp-json")


def test_a_clone_without_forge_access_reads_links_from_the_committed_index(clone: Path):
    files = registry.index_files(registry.read(clone, [released("calculator-v1.10.0", "f" * 64)]))
    repo = git.Repo(clone)
    for name, text in files.items():
        (clone / name).write_text(text)
    repo.git.add("--all")
    repo.git.commit("-m", "registry", env=IDENTITY)
    [server] = registry.read(clone)
    assert server.version().sha256 == "f" * 64 and server.version().released


def test_index_is_deterministic_and_lists_every_version(clone: Path):
    servers = registry.read(clone, [released("calculator-v1.10.0", "f" * 64)])
    first, second = (
        registry.index_files(servers),
        registry.index_files(registry.read(clone, [released("calculator-v1.10.0", "f" * 64)])),
    )
    assert first == second
    data = json.loads(first["registry.json"])
    assert [v["version"] for v in data["servers"][0]["versions"]] == ["1.10.0", "1.9.0", "1.0.0"]
    md = first["REGISTRY.md"]
    assert "## calculator" in md and "1.10.0 (latest)" in md and "(not yet released)" in md


def test_unknown_names_clients_and_unreleased_packages_say_what_to_do(clone: Path):
    servers = registry.read(clone)
    with pytest.raises(registry.RegistryError, match="no server named 'weather'"):
        registry.find(servers, "weather")
    with pytest.raises(registry.RegistryError, match="unknown client"):
        registry.install_text(servers[0], "vim")
    with pytest.raises(registry.RegistryError, match="no downloadable package yet"):
        registry.install_text(servers[0], "claude-code")
