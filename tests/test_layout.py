#!/usr/bin/env python3
"""The layout table and its offset sources (issue 14).

    python3 tests/test_layout.py [--pycensus ./pycensus] [--quick]

For every interpreter tests/pythons.py discovers, on the zoo heap of
tests/targets/census_target.py (every object kind the reachable scope
decodes):

  * "round trip": `pycensus info` dumps the layout built from DWARF, every
    fact with its provenance; read back as a table source
    (PYCENSUS_TEST_LAYOUT_TABLE) it gives the same facts, each from
    "table", and "offsets" says "dwarf" then "table".
  * "table census": the census of the gc and reachable scopes with the
    table as the only source equals the DWARF one, type by type (count and
    bytes), invalid and hidden included: the table is all the walkers read.
  * "withheld ...": a table lacking a fact the walkers need is refused
    with exit 4 and a line naming the fact, never read by another
    version's path: the dict family's fact (dk_log2_size on 3.11+,
    dk_size before), a fact this build has as absent (unknown is not
    absent), and a frame fact the traverse rules read.
  * "hidden ...": with a whole struct's DWARF withheld
    (PYCENSUS_TEST_DWARF_HIDE), DWARF does not know it, which is not
    "absent": the frame model (PyFrameObject), the str model
    (PyUnicodeObject) and, 3.11+, the instance dict model (PyDictValues)
    refuse with exit 4 naming the fact, instead of another version's path.
  * "released": the target runs on after all of it.

One line per check: PASS / FAIL / SKIP; the last line is "N passed, M
failed, K skipped"; the exit status is 1 if anything failed.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402

TARGET = os.path.join(HERE, "targets", "census_target.py")
rep = harness.LabelReport()


def env_with(table):
    e = dict(os.environ)
    e.pop("PYCENSUS_TEST_LAYOUT_TABLE", None)
    if table:
        e["PYCENSUS_TEST_LAYOUT_TABLE"] = table
    return e


def run_json(pc, args, table=None):
    """(dict or None, exit code, stderr)."""
    rc, out, err, _ = pc.run(args, env=env_with(table))
    try:
        return json.loads(out), rc, err
    except ValueError:
        return None, rc, err


def facts(info):
    return [(f["fact"], f["value"]) for f in info["layout"]["facts"]]


def census_key(snap):
    return ({t["type"]: (t["count"], t["bytes"]) for t in snap["types"]},
            snap.get("invalid"), snap.get("hidden"))


def withheld(pc, label, pid, info, key, workdir, why):
    """A table of INFO's facts less KEY must be refused, naming KEY."""
    name = "withheld %s" % key
    if key not in dict(facts(info)):
        rep.fail(label, name, "premise: the DWARF dump has no fact %s" % key)
        return
    cut = json.loads(json.dumps(info))
    cut["layout"]["facts"] = [f for f in cut["layout"]["facts"] if f["fact"] != key]
    path = os.path.join(workdir, "%s-%s.json" % (label, key.replace("/", "_")))
    with open(path, "w") as f:
        json.dump(cut, f)
    for scope in ("gc", "reachable"):
        rc, out, err, _ = pc.run(["snapshot", "--scope", scope, str(pid)], env=env_with(path))
        lines = [l for l in err.splitlines() if l.strip()]
        ok = rc == 4 and not out.strip() and len(lines) == 1 and key in lines[0] and "refuses" in lines[0]
        rep.check(ok, label, "%s (%s, %s)" % (name, why, scope), "exit 4: %s" % harness.short(err, 200),
                  "exit %r, stdout %d bytes, stderr: %s" % (rc, len(out), harness.short(err, 300)))


def hidden(pc, label, pid, struct, why):
    """With the DWARF of STRUCT withheld (PYCENSUS_TEST_DWARF_HIDE: no DIE
    at all, unknown to the source, not absent from the build), a census
    that needs it is refused naming it, never decoded by another model."""
    env = env_with(None)
    env["PYCENSUS_TEST_DWARF_HIDE"] = struct
    rc, out, err, _ = pc.run(["snapshot", "--scope", "gc", str(pid)], env=env)
    lines = [l for l in err.splitlines() if l.strip()]
    ok = rc == 4 and not out.strip() and len(lines) == 1 and struct in lines[0] and "refuses" in lines[0] \
        and "knows" in lines[0]
    rep.check(ok, label, "hidden %s (%s)" % (struct, why), "exit 4: %s" % harness.short(err, 200),
              "exit %r, stdout %d bytes, stderr: %s" % (rc, len(out), harness.short(err, 300)))


def check_gc_lists(label, info, known):
    """info's GC list heads are where the facts put them: in _PyRuntime
    (3.7, 3.8), in each interpreter (3.9+) or from the static generations
    (3.6); one generation each, the permanent one last where it exists."""
    lists = info["layout"].get("gc_lists") or []
    size = known.get("sizeof(gc_generation)")
    G = "_gc_runtime_state."
    if known.get("_PyRuntimeState.gc") is not None:
        where, base = "runtime", known["_PyRuntimeState.gc"]
    elif known.get("PyInterpreterState.gc") is not None:
        where, base = "interpreter", known["PyInterpreterState.gc"]
    else:
        where, base = "generations", 0
    want = []
    if where == "generations":
        want = [("generations[%d]" % i, i * size, False) for i in range(3)]
    elif known.get(G + "generations") is not None:
        want = [("generations[%d]" % i, base + known[G + "generations"] + i * size, False)
                for i in range(known["len(%sgenerations)" % G])]
    else:
        want = [("young", base + known[G + "young"], False)] + [
            ("old[%d]" % i, base + known[G + "old"] + i * size, False) for i in range(known["len(%sold)" % G])]
    if known.get(G + "permanent_generation") is not None:
        want.append(("permanent_generation", base + known[G + "permanent_generation"], True))
    got = [(l["list"], l["offset"], l["permanent"]) for l in lists]
    rep.check(got == want and all(l["in"] == where for l in lists) and
              info["layout"]["generations"] == sum(not w[2] for w in want), label, "GC list heads",
              "%d heads in %s: %s" % (len(got), where, ", ".join("%s@%d" % (n, o) for n, o, _ in got)),
              "got %r in %r, want %r in %s" % (got, [l["in"] for l in lists], want, where))


