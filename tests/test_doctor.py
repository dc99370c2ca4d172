"""`factory-bot doctor`: one table (or JSON) of what the bot needs, never a secret's value, exit 1 on a failure;
offline the forge rows say "not configured"."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "ghs_doctor0token0never0shown"
MODEL_KEY = "sk-ant-doctor-key-never-shown-0123456789"


def doctor(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("GITHUB_REPOSITORY", "GITHUB_TOKEN", "GITHUB_API_URL", "ANTHROPIC_API_KEY")
    }
    base["FACTORY_BOT_CACHE"] = str(tmp_path / "cache")  # empty: the toolchain row warns, nothing fails
    return subprocess.run(
        [sys.executable, "-m", "factory_bot", "doctor", "--checkout", str(ROOT), *args],
        env=base | (env or {}),
        text=True,
        capture_output=True,
        timeout=120,
    )


def rows(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    return {row["check"]: row for row in json.loads(result.stdout)["checks"]}


def test_offline_the_forge_is_not_configured_and_nothing_fails(tmp_path: Path):
    result = doctor(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout
    for check in ("python", "node", "npm", "cache", "toolchain", "tsc", "forge", "model key", "policy"):
        assert f"  {check}" in table
    assert "skip  forge" in table and "not configured" in table
    assert "warn  model key" in table and "not set" in table
    checks = rows(doctor(tmp_path, "--json"))
    assert checks["node"]["status"] == "ok" and checks["node"]["detail"].startswith("v")
    assert checks["policy"]["status"] == "ok"


def test_the_model_key_is_reported_as_set_but_its_value_never_appears(tmp_path: Path):
    for args in ((), ("--json",)):
        result = doctor(tmp_path, *args, env={"ANTHROPIC_API_KEY": MODEL_KEY})
        assert "ANTHROPIC_API_KEY is set (value not shown)" in result.stdout
        assert MODEL_KEY not in result.stdout + result.stderr


def test_an_invalid_policy_file_fails_with_its_line(tmp_path: Path):
    checkout = tmp_path / "repo"
    (checkout / ".github").mkdir(parents=True)
    (checkout / ".github" / "mcp-factory.yml").write_text("rate_limit:\n  request: 3\n")
    result = doctor(tmp_path, "--json", "--checkout", str(checkout))
    assert result.returncode == 1
    policy = rows(result)["policy"]
    assert (
        policy["status"] == "FAIL"
        and ".github/mcp-factory.yml:2: rate_limit.request: unknown field" in policy["detail"]
    )


def test_without_node_the_doctor_fails(tmp_path: Path):
    bin_dir = tmp_path / "bin"  # git only (GitPython needs it), no node, no npm
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git"))
    result = doctor(tmp_path, "--json", env={"PATH": str(bin_dir)})
    assert result.returncode == 3  # the environment, as every verb exits without node (was 1 before issue #11)
    checks = rows(result)
    assert checks["node"]["status"] == "FAIL" and "install Node.js" in checks["node"]["detail"]
    assert checks["npm"]["status"] == "FAIL" and "`npm` is not installed or not on PATH" in checks["npm"]["detail"]
    assert "None" not in checks["npm"]["detail"]
    assert checks["sandbox"]["detail"].startswith("none: node is not on PATH")


def test_with_a_token_it_checks_validity_scopes_and_permissions_and_never_prints_the_token(github, tmp_path):
    github.scopes = "repo, workflow"
    env = {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": github.slug, "GITHUB_TOKEN": TOKEN}
    result = doctor(tmp_path, "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = rows(result)
    assert checks["forge"]["status"] == "ok" and "acme/mcp-servers, default branch main" in checks["forge"]["detail"]
    assert checks["token"]["status"] == "ok"
    assert checks["token scopes"]["detail"] == "repo, workflow"
    assert checks["repository permissions"]["status"] == "ok" and "push" in checks["repository permissions"]["detail"]
    assert TOKEN not in result.stdout + result.stderr and TOKEN in github.tokens_seen


def test_a_repository_the_token_cannot_see_fails(github, tmp_path):
    env = {"GITHUB_API_URL": github.url, "GITHUB_REPOSITORY": "acme/missing", "GITHUB_TOKEN": TOKEN}
    result = doctor(tmp_path, "--json", env=env)
    assert result.returncode == 1
    forge = rows(result)["forge"]
    assert forge["status"] == "FAIL" and "404" in forge["detail"] and TOKEN not in result.stdout
