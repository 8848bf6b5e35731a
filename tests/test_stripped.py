#!/usr/bin/env python3
"""pycensus on interpreters without debug information (issue 10).

    python3 tests/test_stripped.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]
                                   [--part local|sid|all]

(Debian sid's interpreters, --part sid, run from tests/test_stripped_sid.py,
a file of its own for tests/run.py's time per file.)

For every interpreter tests/pythons.py discovers, the ELF file that holds
_PyRuntime (libpython, or the executable of a static build) is copied twice:
`strip --strip-all` (no DWARF, no .symtab) and `strip --strip-debug`
(.symtab kept), both without build-id and debuglink, so no debug file can be
found for them.  The interpreter runs on the copy (LD_LIBRARY_PATH, or the
copied executable with PYTHONHOME) and:

  * where pycensus has offsets without DWARF (3.13-3.15: _Py_DebugOffsets
    plus the table compiled in from layout/X.Y.*.json): the gc census must be exact
    against gc.get_objects() (test_snapshot's check_census) and the
    reachable census must match the in-process gc.get_referents() closure
    (test_reachable's zoo, on the hardest copy: see below), and `why` on
    tests/targets/why_target.py must give test_why's exact paths (frame
    roots at the line each frame runs), the same checks the DWARF runs
    pass; without
    .symtab the traverse rules know each tp_traverse function by the type
    that sets it (its name, a Python class, a struct sequence) instead of
    its symbol; `info` says "offsets": "debug_offsets+table" and which
    table, and every layout fact it says came from debug_offsets has the
    value `info` gives from the same interpreter's DWARF (so a wrong offset
    in src/layout/debug_offsets.c's formats fails here);
  * elsewhere (no table yet for that version): exit 6 naming what to
    install, and the census checks SKIP saying so.

On a 3.13 shared build, _PyRuntime is also found by its _Py_DebugOffsets
cookie alone (.dynsym's symbol made STT_COMMON, the .PyRuntime section
renamed), and with a second copy of libpython dlopen()ed but never run,
with and without symbols: the gc census must come from the running one.

A third copy, "nosyms" (wants_nosyms: 2.7, 3.6, the oldest of 3.7+, each
static interpreter, each 3.13+), is --strip-all whose .dynsym
names none of the builtin types (PyType_Type, PyLong_Type... and
_PySet_Dummy made STT_COMMON: the dynamic linker still resolves them for
extension modules, pycensus does not take them) nor, on 3.13+, the runtime
(_PyRuntime hidden, .PyRuntime renamed): a binary that exports nothing.
pycensus finds the runtime by its cookie and the types from the runtime
(the builtins dict, then each kind's type by name as the census meets it);
the gc census exact, and the reachable zoo runs on this copy (a --strip-all
one, with its types hidden besides).

Debian sid's static python3.13, 3.14 and 3.15 (scripts/sid-root) run the
same way in a container (test_container's in_container.sh, CT_COPY=strip:
a --strip-all copy, the root's /usr/lib/debug hidden), censused from the
host from the tables generated from sid's -dbg (`make tables`); their
nosyms copies run in the main loop (scripts/sid-python).  The reachable zoo
runs once per interpreter, on the hardest copy it runs from: nosyms, else
--strip-all.  2.7 and 3.6 keep no runtime struct: without .symtab their
interpreters' list head (pystate.c's static interp_head) is the data word
that points to an interpreter and that the exported
PyInterpreterState_Head() reads (src/walk/interp_head.c), and a collection
in progress shows in the GC headers' gc_refs, not in the static
`collecting`.

Where a table declares the first patch release it describes (3.14.10's:
3.14.5, before which the incremental GC had other lists), the --strip-all
copy made to say it is the release before (its Py_Version and
_Py_DebugOffsets version patched in the file; CPython reads neither) is
refused, exit 6 in one line naming the table, that release and what
differs; at that release the table is taken.

Then, once, on the first interpreter with DWARF and a table: a deliberately wrong table given through
PYCENSUS_TEST_LAYOUT_TABLE is refused by the cross-check (exit 4, one line
naming the table and what did not fit), and the right one is accepted.

One line per check: PASS / FAIL / SKIP; the last line is "N passed, M
failed, K skipped".  Every process started here is killed on the way out.
"""

