#!/usr/bin/env python3
"""End-to-end tests of `pycensus snapshot` / `info` against real interpreters.

    python3 tests/test_snapshot.py [--pycensus ./pycensus] [--only SUBSTR]
                                   [--no-errors]

For every interpreter tests/pythons.py discovers, start
tests/targets/census_target.py (which writes its own ground truth and blocks),
census it from outside and compare: every type's count and bytes exactly
(the target is quiescent; see AFTER_COUNT and SIZEOF_NOT_MODELLED for the
only allowances, both named).  Then the error cases, once.  One line per
check: PASS / FAIL / SKIP; the last line is "N passed, M failed, K skipped";
the exit status is 1 if anything failed.

Every process started here is killed on the way out, whatever happens.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no tests/__pycache__
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import (EXIT_FAILED, EXIT_USAGE, EXIT_NOPROC, EXIT_NOTPY,  # noqa: E402
                     EXIT_PERM, EXIT_NODEBUG, TargetError, kill_proc,
                     one_line, short, target_running, thread_states)

TARGET = os.path.join(HERE, "targets", "census_target.py")
READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120
# Objects the target makes after its own count and that an outside census
# of the gc scope can still see while it blocks: {type: count}.  None today:
# census_target.py makes everything after gc.get_objects() returns and frees
# it before "ready" (the truth dict, the JSON text, the file objects of
# write_atomically); what its main() holds afterwards (the bytes of the last
# line read, the os.write() results) is not GC-tracked; and the cyclic GC is
# disabled, so nothing moves or is collected.  "recount" confirms it from
# inside.  Every type's count and bytes must therefore be exact.
AFTER_COUNT = {}
# Types with a __sizeof__ of their own outside builtins (the truth's
# "own_sizeof") whose extra bytes pycensus does not model, so their bytes
# would be the formula's, not sys.getsizeof()'s, as the BRIEF allows.  None
# is left among those the target holds: every type's bytes must be exact,
# including the own_sizeof types pycensus models (deque, OrderedDict,
# buffered files, array.array, _struct.Struct with its format codes).
SIZEOF_NOT_MODELLED = set()


# --- processes -----------------------------------------------------------------

def Target(python, workdir, name, args=(), env=None):
    """census_target.py running under one interpreter, talked to over pipes."""
    return harness.TruthTarget(python, TARGET, workdir, name, args, env=env)


def utf8_problem(out):
    """run() decodes with "replace", so U+FFFD marks bytes that were not
    UTF-8: a message saying where, or None."""
    if "\ufffd" not in out:
        return None
    i = out.index("\ufffd")
    return "output is not valid UTF-8 near %r" % out[max(0, i - 60):i + 10]


# --- per-interpreter checks ------------------------------------------------------

def schema_errors(snap, pid, version):
    errs = []
    if snap.get("pycensus") != 1:
        errs.append("pycensus=%r" % snap.get("pycensus"))
    if snap.get("pid") != pid:
        errs.append("pid=%r want %d" % (snap.get("pid"), pid))
    if snap.get("scope") != "gc":
        errs.append("scope=%r" % snap.get("scope"))
    if "complete" in snap and snap["complete"] is not True:
        errs.append("complete=%r in stop mode" % snap["complete"])
    pyver = (snap.get("python") or {}).get("version")
    if not isinstance(pyver, str) or not pyver.startswith(version):
        errs.append("python.version=%r want %s" % (pyver, version))
    binary = (snap.get("python") or {}).get("binary")
    if not isinstance(binary, str) or not os.path.exists(binary):
        errs.append("python.binary=%r is not an existing file" % (binary,))
    types = snap.get("types")
    if not isinstance(types, list):
        return errs + ["types is not a list"]
    bad = [t for t in types if not (isinstance(t, dict) and isinstance(t.get("type"), str)
                                   and isinstance(t.get("count"), int) and t["count"] >= 0
                                   and isinstance(t.get("bytes"), int) and t["bytes"] >= 0)]
    if bad:
        return errs + ["%d malformed type entries, e.g. %r" % (len(bad), bad[0])]
    names = [t["type"] for t in types]
    if len(set(names)) != len(names):
        errs.append("duplicate type names")
    sizes = [t["bytes"] for t in types]
    if sizes != sorted(sizes, reverse=True):
        errs.append("types not sorted by bytes, largest first")
    totals = snap.get("totals") or {}
    want = {"objects": sum(t["count"] for t in types), "bytes": sum(sizes),
            "types": len(types)}
    for k, v in want.items():
        if totals.get(k) != v:
            errs.append("totals.%s=%r, types sum to %d" % (k, totals.get(k), v))
    return errs


def census_diffs(snap, truth):
    """{name: pycensus count - truth count} for names that differ."""
    got = dict((t["type"], t["count"]) for t in snap["types"])
    want = dict((n, e["count"]) for n, e in truth["types"].items())
    diffs = {}
    for name in set(got) | set(want):
        d = got.get(name, 0) - want.get(name, 0)
        if d:
            diffs[name] = d
    return diffs


def format_diffs(diffs, n=8):
    worst = sorted(diffs.items(), key=lambda kv: (-abs(kv[1]), kv[0]))[:n]
    return ", ".join("%s %+d" % kv for kv in worst)


def check_census(rep, label, snap, truth):
    """(a) counts and bytes of every type exact (less AFTER_COUNT), the
    test's own classes listed on their own."""
    got = dict((t["type"], t) for t in snap["types"])
    want = truth["types"]
    diffs = census_diffs(snap, truth)
    for name, n in AFTER_COUNT.items():
        if diffs.get(name) == n:
            del diffs[name]
    total_truth = truth["totals"]["objects"]
    total_got = sum(t["count"] for t in snap["types"])
    classes = truth["classes"]
    class_errs = ["%s %s want %d" % (c, got[c]["count"] if c in got else "missing",
                                     want[c]["count"])
                  for c in classes
                  if c not in got or got[c]["count"] != want[c]["count"]]
    detail = "%d objects (truth %d) in %d types, classes %s" % (
        total_got, total_truth, len(want), "exact" if not class_errs else "WRONG: " + "; ".join(class_errs))
    if diffs:
        detail += "; %d types differ: %s" % (len(diffs), format_diffs(diffs))
    rep.check(not class_errs and not diffs, label, "gc census", detail, detail)

    # BRIEF: bytes equal sys.getsizeof() for every builtin type, and for
    # other types the formula, which is sys.getsizeof() unless the type has
    # a __sizeof__ of its own outside builtins (truth "own_sizeof"): only
    # those of SIZEOF_NOT_MODELLED are left out, and named.  Every other
    # type, whether or not its count agrees.
    own = set(truth.get("own_sizeof", [])) & SIZEOF_NOT_MODELLED
    errs = ["%s %s want %d" % (n, got[n]["bytes"] if n in got else "missing", want[n]["bytes"])
            for n in sorted(want) if n not in own and (n not in got or got[n]["bytes"] != want[n]["bytes"])]
    errs += ["%s %d bytes, not in the truth" % (n, got[n]["bytes"]) for n in sorted(got) if n not in want]
    ok_detail = "sys.getsizeof sums exact for %d types" % (len(want) - len(own & set(want)))
    if own:
        ok_detail += "; not compared (own __sizeof__, not modelled): %s" % ", ".join(
            "%s %s vs %s" % (n, got[n]["bytes"] if n in got else "-", want[n]["bytes"])
            for n in sorted(own) if n in want)
    rep.check(not errs, label, "bytes of every type", ok_detail, "; ".join(errs[:10]))

    for kind, check in (("plain", "class bytes"),
                        ("builtin-subclass", "subclass bytes")):
        names = [c for c in classes if truth["class_kinds"][c] == kind]
        errs = ["%s %s want %d" % (c, got[c]["bytes"] if c in got else "missing",
                                   want[c]["bytes"])
                for c in names if c not in got or got[c]["bytes"] != want[c]["bytes"]]
        rep.check(not errs, label, check,
                  "sys.getsizeof sums exact for %s" % ", ".join(names), "; ".join(errs))


