#!/usr/bin/env python3
"""pycensus run by a non-root user (issue 10's non-root caveat).

    python3 tests/test_nonroot.py [--pycensus ./pycensus]

The target and pycensus run as user nobody (setpriv --reuid=65534), on
/usr/bin/python3.11 (its debug file from python3.11-dbg, readable by all).

  * permitted: a target of the same user, pycensus not its parent: with
    Yama absent or kernel.yama.ptrace_scope 0, the gc census is exact
    against gc.get_objects() and the reachable census completes; with
    ptrace_scope 1 or more the same attempt must exit 5 naming
    ptrace_scope (what a non-descendant gets there);
  * refused: another user's target (uid 1): exit 5, one stderr line naming
    its uid and CAP_SYS_PTRACE;
  * refused: a target of the same user that made itself not dumpable
    (prctl PR_SET_DUMPABLE 0): exit 5, one line saying so;
  * every refused target still runs (answers a ping).

Needs root (to become other users) and setpriv; else SKIP.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402
import test_snapshot  # noqa: E402
from harness import EXIT_PERM, TargetError, short, target_running  # noqa: E402

PYTHON = "/usr/bin/python3.11"
NOBODY, OTHER = 65534, 1
READY_TIMEOUT = 60
PINGER = ("import sys\n%s\nprint('ready', flush=True)\nfor l in sys.stdin:\n"
          "    if l.strip() == 'quit': break\n    print('pong', flush=True)\n")
NODUMP = "import ctypes\nctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0"


def as_user(uid):
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"]


def wrapper(workdir, uid):
    path = os.path.join(workdir, "python-as-%d" % uid)
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec %s %s "$@"\n' % (" ".join(as_user(uid)), PYTHON))
    os.chmod(path, 0o755)
    return path


def ptrace_scope():
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as f:
            return int(f.read())
    except OSError:
        return None


def status_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[2])
    return None


def refused(rep, pc, label, target, want_words):
    rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", target.pid], timeout=60, prefix=as_user(NOBODY))
    lines = err.strip().splitlines()
    missing = [w for w in want_words if w not in err]
    rep.check(rc == EXIT_PERM and len(lines) == 1 and not missing and not out.strip(), label, "refused",
              "exit 5: %s" % short(err, 240),
              "exit %r (want %d), %d stderr lines, missing %s: %s" % (rc, EXIT_PERM, len(lines), missing,
                                                                      short(err)))
    why = target_running(target)
    rep.check(why is None, label, "target runs after the refusal", "pong", why)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = harness.LabelReport()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=120)
    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists(PYTHON):
        rep.skip("nonroot", "", "needs root, setpriv and %s" % PYTHON)
        return rep.summary()
    rc, _, err, _ = pc.run(["--version"], timeout=30, prefix=as_user(NOBODY))
    if rc in (126, 127):
        rep.skip("nonroot", "", "user nobody cannot execute %s: %s" % (pc.path, short(err)))
        return rep.summary()
    workdir = tempfile.mkdtemp(prefix="pycensus-nonroot-")
    os.chown(workdir, NOBODY, NOBODY)   # the target writes its truth there
    scope = ptrace_scope()
    print("# kernel.yama.ptrace_scope: %s" % ("absent (no Yama)" if scope is None else scope), flush=True)
    t0 = time.monotonic()
    try:
        label = "same-user"
        target = test_snapshot.Target(wrapper(workdir, NOBODY), workdir, label)
        try:
            target.wait_ready(READY_TIMEOUT)
            uid = status_uid(target.pid)
            rep.check(uid == NOBODY, label, "premise", "target runs as uid %d, pycensus as uid %d, "
                      "not its parent" % (uid, NOBODY), "target uid %r" % uid)
            if scope in (None, 0):
                rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", target.pid], timeout=120,
                                            prefix=as_user(NOBODY))
                if rep.check(rc == 0, label, "gc snapshot as nobody", "%.2fs" % secs,
                             "exit %r: %s" % (rc, short(err))):
                    test_snapshot.check_census(rep, label, json.loads(out), target.truth)
                rc, out, err, secs = pc.run(["snapshot", "--scope", "reachable", target.pid], timeout=120,
                                            prefix=as_user(NOBODY))
                snap = json.loads(out) if rc == 0 else {}
                rep.check(rc == 0 and snap.get("complete") is True, label, "reachable snapshot as nobody",
                          "%.2fs, %s objects" % (secs, (snap.get("totals") or {}).get("objects")),
                          "exit %r: %s" % (rc, short(err)))
                why = target_running(target)
                rep.check(why is None, label, "target runs after", "pong", why)
            else:
                refused(rep, pc, label, target, ["ptrace_scope is %d" % scope])
        finally:
            target.kill()

        label = "other-user"
        target = harness.Target(wrapper(workdir, OTHER), ["-c", PINGER % ""], workdir, label)
        try:
            target.wait_ready(READY_TIMEOUT)
            refused(rep, pc, label, target, ["uid %d" % OTHER, "CAP_SYS_PTRACE"])
        finally:
            target.kill()

        label = "not-dumpable"
        target = harness.Target(wrapper(workdir, NOBODY), ["-c", PINGER % NODUMP], workdir, label)
        try:
            target.wait_ready(READY_TIMEOUT)
            st = os.stat("/proc/%d/mem" % target.pid)
            rep.check(status_uid(target.pid) == NOBODY and st.st_uid == 0, label, "premise",
                      "runs as uid %d, its /proc files owned by root (not dumpable)" % NOBODY,
                      "uid %r, /proc owner %d" % (status_uid(target.pid), st.st_uid))
            refused(rep, pc, label, target, ["not dumpable", "CAP_SYS_PTRACE"])
        finally:
            target.kill()
    except TargetError as e:
        rep.fail("nonroot", "target", str(e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
