"""What the test files share: reporting, target processes, cleanup, running
pycensus, reading thread states.

    import harness        # after sys.path.insert(0, HERE), like pythons.py

Each test file prints one PASS / FAIL / SKIP line per check and ends with
"N passed, M failed, K skipped" (Report.summary), the line tests/run.py
reads.  Every process started through here is registered (track) and killed
by cleanup(), which each file calls on its way out.
"""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time

import pythons

# pycensus's exit codes (include/error.h).
EXIT_FAILED, EXIT_USAGE, EXIT_NOPROC, EXIT_NOTPY, EXIT_PERM, EXIT_NODEBUG, EXIT_INPUT = \
    1, 2, 3, 4, 5, 6, 7
PONG_TIMEOUT = 5
STOPPED = "tT"             # /proc State letters of a stopped or traced thread
# What the watch and leak tests take for a sanitizer report on stderr.
SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:")
# Interpreters to run single-interpreter tests under, most wanted first.
PREFER = [(3, 12), (3, 11), (3, 13), (3, 10), (3, 9), (3, 8)]


# --- reporting -------------------------------------------------------------

class Report:
    """Counts and prints "STATUS NAME: DETAIL" lines ("STATUS NAME" when
    DETAIL is empty, unless STATUS is in ALWAYS_COLON).  PREFIX goes before
    every NAME; ONLY limits wanted() to names containing it."""

    def __init__(self, prefix="", always_colon=(), only=None):
        self.passed = self.failed = self.skipped = 0
        self.prefix = prefix + " " if prefix else ""
        self.always_colon = always_colon
        self.only = only

    def emit(self, status, name, detail=""):
        if status == "PASS":
            self.passed += 1
        elif status == "FAIL":
            self.failed += 1
        else:
            self.skipped += 1
        head = "%s %s%s" % (status, self.prefix, name)
        print("%s: %s" % (head, detail) if detail or status in self.always_colon else head,
              flush=True)

    def ok(self, name, detail=""):
        self.emit("PASS", name, detail)

    def fail(self, name, detail=""):
        self.emit("FAIL", name, detail)

    def skip(self, name, detail=""):
        self.emit("SKIP", name, detail)

    def check(self, cond, name, detail_fail, detail_ok=""):
        if cond:
            self.ok(name, detail_ok)
        else:
            self.fail(name, detail_fail)
        return bool(cond)

    def wanted(self, name):
        return not self.only or self.only in name

    def summary(self):
        """The closing line; the exit status."""
        print("%d passed, %d failed, %d skipped" % (self.passed, self.failed, self.skipped),
              flush=True)
        return 1 if self.failed else 0


class LabelReport(Report):
    """Lines "STATUS LABEL CHECK: DETAIL": one LABEL (an interpreter) for
    many checks."""

    @staticmethod
    def _name(label, check):
        return "%s %s" % (label, check) if check else label

    def ok(self, label, check, detail=""):
        self.emit("PASS", self._name(label, check), detail)

    def fail(self, label, check, detail=""):
        self.emit("FAIL", self._name(label, check), detail)

    def skip(self, label, check, detail=""):
        self.emit("SKIP", self._name(label, check), detail)

    def check(self, cond, label, check, detail_ok, detail_fail):
        if cond:
            self.ok(label, check, detail_ok)
        else:
            self.fail(label, check, detail_fail)
        return cond

    @staticmethod
    def note(label, text):
        print("# %s %s" % (label, text), flush=True)


def short(text, n=300):
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n] + "..."


def one_line(err, n=300):
    """Error if stderr is not exactly one non-empty line, else None."""
    lines = err.strip("\n").split("\n") if err.strip() else []
    if len(lines) != 1 or not lines[0].strip():
        return "stderr has %d lines, want 1: %r" % (len(lines), short(err, n))
    return None


def parse_json(out, n=300):
    """(dict, None) or (None, why)."""
    try:
        obj = json.loads(out)
    except ValueError as e:
        return None, "output is not JSON (%s): %s" % (e, short(out, n))
    if not isinstance(obj, dict):
        return None, "output is not a JSON object"
    return obj, None


def exit_on_signals():
    """Make SIGTERM/SIGHUP exit through sys.exit, so that the caller's
    finally (cleanup) still runs."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))


# --- child processes -----------------------------------------------------------

_children = []             # (Popen, kill its process group, wait), for cleanup()


def track(proc, group=False, wait=10):
    """Have cleanup() kill PROC (and its process group if GROUP)."""
    _children.append((proc, group, wait))
    return proc


def kill_proc(proc, group=False, wait=10):
    """SIGKILL PROC, or with GROUP its whole process group (also after the
    leader exited: forked children left over); then reap it."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        elif proc.poll() is None:
            proc.kill()
    except OSError:
        pass
    try:
        proc.wait(wait)
    except subprocess.TimeoutExpired:
        pass


def kill_tree(p):
    kill_proc(p, group=True, wait=5)


