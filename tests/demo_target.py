#!/usr/bin/env python3
"""A small Python process with a leak, for `make demo` (scripts/demo).

    python3 tests/demo_target.py [--requests N] [--grow SECONDS]

It "serves" N fake requests; each one leaves its Request object (and the
request's body, a bytes) behind in a module-level list, and a per-path
result in a dict cache that is never trimmed.  Then it prints

    ready PID

on stdout and waits until SIGTERM or SIGINT (or, when stdin is a terminal,
until Enter).  With --grow S it serves ten more requests every S seconds while
it waits, so `pycensus watch` has something growing to point at.

Runs on Python 3.8 and later, standard library only.
"""

import argparse
import os
import select
import signal
import sys
import time


class Request:
    """What a web framework hands a handler: method, path, headers, body."""

    def __init__(self, n):
        self.method = "PUT"
        self.path = "/upload/%d" % (n % 50)
        self.headers = {"Content-Length": "4096", "X-Request-Id": "req-%06d" % n}
        self.body = os.urandom(4096)


class Response:
    __slots__ = ("status", "length")

    def __init__(self, status, length):
        self.status = status
        self.length = length


# The leak: every request ever served, "for debugging" ...
_history = []
# ... and a result cache keyed by (path, request id) that is never evicted.
_cache = {}


def handle(n):
    req = Request(n)
    _history.append(req)
    resp = Response(200, len(req.body))
    _cache[(req.path, req.headers["X-Request-Id"])] = resp
    return resp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--grow", type=float, default=0.0,
                    help="serve 10 more requests every GROW seconds while waiting")
    args = ap.parse_args()

    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(0))
    served = 0
    for _ in range(args.requests):
        handle(served)
        served += 1

    print("ready %d" % os.getpid(), flush=True)
    interactive = sys.stdin is not None and sys.stdin.isatty()
    timeout = args.grow if args.grow > 0 else 3600
    while True:
        if interactive:
            readable, _, _ = select.select([sys.stdin], [], [], timeout)
            if readable:
                sys.stdin.readline()
                return 0
        else:
            time.sleep(timeout)
        if args.grow > 0:
            for _ in range(10):
                handle(served)
                served += 1

if __name__ == "__main__":
    sys.exit(main())
