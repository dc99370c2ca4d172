"""A build packs its server without starting npm, and the package is byte for byte the one `npm pack` makes.

npm pack costs half a CPU-second a build (npm's own start, then its packlist); the bot applies npm's file rules
itself to the plain tree a generated server is, and leaves any other tree to npm.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from factory_bot.build import package, packlist, trusted
from factory_bot.spec.loader import dump_spec, load_spec_text

from .conftest import EXAMPLE_SPECS

pytestmark = pytest.mark.e2e


def _npm_packs(server_dir: Path, scratch: Path) -> tuple[list[str], str]:
    """What the real `npm pack --ignore-scripts` puts in the package, written by the same reproducible writer."""
    tgz = scratch / "npm" / "server.tgz"
    files = package.npm_pack(server_dir, tgz)
    return files, package.sha256_of(tgz)


@pytest.mark.parametrize("name", EXAMPLE_SPECS)
def test_every_bundled_specs_package_has_npm_packs_files_and_bytes(name: str, built, tmp_path: Path) -> None:
    result = built(name)
    assert result.ok and result.package is not None
    files, sha256 = _npm_packs(result.server_dir, tmp_path)
    assert result.package.files == files
    assert result.package.sha256 == sha256


def test_a_scoped_published_servers_package_has_npm_packs_bytes_too(example_spec, tmp_path: Path) -> None:
    # repository, author and a scoped name add mcpName, homepage and publishConfig to package.json.
    spec = load_spec_text(
        dump_spec(
            example_spec("weather").model_copy(
                update={"repository": "https://github.com/Acme-Labs/mcp-servers", "author": "Ada Lovelace"}
            )
        )
    )
    made = trusted.make_package(spec, tmp_path / "out")
    assert made.package is not None and spec.npm_package == "@acme-labs/weather"
    assert (made.package.files, made.package.sha256) == _npm_packs(made.server_dir, tmp_path)


def test_a_build_starts_no_npm_pack(example_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = shutil.which("npm")
    assert real is not None
    shim, log = tmp_path / "bin", tmp_path / "npm-calls.log"
    shim.mkdir()
    (shim / "npm").write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{real}" "$@"\n')
    (shim / "npm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shim}{os.pathsep}{os.environ['PATH']}")
    made = trusted.make_package(example_spec("calculator"), tmp_path / "out")
    assert made.package is not None and "dist/index.js" in made.package.files
    calls = log.read_text().splitlines() if log.exists() else []
    assert not [c for c in calls if c.split()[:1] == ["pack"]], calls


@pytest.fixture
def tree(built, tmp_path: Path) -> Path:
    """A private copy of the built calculator's server directory (the shared build is never changed)."""
    copy = tmp_path / "calculator"
    shutil.copytree(built("calculator").server_dir, copy, symlinks=True)
    return copy


@pytest.mark.parametrize(
    "change",
    [
        "dist/.npmignore",  # npm drops what it names
        "dist/.DS_Store",  # npm drops OS litter
        "dist/.gitignore",
        "readme.txt",  # a second README at the root: npm adds it by its own rules
        "dist/link",  # a symlink
        "files-glob",  # `files` with a glob
    ],
)
def test_a_tree_the_packer_has_no_rule_for_is_packed_by_npm(
    change: str, tree: Path, tmp_path: Path, example_spec
) -> None:
    if change == "dist/.npmignore":
        (tree / "dist" / ".npmignore").write_text("*.map\n")
    elif change in ("dist/.DS_Store", "dist/.gitignore"):
        (tree / change).write_text("x\n")
    elif change == "readme.txt":
        (tree / "readme.txt").write_text("more\n")
    elif change == "dist/link":
        (tree / "dist" / "link").symlink_to("index.js")
    else:
        manifest = (tree / "package.json").read_text().replace('"dist",', '"dist/*.js",', 1)
        assert manifest != (tree / "package.json").read_text()
        (tree / "package.json").write_text(manifest)
    assert packlist.packlist(tree) is None
    made = package.pack(example_spec("calculator"), tree, tmp_path / "out")
    assert (made.files, made.sha256) == _npm_packs(tree, tmp_path)
    if change == "dist/.npmignore":
        assert "dist/server.cjs.map" not in made.files and "dist/server.cjs" in made.files


def test_an_executable_file_stays_executable_as_npm_keeps_it(tree: Path, tmp_path: Path, example_spec) -> None:
    (tree / "dist" / "server.cjs").chmod(0o755)
    assert stat.S_IMODE((tree / "dist" / "server.cjs").stat().st_mode) == 0o755
    entries = packlist.packlist(tree)
    assert entries is not None and {e.path for e in entries if e.executable} == {"dist/index.js", "dist/server.cjs"}
    made = package.pack(example_spec("calculator"), tree, tmp_path / "out")
    assert (made.files, made.sha256) == _npm_packs(tree, tmp_path)