import argparse
import glob
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import pythons  # noqa: E402
import harness  # noqa: E402
import test_snapshot  # noqa: E402
import test_reachable  # noqa: E402
import test_why  # noqa: E402
import test_container  # noqa: E402
from harness import EXIT_NOTPY, EXIT_NODEBUG, TargetError, short, target_running  # noqa: E402

READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120
# Versions pycensus reads without DWARF (a layout table in layout/).
TABLES = os.path.join(os.path.dirname(HERE), "layout")
# Versions whose _Py_DebugOffsets pycensus reads (src/layout/debug_offsets.c).
DEBUG_OFFSETS = {(3, 13), (3, 14), (3, 15)}
# Versions whose runtime a cookie scan finds (3.13+).
DEBUG_OFFSETS_ANY = {(3, 13), (3, 14), (3, 15)}


def tables(version):
    """The layout tables for VERSION's minor: layout/X.Y.Z.json."""
    return sorted(glob.glob(os.path.join(TABLES, "%d.%d.*.json" % version[:2])))


def has_table(version):
    return bool(tables(version))


def sections(path):
    out = subprocess.run(["readelf", "-SW", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return set(w for line in out.splitlines() for w in line.split() if w.startswith("."))


def ask_prefix(python):
    return subprocess.run([python, "-c", "import sys; print(sys.prefix)"], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True, timeout=60).stdout.strip()


def stripped_copy(py, how, workdir):
    """(wrapper that runs PY on a copy of its _PyRuntime ELF stripped HOW,
    the copy's path) or raises."""
    d = tempfile.mkdtemp(prefix="%s-%s-" % (py["label"], how), dir=workdir)
    elf = os.path.realpath(py["elf"])
    static = os.path.realpath(py["path"]) == elf
    copy = os.path.join(d, os.path.basename(py["elf"] if not static else py["path"]))
    make_copy(elf, copy, how, py["version"])
    wrapper = os.path.join(d, "run-python")
    with open(wrapper, "w") as f:
        if py.get("root"):
            # Debian sid's: the copy runs inside the root (it needs sid's
            # libc), where /tmp is the host's.
            f.write('#!/bin/sh\nPYCENSUS_SID_PROGRAM=%s exec %s "$@"\n' % (copy, py["path"]))
        elif static:
            f.write('#!/bin/sh\nPYTHONHOME=%s exec %s "$@"\n' % (ask_prefix(py["path"]), copy))
        else:
            f.write('#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' % (d, py["path"]))
    os.chmod(wrapper, 0o755)
    return wrapper, copy


def wants_nosyms(py, done_one):
    """Whether PY gets a nosyms copy: each kind of binary once, not every
    version (the file's time): the oldest version that runs without
    .symtab by its runtime struct (3.7), every static interpreter
    (Debian's, sid's) and every 3.13+ (the runtime found by its cookie
    too); and 2.7 and 3.6, which have no runtime struct (their
    interpreter found by what it points to, the types then from it)."""
    v = tuple(py["version"][:2])
    if not has_table(py["version"]):
        return False
    if v <= (3, 6):
        return True
    static = os.path.realpath(py["path"]) == os.path.realpath(py["elf"]) or bool(py.get("root"))
    return not done_one or static or v in DEBUG_OFFSETS_ANY


def make_copy(elf, copy, how, version):
    """ELF stripped HOW into COPY.  "nosyms": --strip-all, and .dynsym
    names none of the builtin types (hide_symbols), nor, on 3.13+, the
    runtime (its .PyRuntime section renamed too): the runtime is found by
    its cookie, the types from the runtime (src/walk/builtin_types.c)."""
    cmd = ["objcopy", "--strip-" + ("all" if how == "nosyms" else how), "--remove-section",
           ".note.gnu.build-id", "--remove-section", ".gnu_debuglink"]
    no_runtime = how == "nosyms" and tuple(version[:2]) in DEBUG_OFFSETS_ANY
    if no_runtime:
        cmd += ["--rename-section", ".PyRuntime=.data.rt"]
    subprocess.run(cmd + [elf, copy], check=True)
    if how == "nosyms":
        hide_symbols(copy, lambda n: hidden_type_symbol(n) or (no_runtime and n == b"_PyRuntime"))
    os.chmod(copy, 0o755)


def visible_dynsyms(path):
    """(names of .dynsym's defined objects pycensus could take, names of
    the ones made STT_COMMON)."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    seen, hidden = set(), set()
    for line in out.splitlines():
        w = line.split()
        if len(w) >= 8 and w[0].endswith(":") and w[6] != "UND" and w[3] in ("OBJECT", "COMMON"):
            (hidden if w[3] == "COMMON" else seen).add(w[7].split("@")[0])
    return seen, hidden


def premise(rep, label, how, copy, original, version=None):
    """The copy has what `how` leaves and nothing a debug file is found by
    (a distribution build has no .symtab to keep)."""
    s = sections(copy)
    bad = [x for x in (".debug_info", ".note.gnu.build-id", ".gnu_debuglink") if x in s]
    if how in ("all", "nosyms") and ".symtab" in s:
        bad.append(".symtab")
    if how == "nosyms":
        seen, hidden = visible_dynsyms(copy)
        shown = sorted(n for n in seen if hidden_type_symbol(n.encode()))
        if shown or "PyType_Type" not in hidden:
            bad.append(".dynsym types %s (hidden: %d)" % (shown[:4], len(hidden)))
        if version and tuple(version[:2]) in DEBUG_OFFSETS_ANY and (".PyRuntime" in s or "_PyRuntime" in seen):
            bad.append("_PyRuntime named")
    if how == "debug" and ".symtab" not in s and ".symtab" in sections(original):
        bad.append("no .symtab")
    rep.check(not bad, label, "stripped copy", "%s: no DWARF, build-id or debuglink%s" % (
        os.path.basename(copy), ", .symtab kept" if how == "debug" else ", no .symtab" +
        (", .dynsym names no builtin type" if how == "nosyms" else "")),
        "%s still has %s" % (copy, ", ".join(bad)))
    return not bad, ".symtab" in s


def maps_copy(target, copy):
    with open("/proc/%d/maps" % target.pid) as f:
        return copy in f.read()


_dwarf_facts = {}


def dwarf_facts(pc, python, workdir, label):
    """{fact: value} of `info` on PYTHON (with DWARF: "offsets" "dwarf"),
    once per interpreter; raises TargetError when that does not hold."""
    if python not in _dwarf_facts:
        target = test_snapshot.Target(python, workdir, label + "-dwarf")
        try:
            target.wait_ready(READY_TIMEOUT)
            rc, out, err, _ = pc.run(["info", target.pid])
        finally:
            target.kill()
        info, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if info is None:
            raise TargetError("info on %s: %s" % (python, why))
        if (info.get("python") or {}).get("offsets") != "dwarf":
            raise TargetError("info on %s: offsets %r, not from DWARF" % (
                python, (info.get("python") or {}).get("offsets")))
        # only the facts DWARF itself gave: one the record filled in there
        # too would be compared with itself
        _dwarf_facts[python] = {f["fact"]: f["value"] for f in info["layout"]["facts"]
                                if f.get("from") == "dwarf"}
    return _dwarf_facts[python]


def check_record_facts(rep, pc, label, info, python, workdir):
    """Every fact INFO (of a copy without DWARF) took from _Py_DebugOffsets
    equals the DWARF's of PYTHON, the same build with its debug information."""
    try:
        dwarf = dwarf_facts(pc, python, workdir, label)
    except TargetError as e:
        rep.fail(label, "record facts", str(e))
        return
    rec = {f["fact"]: f["value"] for f in (info.get("layout") or {}).get("facts") or []
           if f.get("from") == "debug_offsets"}
    if not rec:
        rep.fail(label, "record facts", "no layout fact from debug_offsets")
        return
    bad = ["%s=%r (DWARF %s)" % (k, v, repr(dwarf[k]) if k in dwarf else "does not give it")
           for k, v in sorted(rec.items()) if k not in dwarf or dwarf[k] != v]
    rep.check(not bad, label, "record facts = DWARF", "%d facts from _Py_DebugOffsets equal the DWARF's" % len(rec),
              "; ".join(bad))


def check_collecting(rep, pc, py, label, copy, workdir):
    """2.7/3.6 without .symtab have no `collecting` flag to read: a
    collection in progress is seen in the GC headers' gc_refs
    (src/walk/gcwalk.c).  On a target that collects about half the time
    over a heap that does not change, every gc census must be complete and
    equal the count the target took outside a collection (within 3: the
    loop's own frame and floats), however many stops it took."""
    target = harness.Target(py["path"], [os.path.join(HERE, "targets", "gc_loop_target.py")],
                            workdir, label + "-gcloop")
    try:
        line = target.readline(READY_TIMEOUT)
        if not line or not line.startswith("ready "):
            rep.fail(label, "census during collections", "target: %r %s" % (line, short(target.stderr_text())))
            return
        if not maps_copy(target, copy):
            rep.fail(label, "census during collections", "did not load %s" % copy)
            return
        truth = int(line.split()[1])
        got, errs = [], []
        for _ in range(4):
            rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", target.pid])
            snap, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
            if why:
                errs.append(why)
                continue
            n = (snap.get("totals") or {}).get("objects")
            got.append("%s in %s stops" % (n, snap.get("stops")))
            if not snap.get("complete"):
                errs.append("incomplete: %s" % "; ".join(snap.get("warnings") or []))
            elif n is None or abs(n - truth) > 3:
                errs.append("%s objects, truth %d" % (n, truth))
        stopped = harness.still_stopped(target.pid)   # (it answers no ping: it loops)
        if stopped is None or stopped:
            errs.append("target gone" if stopped is None else "threads still stopped: %s" % stopped)
        rep.check(not errs, label, "census during collections", "truth %d: %s" % (truth, ", ".join(got)),
                  "; ".join(errs))
    except TargetError as e:
        rep.fail(label, "census during collections", str(e))
    finally:
        target.kill()


def check_gc(rep, pc, py, label, copy, workdir, also=None):
    """The gc census of PY (running COPY, and ALSO if given) exact; with
    py["dwarf"] (the same interpreter with DWARF), the record's facts
    against its DWARF."""
    target = test_snapshot.Target(py["path"], workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        for path in (copy, also):
            if path and not maps_copy(target, path):
                rep.fail(label, "target", "did not load %s" % path)
                return
        truth = target.truth
        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", target.pid])
        if rc != 0:
            rep.fail(label, "snapshot", "exit %r after %.1fs: %s" % (rc, secs, short(err)))
            return
        snap, why = harness.parse_json(out)
        if why:
            rep.fail(label, "snapshot", why)
            return
        errs = test_snapshot.schema_errors(snap, target.pid, truth["version"])
        # A container's binary is a path in its root (/proc/PID/root).
        binary = (snap.get("python") or {}).get("binary") or ""
        if os.path.exists("/proc/%d/root%s" % (target.pid, binary)):
            errs = [e for e in errs if not e.startswith("python.binary=")]
        rep.check(not errs, label, "snapshot schema", "%.2fs, %d types" % (
            secs, len(snap.get("types") or [])), "; ".join(errs))
        p = snap.get("python") or {}
        want = "debug_offsets+table" if py["version"][:2] in DEBUG_OFFSETS else "table"
        ok = p.get("offsets") == want and \
            "table %d.%d." % py["version"][:2] in (p.get("offsets_table") or "")
        rep.check(ok, label, "offsets provenance", "%s, %s" % (p.get("offsets"),
                                                               short(p.get("offsets_table"), 120)),
                  "offsets=%r offsets_table=%r" % (p.get("offsets"), p.get("offsets_table")))
        test_snapshot.check_census(rep, label, snap, truth)
        why = target_running(target)
        rep.check(why is None, label, "target runs after census", "pong", why)
        rc, out, err, _ = pc.run(["info", target.pid])
        info, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if info is not None:
            ip = info.get("python") or {}
            why = None if ip.get("offsets") == p.get("offsets") and \
                ip.get("offsets_table") == p.get("offsets_table") else \
                "info says %r/%r" % (ip.get("offsets"), ip.get("offsets_table"))
        rep.check(why is None, label, "info offsets", "same as snapshot", why)
        if info is not None and py.get("dwarf") and py["version"][:2] in DEBUG_OFFSETS:
            check_record_facts(rep, pc, label, info, py["dwarf"], workdir)
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def check_no_table(rep, pc, py, label, copy, workdir):
    target = test_snapshot.Target(py["path"], workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        if not maps_copy(target, copy):
            rep.fail(label, "target", "did not load %s" % copy)
            return
        rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", target.pid], timeout=60)
        lines = err.strip().splitlines()
        ok = rc == EXIT_NODEBUG and len(lines) == 1 and "no layout table" in err
        rep.check(ok, label, "exit 6 without a table", short(err, 200),
                  "exit %r, stderr %s" % (rc, short(err)))
        rep.skip(label, "census", "no layout table for %d.%d yet (layout/ has none): "
                 "exit 6 is what it does" % py["version"][:2])
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def first_patches(version):
    """[(table's patch, its first_patch, what differs before)] of VERSION's
    tables that declare the first patch release they describe."""
    out = []
    for path in tables(version):
        with open(path) as f:
            t = json.load(f)["table"]
        if t.get("first_patch"):
            out.append((t["patch"], t["first_patch"], t.get("before_first_patch", "")))
    return out


def elf_offset(path, vaddr):
    """The file offset of virtual address VADDR in ELF PATH, or None."""
    out = subprocess.run(["readelf", "-SW", path], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    for line in out.splitlines():
        if "]" not in line:
            continue
        f = line.split("]", 1)[1].split()
        if len(f) < 6 or f[1] in ("NOBITS", "NULL"):
            continue
        try:
            addr, off, size = int(f[2], 16), int(f[3], 16), int(f[4], 16)
        except ValueError:
            continue
        if addr and addr <= vaddr < addr + size:
            return off + vaddr - addr
    return None


def set_patch_release(copy, version, micro):
    """Make the ELF COPY of Python VERSION say it is patch release MICRO:
    Py_Version (.dynsym) and the _Py_DebugOffsets record's version, the
    two places pycensus reads it from.  CPython itself reads neither
    (sys.version_info is compiled in), so the copy runs as what it is.
    Returns None, or why it could not."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", copy], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    sym = [l.split() for l in out.splitlines() if l.split()[-1:] == ["Py_Version"]]
    at = elf_offset(copy, int(sym[0][1], 16)) if sym else None
    if at is None:
        return "no Py_Version in %s's .dynsym" % copy
    major, minor, real = version[:3]
    old = (major << 24) | (minor << 16) | (real << 8) | 0xF0
    new = (major << 24) | (minor << 16) | (micro << 8) | 0xF0
    rt = [l.split() for l in out.splitlines() if l.split()[-1:] == ["_PyRuntime"]]
    rt_at = elf_offset(copy, int(rt[0][1], 16)) if rt else None
    with open(copy, "r+b") as f:
        f.seek(at)
        if struct.unpack("<I", f.read(4))[0] != old:
            return "Py_Version of %s is not %#x" % (copy, old)
        f.seek(at)
        f.write(struct.pack("<I", new))
        if rt_at is not None:
            f.seek(rt_at)
            if f.read(16)[:8] == b"xdebugpy":
                f.seek(rt_at + 8)
                f.write(struct.pack("<Q", new))
    return None


def check_patch_range(rep, pc, py, label, workdir):
    """A table is never taken for a patch release before the first it
    describes (3.14.10's for 3.14.0-3.14.4, whose incremental GC has other
    lists): exit 6, one line naming the table, that first release and what
    differs.  No such build is at hand: a --strip-all copy of the real
    build made to say it is the release before (set_patch_release) is
    refused; one made to say it is that first release is taken."""
    ranges = first_patches(py["version"])
    if not ranges:
        return
    for patch, first, differs in ranges:
        micro = int(first.split(".")[2])
        for m, refused in ((micro - 1, True), (micro, False)):
            release = "%s.%d" % (first.rsplit(".", 1)[0], m)
            wrapper, copy = stripped_copy(py, "all", workdir)
            why = set_patch_release(copy, py["version"], m)
            if why:
                rep.fail(label, "as %s: premise" % release, why)
                continue
            target = test_snapshot.Target(wrapper, workdir, "%s-as-%s" % (label, release))
            try:
                target.wait_ready(READY_TIMEOUT)
                rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", target.pid])
                if refused:
                    lines = err.strip().splitlines()
                    ok = rc == EXIT_NODEBUG and len(lines) == 1 and not out.strip() and \
                        "table %s" % patch in err and first in err and "not %s" % release in err and \
                        (not differs or differs in err)
                    rep.check(ok, label, "a copy saying %s: table %s refused" % (release, patch),
                              short(err, 240), "exit %r, stderr %s" % (rc, short(err)))
                else:
                    snap, bad = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
                    rep.check(bad is None, label, "a copy saying %s: table %s taken" % (release, patch),
                              "exit 0", bad)
                why = target_running(target)
                rep.check(why is None, label, "target runs after (as %s)" % release, "pong", why)
            except TargetError as e:
                rep.fail(label, "target", str(e))
            finally:
                target.kill()


def check_wrong_table(rep, pc, py, workdir):
    """A doctored table is refused by the cross-check; the right one is not."""
    label = py["label"] + "-table"
    exact = os.path.join(TABLES, "%s.json" % py["full_version"])
    good = exact if os.path.exists(exact) else tables(py["version"])[0]
    with open(good) as f:
        table = json.load(f)
    bad = json.loads(json.dumps(table))
    for fact in bad["layout"]["facts"]:
        if fact["fact"] == "sizeof(PyDictObject)":
            fact["value"] += 8       # a dict 8 bytes larger: every dict mis-sized
    bad_path = os.path.join(workdir, "wrong-table.json")
    with open(bad_path, "w") as f:
        json.dump(bad, f)
    target = test_snapshot.Target(py["path"], workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        for path, want in ((bad_path, EXIT_NOTPY), (good, 0)):
            env = dict(os.environ, PYCENSUS_TEST_LAYOUT_TABLE=path)
            rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", target.pid], env=env)
            lines = err.strip().splitlines()
            if want:
                ok = rc == want and len(lines) == 1 and "dict" in err and path in err
                rep.check(ok, label, "wrong table refused", short(err, 200),
                          "exit %r, stderr %s" % (rc, short(err)))
            else:
                rep.check(rc == 0, label, "right table accepted", "exit 0",
                          "exit %r: %s" % (rc, short(err)))
        why = target_running(target)
        rep.check(why is None, label, "target runs after", "pong", why)
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def hide_runtime_symbol(path):
    """Make .dynsym's _PyRuntime STT_COMMON: the dynamic linker still
    resolves it (libpython's own relocations need it), pycensus's symbol
    lookup does not take it.  Returns how many entries changed."""
    return hide_symbols(path, lambda name: name == b"_PyRuntime")


def hidden_type_symbol(name):
    """The symbols a binary exporting nothing would not give pycensus: the
    builtin type objects (PyType_Type, _PyWeakref_RefType...) and the
    sets' dummy key."""
    return bool(re.match(rb"^_?Py\w*Type$", name)) or name == b"_PySet_Dummy"


def hide_symbols(path, hide):
    """Make .dynsym's objects whose name HIDE accepts STT_COMMON (see
    hide_runtime_symbol).  Returns how many entries changed."""
    with open(path, "rb") as f:
        b = bytearray(f.read())
    shoff, = struct.unpack_from("<Q", b, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", b, 0x3a)
    secs = [struct.unpack_from("<IIQQQQIIQQ", b, shoff + i * shentsize) for i in range(shnum)]
    dynsym = [x for x in secs if x[1] == 11]    # SHT_DYNSYM
    n = 0
    for sym in dynsym:
        strtab = secs[sym[6]][4]
        for off in range(sym[4], sym[4] + sym[5], 24):
            name, = struct.unpack_from("<I", b, off)
            end = b.index(b"\0", strtab + name)
            if hide(bytes(b[strtab + name:end])) and (b[off + 4] & 0xf) in (0, 1):
                b[off + 4] = (b[off + 4] & 0xf0) | 5
                n += 1
    with open(path, "wb") as f:
        f.write(b)
    return n


def check_cookie_scan(rep, pc, py, workdir):
    """3.13+ shared libpython: _PyRuntime found by the _Py_DebugOffsets
    cookie in the library's writable data when neither .dynsym (the symbol
    made STT_COMMON) nor a .PyRuntime section (renamed) names it; and, with
    a second copy of the library loaded by ctypes (mapped, never
    initialised, the cookie in it as well), with and without symbols: the
    census must come from the running one, exact."""
    elf = os.path.realpath(py["elf"])
    # a shared libpython only: a static build (Debian sid's) has no
    # library for LD_LIBRARY_PATH to swap
    if not os.path.basename(elf).startswith("libpython") or py["version"][:2] not in DEBUG_OFFSETS:
        return
    for hidden, second in ((True, False), (True, True), (False, True)):
        label = "%s-%s%s" % (py["label"], "cookie" if hidden else "symbols",
                             "-two-libpython" if second else "")
        d = tempfile.mkdtemp(prefix=label + "-", dir=workdir)
        lib = os.path.join(d, "a", os.path.basename(elf))
        os.makedirs(os.path.dirname(lib))
        cmd = ["objcopy", "--strip-all", "--remove-section", ".note.gnu.build-id",
               "--remove-section", ".gnu_debuglink"]
        if hidden:
            cmd += ["--rename-section", ".PyRuntime=.data.rt"]
        subprocess.run(cmd + [elf, lib], check=True)
        if hidden:
            n = hide_runtime_symbol(lib)
            s = sections(lib)
            rep.check(n == 1 and ".PyRuntime" not in s, label, "premise",
                      "no .PyRuntime section, .dynsym _PyRuntime hidden (STT_COMMON)",
                      "%d symbols changed, sections %s" % (n, sorted(s)))
        env = "LD_LIBRARY_PATH=%s" % os.path.dirname(lib)
        wrapper = os.path.join(d, "run-python")
        with open(wrapper, "w") as f:
            if not second:
                f.write('#!/bin/sh\n%s exec %s "$@"\n' % (env, py["path"]))
            else:
                # The target (harness.Target: python -E -s SCRIPT ARGS)
                # started after the other copy was dlopen()ed, as ctypes.CDLL
                # does; here by the extension loader, which keeps the
                # library mapped when it lacks PyInit_x (ctypes' own types
                # have a __sizeof__ pycensus does not replay).
                other = os.path.join(d, "b", os.path.basename(elf))
                os.makedirs(os.path.dirname(other))
                shutil.copyfile(lib, other)
                boot = ("import importlib.machinery as m, importlib.util as u, runpy, sys\n"
                        "try: u.module_from_spec(u.spec_from_file_location('x', %r, "
                        "loader=m.ExtensionFileLoader('x', %r)))\n"
                        "except ImportError: pass\n"
                        "del sys.argv[0]; sys.path.insert(0, __import__('os').path.dirname(sys.argv[0]))\n"
                        "runpy.run_path(sys.argv[0], run_name='__main__')" % (other, other))
                f.write('#!/bin/sh\n[ "$1" = -E ] && shift\n[ "$1" = -s ] && shift\n'
                        '%s exec %s -E -s -c "%s" "$@"\n' % (env, py["path"], boot))
        os.chmod(wrapper, 0o755)
        spy = dict(py, path=wrapper, label=label)
        check_gc(rep, pc, spy, label, lib, workdir, other if second else None)


def check_sid(rep, pc, workdir):
    """Debian sid's static python3.13-3.15, run in a container from a
    --strip-all copy (in_container.sh CT_COPY=strip) with the root's
    /usr/lib/debug hidden: the gc census exact and the reachable census
    matching the closure, from the tables generated from sid's -dbg."""
    if os.geteuid() != 0:
        rep.skip("sid", "", "needs root (namespaces)")
        return
    r = subprocess.run([test_container.SID_ROOT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0:
        rep.fail("sid", "root", short(r.stderr, 600))
        return
    root = r.stdout.strip().splitlines()[-1]
    binds = [workdir, os.path.dirname(HERE), os.path.dirname(pc.path)]
    # (their nosyms copies run in the main loop, through scripts/sid-python)
    for v in test_container.SUPPORTED:
        how = "all"
        label = "sid-%s-strip-%s" % (v, how)
        version = tuple(int(x) for x in v.split("."))
        program = "/usr/bin/python" + v
        copy = "/mnt/python" + v
        if not has_table(version):
            rep.fail(label, "table", "no layout/%s.*.json" % v)
            continue
        py = {"label": label, "path": test_container.IN_CONTAINER, "version": version,
              "dwarf": os.path.join(os.path.dirname(HERE), "scripts", "sid-python" + v)}
        with test_container.Container(root, program, binds, nodebug=True, copy="strip"):
            target = test_snapshot.Target(py["path"], workdir, label + "-premise")
            try:
                target.wait_ready(READY_TIMEOUT)
                inner = "/proc/%d/root%s" % (target.pid, copy)
                ok, _ = premise(rep, label, how, inner, root + program, version)
            except TargetError as e:
                rep.fail(label, "target", str(e))
                ok = False
            finally:
                target.kill()
            if ok:
                check_gc(rep, pc, py, label, copy, workdir)
                test_reachable.check_zoo(rep, pc, py, workdir, False)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--quick", action="store_true",
                    help="no reachable zoo (tests/run.py's sanitizer pass: the first pass runs it)")
    ap.add_argument("--part", choices=("local", "sid", "all"), default="local",
                    help="local: the interpreters outside Debian sid's root (default); sid: sid's "
                    "(tests/test_stripped_sid.py), so that each file stays within tests/run.py's "
                    "time per file; all: both")
    args = ap.parse_args(argv)
    harness.exit_on_signals()
    rep = test_reachable.Report()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=CENSUS_TIMEOUT)
    workdir = tempfile.mkdtemp(prefix="pycensus-stripped-")
    t0 = time.monotonic()
    try:
        if not shutil.which("objcopy") or not shutil.which("readelf"):
            rep.skip("setup", "binutils", "objcopy/readelf not installed")
            return rep.summary()
        wrong_done = False
        first_nosyms = False
        for py in pythons.discover():
            if args.only and args.only not in py["label"]:
                continue
            sid = py["label"].startswith("sid-")
            if args.part != "all" and sid != (args.part == "sid"):
                continue
            if not py["supported"] or not py["elf"]:
                rep.skip(py["label"], "", py["skip_reason"] or "no ELF")
                continue
            try:
                nosyms = wants_nosyms(py, first_nosyms)
                first_nosyms = first_nosyms or (nosyms and tuple(py["version"][:2]) > (3, 6))
                for how in ("all", "debug", "nosyms"):
                    if how == "nosyms" and not nosyms:
                        continue
                    label = "%s-strip-%s" % (py["label"], how)
                    wrapper, copy = stripped_copy(py, how, workdir)
                    ok, _ = premise(rep, label, how, copy, os.path.realpath(py["elf"]), py["version"])
                    if not ok:
                        continue
                    spy = dict(py, path=wrapper, label=label, dwarf=py["path"])
                    if not has_table(py["version"]):
                        check_no_table(rep, pc, spy, label, copy, workdir)
                        continue
                    check_gc(rep, pc, spy, label, copy, workdir)
                    if how == "all":
                        check_patch_range(rep, pc, py, label, workdir)
                    if how == "all" and tuple(py["version"][:2]) <= (3, 6):
                        check_collecting(rep, pc, spy, label, copy, workdir)
                    # The reachable zoo once per interpreter, on the
                    # hardest copy it runs from: nosyms, else --strip-all.
                    zoo = "nosyms" if nosyms else "all"
                    if how == zoo and not args.quick:
                        test_reachable.check_zoo(rep, pc, spy, workdir, False)
                        # why's paths, frame roots at their running line:
                        # the line facts from the table (and 3.13+'s
                        # _Py_DebugOffsets)
                        test_why.check_paths(rep, pc.path, spy)
                check_cookie_scan(rep, pc, py, workdir)
                if has_table(py["version"]) and not py["skip_reason"] and not wrong_done:
                    check_wrong_table(rep, pc, py, workdir)
                    wrong_done = True
            except Exception as e:
                rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
        if args.part != "local" and (not args.only or "sid" in args.only):
            try:
                check_sid(rep, pc, workdir)
            except Exception as e:
                rep.fail("sid", "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
