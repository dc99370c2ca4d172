"""Killing a command's process group, then waiting for it to be gone: zombies are gone, the living are waited for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from factory_bot import proc


def test_a_killed_group_whose_last_member_is_an_unreaped_zombie_counts_as_gone_at_once() -> None:
    """The sandbox launcher's namespace init, orphaned by the kill, waits for pid 1 to reap it, which a machine's
    init may take its time over (~1.1 s here, every build). Here the zombie is ours and is never reaped while the
    wait runs, so a wait that counted zombies would run to its deadline."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        os.killpg(child.pid, signal.SIGKILL)
        while proc._running_members(child.pid):  # the kill lands
            pass
        os.killpg(child.pid, 0)  # the group still exists: its zombie is a member until reaped
        waiter = threading.Thread(target=proc.wait_group_gone, args=(child.pid,), kwargs={"timeout": 60})
        waiter.start()
        waiter.join(30)
        assert not waiter.is_alive(), "the wait ran on while only a zombie was left"
        os.killpg(child.pid, 0)  # and it did not wait for the reaping: the zombie is still there
    finally:
        child.kill()
        child.wait()


def test_a_living_member_of_the_group_is_waited_for() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
    try:
        assert proc._running_members(child.pid) == [child.pid]
        proc.wait_group_gone(child.pid, timeout=0.2)  # it still runs: the wait gives up at its deadline
        assert child.poll() is None
    finally:
        proc.kill_group(child)
        child.wait()
    proc.wait_group_gone(child.pid)
    assert not proc._running_members(child.pid)
