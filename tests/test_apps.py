#!/usr/bin/env python3
"""Application heaps (issue 16): C buffers sized as sys.getsizeof sizes
them, and what pycensus cannot decode followed and listed as `opaque`.

    python3 tests/test_apps.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]

tests/targets/app_target.py computes its own census while quiescent (GC
disabled): per type, the count and sum of sys.getsizeof of gc.get_objects()
("gc") and of the transitive closure of gc.get_referents() ("types").

On every supported interpreter (its stdlib only):

  * "buffers": in both scopes (the reachable one less "hidden"), count and
    bytes equal the target's for array.array, mmap.mmap, _struct.Struct,
    collections.deque, _io.BytesIO, _io.StringIO, _io.BufferedReader and
    _io.BufferedWriter, each of which the target holds.
  * "opaque": no lock, ast singleton, array.array or mmap.mmap is listed
    (they hold no reference), every listed type is one of OPAQUE_OK (C
    types whose traverse pycensus does not decode and which do hold
    references, followed by a scan of their memory), and the objects held
    only by them are counted: reachable counts within COUNT_BOUND of the
    closure.  The list is printed.
  * "gc scope": object counts and bytes equal the target's.
  * "type parameter names": the name of each typing.TypeVar, ParamSpec and
    TypeAliasType the target holds (and 3.15's alias qualnames) is counted
    visible where the closure has it (their traverse visits it from 3.13.10,
    3.14.1 and 3.15 on, gh-140000), hidden elsewhere (from PYCENSUS_DEBUG_DUMP).

On every supported interpreter, tests/targets/ctypes_target.py ("ctypes"):

  * "ctypes": per ctypes type (instances of ctypes classes: simple types,
    arrays, structures, unions, pointers, views from_buffer; the metatypes
    PyCArrayType, PyCStructType, ...; StgDict up to 3.12), count and bytes
    equal the target's in the gc scope and the reachable one (less
    "hidden").  The classes' sizes are their __sizeof__: StgDict's C
    buffers (3.8-3.12), StgInfo's (3.13+).

On Debian's python3.11 with python3-numpy, -pandas, -django and
-sqlalchemy ("app", SKIP without them): the target adds numpy arrays of
every flavour and scalars, a pandas DataFrame of 100,000 rows, Django with
2,000 Users, SQLAlchemy, asyncio, json and decimal.

  * "numpy.ndarray": count and bytes equal the closure's; each flavour
    (owning, view, strided, 0-d, object, structured and int8 dtype, Fortran
    order, empty, transposed, the subclasses matrix and recarray) sized as
    sys.getsizeof sizes it, from PYCENSUS_DEBUG_DUMP; numpy.matrix and
    numpy.recarray, and numpy's scalars of every fixed size (NP_SCALARS), as
    the closure.
  * "gc scope": counts exact, bytes within BYTES_BOUND, leaving out the
    types whose __sizeof__ is Python code (pandas' deep memory_usage, which
    no reader from outside can replay: their arrays are counted on their
    own).
  * "reachable": counts within COUNT_BOUND of the closure, bytes within
    BYTES_BOUND, the same types left out.
  * "opaque": printed, with no module, lock or ast singleton in it.
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
sys.dont_write_bytecode = True     # no tests/__pycache__
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import LabelReport as Report, TargetError, short, target_running  # noqa: E402

TARGET = os.path.join(HERE, "targets", "app_target.py")
CTYPES_TARGET = os.path.join(HERE, "targets", "ctypes_target.py")
DEBIAN = "/usr/bin/python3.11"
READY_TIMEOUT = 180
BUFFERS = ("array.array", "mmap.mmap", "_struct.Struct", "collections.deque", "_io.BytesIO",
           "_io.StringIO", "_io.BufferedReader", "_io.BufferedWriter")
# 3.8 names _struct.Struct "Struct"
ALIASES = {"_struct.Struct": ("_struct.Struct", "Struct")}
NEVER_OPAQUE = ("_thread.lock", "_thread.RLock", "array.array", "mmap.mmap")
# What a plain interpreter may still list: C types with references whose
# traverse is not mirrored (_io's differ between versions in what they
# visit), lives in a shared module (_struct, _json in pyenv builds), or is
# an extension module's m_traverse.  itertools.repeat, operator's getters,
# typing's TypeVar, ParamSpec and TypeAliasType are mirrored.
OPAQUE_OK = ("_io.StringIO", "_json.Scanner", "module", "_struct.Struct", "Struct")
NP_SCALARS = ("numpy.float64", "numpy.float32", "numpy.float128", "numpy.int8", "numpy.uint16",
              "numpy.int64", "numpy.complex64", "numpy.complex128", "numpy.bool_", "numpy.datetime64",
              "numpy.timedelta64")
COUNT_BOUND = 0.001
BYTES_BOUND = 0.01


def snapshot(pc, pid, scope, env=None):
    rc, out, err, secs = pc.run(["snapshot", "--scope", scope, pid], env=env, timeout=300)
    if rc != 0:
        return None, "exit %r: %s" % (rc, short(err))
    try:
        return json.loads(out), None
    except ValueError as e:
        return None, "bad JSON: %s" % e


def visible(snap):
    """type -> (count, bytes) less the hidden part."""
    hid = dict((t["type"], (t["count"], t["bytes"])) for t in snap.get("hidden", {}).get("types", []))
    out = {}
    for t in snap["types"]:
        h = hid.get(t["type"], (0, 0))
        out[t["type"]] = (t["count"] - h[0], t["bytes"] - h[1])
    return out


def rows_of(snap):
    return dict((t["type"], (t["count"], t["bytes"])) for t in snap["types"])


def want_of(truth_types, name):
    for alias in ALIASES.get(name, (name,)):
        if alias in truth_types:
            e = truth_types[alias]
            return alias, (e["count"], e["bytes"])
    return name, (0, 0)


def totals(got, want, leave_out):
    go = sum(c for n, (c, b) in got.items())
    wo = sum(e["count"] for e in want.values())
    gb = sum(b for n, (c, b) in got.items() if n not in leave_out)
    wb = sum(e["bytes"] for n, e in want.items() if n not in leave_out)
    return go, wo, gb, wb


def rel(a, b):
    return (a - b) / float(b) if b else 0.0


def top_diffs(got, want, n=6):
    rows = []
    for name in set(got) | set(want):
        g = got.get(name, (0, 0))
        w = want.get(name, {"count": 0, "bytes": 0})
        if g != (w["count"], w["bytes"]):
            rows.append((abs(g[1] - w["bytes"]), name, g, (w["count"], w["bytes"])))
    rows.sort(reverse=True)
    return ", ".join("%s %d/%d objects %d/%d bytes" % (r[1], r[2][0], r[3][0], r[2][1], r[3][1])
                     for r in rows[:n])


def opaque_list(snap):
    return [(o["type"], o["count"]) for o in snap.get("opaque", [])]


def check_names(rep, label, names, dump):
    """Each type parameter's name counted visible where the closure has it
    (its traverse visits it: 3.13.10+, 3.14.1+, 3.15), hidden elsewhere."""
    phases = {}
    with open(dump) as f:
        for line in f:
            parts = line.split(" ", 2)
            phases[parts[0]] = parts[1]
    bad = ["%s %s, counted %s" % (hexid, "in the closure" if inside else "not in the closure",
                                  {"0": "visible", "1": "hidden"}.get(phases.get(hexid), "nowhere"))
           for hexid, inside in names if phases.get(hexid) != ("0" if inside else "1")]
    if not names and label.startswith("pyenv-2."):
        rep.skip(label, "type parameter names", "no typing module in 2.7")
        return
    visible_n = sum(1 for _, inside in names if inside)
    rep.check(names and not bad, label, "type parameter names",
              "%d names of TypeVar, ParamSpec and TypeAliasType: %d visible as in the closure, %d hidden"
              % (len(names), visible_n, len(names) - visible_n),
              "; ".join(bad[:5]) or "the target holds none (premise)")


def check_plain(rep, pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], TARGET, workdir, label + "-plain")
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        gcs, err = snapshot(pc, target.pid, "gc")
        dump = os.path.join(workdir, label + "-plain.dump")
        reach, err2 = snapshot(pc, target.pid, "reachable", env=dict(os.environ, PYCENSUS_DEBUG_DUMP=dump))
        if gcs is None or reach is None:
            rep.fail(label, "snapshot", err or err2)
            return
        harness.censused(py["path"])
        why = target_running(target)
        if why:
            rep.fail(label, "target runs on", why)
        check_names(rep, label, truth["names"], dump)
        got_gc, got_r = rows_of(gcs), visible(reach)
        bad = []
        for name in BUFFERS:
            alias, want_r = want_of(truth["types"], name)
            if want_r[0] == 0:
                bad.append("the target holds no %s (premise)" % name)
                continue
            g = got_r.get(alias, (0, 0))
            if g != want_r:
                bad.append("reachable %s: %d objects %d bytes, target %d %d" % ((alias,) + g + want_r))
            _, want_g = want_of(truth["gc"], name)
            g = got_gc.get(alias, (0, 0))
            if g != want_g:
                bad.append("gc %s: %d objects %d bytes, target %d %d" % ((alias,) + g + want_g))
        rep.check(not bad, label, "buffers", "%s: count and bytes as the target's in both scopes"
                  % ", ".join(BUFFERS), "; ".join(bad))
        go, wo, gb, wb = totals(got_gc, truth["gc"], ())
        rep.check((go, gb) == (wo, wb), label, "gc scope",
                  "%d objects, %d bytes, as the target's" % (go, gb),
                  "%d objects %d bytes, target %d %d; %s" % (go, gb, wo, wb,
                                                            top_diffs(got_gc, truth["gc"])))
        opaque = opaque_list(reach)
        go, wo, gb, wb = totals(got_r, truth["types"], ())
        listed = ", ".join("%s x%d" % o for o in opaque) or "none"
        Report.note(label, "opaque: %s" % listed)
        Report.note(label, "reachable less hidden: %d objects (target %d, %+.3f%%), %d bytes "
                    "(target %d, %+.3f%%)" % (go, wo, 100 * rel(go, wo), gb, wb, 100 * rel(gb, wb)))
        bad = ["%s listed" % n for n, _ in opaque if n in NEVER_OPAQUE or n.startswith("ast.")]
        bad += ["%s listed, not expected" % n for n, _ in opaque
                if n not in OPAQUE_OK and n not in NEVER_OPAQUE and not n.startswith("ast.")]
        if abs(rel(go, wo)) > COUNT_BOUND:
            bad.append("reachable counts %d, the closure %d: %s" % (go, wo, top_diffs(got_r, truth["types"])))
        rep.check(not bad, label, "opaque", "%d types listed (%s); reachable counts %+.3f%% of the "
                  "closure" % (len(opaque), listed, 100 * rel(go, wo)), "; ".join(bad))
        status = target.quit()
        if status != 0:
            rep.fail(label, "target quits", "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


# --- ctypes (issue 16) ----------------------------------------------------------

# What the ctypes target must hold for the check to mean anything: classes
# of each flavour and instances of each.
CTYPES_PREMISE = ("_ctypes.PyCArrayType", "_ctypes.PyCStructType", "_ctypes.PyCSimpleType",
                  "_ctypes.PyCPointerType", "ctypes.c_int", "ctypes.c_char_p", "__main__.Point",
                  "__main__.Either")


def check_ctypes(rep, pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], CTYPES_TARGET, workdir, label + "-ctypes")
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        gcs, err = snapshot(pc, target.pid, "gc")
        reach, err2 = snapshot(pc, target.pid, "reachable")
        if gcs is None or reach is None:
            rep.fail(label, "ctypes", "snapshot: %s" % (err or err2))
            return
        harness.censused(py["path"])
        why = target_running(target)
        if why:
            rep.fail(label, "ctypes target runs on", why)
        names = truth["ctypes"]
        bad = ["the target holds no %s (premise)" % n for n in CTYPES_PREMISE
               if truth["gc"].get(n, {"count": 0})["count"] == 0]
        arrays = [n for n in names if "_Array_" in n]
        if len(arrays) < 10:
            bad.append("only %d ctypes array types (premise)" % len(arrays))
        for scope, got, want in (("gc", rows_of(gcs), truth["gc"]), ("reachable", visible(reach), truth["types"])):
            for n in names:
                w = want.get(n, {"count": 0, "bytes": 0})
                g = got.get(n, (0, 0))
                if g != (w["count"], w["bytes"]):
                    bad.append("%s %s: %d objects %d bytes, target %d %d" % (
                        scope, n, g[0], g[1], w["count"], w["bytes"]))
        objs = sum(truth["gc"].get(n, {"count": 0})["count"] for n in names)
        byts = sum(truth["gc"].get(n, {"bytes": 0})["bytes"] for n in names)
        rep.check(not bad, label, "ctypes", "%d ctypes types (%d objects, %d bytes in gc) as the "
                  "target's in both scopes" % (len(names), objs, byts), "; ".join(bad[:8]))
        status = target.quit()
        if status != 0:
            rep.fail(label, "ctypes target quits", "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "ctypes target", str(e))
    finally:
        target.kill()


def read_dump(path):
    sizes = {}
    with open(path) as f:
        for line in f:
            parts = line.split(" ", 3)
            if len(parts) == 4:
                sizes[parts[0]] = (int(parts[2]), parts[3].strip())
    return sizes


def check_numpy(rep, pc, py, workdir):
    """numpy's arrays and scalars alone (--numpy), on an interpreter that has
    numpy but not the app's other packages (Debian sid's: numpy 2.x)."""
    label = py["label"] + "-numpy"
    probe = subprocess.run([py["path"], "-E", "-s", "-c", "import numpy"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if probe != 0:
        rep.skip(label, "", "no numpy for this interpreter")
        return
    target = harness.TruthTarget(py["path"], TARGET, workdir, label, args=["--numpy"])
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        Report.note(label, "numpy %(numpy)s" % truth["app"])
        dump = os.path.join(workdir, label + ".dump")
        reach, err = snapshot(pc, target.pid, "reachable",
                              env=dict(os.environ, PYCENSUS_DEBUG_DUMP=dump))
        if reach is None:
            rep.fail(label, "snapshot", err)
            return
        harness.censused(py["path"])
        got_r = visible(reach)
        rep.check(not reach.get("warnings"), label, "no warnings", "none",
                  "%s" % reach.get("warnings"))
        want = truth["types"].get("numpy.ndarray", {"count": 0, "bytes": 0})
        g = got_r.get("numpy.ndarray", (0, 0))
        sizes = read_dump(dump)
        bad = []
        if g != (want["count"], want["bytes"]):
            bad.append("%d arrays %d bytes, the closure %d %d" % (g + (want["count"], want["bytes"])))
        for name, (hexid, size) in sorted(truth["flavours"].items()):
            s = sizes.get(hexid)
            if s is None or s[0] != size:
                bad.append("%s array: %s, sys.getsizeof %d" % (name, s, size))
        rep.check(not bad and truth["flavours"], label, "numpy.ndarray",
                  "%d arrays, %d bytes, as the closure; flavours %s each as sys.getsizeof" % (
                      g[0], g[1], ", ".join(sorted(truth["flavours"]))), "; ".join(bad))
        status = target.quit()
        if status != 0:
            rep.fail(label, "target quits", "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def check_app(rep, pc, workdir):
    label = "debian-3.11-app"
    if not os.access(DEBIAN, os.X_OK):
        rep.skip(label, "", "no %s" % DEBIAN)
        return
    probe = subprocess.run([DEBIAN, "-E", "-s", "-c", "import numpy, pandas, django, sqlalchemy"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
    if probe != 0:
        rep.skip(label, "", "python3-numpy, -pandas, -django or -sqlalchemy missing "
                 "(scripts/install-deps --test)")
        return
    target = harness.TruthTarget(DEBIAN, TARGET, workdir, "app", args=["--app"])
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        leave_out = set(truth["python_sizeof"])
        Report.note(label, "numpy %(numpy)s, pandas %(pandas)s, Django %(django)s, SQLAlchemy "
                    "%(sqlalchemy)s" % truth["app"])
        t0 = time.monotonic()
        gcs, err = snapshot(pc, target.pid, "gc")
        gsecs = time.monotonic() - t0
        dump = os.path.join(workdir, "app.dump")
        env = dict(os.environ, PYCENSUS_DEBUG_DUMP=dump)
        t0 = time.monotonic()
        reach, err2 = snapshot(pc, target.pid, "reachable", env=env)
        rsecs = time.monotonic() - t0
        if gcs is None or reach is None:
            rep.fail(label, "snapshot", err or err2)
            return
        harness.censused(DEBIAN)
        why = target_running(target)
        if why:
            rep.fail(label, "target runs on", why)
        got_gc, got_r = rows_of(gcs), visible(reach)
        # numpy.ndarray: the type's rows, then each flavour's size.
        want = truth["types"].get("numpy.ndarray", {"count": 0, "bytes": 0})
        g = got_r.get("numpy.ndarray", (0, 0))
        sizes = read_dump(dump)
        bad = []
        for sub in ("numpy.matrix", "numpy.recarray") + NP_SCALARS:
            w = truth["types"].get(sub, {"count": 0, "bytes": 0})
            if got_r.get(sub, (0, 0)) != (w["count"], w["bytes"]) or not w["count"]:
                bad.append("%s %s, the closure %d %d" % (sub, got_r.get(sub), w["count"], w["bytes"]))
        if want["count"] < 50:
            bad.append("the target holds only %d arrays (premise)" % want["count"])
        if g != (want["count"], want["bytes"]):
            bad.append("%d arrays %d bytes, the closure %d %d" % (g + (want["count"], want["bytes"])))
        for name, (hexid, size) in sorted(truth["flavours"].items()):
            s = sizes.get(hexid)
            if s is None or s[0] != size:
                bad.append("%s array: %s, sys.getsizeof %d" % (name, s, size))
        rep.check(not bad, label, "numpy.ndarray",
                  "%d arrays, %d bytes, as the closure; flavours %s each as sys.getsizeof; "
                  "matrix, recarray and %d scalar types as the closure" % (
                      g[0], g[1], ", ".join(sorted(truth["flavours"])), len(NP_SCALARS)), "; ".join(bad))
        go, wo, gb, wb = totals(got_gc, truth["gc"], leave_out)
        rep.check(go == wo and abs(rel(gb, wb)) <= BYTES_BOUND, label, "gc scope",
                  "%.1fs; %d objects as the target's; %d bytes, target %d (%+.3f%%), leaving out %s"
                  % (gsecs, go, gb, wb, 100 * rel(gb, wb), ", ".join(sorted(leave_out))),
                  "%d objects %d bytes, target %d %d (%+.3f%%): %s" % (
                      go, gb, wo, wb, 100 * rel(gb, wb), top_diffs(got_gc, truth["gc"])))
        go, wo, gb, wb = totals(got_r, truth["types"], leave_out)
        rep.check(abs(rel(go, wo)) <= COUNT_BOUND and abs(rel(gb, wb)) <= BYTES_BOUND, label,
                  "reachable", "%.1fs; less hidden: %d objects, closure %d (%+.3f%%); %d bytes, "
                  "closure %d (%+.3f%%)" % (rsecs, go, wo, 100 * rel(go, wo), gb, wb, 100 * rel(gb, wb)),
                  "%d objects, closure %d (%+.3f%%); %d bytes, closure %d (%+.3f%%): %s" % (
                      go, wo, 100 * rel(go, wo), gb, wb, 100 * rel(gb, wb),
                      top_diffs(got_r, truth["types"])))
        opaque = opaque_list(reach)
        Report.note(label, "opaque (%d types, %d objects): %s" % (
            len(opaque), sum(n for _, n in opaque), ", ".join("%s x%d" % o for o in opaque)))
        bad = [n for n, _ in opaque if n in NEVER_OPAQUE or n.startswith("ast.")]
        rep.check(not bad, label, "opaque", "%d types; no lock, ast singleton, array or mmap"
                  % len(opaque), "listed: %s" % ", ".join(bad))
        status = target.quit()
        if status != 0:
            rep.fail(label, "target quits", "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--quick", action="store_true", help="accepted; the same checks")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = Report()
    path = os.path.abspath(args.pycensus)
    workdir = tempfile.mkdtemp(prefix="pycensus-apps-")
    t0 = time.monotonic()
    try:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            rep.fail("setup", "pycensus", "no executable at %s (build it, or --pycensus)" % path)
        else:
            pc = harness.Pycensus(path, timeout=300)
            for py in pythons.discover():
                if args.only and args.only not in py["label"]:
                    continue
                if not py["supported"] or py["skip_reason"]:
                    rep.skip(py["label"], "", py["skip_reason"])
                    continue
                try:
                    check_plain(rep, pc, py, workdir)
                except Exception as e:          # keep going with the others
                    rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
                try:
                    check_ctypes(rep, pc, py, workdir)
                except Exception as e:
                    rep.fail(py["label"], "ctypes harness", "%s: %s" % (type(e).__name__, e))
                if py.get("root"):      # Debian sid's numpy (2.x) without pandas or Django
                    try:
                        check_numpy(rep, pc, py, workdir)
                    except Exception as e:
                        rep.fail(py["label"], "numpy harness", "%s: %s" % (type(e).__name__, e))
            if not args.only or args.only in "debian-3.11-app":
                check_app(rep, pc, workdir)
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
