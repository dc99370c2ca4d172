"""`factory-bot sandbox`: prove on this machine that the sandbox denies what generated code would try.

Runs sandbox_selftest.mjs the way a server runs (same launch, same limits) against real targets: a file and a
git checkout outside the scratch copy, your HOME, a listener on this machine's 127.0.0.1, an internet address,
and a detached child that must not outlive the session.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

from factory_bot import proc
from factory_bot.build import sandbox, sandbox_jail

SCRIPT = Path(__file__).with_name("sandbox_selftest.mjs")
INTERNET = "1.1.1.1"


def self_test() -> list[tuple[str, bool, str]]:
    """(attempt, denied, what happened) for each escape generated code would try."""
    marker = f"factory-bot-selftest-{uuid.uuid4().hex[:12]}"
    with (
        tempfile.TemporaryDirectory(prefix="mcp-factory-selftest-", dir=sandbox_jail.sandbox_tmp()) as tmp,
        socket.socket() as listener,
    ):
        work = Path(tmp)
        (work / "checkout" / ".git").mkdir(parents=True)
        (work / "checkout" / ".git" / "config").write_text("[core]\n")
        (work / "outside.txt").write_text("")
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        target = {
            "outside": str(work / "outside.txt"),
            "gitConfig": str(work / "checkout" / ".git" / "config"),
            "home": str(Path.home()),
            "port": listener.getsockname()[1],
            "internet": INTERNET,
            "marker": marker,
        }
        root = work / "server"
        root.mkdir()
        shutil.copyfile(SCRIPT, root / "selftest.mjs")
        with sandbox.launch(["node", "selftest.mjs", json.dumps(target)], {}, root=root) as launch:
            done = proc.run(launch.argv, env=launch.env, cwd=launch.cwd, timeout=60, check=False, merge_stderr=False)
        try:
            outcome: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            outcome = {"run the self-test": f"failed: {(done.stderr or done.stdout).strip()[-300:]}"}
        survivors = _with_marker(marker)
        outcome["outlive the session (setsid, detached)"] = (
            f"SURVIVED: {len(survivors)} process(es) still run" if survivors else "denied (died with the session)"
        )
        for pid in survivors:  # an unsandboxed run leaves them behind: clean up what we started
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    return [(name, text.startswith("denied"), text) for name, text in outcome.items()]


def _with_marker(marker: str) -> list[int]:
    time.sleep(0.1)
    found = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            pass
    return found
