#!/usr/bin/env python3
"""End-to-end tests of `pycensus snapshot` in the reachable scope (issue 3).

    python3 tests/test_reachable.py [--pycensus ./pycensus] [--only SUBSTR]
                                    [--keep]

For every interpreter tests/pythons.py discovers:

  * "zoo": tests/targets/census_target.py --scope reachable --zoo builds a
    heap holding every kind of object the reachable scope has to decode
    (dicts of every keys layout, slots, closures, code, suspended
    generators and coroutines, exceptions with tracebacks, deque,
    OrderedDict, defaultdict, partial, an lru_cache leaking big bytes, str
    of every kind, ...), computes in itself the transitive closure of
    gc.get_referents() from gc.get_objects() plus the permanent generation,
    with sys.getsizeof, writes it and blocks.  pycensus's per-type counts
    minus its "hidden" ones must equal that closure: exactly for the test's
    own classes and for most types; within a small residue (RESIDUE) for the
    atomic types that C state pycensus cannot decode may hold.  Bytes must
    equal sys.getsizeof for every builtin type (a name without a module),
    object by object; totals within 1%.  Every difference is printed,
    largest first, as "#" lines, and a summary line per interpreter gives
    the figures (pycensus, hidden, truth).
  * "opaque": tests/targets/opaque_target.py holds GC objects whose
    tp_traverse pycensus has no rule for (itertools.chain,
    operator.itemgetter, _csv.writer): they must be counted, listed under
    "opaque", and nothing may crash.

Object by object: the zoo target writes "hexid size type repr" for every
object of its closure (--ids) and pycensus, run with PYCENSUS_DEBUG_DUMP,
writes "hexaddr phase size type" for every object it counts; the test
compares the two to say which objects were missed, counted only as hidden,
counted in excess, or sized differently.  Without the dump (a pycensus that
no longer writes it) the checks fall back to the per-type JSON figures.

One line per check: PASS / FAIL / SKIP; "#" lines are information; the last
line is "N passed, M failed, K skipped"; the exit status is 1 if anything
failed.  Every process started here is killed on the way out.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no tests/__pycache__
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import LabelReport as Report, TargetError, short, target_running  # noqa: E402

CENSUS_TARGET = os.path.join(HERE, "targets", "census_target.py")
OPAQUE_TARGET = os.path.join(HERE, "targets", "opaque_target.py")
READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120

# Types whose in-process closure may hold a few objects pycensus cannot
# reach: extension modules' C state (m_traverse), _json.Scanner, _thread
# locks, _abc data, _struct caches.  Allowed |difference| per type:
# max(RESIDUE_MIN, RESIDUE_SHARE * truth count).  Every other type: exact.
RESIDUE_TYPES = ("str", "int", "dict", "tuple", "bytes", "float")
RESIDUE_MIN = 3
RESIDUE_SHARE = 0.002
TOTALS_SHARE = 0.01


# --- processes -----------------------------------------------------------------

def Target(python, script, workdir, name, args=()):
    """A target script under one interpreter: writes its ground truth to
    NAME.json, prints "ready", then answers "ping" and "quit" on stdin."""
    return harness.TruthTarget(python, script, workdir, name, args, tail=800)


def run_snapshot(pc, pid, dump_path):
    """(snapshot dict or None, error text or None, seconds)."""
    env = dict(os.environ)
    if dump_path:
        env["PYCENSUS_DEBUG_DUMP"] = dump_path
    rc, out, err, secs = pc.run(["snapshot", pid], env=env)
    if rc is None:
        return None, "timed out after %ds" % CENSUS_TIMEOUT, secs
    if rc != 0:
        return None, "exit %d: %s" % (rc, short(err)), secs
    if "\ufffd" in out:
        return None, "output is not valid UTF-8", secs
    snap, why = harness.parse_json(out)
    if why:
        return None, why, secs
    if err.strip():
        # Sanitizer reports and warnings go to stderr: show them.
        Report.note("pycensus", "stderr: %s" % short(err, 500))
    return snap, None, secs


# --- reading the figures ----------------------------------------------------------

def shape_errors(snap, pid):
    """What is wrong with the reachable-scope snapshot's fields, as a list."""
    errs = []
    if snap.get("pid") != pid:
        errs.append("pid=%r want %d" % (snap.get("pid"), pid))
    if snap.get("scope") != "reachable":
        errs.append("scope=%r want reachable" % snap.get("scope"))
    if snap.get("complete") is not True:
        errs.append("complete=%r" % snap.get("complete"))
    types = snap.get("types")
    if not isinstance(types, list) or not all(
            isinstance(t, dict) and isinstance(t.get("type"), str) and
            isinstance(t.get("count"), int) and isinstance(t.get("bytes"), int) for t in types):
        return errs + ["types is not a list of {type, count, bytes}"]
    hidden = snap.get("hidden")
    if not isinstance(hidden, dict) or not isinstance(hidden.get("types"), list):
        return errs + ["no hidden.types"]
    got = dict((t["type"], t) for t in types)
    for h in hidden["types"]:
        name = h.get("type")
        if name not in got:
            errs.append("hidden type %r is not in types" % name)
        elif not (0 <= h.get("count", -1) <= got[name]["count"] and
                  0 <= h.get("bytes", -1) <= got[name]["bytes"]):
            errs.append("hidden %s %r exceeds its type row %r" % (name, h, got[name]))
    hsum = (sum(h.get("count", 0) for h in hidden["types"]),
            sum(h.get("bytes", 0) for h in hidden["types"]))
    if (hidden.get("objects"), hidden.get("bytes")) != hsum:
        errs.append("hidden objects/bytes %r/%r, its types sum to %d/%d" % (
            hidden.get("objects"), hidden.get("bytes"), hsum[0], hsum[1]))
    totals = snap.get("totals") or {}
    want = (sum(t["count"] for t in types), sum(t["bytes"] for t in types))
    if (totals.get("objects"), totals.get("bytes")) != want:
        errs.append("totals %r, types sum to %d/%d" % (totals, want[0], want[1]))
    opaque = snap.get("opaque")
    if not isinstance(opaque, list) or not all(
            isinstance(o, dict) and isinstance(o.get("type"), str) and
            isinstance(o.get("count"), int) for o in opaque):
        errs.append("opaque is not a list of {type, count}")
    if not isinstance(snap.get("skipped"), int):
        errs.append("skipped=%r is not a number" % (snap.get("skipped"),))
    return errs


