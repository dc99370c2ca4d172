"""Between the bot and bwrap, outside the sandbox: set the resource limits, hand bwrap its arguments, exec it.

    python -I -S sandbox_launch.py BOT_PID USER LIMITS BWRAP OPTION... -- COMMAND...

USER is "-" (stay who we are) or "UID:GID" to become first (root runs each sandbox as a uid of its own: the kernel
does not enforce RLIMIT_NPROC on root's user, even inside a user namespace). LIMITS: "DATA=1073741824,NPROC=256,...".

As root it first makes a pid namespace of its own and runs the rest as its pid 1, itself waiting outside: bwrap's
sandbox asks to die with its parent only once it is set up, and a bot killed before that would leave it running;
the end of a pid namespace's pid 1 is the end of every process in it (nested ones too), set up or not.

Run as a script with no site packages (it must start in milliseconds), so it imports nothing of the bot.
bwrap reads its options from a pipe (--args) and starts with an empty environment, so the sandbox's own
/proc/1/cmdline and /proc/1/environ show nothing of this machine: only the command, and no variable.
"""

import ctypes
import os
import resource
import select
import signal
import sys

PR_SET_PDEATHSIG = 1
CLONE_NEWPID = 0x20000000


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


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _in_own_pid_namespace() -> int | None:
    """As root: from here on, this runs as pid 1 of a new pid namespace, and the launcher waits outside it, holding
    a pipe whose end (EOF) tells pid 1 that the launcher is gone. Not as another user (it takes CAP_SYS_ADMIN)."""
    if os.geteuid() != 0 or ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWPID) != 0:
        return None
    alive, held = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(held)
        return alive
    os.close(alive)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the bot's pipes belong to the sandbox: it must see their end when the sandbox ends
        os.dup2(devnull, fd)
    _, status = os.waitpid(child, 0)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def main() -> None:
    bot, user, limits, bwrap, *args = sys.argv[1:]
    # Die with the bot, from now on and as bwrap (exec keeps it; a change of user clears it: set again below).
    _die_with_parent()
    if os.getppid() != int(bot):
        raise SystemExit("sandbox_launch: the bot is gone")
    launcher = _in_own_pid_namespace()
    if user != "-":
        uid, gid = (int(n) for n in user.split(":"))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    if launcher is not None:
        # Die with the launcher, and so (the namespace's end) everything in the sandbox; unless it already died.
        _die_with_parent()
        if select.select([launcher], [], [], 0)[0]:
            raise SystemExit("sandbox_launch: the launcher is gone")
        os.close(launcher)
    elif user != "-":
        _die_with_parent()  # the change of user cleared it; bwrap's own --die-with-parent starts only once set up
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
