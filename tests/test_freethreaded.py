#!/usr/bin/env python3
"""Free-threaded CPython (--disable-gil) refused, never misread.

    python3 tests/test_freethreaded.py [--pycensus ./pycensus]

A free-threaded build has no GC lists and another object header (ob_tid,
split refcounts): pycensus must exit 4 with one stderr line naming
free-threading, and leave the target running.

- Real build: the free-threaded CPython 3.14 scripts/ft-python builds from
  Debian sid's python3.14 source (tests/pythons.ft_pythons: "ft-3.14" with
  its DWARF, "ft-3.14-stripped" a --strip-all copy, where the refusal comes
  from _Py_DebugOffsets.free_threaded).  A target with a few threads and
  some objects; snapshot (both scopes), info, why, dump and watch each exit
  4 with exactly one stderr line naming free-threading, nothing on stdout,
  no dump file, and the target is left running (no thread stopped, answers
  ping).  The build takes minutes, so this file never builds it: SKIP
  saying so when it is absent.
- The record's flag alone (real GIL builds 3.13-3.15, each a copy of its
  _PyRuntime ELF with _Py_DebugOffsets.free_threaded set to 1 in the file,
  which CPython itself never reads): snapshot and info exit 4 naming the
  record, with the build's DWARF and on a --strip-all copy, before any
  table or DWARF layout is trusted.
- Order of the reasons (any GIL interpreter): a layout source that has
  PyObject.ob_tid and lacks a fact pycensus needs must still be refused as
  free-threaded, not as "lacks X": a real free-threaded build's structs
  differ, and what it lacks is a consequence (a synthetic table of the
  target's own facts, through the test hook).
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402
import pythons  # noqa: E402
import test_layout  # noqa: E402
from harness import EXIT_NOTPY, TargetError, short  # noqa: E402

rep = harness.LabelReport()
THREADS = 4

# Threads parked on an event, some objects; the premise line says what the
# interpreter itself reports: Py_GIL_DISABLED, the GIL at run time, threads.
TARGET = r'''
import sys, sysconfig, threading
ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
gil = getattr(sys, "_is_gil_enabled", lambda: True)()
class Node(object):
    def __init__(self, i):
        self.i = i
        self.name = "n%%d" %% i
        self.kids = [i] * 3
keep = [Node(i) for i in range(5000)]
table = {i: str(i) for i in range(2000)}
stop = threading.Event()
def work(n):
    mine = [Node(n)] * 100
    while not stop.wait(0.05):
        pass
ts = [threading.Thread(target=work, args=(i,)) for i in range(%d)]
for t in ts:
    t.start()
print("premise %%d %%d %%d" %% (ft, gil, threading.active_count()), flush=True)
print("ready", flush=True)
for line in sys.stdin:
    line = line.strip()
    if line == "ping":
        print("pong", flush=True)
    elif line == "quit":
        break
stop.set()
''' % THREADS


def commands(pid, workdir, label):
    dump = os.path.join(workdir, label + ".heapsnapshot")
    out = os.path.join(workdir, label + "-watch.jsonl")
    return [
        ("snapshot gc", ["snapshot", "--scope", "gc", pid], None),
        ("snapshot reachable", ["snapshot", "--scope", "reachable", pid], None),
        ("info", ["info", pid], None),
        ("why", ["why", pid, "Node"], None),
        ("dump", ["dump", "--output", dump, pid], dump),
        ("watch", ["watch", "--count", "2", "--interval", "200ms", pid], None),
        ("watch --output", ["watch", "--count", "1", "--output", out, pid], out),
    ]


def start_target(py, workdir, label):
    """The target and its premise (free-threaded, GIL on, threads)."""
    script = os.path.join(workdir, "ft_target.py")
    with open(script, "w") as f:
        f.write(TARGET)
    target = harness.Target(py, [script], workdir, label)
    premise = None
    deadline = time.monotonic() + 60
    while True:
        line = target.readline(max(0.0, deadline - time.monotonic()))
        if line is None:
            raise TargetError("%s did not print ready (exit %r): %s" % (
                label, target.proc.poll(), short(target.stderr_text()[-500:])))
        if line.startswith("premise "):
            premise = [int(x) for x in line.split()[1:]]
        if line == "ready":
            return target, premise


def check_real(pc, py, workdir):
    label = os.path.basename(os.path.dirname(py))
    label = "ft-3.14" + ("-stripped" if label == "stripped" else "")
    target = None
    try:
        target, premise = start_target(py, workdir, label)
        ft, gil, nthreads = premise
        tasks = len(harness.thread_states(target.pid))
        if not (ft == 1 and gil == 0 and nthreads == THREADS + 1 and tasks >= THREADS + 1):
            rep.fail(label, "premise", "Py_GIL_DISABLED %d, GIL enabled %d, %d threads (%d tasks); "
                     "want a free-threaded target, GIL off, %d threads" % (
                         ft, gil, nthreads, tasks, THREADS + 1))
            return
        rep.ok(label, "premise", "Py_GIL_DISABLED=1, sys._is_gil_enabled() False, %d threads" % nthreads)
        for name, args, made in commands(target.pid, workdir, label):
            rc, out, err, secs = pc.run(args)
            errs = []
            if rc != EXIT_NOTPY:
                errs.append("exit %r, want %d" % (rc, EXIT_NOTPY))
            bad = harness.one_line(err, 300)
            if bad:
                errs.append(bad)
            elif "free-threaded" not in err:
                errs.append("stderr does not name free-threading: %r" % short(err))
            if out.strip():
                errs.append("stdout has %d bytes" % len(out))
            if made and os.path.exists(made) and os.path.getsize(made):
                errs.append("%s written (%d bytes)" % (os.path.basename(made), os.path.getsize(made)))
            state, tracer = harness.process_state(target.pid)
            why = harness.target_running(target)
            if why:
                errs.append(why)
            elif state in harness.STOPPED or tracer:
                errs.append("target state %s, tracer %s" % (state, tracer))
            rep.check(not errs, label, name, "exit 4 in %.2fs, target state %s: %s" % (
                secs, state, short(err, 200)), "; ".join(errs))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        if target is not None:
            target.quit()
            target.kill()


def check_order(pc, workdir):
    """ob_tid plus a withheld fact: refused as free-threaded."""
    usable = harness.usable_pythons()
    if not usable:
        rep.skip("synthetic", "", "no supported interpreter with debug information")
        return
    # The free-threaded build's own minor version if at hand, else the newest.
    py = max(usable, key=lambda p: (tuple(p["version"][:2]) == (3, 14), p["version"]))
    label = py["label"]
    target = None
    try:
        target, _ = start_target(py["path"], workdir, label)
        info, rc, err = test_layout.run_json(pc, ["info", target.pid])
        if info is None:
            rep.fail(label, "info", "exit %r: %s" % (rc, short(err)))
            return
        have = dict((f["fact"], f["value"]) for f in info["layout"]["facts"])
        if have.get("PyTypeObject.tp_name") is None or have.get("PyObject.ob_tid") is not None:
            rep.fail(label, "premise", "the DWARF facts lack PyTypeObject.tp_name or have ob_tid")
            return
        keep = [f for f in info["layout"]["facts"]
                if f["fact"] not in ("PyObject.ob_tid", "PyTypeObject.tp_name")]
        cut = json.loads(json.dumps(info))
        cut["layout"]["facts"] = keep + [{"fact": "PyObject.ob_tid", "value": None}]
        path = os.path.join(workdir, label + "-notid.json")
        with open(path, "w") as f:
            json.dump(cut, f)
        # The premise: without ob_tid the withheld fact is what is named.
        rc, out, err, _ = pc.run(["snapshot", target.pid], env=test_layout.env_with(path))
        if not (rc == EXIT_NOTPY and "tp_name" in err):
            rep.fail(label, "premise", "a table without tp_name: exit %r, %s" % (rc, short(err)))
            return
        cut["layout"]["facts"] = keep + [{"fact": "PyObject.ob_tid", "value": 0}]
        path = os.path.join(workdir, label + "-tid.json")
        with open(path, "w") as f:
            json.dump(cut, f)
        for scope in ("gc", "reachable"):
            rc, out, err, _ = pc.run(["snapshot", "--scope", scope, target.pid], env=test_layout.env_with(path))
            ok = rc == EXIT_NOTPY and not harness.one_line(err) and "free-threaded" in err and not out.strip()
            why = harness.target_running(target)
            rep.check(ok and not why, label, "ob_tid before a missing fact (synthetic table, %s)" % scope,
                      "exit 4: %s" % short(err, 200), "exit %r: %s%s" % (rc, short(err), "; " + why if why else ""))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        if target is not None:
            target.quit()
            target.kill()


def section(path, name):
    """(file offset, size) of section NAME in ELF PATH, or None."""
    out = subprocess.run(["readelf", "-SW", path], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    for line in out.splitlines():
        if "] " + name + " " in line:
            f = line.split("]", 1)[1].split()
            return int(f[3], 16), int(f[4], 16)
    return None


def flagged_copy(py, workdir, how):
    """A copy of PY's _PyRuntime ELF (stripped HOW: "all", or None: whole,
    its DWARF in it or found by build-id) whose _Py_DebugOffsets record says
    free_threaded = 1 and nothing else changed: (wrapper, copy) or a
    reason it cannot be made.  CPython itself never reads the record, so
    the copy runs as the GIL build it is."""
    import test_stripped  # noqa: E402  (late: it imports the whole suite)
    wrapper, copy = test_stripped.stripped_copy(py, how or "all", workdir)
    if not how:
        # Its wrapper, but the file whole: DWARF, build-id, debuglink.
        shutil.copyfile(os.path.realpath(py["elf"]), copy)
    sec = section(copy, ".PyRuntime")
    if sec is None:
        return None, "%s has no .PyRuntime section" % copy
    with open(copy, "r+b") as f:
        f.seek(sec[0])
        head = f.read(24)
        if head[:8] != b"xdebugpy" or head[16:24] != b"\0" * 8:
            return None, "%s's .PyRuntime does not start with a default build's record: %r" % (copy, head)
        f.seek(sec[0] + 16)
        f.write(struct.pack("<Q", 1))
    return (wrapper, copy), None


def check_flag(pc, workdir):
    """The record's free_threaded flag alone refuses, before any table or
    DWARF is trusted: real GIL builds (pyenv 3.13's libpython, sid's
    3.14/3.15), their copy's record flagged, with and without DWARF."""
    done = set()
    for py in harness.usable_pythons():
        v = tuple(py["version"][:2])
        if v < (3, 13) or v in done or not py["elf"]:
            continue
        done.add(v)
        for how in ("all", None):
            label = "%s-flagged%s" % (py["label"], "-strip-all" if how else "")
            made, why = flagged_copy(py, workdir, how)
            if why:
                rep.fail(label, "premise", why)
                continue
            wrapper, copy = made
            target = None
            try:
                target, premise = start_target(wrapper, workdir, label)
                with open("/proc/%d/maps" % target.pid) as f:
                    if copy not in f.read():
                        rep.fail(label, "premise", "the target did not load %s" % copy)
                        continue
                if premise[0] != 0:
                    rep.fail(label, "premise", "Py_GIL_DISABLED %d: want a GIL build" % premise[0])
                    continue
                for name, args in (("snapshot", ["snapshot", target.pid]), ("info", ["info", target.pid])):
                    rc, out, err, _ = pc.run(args)
                    ok = rc == EXIT_NOTPY and not harness.one_line(err) and "free-threaded" in err \
                        and "_Py_DebugOffsets" in err and not out.strip()
                    why = harness.target_running(target)
                    rep.check(ok and not why, label, "%s refused by the record's flag" % name,
                              "exit 4: %s" % short(err, 160),
                              "exit %r: %s%s" % (rc, short(err), "; " + why if why else ""))
            except TargetError as e:
                rep.fail(label, "target", str(e))
            finally:
                if target is not None:
                    target.quit()
                    target.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    pc = harness.Pycensus(os.path.abspath(args.pycensus))
    harness.exit_on_signals()
    workdir = tempfile.mkdtemp(prefix="pycensus-ft-")
    try:
        check_order(pc, workdir)
        check_flag(pc, workdir)
        found = pythons.ft_pythons()
        if not found:
            rep.skip("ft-3.14", "", "no free-threaded build at %s: scripts/ft-python builds it "
                     "(minutes; never run by make check)" % pythons.ft_dir())
        for py in found:
            check_real(pc, py, workdir)
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
