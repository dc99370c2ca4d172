"""Shared fixtures: the example specs, one real build of each per test run (however many xdist workers), and
the local GitHub every forge story talks to."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from factory_bot.build import toolchain
from factory_bot.build.cache import cache_key
from factory_bot.build.pipeline import BuildResult, build, write_build_json
from factory_bot.spec.loader import load_spec_file
from factory_bot.spec.model import ServerSpec
from tests.fakes.git_repos import seed_bare_repo
from tests.fakes.github_api import FakeGitHub

pytest_plugins = ["tests.no_skips"]  # in CI a skipped test fails the run

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
EXAMPLE_SPECS = sorted(p.stem for p in SPECS.glob("*.yaml"))


# The longest modules (minutes of node, npm and git each), started first so that under xdist no worker is left
# running one of them alone at the end; then the other e2e tests, then the quick ones.
LONGEST_FIRST = (
    "test_events_workflows.py",
    "test_speed.py",
    "test_action_install.py",
    "test_events_reimport.py",
    "test_newcomer.py",
    "test_sandbox.py",
    "test_fake_github_openapi.py",
    "test_reimport_story.py",
    "test_forge_local.py",
    "test_load.py",
    "test_publish_story.py",
    "test_faults_publish.py",
    "test_packaging.py",
    "test_publish_trusted_rebuild.py",
)


def pytest_configure(config: pytest.Config) -> None:
    # Git as on a fresh runner: no identity, no signing, no default branch from this machine's ~/.gitconfig or
    # /etc/gitconfig. Whatever commits or tags must bring its own identity, as the bot does (every child inherits it).
    os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    config.addinivalue_line(
        "markers",
        "github(files=None, then=None, git_http=False, private=False, collaborators=None): how the `github` "
        "fixture's repository and fake are set up (see tests/conftest.py)",
    )
    # xdist hands each worker a quarter of its share up front, in collection order: with the longest tests
    # first that would put them all on one worker. One test at a time (as workers free up) keeps both busy.
    if getattr(config.option, "maxschedchunk", False) is None:
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def cost(item: pytest.Item) -> tuple[int, int]:
        return (rank.get(item.path.name, len(rank)), 0 if item.get_closest_marker("e2e") else 1)

    items.sort(key=cost)  # stable: within a rank, the files' own order


# -- the example specs, built once per run --------------------------------------------------------------
@pytest.fixture(scope="session")
def example_spec() -> Callable[[str], ServerSpec]:
    return lambda name: load_spec_file(SPECS / f"{name}.yaml")


def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every process of this run sees: under xdist each worker's base temp dir (popen-gwN) sits
    in the run's own, which is shared."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(root: Path, key: str, spec: ServerSpec) -> BuildResult:
    """spec built through the real pipeline into root/key by the first process of this run to ask, under a
    lock; every later ask (another worker's too) reuses that build through the product's own verified cache hit."""
    out = root / key
    root.mkdir(exist_ok=True)
    with (root / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = build(spec, out, use_cache=True)
        if not result.cached:
            write_build_json(result, out)
    return result


@pytest.fixture(scope="session")
def shared_build(tmp_path_factory: pytest.TempPathFactory) -> Callable[[ServerSpec], BuildResult]:
    """Any spec a run's tests share (an example, a fixture spec, an imported one) built once per run, however
    many xdist workers: a module fixture would otherwise build it once on each worker that runs one of its tests.
    Read it, never change it."""
    root = run_dir(tmp_path_factory) / "shared-builds"
    results: dict[str, BuildResult] = {}

    def get(spec: ServerSpec) -> BuildResult:
        key = f"{spec.name}-{cache_key(spec)[:16]}"
        if key not in results:
            results[key] = build_once(root, key, spec)
        return results[key]

    return get


@pytest.fixture(scope="session")
def built(shared_build: Callable[[ServerSpec], BuildResult]) -> Callable[[str], BuildResult]:
    """An example spec built through the real pipeline once per run (`shared_build`): the first worker to ask
    builds it under a lock, the others reuse that build through the product's own verified cache hit. Read it,
    never change it: a test that edits a build works on `copy_build(...)`."""
    return lambda name: shared_build(load_spec_file(SPECS / f"{name}.yaml"))


@pytest.fixture(scope="session")
def shared_builder(shared_build: Callable[[ServerSpec], BuildResult]) -> Callable[..., BuildResult]:
    """A flow's builder (`Context.builder`) for stories about publishing, where a build is an input and not the
    subject: the run's one real build of the spec (`shared_build`), copied into the out dir the flow names, as
    the pipeline would have left it there. Every flow still rebuilds its package from the spec to publish it."""

    def builder(spec: ServerSpec, out_dir: Path, *, progress: Callable[[str], None] | None = None) -> BuildResult:
        result = shared_build(spec)
        source, out = result.server_dir.parent, Path(out_dir).resolve()
        record = f"{spec.name}.build.json"  # the shared build's own cache record stays with it
        shutil.copytree(source, out, symlinks=True, dirs_exist_ok=True, ignore=lambda _, names: [record])
        package = dataclasses.replace(result.package, tgz=out / result.package.tgz.name) if result.package else None
        return dataclasses.replace(result, server_dir=out / result.server_dir.name, package=package, cached=False)

    return builder


@pytest.fixture(scope="session")
def pristine_toolchain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toolchain freshly installed (`npm ci` of the lockfile, its manifest recorded) once per run, in a
    FACTORY_BOT_CACHE of the run's own: tests that tamper with a toolchain work on a copy (`own_toolchain`)."""
    cache = run_dir(tmp_path_factory) / "pristine-cache"
    cache.mkdir(exist_ok=True)
    with (cache.parent / "pristine-cache.lock").open("w") as lock, pytest.MonkeyPatch.context() as patch:
        fcntl.flock(lock, fcntl.LOCK_EX)
        patch.setenv("FACTORY_BOT_CACHE", str(cache))
        return toolchain.ensure().root


def own_toolchain(pristine: Path, cache: Path) -> Path:
    """A private toolchain in `cache` (a FACTORY_BOT_CACHE), as a fresh install leaves it: a copy of the
    pristine one whose new stat data is accepted once (hashing every file), so it starts trusted."""
    root = cache / pristine.name
    shutil.copytree(pristine, root, symlinks=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTORY_BOT_CACHE", str(cache))
        assert toolchain.ensure().root == root
        verdict = toolchain.verify(full=False)
    assert verdict.ok and verdict.hashed == 0, verdict.problems()
    return root


def copy_build(result: BuildResult, dest: Path) -> BuildResult:
    """A private copy of a shared build (its out dir: server, package, build.json) in dest, as a BuildResult
    whose paths are the copy's, and whose build.json points at the copy so a cache hit verifies the copy's files."""
    source = result.server_dir.parent
    shutil.copytree(source, dest, symlinks=True, dirs_exist_ok=True)

    def moved(path: str | Path) -> Path:
        return dest / Path(path).relative_to(source)

    record_path = dest / f"{result.spec.name}.build.json"
    record = json.loads(record_path.read_text())
    record.update(server_dir=str(moved(record["server_dir"])), tgz=str(moved(record["tgz"])))
    record_path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    package = dataclasses.replace(result.package, tgz=moved(result.package.tgz)) if result.package else None
    return dataclasses.replace(result, server_dir=moved(result.server_dir), package=package)


# -- the local GitHub ---------------------------------------------------------------------------------------
@pytest.fixture
def github(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeGitHub]:
    """The fake GitHub REST server over a real bare repository whose main has one commit (a README).

    A module or test shapes it with `@pytest.mark.github(...)`: `files` committed with the README, `then(bare)`
    to add history after that first commit, `git_http` to serve git over smart HTTP (with the token checks),
    `private` to make every read need its scope, `collaborators` (login → permission) besides the owners."""
    marker = request.node.get_closest_marker("github")
    options = dict(marker.kwargs) if marker else {}
    bare = seed_bare_repo(tmp_path / "origin.git", options.pop("files", None))
    if then := options.pop("then", None):
        then(bare)
    collaborators = options.pop("collaborators", None) or {}
    with FakeGitHub(bare, **options) as fake:
        fake.collaborators.update(collaborators)
        yield fake
