#!/usr/bin/env python3
"""pycensus on real --with-pydebug interpreters (issue 10's cross-check).

    python3 tests/test_pydebug.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]

Debian ships a Py_DEBUG build beside each release build: /usr/bin/python3.11d
on this machine (package python3.11-dbg) and python3.13d/3.14d/3.15d in the
Debian sid root (scripts/sid-root).  Each is a build pycensus's layout tables
were not generated from.  For each one found:

  * premise: it is a real debug build (sys.gettotalrefcount exists);
  * with its own DWARF: the gc census is exact against gc.get_objects()
    (test_snapshot's check_census) and the reachable census matches the
    in-process gc.get_referents() closure (test_reachable's zoo);
  * every layout fact the DWARF gives is compared with the table pycensus
    would use without it (PYCENSUS_TEST_NO_TABLES unset, `info` on the
    stripped copy): the facts that differ are listed;
  * on a `--strip-all` copy with build-id and debuglink removed: the layout
    comes from that table (and _Py_DebugOffsets where read), and the
    cross-check in src/layout/ either accepts it -- then the gc census must
    be exact and the reachable one complete -- or refuses it with exit 4 and
    one line naming the table.  A table accepted while a fact the walkers
    read differs would be a wrong census: it must be refused.

--quick (tests/run.py's sanitizer pass) runs the first interpreter only and
no reachable zoo.  One line per check: PASS / FAIL / SKIP; the last line is
"N passed, M failed, K skipped".
"""

import argparse
import glob
import json
import os
import re
import shutil
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
import test_stripped  # noqa: E402
from harness import TargetError, short, target_running  # noqa: E402

TOP = os.path.dirname(HERE)
READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120
EXIT_LAYOUT = 4


def candidates(workdir):
    """Py dicts (as tests/pythons.py makes) for each pydebug build found,
    and (label, reason) for those that cannot run."""
    found, skipped = [], []
    for path in sorted(glob.glob("/usr/bin/python3.*d")):
        if re.match(r"^/usr/bin/python3\.\d+d$", path):
            found.append({"label": "debian-" + os.path.basename(path), "path": path,
                          "elf": os.path.realpath(path), "root": None})
    root = pythons.sid_root()
    sid = sorted(glob.glob(os.path.join(root, "usr/bin/python3.*d")))
    why = pythons.sid_problem()
    for elf in sid:
        m = re.match(r"^python(3\.\d+)d$", os.path.basename(elf))
        if not m:
            continue
        label = "sid-" + os.path.basename(elf)
        if why:
            skipped.append((label, why))
            continue
        wrapper = os.path.join(workdir, "run-" + os.path.basename(elf))
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\nexec %s %sd "$@"\n' % (os.path.join(TOP, "scripts", "sid-python"),
                                                       m.group(1)))
        os.chmod(wrapper, 0o755)
        found.append({"label": label, "path": wrapper, "elf": elf, "root": root})
    if not sid:
        skipped.append(("sid-pydebug", pythons.sid_problem() or "no python3.*d in the sid root %s" % root))
    return found, skipped


def ask(python):
    """(version tuple, is a Py_DEBUG build) from the interpreter itself."""
    out = subprocess.run([python, "-c", "import sys; print('%d %d %d' % sys.version_info[:3]); "
                          "print(hasattr(sys, 'gettotalrefcount'))"],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True,
                         timeout=60).stdout.split("\n")
    return tuple(int(x) for x in out[0].split()), out[1] == "True"


def layout_facts(pc, target):
    """({fact: value}, offsets provenance) from `info`, or raises."""
    rc, out, err, _ = pc.run(["info", target.pid])
    if rc != 0:
        raise TargetError("info: exit %r: %s" % (rc, short(err)))
    info, why = harness.parse_json(out)
    if why:
        raise TargetError("info: " + why)
    facts = dict((f["fact"], f["value"]) for f in info["layout"]["facts"])
    return facts, (info.get("python") or {}).get("offsets")


def check_dwarf(rep, pc, py, workdir, zoo):
    """The build read through its own DWARF: gc exact, reachable complete;
    returns its layout facts (None on failure)."""
    label = py["label"]
    target = test_snapshot.Target(py["path"], workdir, label)
    facts = None
    try:
        target.wait_ready(READY_TIMEOUT)
        facts, offsets = layout_facts(pc, target)
        rep.check(offsets == "dwarf", label, "offsets from its DWARF", offsets,
                  "offsets=%r, want dwarf (is its -dbg installed?)" % offsets)
        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", target.pid])
        snap, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if snap is None:
            rep.fail(label, "snapshot", why)
        else:
            harness.censused(py["path"])
            test_snapshot.check_census(rep, label, snap, target.truth)
        why = target_running(target)
        rep.check(why is None, label, "target runs after census", "pong", why)
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()
    if zoo:
        test_reachable.check_zoo(rep, pc, py, workdir, False)
    return facts


