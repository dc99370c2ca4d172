"""Between the bot and bwrap, outside the sandbox: set the resource limits, hand bwrap its arguments, exec it.

    python -I -S sandbox_launch.py BOT_PID USER LIMITS BWRAP OPTION... -- COMMAND...

USER is "-" (stay who we are) or "UID:GID" to become first (root runs each sandbox as a uid of its own: the kernel
does not enforce RLIMIT_NPROC on root's user, even inside a user namespace). LIMITS: "DATA=1073741824,NPROC=256,...".

Run as a script with no site packages (it must start in milliseconds), so it imports nothing of the bot.
bwrap reads its options from a pipe (--args) and starts with an empty environment, so the sandbox's own
/proc/1/cmdline and /proc/1/environ show nothing of this machine: only the command, and no variable.
"""

import ctypes
import os
import resource
import signal
import sys

PR_SET_PDEATHSIG = 1


def _own_processes() -> int:
    """Processes of this user right now: outside root, RLIMIT_NPROC counts all of them, not just ours."""
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return count


def main() -> None:
    bot, user, limits, bwrap, *args = sys.argv[1:]
    if user != "-":
        uid, gid = (int(n) for n in user.split(":"))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    # Die with the bot, from now on and as bwrap (exec keeps it; a change of user above would have cleared it):
    # bwrap's own --die-with-parent starts only once bwrap runs, and a bot killed before that would leave it.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(bot):
        raise SystemExit("sandbox_launch: the bot is gone")
    split = args.index("--")
    options, command = args[:split], args[split:]
    for item in limits.split(","):
        name, value = item.split("=")
        number = int(value)
        if name == "NPROC":
            # The kernel counts the user's processes machine-wide (the user namespace's ucounts roll up to its
            # creator's), so the budget comes on top of what this user already runs.
            number += _own_processes()
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (number, number))
    read, write = os.pipe()
    data = b"".join(arg.encode() + b"\0" for arg in options)
    if len(data) > 60_000:  # a pipe holds 64 KiB; the bot's argument lists are a few KiB
        raise SystemExit("sandbox_launch: bwrap arguments too long")
    os.write(write, data)
    os.close(write)
    os.set_inheritable(read, True)
    os.execve(bwrap, [bwrap, "--args", str(read), *command], {})


if __name__ == "__main__":
    main()
