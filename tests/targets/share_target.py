# -*- coding: utf-8 -*-
"""Process trees for tests/test_children_share.py and scripts/bench --children.

    python share_target.py tree NFORK NSPAWN [OTHER_PYTHON NOTHER]
    python share_target.py churn NWORKERS
    python share_target.py worker N

Python 3.8+.  Every worker holds its own number of Worker objects (the
ground truth of its census) and then sleeps without allocating.

tree: forks NFORK workers (same address space layout as this master) and
starts NSPAWN more of this interpreter as new processes (their own load
addresses: ASLR), and NOTHER of OTHER_PYTHON.  Worker i holds 100 + i
Worker objects.  Prints "ready PID:N PID:N ..." (the master first, with 0)
once every worker holds its objects.

churn: keeps NWORKERS forked workers alive, each living 0.05-0.4 s (a
gunicorn worker recycled by max_requests, much faster); a worker that
exits is replaced at once.  Prints "ready", then nothing.

worker: holds N Worker objects, prints "up", sleeps.
"""

import os
import random
import signal
import subprocess
import sys
import time

# 2.7's subprocess has no DEVNULL
DEVNULL = getattr(subprocess, "DEVNULL", None) or open(os.devnull, "rb")


class Worker(object):
    pass


def hold(n):
    keep = [Worker() for _ in range(n)]
    return keep


def sleep_forever():
    while True:
        time.sleep(1000)


def spawn(python, n):
    p = subprocess.Popen([python, "-E", "-s", os.path.abspath(__file__), "worker", str(n)],
                         stdout=subprocess.PIPE, stdin=DEVNULL)
    if p.stdout.readline().strip() != b"up":
        raise SystemExit("worker %d did not start" % p.pid)
    return p.pid


def tree(nfork, nspawn, other=None, nother=0):
    pids = []
    n = 100
    for _ in range(nfork):
        pid = os.fork()
        if pid == 0:
            keep = hold(n)  # noqa: F841
            sleep_forever()
        pids.append((pid, n))
        n += 1
    for _ in range(nspawn):
        pids.append((spawn(sys.executable, n), n))
        n += 1
    for _ in range(nother):
        pids.append((spawn(other, n), n))
        n += 1
    # A forked worker holds its objects before it sleeps; give it the moment.
    time.sleep(0.3)
    sys.stdout.write("ready %d:0 %s\n" % (os.getpid(), " ".join("%d:%d" % p for p in pids)))
    sys.stdout.flush()
    sleep_forever()


def churn(nworkers):
    alive = set()

    def reap(*_):
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                alive.discard(pid)
        except ChildProcessError:
            pass

    signal.signal(signal.SIGCHLD, reap)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        while len(alive) < nworkers:
            life = random.uniform(0.05, 0.4)
            pid = os.fork()
            if pid == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                keep = hold(200)  # noqa: F841
                time.sleep(life)
                os._exit(0)
            alive.add(pid)
        time.sleep(0.02)
        reap()


def main():
    mode = sys.argv[1]
    if mode == "tree":
        other = sys.argv[4] if len(sys.argv) > 4 else None
        tree(int(sys.argv[2]), int(sys.argv[3]), other, int(sys.argv[5]) if other else 0)
    elif mode == "churn":
        churn(int(sys.argv[2]))
    elif mode == "worker":
        keep = hold(int(sys.argv[2]))  # noqa: F841
        sys.stdout.write("up\n")
        sys.stdout.flush()
        sleep_forever()
    else:
        raise SystemExit("unknown mode %r" % mode)


if __name__ == "__main__":
    main()