def check_stripped(rep, pc, py, dwarf_facts, workdir, quick):
    """The --strip-all copy: the table accepted (and then exact) or refused."""
    label = py["label"] + "-strip-all"
    wrapper, copy = test_stripped.stripped_copy(py, "all", workdir)
    ok, _ = test_stripped.premise(rep, label, "all", copy, py["elf"])
    if not ok:
        return
    spy = dict(py, path=wrapper, label=label)
    target = test_snapshot.Target(wrapper, workdir, label)
    try:
        target.wait_ready(READY_TIMEOUT)
        if not test_stripped.maps_copy(target, copy):
            rep.fail(label, "target", "did not load %s" % copy)
            return
        rc, out, err, secs = pc.run(["snapshot", "--scope", "gc", target.pid])
        if rc == EXIT_LAYOUT:
            line = err.strip()
            ok = len(line.splitlines()) == 1 and "table" in line and target_running(target) is None
            rep.check(ok, label, "table refused by the cross-check", short(line, 200),
                      "exit 4 but: %s" % short(err))
            return
        snap, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if snap is None:
            rep.fail(label, "snapshot", why)
            return
        table_facts, offsets = layout_facts(pc, target)
        rep.check(offsets in ("table", "debug_offsets+table"), label, "offsets from a table",
                  offsets, "offsets=%r" % offsets)
        if dwarf_facts is not None:
            # What the table says against what the build's own DWARF says,
            # for every fact both give: a table accepted must not differ
            # in any of them.
            diff = sorted(k for k in dwarf_facts if k in table_facts
                          and dwarf_facts[k] is not None and table_facts[k] is not None
                          and dwarf_facts[k] != table_facts[k])
            known = sum(1 for k in dwarf_facts if k in table_facts and dwarf_facts[k] is not None
                        and table_facts[k] is not None)
            rep.check(not diff, label, "table facts = the build's DWARF",
                      "%d facts compared, none differs: this Py_DEBUG build has the release "
                      "layout" % known,
                      "accepted, but %d of %d facts differ: %s" % (
                          len(diff), known, ", ".join("%s %r vs DWARF %r" % (
                              k, table_facts[k], dwarf_facts[k]) for k in diff[:8])))
        test_snapshot.check_census(rep, label, snap, target.truth)
        why = target_running(target)
        rep.check(why is None, label, "target runs after census", "pong", why)
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()
    if not quick:
        test_reachable.check_zoo(rep, pc, spy, workdir, False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--quick", action="store_true",
                    help="the first pydebug build only, no reachable zoo")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = test_reachable.Report()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=CENSUS_TIMEOUT)
    workdir = tempfile.mkdtemp(prefix="pycensus-pydebug-")
    t0 = time.monotonic()
    try:
        found, skipped = candidates(workdir)
        for label, why in skipped:
            rep.skip(label, "", why)
        if not found:
            rep.skip("pydebug", "", "no Py_DEBUG interpreter here (install python3.11-dbg, "
                     "or build the sid root: scripts/sid-root)")
        if args.quick:
            found = found[:1]
        for py in found:
            if args.only and args.only not in py["label"]:
                continue
            try:
                version, debug = ask(py["path"])
                py["version"] = version
                rep.check(debug, py["label"], "a Py_DEBUG build",
                          "%d.%d.%d, sys.gettotalrefcount exists" % version,
                          "%s has no sys.gettotalrefcount: not a pydebug build" % py["path"])
                if not debug:
                    continue
                why = pythons.debuginfo_problem(py["elf"], py["root"] or "")
                if why:
                    rep.skip(py["label"], "", why)
                    continue
                # The reachable zoo through DWARF on the oldest and newest.
                zoo = not args.quick and py in (found[0], found[-1])
                facts = check_dwarf(rep, pc, py, workdir, zoo)
                if not test_stripped.has_table(version):
                    rep.skip(py["label"] + "-strip-all", "", "no layout table for %d.%d" % version[:2])
                    continue
                check_stripped(rep, pc, py, facts, workdir, args.quick)
            except Exception as e:
                rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
