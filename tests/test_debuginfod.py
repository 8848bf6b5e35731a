#!/usr/bin/env python3
"""pycensus getting a Debian interpreter's DWARF from a debuginfod server.

    python3 tests/test_debuginfod.py [--pycensus ./pycensus]

Debian's `debuginfod` serves a directory holding the debug file of
/usr/bin/python3.11 (from python3.11-dbg) in a network namespace of its own
(only its loopback; the server listens on every address it has), with a
tmpfs over /usr/lib/debug in its mount namespace, so that pycensus, run in
the same namespaces, finds no debug file locally.  The target runs on the
host as usual.  Checks:

  * premise: without DEBUGINFOD_URLS the census is not from DWARF;
  * with DEBUGINFOD_URLS=http://127.0.0.1:PORT: offsets "dwarf", the
    debuginfo named in DEBUGINFOD_CACHE_PATH, the gc census exact against
    gc.get_objects() (libdwfl's debuginfod client fetched it);
  * a second run is served from the cache: the server saw one request;
  * a server that accepts and never answers: pycensus gives up after its
    10 s default (DEBUGINFOD_TIMEOUT unset) or the user's
    DEBUGINFOD_TIMEOUT, and censuses from the other offset sources.

Needs root (namespaces), debuginfod, python3.11-dbg; else SKIP.  Every
process started here is killed on the way out.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402
import test_snapshot  # noqa: E402
from harness import TargetError, short  # noqa: E402

PYTHON = "/usr/bin/python3.11"
PORT, DEAF_PORT = 18765, 18766
READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, universal_newlines=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split()[-1]
    return None


def run(prefix, args, env, timeout=CENSUS_TIMEOUT):
    t0 = time.monotonic()
    p = subprocess.run(list(prefix) + ["env"] + ["%s=%s" % kv for kv in env.items()] + [str(a) for a in args],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = harness.LabelReport()
    pc = os.path.abspath(args.pycensus)
    label = "debuginfod"
    bid = build_id(PYTHON) if os.path.exists(PYTHON) else None
    debug = bid and "/usr/lib/debug/.build-id/%s/%s.debug" % (bid[:2], bid[2:])
    missing = [x for x in ("debuginfod", "unshare", "nsenter", "ip", "curl") if not shutil.which(x)]
    if os.geteuid() != 0 or missing or not debug or not os.path.exists(debug):
        rep.skip(label, "", "needs root, %s and %s" % (
            ", ".join(missing or ["debuginfod"]), debug or "python3.11-dbg"))
        return rep.summary()
    workdir = tempfile.mkdtemp(prefix="pycensus-debuginfod-")
    procs = []
    target = None
    t0 = time.monotonic()
    try:
        srv = os.path.join(workdir, "srv")
        os.makedirs(srv)
        shutil.copyfile(debug, os.path.join(srv, "python3.11.debug"))
        log = os.path.join(workdir, "server.log")
        server = subprocess.Popen(
            ["unshare", "--net", "--mount", "sh", "-ec",
             'ip link set lo up; mount -t tmpfs tmpfs /usr/lib/debug; '
             'exec debuginfod -p %d -F "$0" -d "$1" -t 0 -g 0 2>"$2"' % PORT,
             srv, os.path.join(workdir, "db.sqlite"), log], stdin=subprocess.DEVNULL)
        procs.append(server)
        ns = ["nsenter", "-t", str(server.pid), "--net", "--mount", "--"]
        url = "http://127.0.0.1:%d" % PORT
        ready = False
        for _ in range(150):
            if subprocess.run(ns + ["curl", "-sf", "-o", "/dev/null", "%s/buildid/%s/debuginfo" % (url, bid)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                ready = True
                break
            time.sleep(0.2)
        if not rep.check(ready, label, "server", "serves %s's debug file on %s" % (bid, url),
                         "not ready in 30 s: %s" % short(open(log).read())):
            return rep.summary()
        gets0 = open(log).read().count("UA:elfutils")
        local = subprocess.run(ns + ["ls", "-A", "/usr/lib/debug"], stdout=subprocess.PIPE,
                               universal_newlines=True).stdout.strip()
        rep.check(not local, label, "no local debug files", "/usr/lib/debug empty in the namespace",
                  "/usr/lib/debug has %s" % short(local))

        target = test_snapshot.Target(PYTHON, workdir, label)
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        base = {"DEBUGINFOD_CACHE_PATH": os.path.join(workdir, "cache")}

        rc, out, err, _ = run(ns, [pc, "info", target.pid], {"DEBUGINFOD_URLS": ""})
        info = json.loads(out) if rc == 0 else {}
        offsets = (info.get("python") or {}).get("offsets")
        rep.check(rc == 0 and offsets != "dwarf", label, "premise: no DWARF without DEBUGINFOD_URLS",
                  "offsets %s" % offsets, "exit %r, offsets %r: %s" % (rc, offsets, short(err)))

        env = dict(base, DEBUGINFOD_URLS=url)
        for run_no in (1, 2):
            rc, out, err, secs = run(ns, [pc, "snapshot", "--scope", "gc", target.pid], env)
            if not rep.check(rc == 0, label, "snapshot %d" % run_no, "%.2fs" % secs,
                             "exit %r: %s" % (rc, short(err))):
                continue
            snap = json.loads(out)
            p = snap.get("python") or {}
            dbg = p.get("debuginfo") or ""
            rep.check(p.get("offsets") == "dwarf" and dbg.startswith(base["DEBUGINFOD_CACHE_PATH"]), label,
                      "snapshot %d: DWARF from debuginfod" % run_no, "debuginfo %s" % dbg,
                      "offsets %r, debuginfo %r" % (p.get("offsets"), dbg))
            test_snapshot.check_census(rep, "%s run %d" % (label, run_no), snap, truth)
        gets = open(log).read().count("UA:elfutils") - gets0
        rep.check(gets == 1, label, "cached", "the server saw 1 request for 2 censuses",
                  "the server saw %d requests" % gets)

        # A server that accepts and never answers.
        deaf = subprocess.Popen(ns + [sys.executable, "-c",
                                      "import socket, time\n"
                                      "s = socket.socket(); s.bind(('127.0.0.1', %d)); s.listen(16)\n"
                                      "print('ready', flush=True)\nkept = []\n"
                                      "while True: kept.append(s.accept())\n" % DEAF_PORT],
                                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        procs.append(deaf)
        deaf.stdout.readline()
        deaf_url = "http://127.0.0.1:%d" % DEAF_PORT
        for timeout, lo, hi in ((None, 9, 30), ("2", 1.5, 8)):
            env = {"DEBUGINFOD_URLS": deaf_url,
                   "DEBUGINFOD_CACHE_PATH": os.path.join(workdir, "cache-deaf-%s" % timeout)}
            if timeout:
                env["DEBUGINFOD_TIMEOUT"] = timeout
            rc, out, err, secs = run(ns, [pc, "snapshot", "--scope", "gc", target.pid], env, timeout=120)
            snap = json.loads(out) if rc == 0 else {}
            offsets = (snap.get("python") or {}).get("offsets")
            what = "DEBUGINFOD_TIMEOUT=%s" % timeout if timeout else "DEBUGINFOD_TIMEOUT unset"
            rep.check(rc == 0 and offsets != "dwarf" and lo <= secs < hi, label,
                      "server never answers, %s" % what,
                      "gave up and censused in %.1fs (offsets %s)" % (secs, offsets),
                      "exit %r after %.1fs (want %g-%g s), offsets %r: %s" % (rc, secs, lo, hi, offsets,
                                                                             short(err)))
            if snap:
                test_snapshot.check_census(rep, "%s %s" % (label, what), snap, truth)
        why = harness.target_running(target)
        rep.check(why is None, label, "target runs after", "pong", why)
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        if target:
            target.kill()
        for p in procs:
            p.kill()
            p.wait()
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
