#!/usr/bin/env python3
"""End-to-end tests of `pycensus dump` (issue 17): Chrome DevTools heap
snapshots that memlab opens.

    python3 tests/test_dump.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]
                               [--screenshot FILE]

For every interpreter tests/pythons.py discovers:

  * "counts": tests/targets/census_target.py (its ground truth: the gc
    scope, from gc.get_objects() inside the target).  `dump --scope gc`
    must hold exactly the truth's objects per type, count and bytes
    (sys.getsizeof); `dump` (reachable) exactly `snapshot`'s per-type counts
    and bytes of the same quiescent target.  The file must be what DevTools
    and memlab read: V8's key order, node 0 the synthetic root, edge counts
    summing to the edges, to_node a multiple of the node field count, ids
    odd, unique and uint32, strings unique, every node reachable from node 0
    (DevTools hides the others; in the gc dump too).  memlab (getFullHeapFromFile)
    must load it and count the same per type.  The target must answer
    after each dump (never left stopped).  A second dump must give every
    Leaky object the same id.
  * "edges" and "retained": tests/targets/why_target.py holds one marker
    instance per way (attribute, list item, str dict key, dict key,
    closure cell, __slots__ member, a thread's local, whose edge names
    the line its frame runs as the target records it): following the named
    edges from the root's groups must reach each marker, with V8 edge
    types (property, element, internal).  For its Dom* graph the target
    computes its own dominator sets over gc.get_referents(): memlab's
    retained size of each node must equal that truth (memlab's dominators,
    not pycensus's).  And memlab's retained size of `why --top`'s largest
    retainers that hang from a module (at least 3 of them) must equal
    why's: two dominator implementations over the same graph.
  * "find-leaks": three dumps of tests/leaks/lru_cache_handler.py a second
    apart (its UploadHandler count must grow: the premise); memlab's
    baseline/target/final leak detection (tests/dump/findleaks.js, every
    object new in target and alive in final a candidate) must trace the
    leak to UploadHandler through the functools._lru_cache_wrapper.
  * "values": a str holding a secret is absent from the file without
    --with-values; with it the str's node is named by its first 64
    characters.  In the same target, a weakref.ref's edge to its referent
    is weak; and a fresh constants tuple held only by a code object (not
    GC-tracked) hangs from the gc dump's group for such objects.
  * exit codes: a free PID 3, a bad PID 2, an --output in a missing
    directory 1 with one stderr line and no file left.

Once, on the preferred interpreter: "streamed" dumps a heap of about a
million objects and compares pycensus's peak RSS with that of `snapshot`
of the same heap: what dump adds must be small next to the file it wrote.
Its figures (seconds and file bytes per million objects) are printed as
"#" lines.

And once, "devtools": headless chromium opens DevTools' Memory panel on a
dump of the lru_cache story (tests/dump/devtools.js, puppeteer-core from
memlab's install); its Summary must count __main__.UploadHandler as the
dump holds it.  --screenshot FILE keeps the page: the handler's retainers,
the README's picture.

memlab comes from the npm registry (scripts/install-deps --test puts it in
/var/cache/pycensus/memlab, or $PYCENSUS_MEMLAB_DIR); without it or node
the memlab checks SKIP.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import LabelReport as Report, short  # noqa: E402

CENSUS_TARGET = os.path.join(HERE, "targets", "census_target.py")
WHY_TARGET = os.path.join(HERE, "targets", "why_target.py")
STORY = os.path.join(HERE, "leaks", "lru_cache_handler.py")
SUMMARY_JS = os.path.join(HERE, "dump", "summary.js")
FINDLEAKS_JS = os.path.join(HERE, "dump", "findleaks.js")
DEVTOOLS_JS = os.path.join(HERE, "dump", "devtools.js")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MEMLAB_JS = os.path.join(HERE, "dump", "memlab.js")
MEMLAB_DIR = os.environ.get("PYCENSUS_MEMLAB_DIR", "/var/cache/pycensus/memlab")
NODE = shutil.which("node")
TIMEOUT = 300

V8_KEYS = ["snapshot", "nodes", "edges", "trace_function_infos", "trace_tree", "samples",
           "locations", "strings"]
SNAPSHOT_KEYS = ["meta", "node_count", "edge_count", "trace_function_count"]

# why_target.py's markers: the edges from the root's groups to each, as
# (group, edge names...); either path of a pair may apply (an instance's
# attributes are in its __dict__ up to 3.10, inline after).
M = "__main__."
MOD = ("(modules)", "__main__", "__dict__")
EDGES = {
    M + "ByAttr": [MOD + ("holder", "attr"), MOD + ("holder", "__dict__", "attr")],
    M + "ByIndex": [MOD + ("items", "2")],
    M + "ByKey": [MOD + ("table", "the key")],
    M + "AsKey": [MOD + ("keyed", "(key)")],
    M + "ByClosure": [MOD + ("closure", "__closure__", "0", "cell_contents")],
    M + "BySlot": [MOD + ("slotted", "member")],
}
# what each hop's edge type must be, by its name in EDGES
EDGE_TYPES = {"holder": "property", "attr": "property", "items": "property", "2": "element",
              "table": "property", "the key": "property", "keyed": "property", "(key)": "internal",
              "closure": "property", "__closure__": "internal", "0": "element",
              "cell_contents": "internal", "slotted": "property", "member": "property",
              "__main__": "property"}
# the Dom* graph: each node by its path from dom_root
DOM = {"DomR": (), "DomA": ("0",), "DomB": ("1",), "DomC": ("0", "0"), "DomD": ("0", "1"),
       "DomE": ("0", "0", "0")}


def memlab_ready():
    return NODE and all(os.path.isdir(os.path.join(MEMLAB_DIR, "node_modules", "@memlab", m))
                        for m in ("heap-analysis", "api"))


def node_json(script, args, timeout=TIMEOUT):
    """The JSON document SCRIPT prints as its last line."""
    env = dict(os.environ, NODE_PATH=os.path.join(MEMLAB_DIR, "node_modules"))
    p = subprocess.run([NODE, "--max-old-space-size=4096", script] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    lines = [l for l in p.stdout.decode("utf-8", "replace").splitlines() if l.startswith("{")]
    if p.returncode or not lines:
        raise RuntimeError("%s exit %d: %s" % (os.path.basename(script), p.returncode,
                                                short(p.stderr.decode("utf-8", "replace")[-600:])))
    return json.loads(lines[-1])


def run(pc, args, timeout=TIMEOUT):
    p = subprocess.run([pc] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def dump(pc, pid, path, *extra):
    rc, _, err = run(pc, ["dump", "--output", path] + list(extra) + [pid])
    if rc != 0:
        raise RuntimeError("dump %s exit %d: %s" % (" ".join(extra), rc, short(err)))
    return err


def by_type(snap):
    return dict((t["type"], [t["count"], t["bytes"]]) for t in snap["types"])


def diffs(got, want, n=6):
    keys = sorted(set(got) | set(want))
    bad = ["%s %s!=%s" % (k, got.get(k), want.get(k)) for k in keys if got.get(k) != want.get(k)]
    return "%d types differ: %s" % (len(bad), "; ".join(bad[:n])) if bad else ""


def format_errors(s, path):
    """What makes the file unfit for DevTools' stream parser or memlab."""
    errs = []
    if s["keys"] != V8_KEYS:
        errs.append("top-level keys %r" % s["keys"])
    if s["snapshot_keys"] != SNAPSHOT_KEYS:
        errs.append("snapshot keys %r" % s["snapshot_keys"])
    with open(path, "rb") as f:
        head = f.read(200)
    if not head.startswith(b'{"snapshot":{"meta":{"node_fields":'):
        errs.append("file starts %r" % head[:60])
    if s["root"] != {"name": "", "id": 1, "type": "synthetic"}:
        errs.append("node 0 is %r" % s["root"])
    if not s["ids_unique"]:
        errs.append("ids repeat")
    if s["max_id"] >= 2 ** 32:
        errs.append("an id past uint32")
    if not s["strings_unique"]:
        errs.append("strings repeat")
    if s["unreachable"]:
        errs.append("%d nodes unreachable from node 0" % s["unreachable"])
    if "__main__" not in s["shortcuts"] or "sys" not in s["shortcuts"]:
        errs.append("no shortcut edges from the root to __main__ and sys: %r" % s["shortcuts"][:5])
    groups = [g["name"] for g in s["groups"]]
    for want in ("(modules)", "(interpreter state)"):
        if want not in groups:
            errs.append("no group %s in %r" % (want, groups))
    if not any(g.startswith("(thread ") for g in groups):
        errs.append("no thread group in %r" % groups)
    return errs


