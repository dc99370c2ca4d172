"""The composite action installs itself: on a fresh runner (a new venv, an empty toolchain cache) the nightly
health job of maintenance.yml sets up Python, pip-installs the action, installs the Node toolchain and builds.

setup-python is emulated by a fresh venv of this machine's python3 put on PATH (as setup-python does through
GITHUB_PATH), setup-node by this machine's node; `pip install` and the toolchain install really run.
"""

from __future__ import annotations

import pytest

from .test_events_workflows import ROOT, assert_ok, git, pytestmark, run  # noqa: F401 (the same github repository)


@pytest.mark.e2e
def test_the_action_installs_the_bot_and_its_toolchain_on_a_fresh_runner(github, tmp_path):  # noqa: F811
    seed = tmp_path / "seed-calc"
    git(tmp_path, "clone", "--quiet", str(github.bare), str(seed))
    (seed / "specs" / "calculator.yaml").write_text((ROOT / "specs" / "calculator.yaml").read_text())
    git(seed, "add", ".")
    git(seed, "-c", "user.name=Alice", "-c", "user.email=alice@example.com", "commit", "--quiet", "-m", "calc")
    git(seed, "push", "--quiet", "origin", "main")
    cache = tmp_path / "empty-toolchain-cache"  # never the shared cache: this test installs into its own
    schedule = {"schedule": "23 4 * * *", "repository": github.repo_json()}

    jobs = run(
        github,
        tmp_path,
        "maintenance.yml",
        "schedule",
        schedule,
        only=("health",),
        install=True,
        env={"FACTORY_BOT_CACHE": str(cache), "PIP_NO_INPUT": "1"},
    )

    assert_ok(jobs, "health")
    [root] = tmp_path.glob("run-maintenance.yml-*")
    venv_bin = root / "tool-cache" / "python" / "bin"
    assert (venv_bin / "factory-bot").is_file()  # pip installed the action into the fresh venv
    log = jobs["health"].log()
    assert "Install factory-bot [success]" in log and "this venv has the bot already" not in log
    assert any(cache.iterdir())  # the toolchain was installed from scratch into the empty cache
    assert "### ✅ `calculator` 1.0.0: built and valid" in jobs["health"].summary
