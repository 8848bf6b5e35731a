#!/usr/bin/env python3
"""Run pycensus's tests: every tests/test_*.py, one after the other.

    python3 tests/run.py [--pycensus ./pycensus] [--quick] [--san ./pycensus-san]
                         [--timeout SECONDS] [FILE ...]

Each tests/test_*.py is a standalone script that takes --pycensus PATH, prints
one PASS / FAIL / SKIP line per check and ends with "N passed, M failed, K
skipped".  This runner streams their output as it comes, reads each file's
closing line, and prints the grand total, alone, as its last line:

    N passed, M failed, K skipped

A file that crashes (no closing line, or a non-zero exit with no failure
counted), times out (600 s; 300 s with --quick) or cannot be started counts as
one failure.  A file that exits 77 without a closing line counts as one skip.
The exit status is 1 if anything failed, else 0.

Interpreters censused: a file prints "# censused: PATH" (harness.censused)
for each interpreter under which a census succeeded.  When every file runs
(no FILE arguments), the run counts one more check: every interpreter
tests/pythons.py finds that pycensus supports and that has debug
information must have been censused by some file of the first pass; one
missing is a failure, named.  PYCENSUS_TEST_PYTHONS narrows what is found.

--quick is passed on to the files that accept it (those whose source mentions
"--quick"); the others run in full.  --san PATH runs every file a second time,
with --quick, against PATH (the ASan/UBSan build), with ASAN_OPTIONS and
UBSAN_OPTIONS set unless they already are; its results count in the total.
The long matrices run once, in the first pass: unless PYCENSUS_TEST_PYTHONS
is set, the sanitizer pass runs under three interpreters only, the oldest
and the newest supported ones with debug information and the preferred one
(harness.by_preference), which span the layouts' extremes.
FILE arguments run only those files instead of every tests/test_*.py.

As root, Debian sid's root (scripts/sid-root, cached) is built first: its
python3.13-3.15 are among the interpreters (tests/pythons.py).  The
interpreters found are listed first, each skipped one with the reason.

Relative paths are taken from the current directory; the files themselves run
from the top of the repository.
"""

import argparse
import glob
import os
import re
import select
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
TIMEOUT = 600
QUICK_TIMEOUT = 300
KILL_GRACE = 10            # seconds between SIGTERM and SIGKILL on a timeout
EXIT_SKIP = 77
TOTALS = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped\s*$")
CENSUSED = re.compile(r"^# censused: (\S.*?)\s*$")   # harness.censused()

_current = None            # the Popen running now, for the signal handler


class Result:
    def __init__(self, name):
        self.name = name
        self.passed = self.failed = self.skipped = 0
        self.note = ""
        self.seconds = 0.0
        self.censused = set()     # interpreters a census succeeded under


def emit(line):
    sys.stdout.write(line)
    if not line.endswith("\n"):
        sys.stdout.write("\n")
    sys.stdout.flush()


