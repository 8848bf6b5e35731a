#!/usr/bin/env python3
"""Run pycensus's tests: every tests/test_*.py, two files at a time.

    python3 tests/run.py [--pycensus ./pycensus] [--quick] [--san ./pycensus-san]
                         [--timeout SECONDS] [--jobs N] [FILE ...]

Each tests/test_*.py is a standalone script that takes --pycensus PATH, prints
one PASS / FAIL / SKIP line per check and ends with "N passed, M failed, K
skipped".  This runner runs --jobs files at once (default 2, the CI
machine's cores; 1 on one CPU), a file whose source says "run.py: alone"
(it bounds wall-clock time, or loads every CPU itself) with no other beside
it.  It prints "# started FILE" as each starts and each file's output whole
when it ends, under "### FILE (SECONDS)", reads each file's closing line,
and prints the grand total, alone, as its last line:

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

_running = set()           # the Jobs running now, for the signal handler


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


def runs_alone(path):
    """A file whose source says "run.py: alone" (it measures time or
    loads every CPU itself) runs with no other file beside it."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "run.py: alone" in f.read()
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


class Job:
    """One test file running: its process, output so far and Result."""

    def __init__(self, label, argv, env, timeout, alone):
        self.res = Result(label)
        self.argv, self.env, self.timeout, self.alone = argv, env, timeout, alone
        self.proc = None
        self.lines = []
        self.buf = b""
        self.totals = None
        self.timed_out = False

    def start(self):
        self.t0 = time.monotonic()
        self.deadline = self.t0 + self.timeout
        try:
            self.proc = subprocess.Popen(self.argv, cwd=TOP, env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        except OSError as e:
            self.res.failed = 1
            self.res.note = "cannot start: %s" % e
            self.lines.append("FAIL %s: %s" % (self.res.name, self.res.note))
            return False
        _running.add(self)
        return True

    def line(self, line):
        self.lines.append(line)
        m = TOTALS.match(line)
        if m:
            self.totals = tuple(int(g) for g in m.groups())
        m = CENSUSED.match(line)
        if m:
            self.res.censused.add(os.path.realpath(m.group(1)))

    def read(self):
        """Take what the file wrote; False once it closed its output."""
        chunk = os.read(self.proc.stdout.fileno(), 65536)
        if not chunk:
            return False
        self.buf += chunk
        while b"\n" in self.buf:
            raw, self.buf = self.buf.split(b"\n", 1)
            self.line(raw.decode("utf-8", "replace"))
        return True

    def finish(self):
        """Reap the process and count what it said."""
        res, proc = self.res, self.proc
        if self.buf and not self.timed_out:
            self.line(self.buf.decode("utf-8", "replace"))
        if self.timed_out:
            kill_group(proc)
        else:
            try:
                proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:   # closed stdout but did not exit
                kill_group(proc)
        proc.stdout.close()
        _running.discard(self)
        rc = proc.returncode
        res.seconds = time.monotonic() - self.t0
        if self.totals:
            res.passed, res.failed, res.skipped = self.totals
        if self.timed_out:
            res.failed += 1
            res.note = "timed out after %ds" % self.timeout
            self.lines.append("FAIL %s: %s (killed)" % (res.name, res.note))
        elif self.totals is None and rc == EXIT_SKIP:
            res.skipped = 1
            res.note = "skipped (exit 77)"
        elif self.totals is None:
            res.failed = 1
            res.note = "crashed: exit %s and no closing 'N passed, M failed, K skipped' line" % rc
            self.lines.append("FAIL %s: %s" % (res.name, res.note))
        elif rc != 0 and res.failed == 0:
            res.failed = 1
            res.note = "exit %s although it counted no failure" % rc
            self.lines.append("FAIL %s: %s" % (res.name, res.note))


def run_jobs(jobs, slots):
    """Run JOBS, at most SLOTS at a time (a job marked alone by itself),
    each file's output printed whole when it ends; their Results in order."""
    waiting = list(jobs)
    running = []
    while waiting or running:
        while waiting and len(running) < slots and \
                not (running and (waiting[0].alone or any(j.alone for j in running))):
            job = waiting.pop(0)
            emit("# started %s" % job.res.name)
            if job.start():
                running.append(job)
            else:
                emit("### %s" % job.res.name)
                for line in job.lines:
                    emit(line)
        if not running:
            continue
        now = time.monotonic()
        for job in running:
            if now >= job.deadline:
                job.timed_out = True
        fds = dict((j.proc.stdout.fileno(), j) for j in running if not j.timed_out)
        ready = []
        if fds:
            wait = max(0.0, min(j.deadline for j in running) - now)
            ready, _, _ = select.select(list(fds), [], [], min(wait, 1.0))
        done = [j for j in running if j.timed_out]
        for fd in ready:
            if not fds[fd].read():
                done.append(fds[fd])
        for job in done:
            job.finish()
            running.remove(job)
            emit("### %s (%.1fs)" % (job.res.name, job.res.seconds))
            for line in job.lines:
                emit(line)
    return [j.res for j in jobs]


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
    for job in list(_running):
        kill_group(job.proc)
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
    ap.add_argument("--jobs", type=int,
                    help="test files run at once (default: 2, or 1 on one CPU)")
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
    jobs, first = [], []
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
            jobs.append(Job(label, argv, env, timeout, runs_alone(path)))
            if n == 0:
                first.append(jobs[-1])
    slots = args.jobs or min(2, os.cpu_count() or 1)
    emit("# %d files at a time (those that must run alone, by themselves)" % slots)
    results = run_jobs(jobs, slots)
    if not args.files:
        results.insert(len(first), check_interpreters([j.res for j in first]))

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
