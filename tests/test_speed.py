"""Only what changed is rebuilt, a cache hit is verified rather than assumed, and the benchmark reports its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from factory_bot.build import cache
from factory_bot.build.pipeline import build_many
from factory_bot.cli.bench import format_report, run_bench

from .conftest import REPO, SPECS, copy_build

pytestmark = pytest.mark.e2e


def test_an_unchanged_spec_is_reused_and_a_changed_one_rebuilt(tmp_path: Path, example_spec) -> None:
    calculator, text = example_spec("calculator"), example_spec("text-tools")
    first = build_many([calculator, text], tmp_path, jobs=2)
    assert [r.cached for r in first] == [False, False] and all(r.ok for r in first)

    changed = text.model_copy(update={"description": "Changed."})
    second = build_many([calculator, changed], tmp_path, jobs=2)
    assert [r.cached for r in second] == [True, False] and all(r.ok for r in second)
    assert second[0].sha256 == first[0].sha256 and second[0].tgz == first[0].tgz


def test_a_tampered_package_is_not_trusted_from_the_cache(tmp_path: Path, built) -> None:
    first = copy_build(built("calculator"), tmp_path)
    spec = first.spec
    assert cache.verified_hit(spec, tmp_path) is not None  # the untouched copy is a verified hit
    first.tgz.write_bytes(first.tgz.read_bytes() + b"tampered")
    assert cache.verified_hit(spec, tmp_path) is None
    [again] = build_many([spec], tmp_path)
    assert not again.cached and again.sha256 == first.sha256


def test_an_edited_server_source_is_not_trusted_from_the_cache(tmp_path: Path, built) -> None:
    first = copy_build(built("calculator"), tmp_path)
    spec = first.spec
    assert cache.verified_hit(spec, tmp_path) is not None
    (first.server_dir / "src" / "tools" / "add.ts").write_text("// edited by hand\n")
    [again] = build_many([spec], tmp_path)
    assert not again.cached and again.ok


def test_every_module_a_build_runs_is_part_of_the_generator_hash() -> None:
    """A change to any code a build renders or validates with (e.g. build/listed_schema.py, which writes the
    listed schemas) must invalidate cached builds: the hash covers every such module, not a hand-kept list."""
    import factory_bot
    import factory_bot.build.pipeline
    import factory_bot.build.render  # noqa: F401

    package_dir = Path(factory_bot.__file__).resolve().parent
    used = {
        Path(module.__file__).resolve().relative_to(package_dir).as_posix()
        for name, module in list(sys.modules.items())
        if name.startswith(("factory_bot.build", "factory_bot.spec")) and getattr(module, "__file__", None)
    }
    assert "build/listed_schema.py" in used and used <= set(cache.generator_sources())


def test_a_template_change_invalidates_every_cached_build(tmp_path: Path, built) -> None:
    """A copy of the bot with one template edited rebuilds the calculator that an unedited copy reuses."""
    out = copy_build(built("calculator"), tmp_path / "out").server_dir.parent
    bot = tmp_path / "bot"
    shutil.copytree(REPO / "factory_bot", bot / "factory_bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates", bot / "templates")
    assert build_with(bot, out) == {"cached": True, "ok": True}

    readme = bot / "templates" / "server" / "README.md.j2"
    readme.write_text(readme.read_text() + "\nBuilt by a changed template.\n")
    assert build_with(bot, out) == {"cached": False, "ok": True}
    assert "Built by a changed template." in (out / "calculator" / "README.md").read_text()


def build_with(bot: Path, out: Path) -> dict[str, bool]:
    """`build(calculator, out, use_cache=True)` run by the bot copied to `bot` (its templates and code)."""
    code = (
        "import json, sys; from factory_bot.build.pipeline import build; from factory_bot.spec.loader import "
        "load_spec_file; r = build(load_spec_file(sys.argv[1]), sys.argv[2], use_cache=True); "
        "print(json.dumps({'cached': r.cached, 'ok': r.ok}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(SPECS / "calculator.yaml"), str(out)],
        env=os.environ | {"PYTHONPATH": str(bot)},
        cwd=bot,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_building_a_directory_builds_every_spec_and_reports_each(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for name in ("calculator", "unit-converter"):
        (specs / f"{name}.yaml").write_text((SPECS / f"{name}.yaml").read_text())
    run = subprocess.run(
        [sys.executable, "-m", "factory_bot", "build", str(specs), "--out", str(tmp_path / "out"), "--json", "-j", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["ok"] and [b["name"] for b in report["builds"]] == ["calculator", "unit-converter"]


def test_the_quick_benchmark_reports_every_figure() -> None:
    lines: list[str] = []
    report = run_bench([SPECS / "calculator.yaml"], runs=1, repo_size=2, jobs=2, cold=False, say=lines.append)
    server = report["servers"]["calculator"]
    assert {"end_to_end", "warm", "floor", "ratio", "install", "issue_to_pr"} <= set(server)
    assert {"tsc", "pack", "round trip", "total"} == set(server["floor"])
    assert report["repository"]["built_full"] == 2 and report["repository"]["built_unchanged"] == 0
    assert report["repository"]["built_one_changed"] == 1
    assert "ratio" in format_report(report) and report["peak_rss_mib"]["largest child"] > 0
    # At one run the sandbox's figure reuses the warm build just made (sandboxed) instead of repeating it.
    box = server["sandbox"]
    assert not box["available"] or (box["with"] == server["warm"]["total"] and box["without"] > 0)
