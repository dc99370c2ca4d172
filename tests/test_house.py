"""The house reads as the flow: packages in the order of the pipeline, small modules, layers a tool enforces."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import factory_bot

PACKAGE = Path(factory_bot.__file__).resolve().parent
ROOT = PACKAGE.parent
MAX_LINES = 400


def test_no_module_is_over_400_lines():
    """The package's, the tests' (their fakes and fixtures too) and the benchmarks'; npm's node_modules are not ours."""
    tops = [PACKAGE, ROOT / "tests", ROOT / "benchmarks"]
    assert all(top.is_dir() for top in tops), "run from a checkout: the tests and benchmarks sit beside the package"
    modules = [p for top in tops for p in top.rglob("*.py") if "node_modules" not in p.relative_to(ROOT).parts]
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in modules
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_the_top_of_the_package_holds_only_the_packages_of_the_flow_and_the_shared_helpers():
    top = sorted(p.name for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())
    assert top == [
        "__init__.py",
        "__main__.py",
        "build",
        "cli",
        "errors.py",
        "forge",
        "gitops",
        "importers",
        "parse",
        "proc.py",
        "spec",
        "text.py",
    ]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is in the test extras: pip install -e '.[test]'"
    return found


def test_the_layer_contracts_hold():
    done = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_ruff_finds_nothing():
    done = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted():
    done = subprocess.run(
        [_tool("ruff"), "format", "--check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