def visible(snap):
    """{type: [count, bytes]}: pycensus's rows less what only hidden
    references reached -- the figures gc.get_referents() would give."""
    got = dict((t["type"], [t["count"], t["bytes"]]) for t in snap["types"])
    for h in snap["hidden"]["types"]:
        if h["type"] in got:
            got[h["type"]][0] -= h["count"]
            got[h["type"]][1] -= h["bytes"]
    return got


def read_ids(path):
    """The target's --ids file: {addr: (type, size, repr)}."""
    objs = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) >= 3:
                objs[int(parts[0], 16)] = (parts[2], int(parts[1]),
                                           parts[3] if len(parts) > 3 else "")
    return objs


def read_dump(path):
    """pycensus's PYCENSUS_DEBUG_DUMP: {addr: (type, phase, size)}, or None."""
    if not os.path.exists(path):
        return None
    objs = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) == 4:
                objs[int(parts[0], 16)] = (parts[3], int(parts[1]), int(parts[2]))
    return objs


class ObjectDiff:
    """The closure and pycensus's dump compared object by object."""

    def __init__(self, truth, dump):
        self.truth, self.dump = truth, dump
        self.missed = {}      # type -> [(addr, repr)]: in the closure, never counted
        self.hidden = {}      # type -> [(addr, repr)]: reached only by a hidden reference
        self.extra = {}       # type -> [addr]: counted as a referent, not in the closure
        self.sized = {}       # type -> [(addr, truth size, pycensus size, repr)]
        self.renamed = {}     # (truth type, pycensus type) -> count
        for addr, (name, size, rep) in truth.items():
            d = dump.get(addr)
            if d is None:
                self.missed.setdefault(name, []).append((addr, rep))
                continue
            if d[0] != name:
                key = (name, d[0])
                self.renamed[key] = self.renamed.get(key, 0) + 1
            if d[1] != 0:
                self.hidden.setdefault(name, []).append((addr, rep))
            elif d[2] != size:
                self.sized.setdefault(name, []).append((addr, size, d[2], rep))
        for addr, (name, phase, size) in dump.items():
            if phase == 0 and addr not in truth:
                self.extra.setdefault(name, []).append(addr)

    def notes(self, label):
        def examples(items):
            out = []
            for it in items[:4]:
                if isinstance(it, int):
                    out.append("%#x" % it)
                elif len(it) == 2:
                    out.append("%#x %s" % (it[0], it[1]) if it[1] else "%#x" % it[0])
                else:
                    out.append("%#x %d!=%d%s" % (it[0], it[1], it[2],
                                                 " " + it[3] if it[3] else ""))
            return "; ".join(out) + ("; ..." if len(items) > 4 else "")
        for what, table in (("missed (in the closure, not counted)", self.missed),
                            ("counted only as hidden (a referent pycensus did not follow)",
                             self.hidden),
                            ("counted as referents, not in the closure", self.extra),
                            ("sized differently (truth!=pycensus)", self.sized)):
            for name, items in sorted(table.items(), key=lambda kv: (-len(kv[1]), kv[0])):
                Report.note(label, "objects %s: %s x%d: %s" % (what, name, len(items),
                                                              examples(items)))
        for (a, b), n in sorted(self.renamed.items()):
            Report.note(label, "objects named %s in the target, %s by pycensus: %d" % (a, b, n))


