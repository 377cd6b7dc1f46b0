"""After the suite: list the processes it started that are still running, stop them, and fail.

A process is the suite's when it carries the run's marker in its environment (everything
started with the suite's environment inherits it) or names the run's private temporary
directory in its command line or working directory (servers started with an environment of
their own still run on data dirs in there). Usage: leftovers.py MARKER TMPDIR
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator

import psutil

MARKER = "WEFTWORK_CI_RUN"
# Processes may still be on their way out (a parent-death signal, a graceful drain).
GRACE_SECONDS = 15


def suite_processes(marker: str, tmpdir: str) -> Iterator[psutil.Process]:
    ours = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    for process in psutil.process_iter():
        if process.pid in ours:
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue  # exited; holds no port, memory or file
            marked = process.environ().get(MARKER) == marker
            in_tmpdir = tmpdir in " ".join(process.cmdline()) or process.cwd().startswith(tmpdir)
        except psutil.Error:
            continue
        if marked or in_tmpdir:
            yield process


def main() -> int:
    marker, tmpdir = sys.argv[1], os.path.realpath(sys.argv[2])
    deadline = time.monotonic() + GRACE_SECONDS
    while (left := list(suite_processes(marker, tmpdir))) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not left:
        print("ci: no process of the suite is left")
        return 0
    print(f"ci: {len(left)} process(es) of the suite outlived it:", file=sys.stderr)
    for process in left:
        try:
            command = " ".join(process.cmdline())[:300]
            print(f"  pid {process.pid} ({process.name()}): {command}", file=sys.stderr)
            process.kill()
        except psutil.Error:
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main())