def run_one(pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], TARGET, workdir, label, ["--scope", "reachable", "--zoo"])
    try:
        target.wait_ready(90)
        pid = target.pid
        info, rc, err = run_json(pc, ["info", pid])
        if info is None:
            rep.fail(label, "info", "exit %r: %s" % (rc, harness.short(err)))
            return
        dump = os.path.join(workdir, label + "-layout.json")
        with open(dump, "w") as f:
            json.dump(info, f)
        froms = set(f["from"] for f in info["layout"]["facts"])
        abi = [f["fact"] for f in info["layout"]["facts"] if f["from"] == "abi"]
        rep.check(info["python"]["offsets"] == "dwarf" and froms <= {"dwarf", "abi"} and "dwarf" in froms and
                  len(facts(info)) > 100 and any("numpy" in k for k in abi),
                  label, "dwarf provenance", "%d facts, offsets \"dwarf\"; %d of extension modules' ABI" % (
                      len(facts(info)), len(abi)),
                  "offsets %r, sources %r, %d facts, abi %r" % (info["python"]["offsets"], froms, len(facts(info)),
                                                                abi[:4]))

        back, rc, err = run_json(pc, ["info", pid], table=dump)
        if back is None:
            rep.fail(label, "round trip", "exit %r: %s" % (rc, harness.short(err)))
            return
        a, b = facts(info), facts(back)
        diff = [x for x in a if x not in b] + [x for x in b if x not in a]
        bfroms = set(f["from"] for f in back["layout"]["facts"])
        rep.check(a == b and bfroms == {"table"} and back["python"]["offsets"] == "table", label, "round trip",
                  "%d facts read back equal, each from the table" % len(b),
                  "differences %r, sources %r, offsets %r" % (diff[:6], bfroms, back["python"]["offsets"]))

        for scope in ("gc", "reachable"):
            d, rc1, err1 = run_json(pc, ["snapshot", "--scope", scope, pid])
            t, rc2, err2 = run_json(pc, ["snapshot", "--scope", scope, pid], table=dump)
            if d is None or t is None:
                rep.fail(label, "table census (%s)" % scope, "dwarf exit %r %s; table exit %r %s" % (
                    rc1, harness.short(err1), rc2, harness.short(err2)))
                continue
            kd, kt = census_key(d), census_key(t)
            diffs = sorted(n for n in set(kd[0]) | set(kt[0]) if kd[0].get(n) != kt[0].get(n))
            rep.check(kd == kt and t["python"]["offsets"] == "table" and d["complete"], label,
                      "table census (%s)" % scope,
                      "%d types, %d objects: equal to the DWARF census" % (len(kd[0]), d["totals"]["objects"]),
                      "types differing %s; invalid %r/%r; hidden %r/%r; offsets %r" % (
                          ["%s %r/%r" % (n, kd[0].get(n), kt[0].get(n)) for n in diffs[:6]],
                          kd[1], kt[1], kd[2], kt[2], t["python"]["offsets"]))

        known = dict(facts(info))
        if known.get("PyDictObject.ma_table") is not None:
            # 2.7's open-addressing dicts: no keys object at all
            withheld(pc, label, pid, info, "PyDictObject.ma_table", workdir, "the dict family")
            withheld(pc, label, pid, info, "PyDictObject.ma_keys", workdir,
                     "absent in this build, unknown to the table")
        else:
            family = "PyDictKeysObject.dk_log2_size" if known.get("PyDictKeysObject.dk_log2_size") is not None \
                else "PyDictKeysObject.dk_size"
            withheld(pc, label, pid, info, family, workdir, "the dict family")
            other = "PyDictKeysObject.dk_size" if family.endswith("log2_size") else "PyDictKeysObject.dk_log2_size"
            withheld(pc, label, pid, info, other, workdir, "absent in this build, unknown to the table")
        frame = "_PyInterpreterFrame.owner" if known.get("_PyInterpreterFrame.owner") is not None \
            else "PyFrameObject.f_localsplus"
        withheld(pc, label, pid, info, frame, workdir, "frames")

        # whole structs' DWARF withheld: the frame and str models are asked
        # of structs every version has; the pre-header model of PyDictValues
        hidden(pc, label, pid, "PyFrameObject", "the frame model")
        hidden(pc, label, pid, "PyUnicodeObject", "the str model")
        if known.get("PyDictValues.values") is not None:
            hidden(pc, label, pid, "PyDictValues", "the instance dict model")

        check_gc_lists(label, info, known)
        withheld(pc, label, pid, info, "sizeof(gc_generation)", workdir, "the GC list heads")

        stopped = harness.still_stopped(target.pid)
        rep.check(stopped == [], label, "released", "target runs on", "target stopped threads: %r" % (stopped,))
    except harness.TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default="./pycensus")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    harness.exit_on_signals()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=120)
    pys = harness.by_preference(harness.usable_pythons(), pyenv_first=True)
    if args.quick:
        pys = pys[:2]
    if not pys:
        rep.fail("setup", "interpreters", "no supported interpreter with debug info")
    workdir = tempfile.mkdtemp(prefix="pycensus-layout-")
    try:
        for py in pys:
            try:
                run_one(pc, py, workdir)
            except Exception as e:       # keep going with the others
                rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
