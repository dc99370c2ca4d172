"""The build benchmark: per-stage medians, cold and warm, against the floor the tools themselves need.

Everything is measured in one run on one machine, so ratios compare like with like; no number here is a
pass/fail threshold (timings on shared machines are noisy).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from factory_bot import proc
from factory_bot.build import npm_install, package, toolchain
from factory_bot.build.pipeline import build, build_many
from factory_bot.spec.loader import dump_spec, load_spec_file
from factory_bot.spec.model import ServerSpec

Say = Callable[[str], None]

_ROUND_TRIP = """
import sys, anyio
from mcp.client.client import Client
from mcp.client.stdio import StdioServerParameters
async def main():
    async with Client(StdioServerParameters(command="node", args=[sys.argv[1]])) as client:
        await client.list_tools()
anyio.run(main)
"""


BENCH_TIMEOUT = 900  # a cold build installs the toolchain: minutes, not the default two


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def warm_builds(spec: ServerSpec, runs: int, work: Path) -> dict[str, Any]:
    """Median per-stage timings of `runs` warm builds (toolchain installed, no build cache)."""
    stages: dict[str, list[float]] = {}
    checks: dict[str, list[float]] = {}
    server_dir = None
    for run in range(runs):
        result = build(spec, work / f"warm-{run}")
        if not result.ok:
            raise RuntimeError(f"{spec.name} did not build: {[c.message for c in result.report.failures]}")
        server_dir = result.server_dir
        for stage, seconds in result.timings.items():
            stages.setdefault(stage, []).append(seconds)
        for check in result.report.checks:
            checks.setdefault(check.name, []).append(check.seconds)
    return {
        "stages": {k: median(v) for k, v in stages.items()},
        "checks": {k: median(v) for k, v in checks.items()},
        "server_dir": server_dir,
    }


def sandbox_cost(spec: ServerSpec, runs: int, work: Path, *, warm_total: float | None = None) -> dict[str, Any]:
    """Warm builds with and without the sandbox, interleaved in one run, and the cost of one launch.

    `warm_total` is the total of the one warm build `warm_builds` just made (sandboxed, as every build is where
    the sandbox works): at runs=1 it is the sandboxed sample, since a second sandboxed build would repeat it."""
    from factory_bot.build import sandbox

    found = sandbox.status()
    if not found.ok:
        return {"available": False, "reason": found.reason}
    with_: list[float] = []
    without: list[float] = []
    for run in range(runs):
        for sandboxed in (True, False) if run % 2 == 0 else (False, True):  # alternate, so order favours neither
            if sandboxed and runs == 1 and warm_total is not None:
                with_.append(warm_total)
                continue
            with nullcontext() if sandboxed else sandbox.unsandboxed():
                seconds = build(spec, work / f"{'sandboxed' if sandboxed else 'plain'}-{run}").timings["total"]
            (with_ if sandboxed else without).append(seconds)
    launches: dict[str, dict[str, float]] = {}
    root = work / "launch-root"
    root.mkdir(exist_ok=True)
    for name, command in (("true", ["true"]), ("node -e 0", ["node", "-e", "0"])):
        for mode in ("sandboxed", "plain"):
            times = []
            for _ in range(max(5, runs * 3)):
                with (
                    sandbox.unsandboxed() if mode == "plain" else nullcontext(),
                    sandbox.launch(command, {}, root=root) as launch,
                ):
                    times.append(timed(lambda: proc.run(launch.argv, env=launch.env or None, cwd=launch.cwd)))
            launches.setdefault(name, {})[mode] = median(times)
    return {
        "available": True,
        "backend": found.backend,
        "with": median(with_),
        "without": median(without),
        "ratio": median(with_) / median(without),
        "launch": launches,
    }


def floor(spec: ServerSpec, server_dir: Path, tools: toolchain.Toolchain, runs: int, work: Path) -> dict[str, float]:
    """What the steps need on the same server, called directly: tsc, packing the .tgz (the bot's packer, which
    builds use instead of `npm pack`), one protocol round trip."""
    tsc, pack, trip = [], [], []
    script = work / "round_trip.py"
    script.write_text(_ROUND_TRIP)
    entry = server_dir / "dist" / "index.js"
    for run in range(runs):
        out = work / f"floor-pack-{run}"
        out.mkdir()
        tsc.append(
            timed(lambda: proc.run([*tools.tsc, "-p", str(server_dir), *tools.tsc_flags], timeout=BENCH_TIMEOUT))
        )
        pack.append(timed(lambda: package.pack(spec, server_dir, out)))
        trip.append(timed(lambda: proc.run([sys.executable, str(script), str(entry)], timeout=BENCH_TIMEOUT)))
    result = {"tsc": median(tsc), "pack": median(pack), "round trip": median(trip)}
    result["total"] = sum(result.values())
    return result


def _build_in_fresh_process(spec_path: Path, out: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of `factory-bot build SPEC --out OUT --force -q` in a new Python process."""
    command = [sys.executable, "-m", "factory_bot", "build", str(spec_path), "--out", str(out), "--force", "-q"]
    return timed(lambda: proc.run(command, env=env, timeout=BENCH_TIMEOUT))