def residue_limit(name, truth_count):
    if name in RESIDUE_TYPES:
        return max(RESIDUE_MIN, int(RESIDUE_SHARE * truth_count))
    return 0


# --- the zoo -----------------------------------------------------------------------

def check_zoo(rep, pycensus, py, workdir, keep):
    label = py["label"]
    ids_path = os.path.join(workdir, label + ".ids")
    dump_path = os.path.join(workdir, label + ".dump")
    target = Target(py["path"], CENSUS_TARGET, workdir, label + "-zoo",
                    ["--scope", "reachable", "--zoo", "--ids", ids_path])
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        snap, err, secs = run_snapshot(pycensus, target.pid, dump_path)
        if snap is None:
            rep.fail(label, "snapshot", err)
            return
        errs = shape_errors(snap, target.pid)
        if not errs:
            harness.censused(py["path"])
        rep.check(not errs, label, "snapshot",
                  "%.2fs, scope reachable, complete, %d types, %d hidden types, %d opaque types, "
                  "pause_us %s" % (secs, len(snap["types"]), len(snap["hidden"]["types"]),
                                   len(snap.get("opaque") or []), snap.get("pause_us")),
                  "; ".join(errs))
        if any("types" in e and "list" in e for e in errs):
            return
        why = target_running(target)
        rep.check(why is None, label, "target runs after census", "pong", why)

        got = visible(snap)
        want = dict((n, [e["count"], e["bytes"]]) for n, e in truth["types"].items())
        diff = ObjectDiff(read_ids(ids_path), read_dump(dump_path)) \
            if os.path.exists(dump_path) else None
        if diff is None:
            Report.note(label, "no PYCENSUS_DEBUG_DUMP written: per-type figures only")

        # Every per-type difference, largest first.
        rows = []
        for name in set(got) | set(want):
            g = got.get(name, [0, 0])
            w = want.get(name, [0, 0])
            if g != w:
                rows.append((name, g[0] - w[0], g[1] - w[1], w))
        rows.sort(key=lambda r: (-abs(r[1]), -abs(r[2]), r[0]))
        for name, dc, db, w in rows:
            Report.note(label, "diff %s: count %+d bytes %+d (truth %d objects, %d bytes)" % (
                name, dc, db, w[0], w[1]))
        if diff is not None:
            diff.notes(label)

        check_coverage(rep, label, truth, got, py["version"])
        check_counts(rep, label, truth, got, want)
        check_bytes(rep, label, truth, got, want, diff)
        check_totals(rep, label, snap, truth)
        check_leak(rep, label, snap, truth, diff)
        check_utf8(rep, label, truth, diff)

        status = target.quit()
        rep.check(status == 0, label, "target quits", "exit 0",
                  "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "zoo target", str(e))
    finally:
        target.kill()
        if not keep:
            for p in (ids_path, dump_path):
                if os.path.exists(p):
                    os.unlink(p)


# What the zoo must hold (issue 3's list), each name or any of its
# alternatives (names differ between versions).
ZOO_TYPES = (
    "list", "tuple", "dict", "set", "frozenset", "type", "module", "function", "code",
    "cell", ("method", "instancemethod"), "generator", "coroutine", "async_generator", "property",
    "classmethod", "staticmethod", ("weakref", "weakref.ReferenceType"),
    "collections.deque", "collections.OrderedDict", "collections.defaultdict",
    "functools.partial", "functools._lru_cache_wrapper", "functools._lru_list_elem",
    "traceback", "frame", "KeyError", "types.SimpleNamespace", "bytes", "str",
    "bytearray", "int", "float", "complex", "bool",
)
# What 2.7 has not (no coroutines, lru_cache, SimpleNamespace; its bytes
# is str) and what only it has: old-style classes, their instances (named
# by class) and long.
ZOO_NOT_PY2 = ("coroutine", "async_generator", "functools._lru_cache_wrapper",
               "functools._lru_list_elem", "types.SimpleNamespace", "bytes")


def zoo_types(version):
    if version[0] >= 3:
        return ZOO_TYPES
    return tuple(t for t in ZOO_TYPES if t not in ZOO_NOT_PY2) + \
        (("build_zoo.ZooOld", "__main__.ZooOld"), "classobj", "long", "unicode")


def check_coverage(rep, label, truth, got, version):
    """The zoo really holds every kind of object, and pycensus saw each."""
    want = truth["types"]
    errs = []
    kinds = zoo_types(version)
    for alts in kinds + tuple(truth["classes"]):
        alts = (alts,) if isinstance(alts, str) else alts
        name = next((a for a in alts if a in want), None)
        if name is None:
            errs.append("the target holds no %s" % "/".join(alts))
        elif got.get(name, [0])[0] <= 0:
            errs.append("pycensus counted no %s" % name)
    rep.check(not errs, label, "zoo coverage",
              "%d kinds of object, each counted" % (len(kinds) + len(truth["classes"])),
              "; ".join(errs))


def check_counts(rep, label, truth, got, want):
    classes = truth["classes"]
    errs = ["%s %d want %d" % (c, got.get(c, [0])[0], want.get(c, [0])[0])
            for c in classes if got.get(c, [0])[0] != want.get(c, [0])[0]]
    rep.check(not errs, label, "class counts",
              "exact for %d test classes" % len(classes), "; ".join(errs))

    errs, within = [], []
    for name in sorted(set(got) | set(want)):
        if name in classes:
            continue
        g = got.get(name, [0])[0]
        w = want.get(name, [0])[0]
        if g == w:
            continue
        limit = residue_limit(name, w)
        if abs(g - w) > limit:
            errs.append((abs(g - w), "%s %+d (truth %d, allowed %d)" % (name, g - w, w, limit)))
        else:
            within.append((abs(g - w), "%s %+d" % (name, g - w)))
    errs.sort(key=lambda e: -e[0])
    within.sort(key=lambda e: -e[0])
    n = len(set(got) | set(want)) - len(classes)
    rep.check(not errs, label, "type counts",
              "%d types exact or within the residue%s" % (
                  n, (": " + ", ".join(w[1] for w in within)) if within else ""),
              "; ".join(e[1] for e in errs) +
              ((" (within the residue: %s)" % ", ".join(w[1] for w in within)) if within else ""))


def check_bytes(rep, label, truth, got, want, diff):
    """sys.getsizeof sums: the test's plain classes and every builtin type
    (no module in the name).  With the object dump every object both sides
    counted is compared; without it, types whose counts agree."""
    kinds = truth["class_kinds"]
    names = sorted(n for n in set(want) if "." not in n) + \
        sorted(c for c in truth["classes"] if kinds.get(c) == "plain")
    errs = []
    if diff is not None:
        for name in names:
            bad = diff.sized.get(name)
            if bad:
                a, ws, gs, r = bad[0]
                errs.append("%s: %d objects sized differently, e.g. %#x %d want %d%s" % (
                    name, len(bad), a, gs, ws, " " + r if r else ""))
        how = "object by object"
    else:
        for name in names:
            g, w = got.get(name, [0, 0]), want.get(name, [0, 0])
            if g[0] == w[0] and g[1] != w[1]:
                errs.append("%s %d want %d" % (name, g[1], w[1]))
        how = "where counts agree"
    rep.check(not errs, label, "builtin bytes",
              "sys.getsizeof exact %s for %d builtin types and plain classes" % (how, len(names)),
              "; ".join(errs))

    # Classes whose size comes from a builtin's __sizeof__ and the
    # metaclass: exact too (they are the test's own).
    others = [c for c in truth["classes"] if kinds.get(c) != "plain"]
    errs = ["%s %d want %d" % (c, got.get(c, [0, 0])[1], want.get(c, [0, 0])[1])
            for c in others if got.get(c, [0, 0]) != want.get(c, [0, 0])]
    rep.check(not errs, label, "subclass bytes",
              "exact for %s" % ", ".join(others), "; ".join(errs))

    # Types from modules with their own C __sizeof__ (BRIEF: pycensus
    # gives tp_basicsize + items there): information only.
    for name in sorted(set(want)):
        if "." in name and name not in truth["classes"]:
            g, w = got.get(name, [0, 0]), want.get(name, [0, 0])
            if g[0] == w[0] and g[1] != w[1]:
                Report.note(label, "bytes of %s: %d, sys.getsizeof %d (own __sizeof__, "
                            "not mirrored)" % (name, g[1], w[1]))


def check_totals(rep, label, snap, truth):
    t = snap["totals"]
    h = snap["hidden"]
    vo, vb = t["objects"] - h["objects"], t["bytes"] - h["bytes"]
    wo, wb = truth["totals"]["objects"], truth["totals"]["bytes"]
    do = (vo - wo) / float(wo) if wo else 0.0
    db = (vb - wb) / float(wb) if wb else 0.0
    summary = ("pycensus %d objects %d bytes, hidden %d objects %d bytes, "
               "truth %d objects %d bytes (pycensus-hidden vs truth: %+.3f%% objects, "
               "%+.3f%% bytes); skipped %s, opaque %d types" % (
                   t["objects"], t["bytes"], h["objects"], h["bytes"], wo, wb,
                   100 * do, 100 * db, snap.get("skipped"), len(snap.get("opaque") or [])))
    rep.check(abs(do) <= TOTALS_SHARE and abs(db) <= TOTALS_SHARE, label, "totals",
              summary, summary + "; limit %.0f%%" % (100 * TOTALS_SHARE))


def check_leak(rep, label, snap, truth, diff):
    """The lru_cache leak and the big bytes object show in the bytes row."""
    zoo = truth.get("zoo") or {}
    leak, big = zoo.get("leak"), zoo.get("big_bytes")
    if not leak or not big:
        rep.fail(label, "lru leak", "the target wrote no zoo facts")
        return
    # (the bytes kind: "str" on 2.7)
    kind = leak.get("type", "bytes")
    row = dict((t["type"], t) for t in snap["types"]).get(kind, {"count": 0, "bytes": 0})
    need_n = leak["count"] + 1
    need_b = leak["bytes"] + big["size"]
    errs = []
    if row["count"] < need_n or row["bytes"] < need_b:
        errs.append("bytes row %d objects %d bytes, the leak alone is %d objects %d bytes" % (
            row["count"], row["bytes"], need_n, need_b))
    if diff is not None:
        ids = [(int(a, 16), None) for a in leak["ids"]] + [(int(big["id"], 16), big["size"])]
        lost = [a for a, _ in ids if a not in diff.dump or diff.dump[a][0] != kind]
        if lost:
            errs.append("%d of the %d leaked bytes objects not counted, e.g. %#x" % (
                len(lost), len(ids), lost[0]))
    rep.check(not errs, label, "lru leak",
              "bytes row %d objects %d bytes holds the %d cached results (%d bytes) and the "
              "%d-byte object" % (row["count"], row["bytes"], leak["count"], leak["bytes"],
                                  big["size"]),
              "; ".join(errs))


def check_utf8(rep, label, truth, diff):
    """str objects with a cached UTF-8 copy (compile() makes one)."""
    zoo = truth.get("zoo") or {}
    grown = zoo.get("utf8_cached") or {}
    if not grown or not all(v > 0 for v in grown.values()):
        rep.skip(label, "utf8-cached str", "the target could not cache UTF-8 here: %r" % grown)
        return
    if diff is None:
        rep.skip(label, "utf8-cached str", "no object dump; str bytes checked per type only")
        return
    errs = []
    ids = [int(a, 16) for a in zoo.get("utf8_ids", [])]
    wide = zoo.get("wstr_cached")
    if wide:
        ids.append(int(zoo["wstr_id"], 16))
    for a in ids:
        t = diff.truth.get(a)
        d = diff.dump.get(a)
        if t is None:
            errs.append("%#x is not in the closure" % a)
        elif d is None:
            errs.append("%#x %s not counted" % (a, t[2]))
        elif d[2] != t[1]:
            errs.append("%#x %s: %d bytes want %d" % (a, t[2], d[2], t[1]))
    rep.check(not errs, label, "utf8-cached str",
              "%d str sized with their UTF-8 copy (+%s bytes)%s" % (
                  len(ids), "/".join(str(grown[k]) for k in sorted(grown)),
                  ", 1 with a wchar_t copy (+%d)" % wide if wide else ""),
              "; ".join(errs[:5]))


# --- opaque types --------------------------------------------------------------------

def check_opaque(rep, pycensus, py, workdir):
    label = py["label"]
    target = Target(py["path"], OPAQUE_TARGET, workdir, label + "-opaque")
    try:
        target.wait_ready(READY_TIMEOUT)
        truth = target.truth
        snap, err, secs = run_snapshot(pycensus, target.pid, None)
        if snap is None:
            rep.fail(label, "opaque", err)
            return
        errs = shape_errors(snap, target.pid)
        why = target_running(target)
        if why:
            errs.append(why)
        if errs:
            rep.fail(label, "opaque", "; ".join(errs))
            return
        got = visible(snap)
        total = dict((t["type"], t["count"]) for t in snap["types"])
        opaque = dict((o["type"], o["count"]) for o in snap["opaque"])
        listed, errs = [], []
        for name, n in sorted(truth["candidates"].items()):
            if total.get(name) != n:
                errs.append("%s counted %r, the target holds %d" % (name, total.get(name), n))
            if name in opaque:
                listed.append("%s x%d" % (name, opaque[name]))
                if opaque[name] != n:
                    errs.append("opaque %s x%d, the target holds %d" % (name, opaque[name], n))
            else:
                Report.note(label, "%s is not opaque any more (pycensus follows it)" % name)
        if not listed:
            errs.append("none of %s is listed in opaque: %s" % (
                ", ".join(sorted(truth["candidates"])), short(json.dumps(snap["opaque"]), 200)))
        rep.check(not errs, label, "opaque",
                  "%.2fs; listed and counted: %s" % (secs, ", ".join(listed)), "; ".join(errs))
        # What only the opaque objects hold is not followed: information.
        held = truth.get("held_only_by_opaque") or {}
        rows = []
        for name in set(got) | set(truth["types"]):
            d = got.get(name, [0])[0] - truth["types"].get(name, {}).get("count", 0)
            if d:
                rows.append((name, d))
        rows.sort(key=lambda r: (-abs(r[1]), r[0]))
        Report.note(label, "opaque: the target holds %s only through opaque objects; "
                    "pycensus-hidden minus the closure: %s" % (
                        ", ".join("%d %s" % (n, k) for k, n in sorted(held.items())),
                        ", ".join("%s %+d" % r for r in rows) or "none"))
        status = target.quit()
        if status != 0:
            rep.fail(label, "opaque target quits", "exit %r: %s" % (
                status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "opaque target", str(e))
    finally:
        target.kill()


# --- main ------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--keep", action="store_true",
                    help="keep the work directory (ids, dumps, truth files) and print it")
    args = ap.parse_args()

    harness.exit_on_signals()

    rep = Report()
    pycensus = harness.Pycensus(os.path.abspath(args.pycensus), timeout=CENSUS_TIMEOUT)
    workdir = tempfile.mkdtemp(prefix="pycensus-reach-")
    t0 = time.monotonic()
    try:
        if not (os.path.isfile(pycensus.path) and os.access(pycensus.path, os.X_OK)):
            rep.fail("setup", "pycensus", "no executable at %s (build it, or --pycensus)"
                     % pycensus.path)
        else:
            for py in pythons.discover():
                if args.only and args.only not in py["label"]:
                    continue
                if not py["supported"] or py["skip_reason"]:
                    rep.skip(py["label"], "", py["skip_reason"])
                    continue
                try:
                    check_zoo(rep, pycensus, py, workdir, args.keep)
                    check_opaque(rep, pycensus, py, workdir)
                except Exception as e:          # keep going with the others
                    rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        if args.keep:
            print("# work directory kept: %s" % workdir, flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
