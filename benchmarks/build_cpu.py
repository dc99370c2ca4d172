"""CPU seconds of one build, per command it starts: where a build's CPU goes (the test suite is CPU-bound).

usage: python benchmarks/build_cpu.py SPEC.yaml [SPEC.yaml ...] [--runs N]

Builds each spec N+1 times in this process (the first pays Python's imports and is left out) and prints the
medians of wall time, of this process's CPU, and of each kind of child's CPU (user + sys). Every child is
reaped with wait4, which reports its CPU and that of everything it reaped; this process is a child subreaper,
so a sandboxed server whose bwrap was killed (its children orphaned) is reaped, and counted, here too.
A benchmark, never a test.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
_argv: dict[int, list[str]] = {}
_spent: collections.Counter[str] = collections.Counter()
_lock = threading.Lock()
_waitpid = os.waitpid
_execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]


def kind(argv: list[str]) -> str:
    """A child's command, shortened to what it is: `npm install`, `tsc`, `esbuild`, a sandboxed server."""
    name = os.path.basename(argv[0]) if argv else "?"
    if name.startswith("python") and "-I" in argv:
        return "server launch (sandbox_launch.py)"
    if name == "npm":
        return f"npm {argv[1]}"
    if name == "node":
        return "node (TypeScript parser: code shape)" if "--input-type=module" in argv else "node"
    return {"tsgo": "tsc", "tsc": "tsc"}.get(name, name)


def _count(what: str, usage: resource.struct_rusage) -> None:
    with _lock:
        _spent[what] += usage.ru_utime + usage.ru_stime


def _wait(pid: int, options: int) -> tuple[int, int]:
    if pid <= 0:
        return _waitpid(pid, options)
    found, status, usage = os.wait4(pid, options)
    if found:
        _count(kind(_argv.pop(found, [])), usage)
    return found, status


def _started(self: subprocess.Popen, args, *rest, **named):  # type: ignore[no-untyped-def,type-arg]
    _execute_child(self, args, *rest, **named)
    _argv[self.pid] = [str(a) for a in ([args] if isinstance(args, str | bytes) else args)]


def _reap_orphans() -> None:
    """Reap (and count) zombies handed to this subreaper that no Popen waits for."""
    me = os.getpid()
    while True:
        time.sleep(0.03)
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in _argv:
                continue
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            name, fields = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
            if fields[0] == "Z" and int(fields[1]) == me:
                try:
                    found, _status, usage = os.wait4(int(entry), os.WNOHANG)
                except ChildProcessError:
                    continue
                if found:
                    _count(f"sandboxed server ({name}, orphaned)", usage)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    os.waitpid = _wait  # type: ignore[assignment]
    subprocess.Popen._execute_child = _started  # type: ignore[attr-defined]
    threading.Thread(target=_reap_orphans, daemon=True).start()

    from factory_bot.build import pipeline
    from factory_bot.spec.loader import load_spec_file

    for path in options.specs:
        spec = load_spec_file(path)
        rows: list[dict[str, float]] = []
        for run in range(options.runs + 1):
            _spent.clear()
            before = resource.getrusage(resource.RUSAGE_SELF)
            with tempfile.TemporaryDirectory(prefix="build-cpu-") as out:
                result = pipeline.build(spec, out)
            after = resource.getrusage(resource.RUSAGE_SELF)
            if not result.ok:
                sys.exit(f"{spec.name}: the build failed: {[c.name for c in result.report.failures]}")
            row = {f"wall {k}": v for k, v in result.timings.items() if k in ("package", "validate", "total")}
            row["cpu bot (Python)"] = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            row |= {f"cpu {k}": v for k, v in _spent.items()}
            if run:
                rows.append(row)
        keys = sorted({k for row in rows for k in row}, key=lambda k: (not k.startswith("wall"), k))
        print(f"{spec.name}: median of {options.runs} warm builds")
        for key in keys:
            print(f"  {key:45s} {statistics.median(row.get(key, 0.0) for row in rows):6.2f} s")
        cpu = statistics.median(sum(v for k, v in row.items() if k.startswith("cpu")) for row in rows)
        print(f"  {'cpu, all of it':45s} {cpu:6.2f} s")


if __name__ == "__main__":
    main()