def accepts_quick(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "--quick" in f.read()
    except OSError:
        return False


def kill_group(proc):
    """SIGTERM the file's process group (its own cleanup runs), then SIGKILL."""
    for sig, grace in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_file(path, label, argv, env, timeout):
    """Run one test file, streaming its output; return its Result."""
    global _current
    res = Result(label)
    emit("### %s" % label)
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    except OSError as e:
        res.failed = 1
        res.note = "cannot start: %s" % e
        emit("FAIL %s: %s" % (label, res.note))
        return res
    _current = proc
    totals = None
    timed_out = False
    buf = b""
    deadline = t0 + timeout
    fd = proc.stdout.fileno()
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode("utf-8", "replace")
                emit(line)
                m = TOTALS.match(line)
                if m:
                    totals = tuple(int(g) for g in m.groups())
                m = CENSUSED.match(line)
                if m:
                    res.censused.add(os.path.realpath(m.group(1)))
        if buf and not timed_out:
            line = buf.decode("utf-8", "replace")
            emit(line)
            m = TOTALS.match(line)
            if m:
                totals = tuple(int(g) for g in m.groups())
    finally:
        if timed_out:
            kill_group(proc)
        else:
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:   # closed stdout but did not exit
                kill_group(proc)
        proc.stdout.close()
        _current = None
    rc = proc.returncode
    res.seconds = time.monotonic() - t0

    if totals:
        res.passed, res.failed, res.skipped = totals
    if timed_out:
        res.failed += 1
        res.note = "timed out after %ds" % timeout
        emit("FAIL %s: %s (killed)" % (label, res.note))
    elif totals is None and rc == EXIT_SKIP:
        res.skipped = 1
        res.note = "skipped (exit 77)"
    elif totals is None:
        res.failed = 1
        res.note = "crashed: exit %s and no closing 'N passed, M failed, K skipped' line" % rc
        emit("FAIL %s: %s" % (label, res.note))
    elif rc != 0 and res.failed == 0:
        res.failed = 1
        res.note = "exit %s although it counted no failure" % rc
        emit("FAIL %s: %s" % (label, res.note))
    return res


def check_interpreters(results):
    """A Result: every supported interpreter with debug info was censused."""
    sys.path.insert(0, HERE)
    import pythons
    res = Result("interpreters censused")
    want = dict((os.path.realpath(p["path"]), p["label"]) for p in pythons.discover()
                if p["supported"] and not p["skip_reason"])
    got = set()
    for r in results:
        got |= r.censused
    missing = sorted(label for path, label in want.items() if path not in got)
    if not want:
        res.failed = 1
        res.note = "no supported interpreter with debug info on this machine (tests/pythons.py)"
    elif missing:
        res.failed = 1
        res.note = "%d of %d never censused: %s" % (len(missing), len(want), ", ".join(missing))
    else:
        res.passed = 1
        res.note = "all %d: %s" % (len(want), ", ".join(sorted(want.values())))
    emit("%s %s: %s" % ("FAIL" if res.failed else "PASS", res.name, res.note))
    return res


def prepare_sid_root():
    """Build (once, cached: scripts/sid-root) the Debian sid root whose
    interpreters tests/pythons.py finds, before any file looks for them;
    say which interpreters are found and why any is skipped."""
    sys.path.insert(0, HERE)
    import pythons
    wanted = os.environ.get("PYCENSUS_TEST_PYTHONS")
    if os.geteuid() == 0 and (not wanted or "sid-python" in wanted):
        t0 = time.monotonic()
        r = subprocess.run([os.path.join(TOP, "scripts", "sid-root")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True)
        tail = " ".join(r.stderr.split())[-300:]
        emit("# sid root: %s (%.1f s)%s" % (
            r.stdout.strip() if r.returncode == 0 else "not built, exit %d" % r.returncode,
            time.monotonic() - t0, ": " + tail if tail else ""))
    for p in pythons.discover():
        if p["supported"] or p.get("root"):
            emit("# interpreter %s %s%s" % (p["label"], p["full_version"] or "",
                                            ": SKIP " + p["skip_reason"] if p["skip_reason"] else ""))


def on_signal(signum, frame):
    if _current is not None:
        kill_group(_current)
    sys.exit(128 + signum)


def san_pythons():
    """The sanitizer pass's interpreters: oldest, preferred, newest."""
    sys.path.insert(0, HERE)
    import harness
    import pythons
    ok = [e for e in pythons.discover() if e["supported"] and not e["skip_reason"]]
    if not ok:
        return ""
    chosen = [ok[0], harness.by_preference(ok)[0], ok[-1]]
    paths = []
    for e in chosen:
        if e["path"] not in paths:
            paths.append(e["path"])
    return ":".join(paths)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--quick", action="store_true",
                    help="passed on to the files; per-file timeout %ds" % QUICK_TIMEOUT)
    ap.add_argument("--san", metavar="PATH",
                    help="also run every file --quick against this sanitizer build")
    ap.add_argument("--timeout", type=float,
                    help="per-file timeout in seconds (default %d, %d with --quick)"
                    % (TIMEOUT, QUICK_TIMEOUT))
    ap.add_argument("files", nargs="*", help="test files (default: tests/test_*.py)")
    args = ap.parse_args()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    files = [os.path.abspath(f) for f in args.files] or \
        sorted(glob.glob(os.path.join(HERE, "test_*.py")))
    passes = [(os.path.abspath(args.pycensus), args.quick, "", {})]
    if args.san:
        passes.append((os.path.abspath(args.san), True, " [san]",
                       {"ASAN_OPTIONS": "detect_leaks=1",
                        "UBSAN_OPTIONS": "print_stacktrace=1"}))

    prepare_sid_root()
    if args.san and "PYCENSUS_TEST_PYTHONS" not in os.environ:
        passes[1][3]["PYCENSUS_TEST_PYTHONS"] = san_pythons()
        emit("# sanitizer pass: %s" % passes[1][3]["PYCENSUS_TEST_PYTHONS"])
    results = []
    for n, (binary, quick, tag, extra_env) in enumerate(passes):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        for k, v in extra_env.items():
            env.setdefault(k, v)
        timeout = args.timeout or (QUICK_TIMEOUT if quick else TIMEOUT)
        for path in files:
            inside = path.startswith(TOP + os.sep)
            label = (os.path.relpath(path, TOP) if inside else path) + tag
            argv = [sys.executable, path, "--pycensus", binary]
            if quick and accepts_quick(path):
                argv.append("--quick")
            results.append(run_file(path, label, argv, env, timeout))
        if n == 0 and not args.files:
            results.append(check_interpreters(results))

    emit("")
    emit("### summary")
    if not files:
        emit("no tests/test_*.py found")
    for r in results:
        emit("%-34s %4d passed %4d failed %4d skipped %7.1fs%s" % (
            r.name, r.passed, r.failed, r.skipped, r.seconds,
            "  " + r.note if r.note else ""))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(r.skipped for r in results)
    emit("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
