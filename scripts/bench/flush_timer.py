#!/usr/bin/env python3
"""Time one queue flush: from starting a command until it and every process it started have ended.

A flush is not over when the command exits: `dma -q` forks one delivery process per queued message and the
parent returns when its own one is done. So the command runs as the leader of a new session and process
group, this timer makes itself the child subreaper (PR_SET_CHILD_SUBREAPER, so orphaned grandchildren are
reparented to it and reaped here rather than left as zombies that still count as group members), and the
flush ends when no process of the group is left. The group is polled every millisecond with kill(-pgid, 0),
which costs one system call.

Usage: flush_timer.py --timeout SECONDS [--output FILE] -- COMMAND [ARG...]
Prints `rc=N seconds=S` (N is the command's exit status; 124 when the timeout killed the group, as
timeout(1) reports it). The command's standard output and error go to FILE (default: /dev/null).
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
POLL = 0.001


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_any():
    """Reap every child that has ended; returns {pid: status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--timeout", type=float, required=True)
    p.add_argument("--output", default=os.devnull)
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no command")
    become_subreaper()
    with open(args.output, "ab") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    pgid, rc, killed = child.pid, None, False
    deadline = start + args.timeout
    while True:
        ended = reap_any()
        if pgid in ended:
            rc = os.waitstatus_to_exitcode(ended[pgid])
            child.returncode = rc
        if rc is not None and not group_alive(pgid):
            break
        if not killed and time.perf_counter() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            killed = True
        time.sleep(POLL)
    if killed:
        rc = 124
    elapsed = time.perf_counter() - start
    print(f"rc={rc} seconds={elapsed:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
