"""An installed factory-bot (a wheel, not this checkout) finds its templates and toolchain pins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, SPECS

pytestmark = pytest.mark.e2e


def test_a_wheel_install_renders_servers_and_prompts_without_the_checkout(tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (target / "factory_bot" / "templates" / "server" / "src" / "index.ts.j2").is_file()
    script = (
        "import factory_bot, sys\n"
        "assert factory_bot.__file__.startswith(sys.argv[1]), factory_bot.__file__\n"
        "from factory_bot.build.render import render_server\n"
        "from factory_bot.spec.loader import load_spec_file\n"
        "from factory_bot.parse.prompt import system_prompt\n"
        "from factory_bot.gitops.publish import render_text\n"
        "files = render_server(load_spec_file(sys.argv[2]))\n"
        "assert 'src/tools/divide.ts' in files and 'package-lock.json' in files\n"
        "assert 'submit_spec' in system_prompt() or len(system_prompt()) > 1000\n"
        "print('ok')\n"
    )
    env = os.environ | {"PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(target), str(SPECS / "calculator.yaml")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.stdout.strip() == "ok", result.stderr