def check_supported(rep, pc, py, workdir):
    label = py["label"]
    target = Target(py["path"], workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        pid = target.pid

        # (a) the census
        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", pid])
        snap = None
        if rc != 0:
            rep.fail(label, "snapshot", "exit %r after %.1fs: %s" % (rc, secs, short(err)))
        else:
            try:
                snap = json.loads(out)
            except ValueError as e:
                rep.fail(label, "snapshot", "output is not JSON (%s): %s" % (e, short(out)))
        if snap is not None and not isinstance(snap, dict):
            rep.fail(label, "snapshot", "output is not a JSON object: %s" % short(out))
            snap = None
        if snap is not None:
            errs = schema_errors(snap, pid, truth["version"])
            if utf8_problem(out):
                errs.insert(0, utf8_problem(out))
            if not errs:
                harness.censused(py["path"])
            rep.check(not errs, label, "snapshot schema",
                      "%.2fs, %d types, pause_us %s" % (secs, len(snap.get("types") or []),
                                                       snap.get("pause_us")),
                      "; ".join(errs))
            if any("malformed" in e or "not a list" in e for e in errs):
                snap = None       # nothing to compare
            else:
                check_census(rep, label, snap, truth)
                # A target that did not change since the pre-pass is
                # counted from what one stop read: the path checked above.
                rep.check(snap.get("stops") == 1, label, "one stop",
                          "stops 1, pause_us %s" % snap.get("pause_us"),
                          "stops=%r, want 1 (quiescent target)" % snap.get("stops"))

        # (b) the target runs on
        why = target_running(target)
        rep.check(why is None, label, "target runs after census",
                  "%d threads running, pong" % len(thread_states(pid)), why)

        # (c) table and --top
        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", "--format", "table", pid])
        why = target_running(target)
        utf8 = utf8_problem(out) is None
        ok = rc == 0 and out.strip() and "__main__.Leaky" in out and utf8 and not why
        rep.check(ok, label, "--format table", "%d lines" % len(out.splitlines()),
                  "exit %r, %d bytes of output, Leaky %s, valid UTF-8 %s; stderr: %s%s" % (
                      rc, len(out), "__main__.Leaky" in out, utf8, short(err),
                      "; " + why if why else ""))

        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", "--top", "5", pid])
        errs = []
        top = None
        if rc != 0:
            errs.append("exit %r: %s" % (rc, short(err)))
        else:
            try:
                top = json.loads(out)
            except ValueError as e:
                errs.append("output is not JSON (%s): %s" % (e, short(out)))
        if utf8_problem(out):
            errs.append(utf8_problem(out))
        if top is not None and not isinstance(top, dict):
            errs.append("output is not a JSON object")
            top = None
        if top is not None:
            types = top.get("types") or []
            if len(types) > 5:
                errs.append("%d types" % len(types))
            if [t.get("bytes") for t in types] != sorted((t.get("bytes") for t in types),
                                                         reverse=True):
                errs.append("not sorted by bytes")
            if snap is not None:
                if top.get("totals") != snap.get("totals"):
                    errs.append("totals %r, full snapshot %r" % (top.get("totals"),
                                                                 snap.get("totals")))
                # The kept types are the largest ones (ties may differ).
                full = sorted((t["bytes"] for t in snap["types"]), reverse=True)
                if types and len(full) > len(types) and \
                        min(t.get("bytes", 0) for t in types) < full[len(types)]:
                    errs.append("kept types are not the largest")
        why = target_running(target)
        if why:
            errs.append(why)
        rep.check(not errs, label, "--top 5",
                  "%d types, totals unchanged" % len(top.get("types") or []) if top else "",
                  "; ".join(errs))

        # (d) info
        check_info(rep, pc, label, target)

        # (e) the heap changes between the pre-pass and the stop
        check_changed(rep, pc, label, target, workdir)

        status = target.quit()
        rep.check(status == 0, label, "target quits", "exit 0",
                  "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def check_changed(rep, pc, label, target, workdir):
    """The target builds 20000 new objects (new pages) after pycensus's
    pre-pass over the running target (PYCENSUS_TEST_PREPASS_WAIT) and before
    the stop: the copy taken in the first stop lacks them, so pycensus must
    stop a second time, and still count exactly what the target counts."""
    hook = tempfile.mkdtemp(prefix="prepass-", dir=workdir)
    env = dict(os.environ, PYCENSUS_TEST_PREPASS_WAIT=hook)
    p = harness.start([pc.path, "snapshot", "--scope", "gc", str(target.pid)],
                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, env=env)
    errs = []
    deadline = time.monotonic() + CENSUS_TIMEOUT
    while not os.path.exists(os.path.join(hook, "prepass")) and p.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    grown = False
    if os.path.exists(os.path.join(hook, "prepass")):
        if target.send("grow 20000") and target.readline(READY_TIMEOUT) == "grown":
            grown = True
            with open(target.truth_path, encoding="utf-8") as f:
                target.truth = json.load(f)
        else:
            errs.append("target did not grow: %s" % short(target.stderr_text()))
    else:
        errs.append("pycensus never reached the end of its pre-pass")
    open(os.path.join(hook, "go"), "w").close()
    rc, out, err = harness.communicate(p, CENSUS_TIMEOUT)
    out = out.decode("utf-8", "replace")
    snap = None
    if rc != 0:
        errs.append("exit %r: %s" % (rc, short(err.decode("utf-8", "replace"))))
    else:
        snap, why = harness.parse_json(out)
        if why:
            errs.append(why)
    if isinstance(snap, dict):
        if snap.get("stops") != 2:
            errs.append("stops=%r, want 2 (the first copy lacked the new pages)"
                        % snap.get("stops"))
        if snap.get("complete") is not True:
            errs.append("complete=%r" % snap.get("complete"))
        fresh = dict((t["type"], t["count"]) for t in snap.get("types") or []).get(
            "__main__.Fresh")
        if grown and fresh != 20000:
            errs.append("__main__.Fresh count %r, want 20000" % (fresh,))
    why = target_running(target)
    if why:
        errs.append(why)
    rep.check(not errs, label, "changed after pre-pass",
              "stops 2, pause_us %s, __main__.Fresh 20000" % (
                  snap.get("pause_us") if isinstance(snap, dict) else None),
              "; ".join(errs))
    if grown and isinstance(snap, dict) and isinstance(snap.get("types"), list):
        check_census(rep, label + " grown", snap, target.truth)


def _is_address(v):
    if isinstance(v, int):
        return v > 0
    if isinstance(v, str):
        try:
            return int(v, 0) > 0
        except ValueError:
            return False
    return False


def check_info(rep, pc, label, target):
    rc, out, err, secs = pc.run(["info", target.pid])
    errs = []
    info = None
    if rc != 0:
        errs.append("exit %r: %s" % (rc, short(err)))
    else:
        try:
            info = json.loads(out)
        except ValueError as e:
            errs.append("output is not JSON (%s): %s" % (e, short(out)))
    if utf8_problem(out):
        errs.append(utf8_problem(out))
    if isinstance(info, dict):
        if info.get("pid") != target.pid:
            errs.append("pid=%r" % info.get("pid"))
        py = info.get("python")
        if not isinstance(py, dict):
            errs.append("no python object")
        else:
            for k in ("version", "binary", "debuginfo"):
                if not py.get(k):
                    errs.append("python.%s missing" % k)
            binary = py.get("binary")
            if binary and (not isinstance(binary, str) or not os.path.exists(binary)):
                errs.append("python.binary=%r is not an existing file" % (binary,))
            if not str(py.get("version", "")).startswith(target.truth["version"]):
                errs.append("python.version=%r want %s" % (py.get("version"),
                                                          target.truth["version"]))
        if not _is_address(info.get("runtime")):
            errs.append("runtime=%r is not an address" % info.get("runtime"))
        interps = info.get("interpreters")
        if interps is None or (isinstance(interps, (list, int)) and
                               (len(interps) if isinstance(interps, list) else interps) < 1):
            errs.append("interpreters=%r" % (interps,))
        threads = info.get("threads")
        n = len(threads) if isinstance(threads, list) else threads
        if not isinstance(n, int) or n < 2:
            errs.append("threads=%r, want >= 2" % (threads,))
    elif info is not None:
        errs.append("output is not a JSON object")
    why = target_running(target)
    if why:
        errs.append(why)
    rep.check(not errs, label, "info", "%.2fs, keys %s" % (
        secs, ",".join(sorted(info)) if isinstance(info, dict) else ""), "; ".join(errs))


def check_unsupported(rep, pc, py, workdir):
    """(e) 2.7 and free-threaded builds: exit 4, one stderr line saying
    "unsupported" (or "free-threaded")."""
    label = py["label"]
    target = Target(py["path"], workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        rc, out, err, secs = pc.run(["snapshot", target.pid])
        errs = []
        if rc != EXIT_NOTPY:
            errs.append("exit %r, want %d" % (rc, EXIT_NOTPY))
        bad = one_line(err, 200)
        if bad:
            errs.append(bad)
        elif py.get("free_threaded") and "free-threaded" not in err:
            errs.append("stderr does not say free-threaded: %r" % short(err))
        elif not py.get("free_threaded") and "unsupported" not in err.lower():
            errs.append("stderr does not say unsupported: %r" % short(err))
        why = target_running(target)
        if why:
            errs.append(why)
        if errs:
            rep.fail(label, "unsupported version", "; ".join(errs))
        else:
            rep.skip(label, "", "%s %s (pycensus exit 4 as expected)" % (
                "free-threaded build" if py.get("free_threaded") else "unsupported version",
                py["full_version"]))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


# --- error cases ------------------------------------------------------------------

def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while pid > 300:
        if not os.path.exists("/proc/%d" % pid):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return pid
            except PermissionError:
                pass
        pid -= 1
    raise RuntimeError("no free pid found")


def expect_exit(rep, name, want, rc, err, extra=()):
    """Common shape: exit code, exactly one stderr line, plus extra errors."""
    errs = []
    if rc != want:
        errs.append("exit %r, want %d" % (rc, want))
    bad = one_line(err, 200)
    if bad:
        errs.append(bad)
    errs.extend(e for e in extra if e)
    rep.check(not errs, "errors", name, "exit %d: %s" % (want, short(err, 160)),
              "; ".join(errs))


def pick_python(pys, minor=(3, 12)):
    """A usable supported interpreter, preferring pyenv 3.12."""
    usable = [p for p in pys if p["supported"] and not p["skip_reason"]]
    for p in usable:
        if p["version"][:2] == minor and p["label"].startswith("pyenv-"):
            return p
    return usable[0] if usable else None


def error_cases(rep, pc, pys, workdir):
    # 2: usage
    for args in (["snapshot"], ["bogus"]):
        rc, out, err, _ = pc.run(args, timeout=30)
        expect_exit(rep, "usage (%s)" % " ".join(args), EXIT_USAGE, rc, err)

    # 3: no such process
    pid = free_pid()
    rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", pid], timeout=60)
    expect_exit(rep, "no such process", EXIT_NOPROC, rc, err)

    # 4: not a Python process
    sleeper = subprocess.Popen(["sleep", "60"])
    harness.track(sleeper)
    try:
        time.sleep(0.1)
        rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", sleeper.pid], timeout=60)
        stopped = harness.still_stopped(sleeper.pid)
        expect_exit(rep, "not python", EXIT_NOTPY, rc, err, [
            "sleep is gone" if stopped is None else
            ("sleep left stopped: %s" % stopped if stopped else None)])
    finally:
        kill_proc(sleeper)

    py = pick_python(pys)
    if py is None:
        for name in ("permission denied", "debug info missing", "target exits"):
            rep.skip("errors", name, "no usable supported interpreter")
        return

    # 5: permission denied
    if os.geteuid() != 0:
        rep.skip("errors", "permission denied", "not root: cannot drop to user nobody")
    elif not shutil.which("setpriv"):
        rep.skip("errors", "permission denied", "setpriv not installed")
    else:
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        rc, _, err, _ = pc.run(["--version"], timeout=30, prefix=nobody)
        if rc in (126, 127):
            rep.skip("errors", "permission denied",
                     "user nobody cannot execute %s: %s" % (pc.path, short(err)))
        else:
            target = Target(py["path"], workdir, "perm-" + py["label"])
            try:
                target.wait_ready(READY_TIMEOUT)
                rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", target.pid],
                                         timeout=60, prefix=nobody)
                hint = None
                if "ptrace_scope" not in err and "CAP_SYS_PTRACE" not in err:
                    hint = "no hint naming ptrace_scope or CAP_SYS_PTRACE"
                expect_exit(rep, "permission denied", EXIT_PERM, rc, err,
                            [hint, target_running(target)])
            except TargetError as e:
                rep.fail("errors", "permission denied", str(e))
            finally:
                target.kill()

    # 6: debug info missing
    check_nodebug(rep, pc, pys, workdir)

    # 1: the target dies while stopped
    target = Target(py["path"], workdir, "stall-" + py["label"])
    try:
        target.wait_ready(READY_TIMEOUT)
        env = dict(os.environ, PYCENSUS_TEST_STALL_MS="2000")
        proc = subprocess.Popen([pc.path, "snapshot", "--scope", "gc", str(target.pid)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        harness.track(proc)
        # Kill it once pycensus has it stopped (at least 0.5s in), so the
        # census, not the attach, is what fails.
        time.sleep(0.5)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None and \
                not any(s in "tT" for s in thread_states(target.pid).values()):
            time.sleep(0.02)
        was_stopped = any(s in "tT" for s in thread_states(target.pid).values())
        os.kill(target.pid, signal.SIGKILL)
        try:
            out, err = proc.communicate(timeout=60)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            kill_proc(proc)
            rc, err = None, b""
        expect_exit(rep, "target exits during census", EXIT_FAILED, rc,
                    err.decode("utf-8", "replace"),
                    [None if was_stopped else "target was never seen stopped"])
    except TargetError as e:
        rep.fail("errors", "target exits during census", str(e))
    finally:
        target.kill()


def file_offset(path, symbol):
    """The file offset of SYMBOL's code in the ELF at PATH (.dynsym's
    value through its PT_LOAD), or None."""
    out = subprocess.run(["readelf", "-W", "--dyn-syms", "-l", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    value = None
    loads = []
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 8 and w[0].endswith(":") and w[7].split("@")[0] == symbol and w[6] != "UND":
            value = int(w[1], 16)
        if w and w[0] == "LOAD":
            loads.append((int(w[1], 16), int(w[2], 16), int(w[4], 16)))
    for off, vaddr, filesz in loads:
        if value is not None and vaddr <= value < vaddr + filesz:
            return value - vaddr + off
    return None


def check_nodebug(rep, pc, pys, workdir):
    """6: pyenv 3.6 run against a copy of its libpython without DWARF or
    .symtab whose PyInterpreterState_Head() (which CPython itself never
    calls) is made to return NULL.  3.6 keeps its interpreters' list in a
    static (interp_head): without symbols pycensus takes the data word that
    points to an interpreter, and two do (autoInterpreterState too); the
    accessor's code is what says which is the head.  Without it, pycensus
    cannot tell, so it refuses, saying to install debug information
    (tests/test_stripped.py reads the unpatched copy)."""
    name = "debug info missing"
    py = None
    for p in pys:
        if p["supported"] and p["version"][:2] == (3, 6) and p["label"].startswith("pyenv-") \
                and p["elf"] and "libpython" in os.path.basename(p["elf"]):
            py = p
            break
    if py is None:
        rep.skip("errors", name, "no pyenv 3.6 with a shared libpython")
        return
    if not shutil.which("objcopy"):
        rep.skip("errors", name, "objcopy not installed")
        return
    libdir = tempfile.mkdtemp(prefix="nodebug-", dir=workdir)
    lib = os.path.join(libdir, os.path.basename(py["elf"]))
    shutil.copy2(py["elf"], lib)
    subprocess.run(["objcopy", "--strip-all", "--remove-section=.gnu_debuglink", lib],
                   check=True)
    at = file_offset(lib, "PyInterpreterState_Head")
    if at is None:
        rep.fail("errors", name, "no PyInterpreterState_Head in %s's .dynsym" % lib)
        return
    with open(lib, "r+b") as f:
        f.seek(at)
        f.write(b"\x31\xc0\xc3")     # xor eax, eax; ret
    if pythons.debuginfo_problem(lib) is None:
        rep.skip("errors", name, "DWARF for %s is still findable (build-id debug file "
                 "installed?)" % lib)
        return
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    target = Target(py["path"], workdir, "nodebug-" + py["label"], env=env)
    try:
        target.wait_ready(READY_TIMEOUT)
        with open("/proc/%d/maps" % target.pid) as f:
            maps = f.read()
        if lib not in maps:
            rep.fail("errors", name, "target did not load %s (RPATH instead of RUNPATH?)" % lib)
            return
        rc, out, err, _ = pc.run(["snapshot", "--scope", "reachable", target.pid], timeout=60)
        expect_exit(rep, name, EXIT_NODEBUG, rc, err, [
            target_running(target),
            None if "debug information" in err else "the message does not say to install debug information",
            None if "interp_head" in err else "the message does not name interp_head"])
    except TargetError as e:
        rep.fail("errors", name, str(e))
    finally:
        target.kill()


# --- main ------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--no-errors", action="store_true", help="skip the error cases")
    args = ap.parse_args()

    harness.exit_on_signals()     # a SIGTERM/SIGHUP must still run the finally below

    rep = harness.LabelReport()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=CENSUS_TIMEOUT)
    workdir = tempfile.mkdtemp(prefix="pycensus-test-")
    t0 = time.monotonic()
    try:
        if not (os.path.isfile(pc.path) and os.access(pc.path, os.X_OK)):
            rep.fail("setup", "pycensus", "no executable at %s (build it, or --pycensus)"
                     % pc.path)
        else:
            pys = pythons.discover()
            for py in pys:
                if args.only and args.only not in py["label"]:
                    continue
                try:
                    if not py["supported"]:
                        check_unsupported(rep, pc, py, workdir)
                    elif py["skip_reason"]:
                        rep.skip(py["label"], "", py["skip_reason"])
                    else:
                        check_supported(rep, pc, py, workdir)
                except Exception as e:          # keep going with the others
                    rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
            if not args.no_errors:
                try:
                    error_cases(rep, pc, pys, workdir)
                except Exception as e:
                    rep.fail("errors", "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
