#!/usr/bin/env python3
"""Sizes read from a damaged heap: never an absurd total, never a crash.

For each interpreter: tests/targets/damage_target.py counts its heap from
inside, then overwrites length and count fields of 14 objects
(a tuple's ob_size set to 2^60, INT64_MIN and -1, a list's allocated, a
set's mask, a dict's keys' dk_usable, a str's length, an int's digit count,
a bytes' ob_size, a bytearray's ob_alloc) through /proc/self/mem and blocks.  Then, in both
scopes, pycensus must exit 0 with valid JSON, say "complete": false with a
warning, count at least the damaged objects it can see (the gc scope sees
the GC-tracked ones, the reachable scope all of them) as invalid, and give
no type more bytes than the target's RSS.  In the gc scope, where the
answer is known exactly, every type's count must match the target's own,
every undamaged type's bytes too (but those of C modules' types with a
__sizeof__ of their own, which pycensus does not mirror), and a damaged type's bytes must be its
own count less the damaged objects' sizes (a damaged object is counted,
with no bytes); nothing else may be invalid.

    python3 tests/test_damage.py [--pycensus ./pycensus] [--quick]

--quick (the sanitizer run) takes two interpreters instead of all.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402

TARGET = os.path.join(HERE, "targets", "damage_target.py")
rep = harness.LabelReport()


def rss(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def premise(pid, damaged):
    """Why the damage is not in the target's memory, or None."""
    with open("/proc/%d/mem" % pid, "rb") as f:
        for d in damaged:
            f.seek(d["addr"])
            got = struct.unpack("<Q", f.read(8))[0]
            if got != d["value"] % (1 << 64):
                return "%s: read %#x at %#x, wrote %#x" % (d["what"], got, d["addr"], d["value"])
    return None


def census(pc, label, pid, scope):
    """The census as a dict, or None after reporting why not."""
    rc, out, err, secs = pc.run(["snapshot", "--scope", scope, str(pid)])
    name = "%s %s" % (scope, "census")
    if harness.SANITIZER.search(err):
        rep.fail(label, name, "sanitizer report: " + harness.short(err, 600))
        return None
    if rc != 0:
        rep.fail(label, name, "exit %r: %s" % (rc, harness.short(err)))
        return None
    try:
        snap = json.loads(out.encode("utf-8", "surrogateescape").decode("utf-8"))
    except ValueError as e:
        rep.fail(label, name, "not JSON: %s" % e)
        return None
    rep.ok(label, name, "exit 0 in %.2f s" % secs)
    return snap


def check_honest(label, scope, snap, ndamaged, limit):
    """complete false, warned, enough invalid, no type above LIMIT bytes."""
    rep.check(snap.get("complete") is False and any("damaged" in w for w in snap.get("warnings", [])),
              label, scope + " incomplete", "complete false, warning given",
              "complete=%r warnings=%r" % (snap.get("complete"), snap.get("warnings")))
    rep.check(snap.get("invalid", 0) >= ndamaged, label, scope + " invalid",
              "invalid %d for %d damaged objects in scope" % (snap.get("invalid", 0), ndamaged),
              "invalid %r, %d damaged objects in scope" % (snap.get("invalid"), ndamaged))
    big = [t for t in snap["types"] if t["bytes"] > limit]
    total = snap["totals"]["bytes"]
    rep.check(not big and total <= limit, label, scope + " bytes bounded",
              "largest type %d bytes, total %d, RSS %d" % (snap["types"][0]["bytes"], total, limit),
              "above RSS %d: %s, total %d" % (limit, harness.short(big), total))


def check_exact(label, snap, truth, damaged):
    """The gc scope against the target's own count."""
    want = {name: dict(e) for name, e in truth.items()}
    for d in damaged:
        if d["tracked"]:
            want[d["type"]]["bytes"] -= d["size"]
    got = {t["type"]: t for t in snap["types"]}
    diffs = []
    for name in sorted(set(want) | set(got)):
        w, g = want.get(name, {"count": 0, "bytes": 0}), got.get(name, {"count": 0, "bytes": 0})
        if w["count"] != g["count"] or w["bytes"] != g["bytes"]:
            diffs.append("%s: want %d/%d, got %d/%d" % (name, w["count"], w["bytes"], g["count"], g["bytes"]))
    ntracked = sum(d["tracked"] for d in damaged)
    rep.check(not diffs, label, "gc exact", "%d types exact, damaged types less their damaged objects' sizes"
              % len(want), "; ".join(diffs[:6]))
    rep.check(snap["invalid"] == ntracked, label, "gc invalid exact",
              "invalid %d = damaged GC objects" % ntracked,
              "invalid %d, damaged GC objects %d" % (snap["invalid"], ntracked))


def run_one(pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], TARGET, workdir, label)
    try:
        target.wait_ready(60)
        damaged = target.truth["damaged"]
        why = premise(target.pid, damaged)
        if why:
            rep.fail(label, "premise", why)
            return
        rep.ok(label, "premise", "%d fields overwritten, read back from /proc/%d/mem"
               % (len(damaged), target.pid))
        for scope in ("gc", "reachable"):
            snap = census(pc, label, target.pid, scope)
            if snap is None:
                continue
            seen = [d for d in damaged if d["tracked"] or scope == "reachable"]
            check_honest(label, scope, snap, len(seen), rss(target.pid))
            if scope == "gc":
                check_exact(label, snap, target.truth["truth"], damaged)
        stopped = harness.still_stopped(target.pid)
        rep.check(stopped == [], label, "released", "target runs on",
                  "target stopped threads: %r" % (stopped,))
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
    workdir = tempfile.mkdtemp(prefix="pycensus-damage-")
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