def end_to_end(spec_path: Path, runs: int, work: Path) -> float:
    """Median wall time of `factory-bot build SPEC --force` in a fresh process: what a user waits for."""
    return median([_build_in_fresh_process(spec_path, work / f"e2e-{run}") for run in range(runs)])


def cold_build(spec_path: Path, work: Path) -> float:
    """A first build in a fresh process with an empty toolchain cache (npm's own download cache stays)."""
    env = proc.tool_env() | {"FACTORY_BOT_CACHE": str(work / "cold-cache")}
    return _build_in_fresh_process(spec_path, work / "cold", env)


def issue_to_pr(spec_path: Path, runs: int, work: Path) -> float:
    """Median wall time of `factory-bot on-issue` with the local forge: an issue carrying a spec YAML block
    (no model call) becomes a branch and a PR. This is the bot's own time on the request path."""
    times = []
    identity = {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    for run in range(runs):
        repo = work / f"issue-repo-{run}"
        repo.mkdir(parents=True)
        proc.run(["git", "init", "-q", "-b", "main"], cwd=repo)
        (repo / "README.md").write_text("# servers\n")
        proc.run(["git", "add", "README.md"], cwd=repo)
        proc.run(["git", "commit", "-q", "-m", "start"], cwd=repo, check=True, env=proc.tool_env() | identity)
        event = work / f"issue-{run}.json"
        body = f"```yaml\n{spec_path.read_text()}```\n"
        event.write_text(
            json.dumps(
                {"action": "opened", "issue": {"number": 1, "title": "bench", "body": body, "user": {"login": "bench"}}}
            )
        )
        times.append(
            timed(
                lambda: proc.run(
                    [
                        sys.executable,
                        "-m",
                        "factory_bot",
                        "on-issue",
                        "--forge",
                        "local",
                        "--repo",
                        str(repo),
                        "--event",
                        str(event),
                        "-q",
                    ],
                    timeout=BENCH_TIMEOUT,
                )
            )
        )
    return median(times)


def install_time(tgz: Path, runs: int, work: Path) -> float:
    times = []
    for run in range(runs):
        prefix = work / f"install-{run}"
        times.append(timed(lambda: npm_install.npm_install(tgz, prefix, timeout=BENCH_TIMEOUT)))
    return median(times)


def repository(specs: list[ServerSpec], count: int, jobs: int, work: Path) -> dict[str, Any]:
    """A repository of `count` specs: full build, a no-change re-run, and a re-run with one spec changed."""
    spec_dir = work / "repo-specs"
    spec_dir.mkdir()
    for i in range(count):
        base = specs[i % len(specs)]
        (spec_dir / f"{base.name}-{i}.yaml").write_text(dump_spec(base.model_copy(update={"name": f"{base.name}-{i}"})))
    out = work / "repo-build"

    def rebuild() -> tuple[float, int]:
        loaded = [load_spec_file(p) for p in sorted(spec_dir.glob("*.yaml"))]
        started = time.perf_counter()
        results = build_many(loaded, out, jobs=jobs)
        if not all(r.ok for r in results):
            raise RuntimeError("a repository build failed")
        return time.perf_counter() - started, sum(1 for r in results if not r.cached)

    full, built_full = rebuild()
    unchanged, built_none = rebuild()
    first = sorted(spec_dir.glob("*.yaml"))[0]
    first.write_text(first.read_text().replace("description:", "description: Changed.", 1))
    one_changed, built_one = rebuild()
    return {
        "specs": count,
        "jobs": jobs,
        "full": full,
        "built_full": built_full,
        "unchanged": unchanged,
        "built_unchanged": built_none,
        "one_changed": one_changed,
        "built_one_changed": built_one,
    }


def run_bench(spec_paths: list[Path], *, runs: int, repo_size: int, jobs: int, cold: bool, say: Say) -> dict[str, Any]:
    """The whole benchmark; returns plain data for the table and --json."""
    tools = toolchain.ensure(progress=say)
    specs = [load_spec_file(p) for p in spec_paths]
    report: dict[str, Any] = {
        "machine": {"cores": os.cpu_count(), "node": toolchain.check_node(), "python": sys.version.split()[0]},
        "runs": runs,
        "servers": {},
    }
    work = Path(tempfile.mkdtemp(prefix="factory-bench-"))
    try:
        for spec, path in zip(specs, spec_paths):
            say(f"warm: {spec.name} × {runs}")
            warm = warm_builds(spec, runs, work / spec.name)
            say(f"floor: {spec.name} × {runs}")
            base = floor(spec, warm["server_dir"], tools, runs, work / spec.name)
            tgz = next((work / spec.name / "warm-0").glob("*.tgz"))
            say(f"end to end: factory-bot build {path} × {runs}")
            e2e = end_to_end(path, runs, work / spec.name)
            say(f"issue → PR: factory-bot on-issue --forge local × {runs}")
            entry = {
                "end_to_end": e2e,
                "warm": warm["stages"],
                "checks": warm["checks"],
                "floor": base,
                "ratio": e2e / base["total"],
                "install": install_time(tgz, runs, work / spec.name),
                "issue_to_pr": issue_to_pr(path.resolve(), runs, work / spec.name),
            }
            say(f"sandbox: {spec.name} warm builds with and without it × {runs}")
            entry["sandbox"] = sandbox_cost(spec, runs, work / spec.name, warm_total=warm["stages"]["total"])
            if cold:
                say(f"cold: {spec.name} (empty toolchain cache)")
                entry["cold"] = median([cold_build(path, work / spec.name / f"c{i}") for i in range(max(1, runs // 2))])
            report["servers"][spec.name] = entry
        if repo_size:
            say(f"repository: {repo_size} specs, {jobs} jobs")
            report["repository"] = repository(specs, repo_size, jobs, work)
        report["peak_rss_mib"] = {
            "bot": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "largest child": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return report


def format_report(report: dict[str, Any]) -> str:
    lines = [
        f"machine: {report['machine']['cores']} cores, node {report['machine']['node']}, "
        f"python {report['machine']['python']}; medians of {report['runs']} run(s)",
        "",
    ]
    lines.append(
        f"{'server':<16}{'cold':>7}{'e2e':>7}{'floor':>7}{'ratio':>7}{'in-proc':>8}{'install':>9}"
        f"{'issue→PR':>10}   in-process stages (s)"
    )
    for name, s in report["servers"].items():
        stages = "  ".join(f"{k} {v:.2f}" for k, v in s["warm"].items() if k != "total")
        cold = f"{s['cold']:.2f}" if "cold" in s else "-"
        lines.append(
            f"{name:<16}{cold:>7}{s['end_to_end']:>7.2f}{s['floor']['total']:>7.2f}"
            f"{s['ratio']:>6.2f}×{s['warm']['total']:>8.2f}{s['install']:>9.2f}{s['issue_to_pr']:>10.2f}"
            f"   {stages}"
        )
    lines.append(
        "  cold: first build with an empty toolchain cache; e2e: `factory-bot build` in a fresh process; "
        "ratio: e2e ÷ floor; in-proc: pipeline.build with the MCP client already imported; "
        "issue→PR: on-issue with the local forge, no model"
    )
    for name, s in report["servers"].items():
        parts = "  ".join(f"{k} {v:.2f}" for k, v in s["floor"].items() if k != "total")
        lines.append(f"  floor of {name}: {parts}")
    for name, s in report["servers"].items():
        box = s.get("sandbox", {})
        if not box.get("available"):
            lines.append(f"  sandbox of {name}: not available ({box.get('reason', 'not measured')})")
            continue
        launch = "; ".join(
            f"`{k}` {v['sandboxed'] * 1000:.0f} ms vs {v['plain'] * 1000:.0f} ms plain"
            for k, v in box["launch"].items()
        )
        lines.append(
            f"  sandbox of {name} ({box['backend']}): warm build {box['with']:.2f} s with, "
            f"{box['without']:.2f} s without, ratio {box['ratio']:.2f}×; one launch: {launch}"
        )
    if "repository" in report:
        r = report["repository"]
        lines += [
            "",
            f"repository of {r['specs']} specs, {r['jobs']} jobs: full build {r['full']:.1f} s "
            f"({r['built_full']} built); unchanged {r['unchanged']:.2f} s ({r['built_unchanged']} built); "
            f"one spec changed {r['one_changed']:.2f} s ({r['built_one_changed']} built)",
        ]
    rss = report["peak_rss_mib"]
    lines.append(f"peak memory: bot {rss['bot']:.0f} MiB, largest child process {rss['largest child']:.0f} MiB")
    return "\n".join(lines)


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)