def check_counts(rep, pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], CENSUS_TARGET, workdir, label + "-census")
    try:
        target.wait_ready(120)
        pid = target.pid
        truth = dict((k, [v["count"], v["bytes"]]) for k, v in target.truth["types"].items())
        rc, out, err = run(pc, ["snapshot", pid])
        if rc != 0:
            rep.fail(label, "counts", "snapshot exit %d: %s" % (rc, short(err)))
            return
        snap = json.loads(out)
        reach = os.path.join(workdir, label + ".heapsnapshot")
        gcfile = os.path.join(workdir, label + "-gc.heapsnapshot")
        dump(pc, pid, reach)
        rep.check(target.ping(10) is not None, label, "detached", "the target answers after dump",
                  "the target does not answer after dump")
        again = os.path.join(workdir, label + "-again.heapsnapshot")
        dump(pc, pid, again)
        dump(pc, pid, gcfile, "--scope", "gc")
        harness.censused(py["path"])
        s = node_json(SUMMARY_JS, [reach, "IDS:" + M + "Leaky"])
        s2 = node_json(SUMMARY_JS, [again, "IDS:" + M + "Leaky"])
        a, b = s["ids"][M + "Leaky"], s2["ids"][M + "Leaky"]
        want = truth.get(M + "Leaky", [0])[0]
        rep.check(len(a) == want and a == b and all(i % 2 for i in a), label, "stable ids",
                  "the %d Leaky objects keep their (odd) ids in a second dump" % want,
                  "%d/%d Leaky ids, %d equal in a second dump" % (len(a), want, len(set(a) & set(b))))
        errs = format_errors(s, reach)
        rep.check(not errs, label, "format", "%d nodes, %d edges, %d strings" % (
            s["node_count"], s["edge_count"], s["strings"]), "; ".join(errs))
        got = dict((k, [v["count"], v["bytes"]]) for k, v in s["types"].items())
        d = diffs(got, by_type(snap))
        rep.check(not d, label, "counts reachable", "%d types, %d objects equal snapshot's" % (
            len(got), sum(v[0] for v in got.values())), d)
        gs = node_json(SUMMARY_JS, [gcfile])
        rep.check(not gs["unreachable"], label, "gc scope reachable",
                  "every node of the gc dump hangs from node 0 (%d through objects outside the scope)" % (
                      len(gs["group_edges"].get("(gc scope: held through objects outside it)", []))),
                  "%d nodes unreachable from node 0" % gs["unreachable"])
        gotgc = dict((k, [v["count"], v["bytes"]]) for k, v in gs["types"].items())
        d = diffs(gotgc, truth)
        rep.check(not d, label, "counts gc", "%d types, %d objects equal gc.get_objects()'s" % (
            len(truth), sum(v[0] for v in truth.values())), d)
        # V8 node types, by Python type
        want_types = {"str": "string", "int": "number", "float": "number", "code": "code",
                      "function": "closure", "list": "object", "dict": "object",
                      "__main__.Leaky": "object"}
        bad = []
        for name, vt in sorted(want_types.items()):
            kinds = [k.rsplit(" ", 1)[1] for k in s["node_types"] if k.rsplit(" ", 1)[0] == name]
            if kinds != [vt]:
                bad.append("%s: %r" % (name, kinds))
        rep.check(not bad, label, "node types", "str string, int/float number, code, function closure",
                  "; ".join(bad))
        if not memlab_ready():
            rep.skip(label, "memlab counts", "memlab not installed in %s" % MEMLAB_DIR)
            return
        m = node_json(MEMLAB_JS, [reach])
        gotm = dict((k, v["count"]) for k, v in m["types"].items())
        d = diffs(gotm, dict((k, v[0]) for k, v in by_type(snap).items()))
        rep.check(not d and m["node_count"] == s["node_count"], label, "memlab counts",
                  "memlab loads %d nodes, per-type counts equal snapshot's" % m["node_count"],
                  d or "memlab %d nodes, file %d" % (m["node_count"], s["node_count"]))
    finally:
        target.kill()


