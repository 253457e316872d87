"""Wait until a Spark standalone master reports enough live workers, then run the given command.

    python wait_for_workers.py --master-ui http://master:8080 --workers 2 [--timeout 180] -- spark-submit ...

Reads the master web UI's /json/ page ("aliveworkers"); the command replaces this process (exec), so its
exit status is the container's. Exits 1 if the workers do not all register before the timeout.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.request


def alive_workers(master_ui: str) -> int:
    try:
        with urllib.request.urlopen(master_ui.rstrip("/") + "/json/", timeout=5) as resp:
            return int(json.load(resp).get("aliveworkers", 0))
    except (OSError, ValueError):
        return 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--master-ui", default="http://master:8080", help="master web UI URL")
    p.add_argument("--workers", type=int, default=2, help="live workers to wait for")
    p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no command given after --")

    deadline = time.monotonic() + args.timeout
    seen = alive_workers(args.master_ui)
    while seen < args.workers:
        if time.monotonic() > deadline:
            print(f"wait_for_workers: {seen} of {args.workers} workers alive at {args.master_ui} "
                  f"after {args.timeout:.0f}s", file=sys.stderr)
            return 1
        time.sleep(1)
        seen = alive_workers(args.master_ui)
    print(f"wait_for_workers: {seen} workers alive at {args.master_ui}", file=sys.stderr, flush=True)
    os.execvp(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