def start(argv, **kw):
    """Popen in a session of its own, killed with its group by cleanup()."""
    return track(subprocess.Popen(argv, start_new_session=True, **kw), group=True, wait=5)


def cleanup():
    """Kill every tracked process, newest first."""
    while _children:
        kill_proc(*_children.pop())


def communicate(p, timeout):
    """(exit code or None if it had to be killed after TIMEOUT, stdout, stderr)."""
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        kill_proc(p)
        out, err = p.communicate()
        return None, out, err


def read_line(p, timeout):
    """One line of P's stdout, or None after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = p.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            c = os.read(fd, 1)
            if not c:
                return None
            if c == b"\n":
                return buf.decode()
            buf += c
    return None


# --- targets -----------------------------------------------------------------

class TargetError(Exception):
    pass


class Target:
    """A Python target (python -E -s ARGS) talked to over pipes: prints
    "ready", answers "ping" with "pong"; other lines it prints are skipped
    while waiting for those.  CPU pins it to one CPU; GROUP starts it in a
    process group of its own (for targets that fork), killed whole."""

    def __init__(self, python, args, workdir, name, cpu=None, group=False, env=None):
        self.name = name
        self.group = group
        self._stderr = open(os.path.join(workdir, name + ".stderr"), "w+")
        pre = None
        if cpu is not None:
            def pre():
                os.sched_setaffinity(0, {cpu})
        self.proc = subprocess.Popen(
            [python, "-E", "-s"] + list(args), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._stderr, cwd=workdir, env=env,
            preexec_fn=pre, start_new_session=group)
        track(self.proc, group)
        self._buf = b""

    @property
    def pid(self):
        return self.proc.pid

    def readline(self, timeout):
        """One stdout line without its newline, or None on timeout/EOF;
        TIMEOUT 0 looks once."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode("utf-8", "replace").strip()

    def stderr_text(self):
        try:
            self._stderr.seek(0)
            return self._stderr.read().strip()
        except ValueError:          # closed by kill()
            return ""

    def wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            line = self.readline(max(0.0, deadline - time.monotonic()))
            if line == "ready":
                return
            if line is None:
                raise TargetError("%s did not print ready (exit %r): %s" % (
                    self.name, self.proc.poll(), short(self.stderr_text()[-500:])))

    def send(self, text):
        try:
            self.proc.stdin.write(text.encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except OSError:
            return False

    def ping(self, timeout=PONG_TIMEOUT):
        """Seconds until "pong", or None."""
        t0 = time.monotonic()
        if not self.send("ping"):
            return None
        while True:
            line = self.readline(max(0.0, timeout - (time.monotonic() - t0)))
            if line is None:
                return None
            if line == "pong":
                return time.monotonic() - t0

    def quit(self):
        """Exit status after "quit", or None if it had to be killed."""
        try:
            self.proc.stdin.write(b"quit\n")
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            kill_proc(self.proc)
            return None

    def kill(self):
        kill_proc(self.proc, self.group)
        if not self._stderr.closed:
            self._stderr.close()


class TruthTarget(Target):
    """A target script (census_target.py, opaque_target.py) given NAME.json
    as its first argument: it writes its ground truth there, then prints
    "ready" as its first line and "pong" as the line after each ping, and
    nothing else: any other line is a failure.  TAIL: how much of its stderr
    a failure to start shows."""

    def __init__(self, python, script, workdir, name, args=(), env=None, tail=500):
        self.truth_path = os.path.join(workdir, name + ".json")
        Target.__init__(self, python, [script, self.truth_path] + list(args), workdir, name,
                        env=env)
        self.tail = tail
        self.truth = None

    def wait_ready(self, timeout):
        line = self.readline(timeout)
        if line != "ready":
            raise TargetError("target did not print ready (got %r, exit %r): %s" % (
                line, self.proc.poll(), self.stderr_text()[-self.tail:]))
        with open(self.truth_path, encoding="utf-8") as f:
            self.truth = json.load(f)

    def ping(self, timeout=PONG_TIMEOUT):
        """Seconds until "pong", or None."""
        t0 = time.monotonic()
        if not self.send("ping"):
            return None
        if self.readline(timeout) != "pong":
            return None
        return time.monotonic() - t0


# --- thread states ---------------------------------------------------------------

def proc_status(path):
    """The fields of a /proc/.../status file as {name: value}, None if unreadable."""
    try:
        with open(path) as f:
            return dict(l.split(":", 1) for l in f if ":" in l)
    except OSError:
        return None


def thread_states(pid):
    """{tid: state letter} of every thread, {} if the process is gone."""
    states = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return states
    for tid in tids:
        st = proc_status("/proc/%d/task/%s/status" % (pid, tid))
        if st and "State" in st:
            states[int(tid)] = st["State"].split()[0]
    return states


def stopped_threads(pid):
    return sorted(t for t, s in thread_states(pid).items() if s in STOPPED)


def wait_unstopped(pid, limit, step=0.01):
    """(seconds until no thread is stopped, []) or (None, stopped tids) after
    LIMIT seconds; (None, None) if the process is gone."""
    t0 = time.monotonic()
    while True:
        states = thread_states(pid)
        if not states:
            return None, None
        stopped = sorted(t for t, s in states.items() if s in STOPPED)
        if not stopped:
            return time.monotonic() - t0, []
        if time.monotonic() - t0 >= limit:
            return None, stopped
        time.sleep(step)


def process_state(pid):
    """(State letter, TracerPid) from /proc/PID/status, or (None, None)."""
    st = proc_status("/proc/%d/status" % pid)
    try:
        return st["State"].split()[0], int(st["TracerPid"])
    except (TypeError, KeyError, ValueError):
        return None, None


def still_stopped(pid, settle=1.0):
    """Threads left stopped after a short settle time; [] if none, None if
    the process is gone."""
    return wait_unstopped(pid, settle, 0.05)[1]


def target_running(target):
    """None if the target runs on (no thread stopped after a settle time,
    answers ping), else why not."""
    stopped = still_stopped(target.pid)
    if stopped is None:
        return "target %d is gone (exit %r)" % (target.pid, target.proc.poll())
    if stopped:
        return "target threads still stopped: %s" % stopped
    if target.ping() is None:
        return "target did not answer ping within %ds" % PONG_TIMEOUT
    return None


# --- running pycensus ----------------------------------------------------------------

class Pycensus:
    """The binary under test (PRIMARY) or an extra build of it, run to
    completion or killed after a timeout."""

    def __init__(self, path, primary=True, timeout=60):
        self.path = path
        self.label = os.path.basename(path)
        self.primary = primary
        self.timeout = timeout

    def run(self, args, timeout=None, env=None, prefix=()):
        """(exit code or None on timeout, stdout, stderr, seconds)."""
        t0 = time.monotonic()
        p = track(subprocess.Popen(list(prefix) + [self.path] + [str(a) for a in args],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env=env))
        rc, out, err = communicate(p, self.timeout if timeout is None else timeout)
        return (rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                time.monotonic() - t0)


class SanitizerPycensus:
    """Runs pycensus with text output and keeps what looks like a sanitizer
    report (SANITIZER) from its stderr, for one check at the end."""

    def __init__(self, path, timeout=60):
        self.path = path
        self.timeout = timeout
        self.sanitizer = []

    def note(self, err):
        if SANITIZER.search(err or ""):
            self.sanitizer.append(short(err, 600))

    def run(self, args, timeout=None, env=None):
        """(exit code, stdout, stderr); subprocess.TimeoutExpired on timeout."""
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run([self.path] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=self.timeout if timeout is None else timeout,
                           universal_newlines=True, env=e)
        self.note(r.stderr)
        return r.returncode, r.stdout, r.stderr

    def start(self, args, env=None, stdout=subprocess.PIPE):
        e = dict(os.environ)
        e.update(env or {})
        return start([self.path] + args, stdout=stdout, stderr=subprocess.PIPE, env=e,
                     universal_newlines=True)

    def finish(self, p, timeout=10):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(p)
            out, err = p.communicate()
            return None, out, err
        self.note(err)
        return p.returncode, out, err


# --- interpreters ------------------------------------------------------------------

CENSUSED_MARK = "# censused: "


def censused(python):
    """Say that a census of a target running under PYTHON succeeded (exit 0,
    a census of that PID).  tests/run.py collects these lines and fails a
    run in which a supported interpreter with debug info got none."""
    print("%s%s" % (CENSUSED_MARK, os.path.realpath(python)), flush=True)


def usable_pythons(only=None):
    """The interpreters the census checks can run against (supported, with
    debug info), whose label contains ONLY if given."""
    return [p for p in pythons.discover() if p["supported"] and not p["skip_reason"]
            and (not only or only in p["label"])]


def by_preference(entries, pyenv_first=False):
    """ENTRIES sorted by PREFER (stable), pyenv builds before others of the
    same minor version with PYENV_FIRST."""
    def key(e):
        rank = PREFER.index(tuple(e["version"][:2])) if tuple(e["version"][:2]) in PREFER \
            else 99
        return (rank, not e["label"].startswith("pyenv-")) if pyenv_first else rank
    return sorted(entries, key=key)


def preferred_and_sid(entries, pyenv_first=False):
    """For the files that run on one interpreter: the preferred one
    (by_preference), then every one only a chroot reaches (Debian sid's,
    "root" set): 3.14 and 3.15 exist only there, and their object header
    and GC state are their own."""
    ordered = by_preference(entries, pyenv_first)
    return ordered[:1] + [e for e in ordered[1:] if e.get("root")]


def clock_seconds(census):
    """Seconds since midnight of a census's "time" stamp."""
    t = census["time"]
    return int(t[11:13]) * 3600 + int(t[14:16]) * 60 + float(t[17:23])