def check_graph(rep, pc, py, workdir):
    label = py["label"]
    p = harness.start([py["path"], "-E", "-s", WHY_TARGET], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready "):
            raise RuntimeError("why_target did not start: %r" % (line,))
        ids = json.loads(line[6:])
        path = os.path.join(workdir, label + "-why.heapsnapshot")
        dump(pc, p.pid, path)
        picks = []
        for alts in EDGES.values():
            picks += ["PATH:" + ">".join(a) for a in alts]
        dom = {}
        for name, hops in DOM.items():
            dom[name] = "PATH:" + ">".join(MOD + ("dom_root",) + hops)
            picks.append(dom[name])
        s = node_json(SUMMARY_JS, [path] + picks)
        for marker, alts in sorted(EDGES.items()):
            found = [(a, s["paths"]["PATH:" + ">".join(a)]) for a in alts]
            found = [(a, f) for a, f in found if f]
            if not found:
                rep.fail(label, "edges " + marker, "no path %s" % " or ".join(">".join(a) for a in alts))
                continue
            a, f = found[0]
            bad = ["%s is %s" % (h["name"], h["type"]) for h in f["hops"]
                   if h and str(h["name"]) in EDGE_TYPES and EDGE_TYPES[str(h["name"])] != h["type"]]
            size = ids[marker][1]
            # the marker's own size is in the census already; its node here
            rep.check(f["name"] == marker and not bad, label, "edges " + marker, ">".join(a),
                      "reached %s by %s%s" % (f["name"], ">".join(a), "; " + ", ".join(bad) if bad else ""))
            del size
        # a thread's local: an edge from that thread's group
        local = [e for g, es in s["group_edges"].items() if g.startswith("(thread ")
                 for e in es if e["to_name"] == M + "ByLocal"]
        # named by the line the frame runs, as the target records it
        want = "frame 1 worker (%s:%d) local in_thread" % tuple(ids["worker"][1:3])
        rep.check(local and local[0]["type"] == "property" and local[0]["name"] == want,
                  label, "edges thread local", local and local[0]["name"],
                  "no thread group edge %r to ByLocal: %r" % (want, local[:2]))
        if not memlab_ready():
            rep.skip(label, "retained", "memlab not installed in %s" % MEMLAB_DIR)
            return
        nodes = dict((name, s["paths"][pk]) for name, pk in dom.items())
        missing = [n for n, v in nodes.items() if not v or v["name"] != M + n]
        if missing:
            rep.fail(label, "retained", "Dom* nodes not found by path: %r" % missing)
            return
        # pycensus's own dominators (why --top) on the same stop's graph:
        # the largest retainers reached from a module, by their path
        rc, out, err = run(pc, ["why", "--top", "12", p.pid, M + "DomR"])
        if rc != 0:
            raise RuntimeError("why exit %d: %s" % (rc, short(err)))
        tops = {}
        for t in json.loads(out)["dominators"]:
            mm = re.match(r"^module (\S+)(?: \.(\S+) \((\S+)\))?$", t["chain"])
            if mm:
                hops = ("(modules)", mm.group(1)) + (() if not mm.group(2) else ("__dict__",) if
                                                     mm.group(2) == "__dict__" else ("__dict__", mm.group(2)))
                tops["PATH:" + ">".join(hops)] = t
        s2 = node_json(SUMMARY_JS, [path] + list(tops))
        found = dict((s2["paths"][k]["id"], t) for k, t in tops.items() if s2["paths"][k])
        m = node_json(MEMLAB_JS, [path] + [str(v["id"]) for v in nodes.values()] + [str(i) for i in found])
        agree = [(t["chain"], m["picked"][str(i)]["retained_size"], t["retained_bytes"]) for i, t in found.items()]
        bad = ["%s memlab %d, why %d" % a for a in agree if a[1] != a[2]]
        rep.check(len(agree) >= 3 and not bad, label, "retained vs why",
                  "%d of why's top retainers: memlab's retained size equal (%s)" % (
                      len(agree), ", ".join("%s %d" % (a[0], a[1]) for a in agree[:3])),
                  "%d mapped; %s" % (len(agree), "; ".join(bad[:4])))
        truth = ids["dominators"]
        bad, good = [], []
        for name, v in sorted(nodes.items()):
            got = m["picked"][str(v["id"])]["retained_size"]
            want = truth[M + name][0]
            (good if got == want else bad).append("%s %s/%s" % (name, got, want))
        rep.check(not bad, label, "retained", "memlab = target's dominators: " + ", ".join(good),
                  "memlab/target: " + ", ".join(bad))
    finally:
        harness.kill_proc(p)


def check_leaks(rep, pc, py, workdir):
    """memlab's baseline/target/final leak detection over three dumps of
    the lru_cache story, a second apart, must name the leaking handler."""
    label = py["label"]
    if not memlab_ready():
        rep.skip(label, "find-leaks", "memlab not installed in %s" % MEMLAB_DIR)
        return
    p = harness.start([py["path"], "-u", STORY, "--lifetime", "60"], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready"):
            raise RuntimeError("story did not start: %r" % (line,))
        files, counts = [], []
        for i in range(3):
            time.sleep(1)
            files.append(os.path.join(workdir, "%s-leak%d.heapsnapshot" % (label, i)))
            dump(pc, p.pid, files[-1])
            s = node_json(SUMMARY_JS, [files[-1]])
            counts.append(s["types"].get(M + "UploadHandler", {}).get("count", 0))
        if not (0 < counts[0] < counts[1] < counts[2]):
            rep.fail(label, "find-leaks", "premise: UploadHandler counts %r do not grow" % counts)
            return
        mdir = os.path.join(workdir, label + "-memlab")
        os.makedirs(mdir, exist_ok=True)
        m = node_json(FINDLEAKS_JS, files + [mdir])
        named = [h for path in m["paths"] for h in path if h["name"] == M + "UploadHandler"]
        # the lru_cache wrapper; on 2.7 (no lru_cache) the memoizing function
        holder = "functools._lru_cache_wrapper" if py["version"][0] >= 3 else "function"
        via = [h for path in m["paths"] for h in path if h["name"] == holder]
        rep.check(named and via, label, "find-leaks",
                  "%d traces; UploadHandler (%r in the dumps) named, held by %s" % (
                      m["traces"], counts, holder),
                  "%d traces name %r" % (m["traces"], sorted(set(h["name"] for p in m["paths"] for h in p))[:20]))
    finally:
        harness.kill_proc(p)


SECRET_TARGET = r"""
import gc, os, sys
secret = "-".join(["pycensus", "secret", "canary", "%d" % os.getpid()])
long = "L" * 10 + "%d" % os.getpid() + "z" * 200
# a tracked constants tuple held only by an untracked code object (no
# collection has untracked it): in the gc scope, held from outside it
def f(x): return x in {"alpha", "beta", "gamma"}
import weakref
class Referent(object): pass
referent = Referent()
wref = weakref.ref(referent)
orphan = gc.is_tracked(f.__code__.co_consts) and not gc.is_tracked(f.__code__)
sys.stdout.write("ready %s %d\n" % (secret, orphan)); sys.stdout.flush()
os.read(0, 1)
"""


def check_values(rep, pc, py, workdir):
    label = py["label"]
    p = harness.start([py["path"], "-E", "-s", "-c", SECRET_TARGET], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready "):
            raise RuntimeError("target did not start: %r" % (line,))
        secret = line.split()[1].encode()
        plain = os.path.join(workdir, label + "-plain.heapsnapshot")
        valued = os.path.join(workdir, label + "-values.heapsnapshot")
        dump(pc, p.pid, plain)
        dump(pc, p.pid, valued, "--with-values")
        with open(plain, "rb") as f:
            a = f.read()
        with open(valued, "rb") as f:
            b = f.read()
        rep.check(secret not in a, label, "values off", "no str contents: the secret is absent",
                  "the secret is in the file without --with-values")
        longv = ("L" * 10 + "%d" % p.pid + "z" * 200)[:64]
        s = json.loads(b.decode("utf-8"))
        rep.check(secret in b and longv in s["strings"] and longv + "z" not in b.decode(), label,
                  "values on", "the secret, and a long str cut to 64 characters",
                  "with --with-values: secret %s, 64-character prefix %s" % (
                      secret in b, longv in s["strings"]))
        s = node_json(SUMMARY_JS, [plain, "PATH:(modules)>__main__>__dict__>wref>(referent)"])
        w = s["paths"]["PATH:(modules)>__main__>__dict__>wref>(referent)"]
        rep.check(w and w["name"] == M + "Referent" and w["hops"][-1]["type"] == "weak", label, "weak edge",
                  "weakref.ref --weak--> its referent", "got %r" % (w and w["hops"][-1:],))
        # --scope gc: what only objects outside the scope hold still hangs
        # from the root (DevTools would hide it)
        gcfile = os.path.join(workdir, label + "-orphans.heapsnapshot")
        dump(pc, p.pid, gcfile, "--scope", "gc")
        gs = node_json(SUMMARY_JS, [gcfile])
        held = gs["group_edges"].get("(gc scope: held through objects outside it)", [])
        if line.split()[2] != "1":
            rep.skip(label, "gc orphans", "premise: no tracked co_consts under an untracked code object here")
        else:
            rep.check(held and not gs["unreachable"], label, "gc orphans",
                      "%d objects held only from outside the gc scope hang from their group" % len(held),
                      "%d in the group, %d unreachable" % (len(held), gs["unreachable"]))
    finally:
        harness.kill_proc(p)


def check_devtools(rep, pc, py, workdir, screenshot=None):
    """Chrome DevTools' own Memory panel (headless chromium) loads a dump
    of the lru_cache story and its Summary counts the leaking handler as
    the dump holds it; SCREENSHOT keeps the page, its retainers shown."""
    label = py["label"]
    if not CHROMIUM or not os.path.isdir(os.path.join(MEMLAB_DIR, "node_modules", "puppeteer-core")):
        rep.skip(label, "devtools", "no chromium or puppeteer-core (scripts/install-deps --test)")
        return
    p = harness.start([py["path"], "-u", STORY, "--lifetime", "60"], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready"):
            raise RuntimeError("story did not start: %r" % (line,))
        time.sleep(1)
        path = os.path.join(workdir, "lru.heapsnapshot")
        dump(pc, p.pid, path)
    finally:
        harness.kill_proc(p)
    s = node_json(SUMMARY_JS, [path])
    want = s["types"].get(M + "UploadHandler", {}).get("count", 0)
    png = screenshot or os.path.join(workdir, "devtools.png")
    m = node_json(DEVTOOLS_JS, [CHROMIUM, path, M + "UploadHandler", png], timeout=300)
    row = [r for r in m["rows"] if r.startswith(M + "UploadHandler\u00d7")]
    got = int(re.match(r"\S+\u00d7([\d,]+)", row[0]).group(1).replace(",", "")) if row else None
    rep.check(want > 0 and got == want, label, "devtools",
              "DevTools' Summary: %s (the dump holds %d)" % (row[0] if row else None, want),
              "DevTools' row %r, the dump holds %d" % (row, want))


def check_errors(rep, pc, workdir, py):
    label = "errors"
    rc, _, err = run(pc, ["dump", "--output", os.path.join(workdir, "x.heapsnapshot"), "abc"])
    rep.check(rc == 2, label, "bad pid", "exit 2", "exit %d: %s" % (rc, short(err)))
    rc, _, err = run(pc, ["dump", str(free_pid())])
    rep.check(rc == 3, label, "no such process", "exit 3", "exit %d: %s" % (rc, short(err)))
    p = harness.start([py["path"], "-E", "-s", "-c", "import os,sys; print('ready'); sys.stdout.flush(); os.read(0,1)"],
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        harness.read_line(p, 60)
        missing = os.path.join(workdir, "no-such-dir", "x.heapsnapshot")
        rc, _, err = run(pc, ["dump", "--output", missing, p.pid])
        lines = err.strip().splitlines()
        rep.check(rc == 1 and len(lines) == 1 and not os.path.exists(os.path.dirname(missing)),
                  label, "unwritable output", "exit 1: " + short(err),
                  "exit %d, %d stderr lines: %s" % (rc, len(lines), short(err)))
        ok = os.path.join(workdir, "ok.heapsnapshot")
        rc, _, err = run(pc, ["dump", "--output", ok, p.pid])
        rep.check(rc == 0 and os.path.exists(ok) and not os.path.exists(ok + ".partial"), label,
                  "output in place", "exit 0, FILE written, no FILE.partial left",
                  "exit %d: %s" % (rc, short(err)))
        stopped = harness.still_stopped(p.pid)
        rep.check(stopped == [], label, "not left stopped", "no thread stopped after the dumps",
                  "threads left stopped: %r" % (stopped,))
    finally:
        harness.kill_proc(p)


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


BIG_TARGET = r"""
import os, sys
N = int(sys.argv[1])
keys = ["key%d" % i for i in range(N)]
nums = list(range(10 ** 9, 10 ** 9 + N))
sys.stdout.write("ready\n"); sys.stdout.flush()
os.read(0, 1)
"""


def measured(argv):
    """(exit code, stderr, seconds, peak RSS bytes) of ARGV."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    harness.track(p)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, err.decode("utf-8", "replace"), time.monotonic() - t0, ru.ru_maxrss * 1024


def check_streamed(rep, pc, py, workdir, quick):
    label = py["label"]
    n = 250000 if quick else 500000
    p = harness.start([py["path"], "-E", "-s", "-c", BIG_TARGET, str(n)], stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        harness.read_line(p, 120)
        path = os.path.join(workdir, "big.heapsnapshot")
        rc, err, _, snap_rss = measured([pc, "snapshot", str(p.pid)])
        if rc:
            rep.fail(label, "streamed", "snapshot exit %d: %s" % (rc, short(err)))
            return
        # the same graph, built by why for a type that is not there
        rc, err, _, why_rss = measured([pc, "why", "--top", "0", str(p.pid), "NoSuchType"])
        if rc:
            rep.fail(label, "streamed", "why exit %d: %s" % (rc, short(err)))
            return
        rc, err, secs, dump_rss = measured([pc, "dump", "--output", path, str(p.pid)])
        if rc:
            rep.fail(label, "streamed", "dump exit %d: %s" % (rc, short(err)))
            return
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
        nodes = int(re.search(r'"node_count":(\d+)', head).group(1))
        edges = int(re.search(r'"edge_count":(\d+)', head).group(1))
        extra = dump_rss - why_rss
        rep.note(label, "dump of %d objects, %d references: %.2f s (%.2f s per million objects), "
                 "file %d bytes (%.0f MB per million objects); peak RSS %d MB, why's (the same "
                 "graph) %d MB, snapshot's %d MB" % (
                     nodes, edges, secs, secs * 1e6 / nodes, size, size / nodes, dump_rss >> 20,
                     why_rss >> 20, snap_rss >> 20))
        # The graph is why's; what dump adds is its id table (at most 16
        # bytes an object), one node's labels and the string table, never
        # the file: streamed.
        allowed = 16 * nodes + (8 << 20)
        if "ASAN_OPTIONS" in os.environ or pc.endswith("-san"):
            # ASan's quarantine and redzones grow with what was freed
            rep.skip(label, "streamed", "ASan build: peak RSS %d MB not bounded (the first pass "
                     "bounds it)" % (dump_rss >> 20))
            return
        if allowed >= size:
            rep.fail(label, "streamed", "premise: the allowance (%d MB) is not below the file's size (%d MB)"
                     % (allowed >> 20, size >> 20))
            return
        rep.check(nodes >= 2 * n and extra < allowed, label, "streamed",
                  "dump's peak RSS is why's + %d MB, the file %d MB" % (extra >> 20, size >> 20),
                  "%d nodes; dump's peak RSS is why's + %d MB (allowed %d MB) for a %d MB file" % (
                      nodes, extra >> 20, allowed >> 20, size >> 20))
    finally:
        harness.kill_proc(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--only")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--screenshot", help="keep DevTools' page as this PNG (the README's)")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = Report()
    pc = os.path.abspath(args.pycensus)
    if not NODE:
        rep.fail("node", "", "node is not installed (scripts/install-deps --test)")
        return rep.summary()
    workdir = tempfile.mkdtemp(prefix="pycensus-dump-")
    usable = []
    try:
        for py in pythons.discover():
            if not py["supported"] or py["skip_reason"]:
                rep.skip(py["label"], "", py["skip_reason"] or "unsupported")
                continue
            if args.only and args.only not in py["label"]:
                continue
            usable.append(py)
            for fn in (check_counts, check_graph, check_values, check_leaks):
                try:
                    fn(rep, pc, py, workdir)
                except Exception as e:  # a target that failed: one FAIL, go on
                    rep.fail(py["label"], fn.__name__, "%s: %s" % (type(e).__name__, short(str(e))))
        if usable:
            best = harness.by_preference(usable, pyenv_first=True)[0]
            for fn in (lambda: check_errors(rep, pc, workdir, best),
                       lambda: check_streamed(rep, pc, best, workdir, args.quick),
                       lambda: check_devtools(rep, pc, best, workdir, args.screenshot)):
                try:
                    fn()
                except Exception as e:
                    rep.fail(best["label"], "once", "%s: %s" % (type(e).__name__, short(str(e))))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
