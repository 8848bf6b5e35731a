#!/usr/bin/env python3
"""End-to-end tests of `pycensus why` (issue 12): reference paths from roots.

    python3 tests/test_why.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]

For every interpreter tests/pythons.py discovers:

  * "paths": tests/targets/why_target.py holds one instance of each marker
    class in one known way (an attribute, a list item, a dict value under a
    str key, a dict key, a closure cell, a __slots__ member, a cycle, an
    itertools.chain pycensus cannot follow, a local of a second thread, a
    value of the static type slice's dict, a root of its own) and
    leaks one with ctypes Py_IncRef.  `why` must give exactly the expected
    chain for each (a thread's frame roots name the line each frame runs,
    which the target records from inside with sys._getframe().f_lineno:
    frame 0 blocked in os.read, frame 1 in the call of frame 0's function), with the target's own id() as the sample address and
    sys.getsizeof as the bytes; the leaked one must be unrooted.  The table
    and dot formats must carry the same chains; dot must render with
    `dot -Tsvg` (SKIP without Graphviz).
  * "first-line fallback": with a layout table (the target's own `info`)
    whose instruction-position fact is made absent, the frame root names
    the function's first line, marked ", first line".
  * "lru story": tests/leaks/lru_cache_handler.py; every leaked handler
    and request must be held through the functools._lru_cache_wrapper's
    cache, named from the module that defines the class.
  * the Celery and web.py stories: every leaked AsyncResult through a
    Context's children list, every DBConnection through the ThreadedDict's
    per-thread dict.
  * the matplotlib and Django start-up stories with the real libraries
    (tests/targets/why_matplotlib.py, why_django.py): every Figure held
    by pyplot's registry (Gcf.figs); the big str among the largest
    retained objects as module entry.startup .data.
  * watch --why on the Celery story: the growing AsyncResult carries
    held_by, its shapes ending at the Context's children list, and the
    table's row ends with that chain; with --no-stop a usage error.
  * "dominators": the target computes dominator sets over
    gc.get_referents() on a small graph (a cycle, a shared node); the bytes
    and objects that freeing each node frees must match exactly.

One line per check: PASS / FAIL / SKIP; "#" lines are information; the last
line is "N passed, M failed, K skipped"; the exit status is 1 if anything
failed.  --quick changes nothing.  Every process started here is killed on
the way out.
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
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import LabelReport as Report, short  # noqa: E402

TARGET = os.path.join(HERE, "targets", "why_target.py")
STORY = os.path.join(HERE, "leaks", "lru_cache_handler.py")
TIMEOUT = 120

M = "__main__."
EXPECTED = {
    M + "ByAttr": "module __main__ .holder (__main__.Holder) .attr (__main__.ByAttr)",
    M + "ByIndex": "module __main__ .items (list) [2] (__main__.ByIndex)",
    M + "ByKey": "module __main__ .table (dict) ['the key'] (__main__.ByKey)",
    M + "AsKey": "module __main__ .keyed (dict) (key) (__main__.AsKey)",
    M + "ByClosure": "module __main__ .closure (function) .__closure__ (tuple) [0:captured] (cell) "
                     ".cell_contents (__main__.ByClosure)",
    M + "BySlot": "module __main__ .slotted (__main__.Slotted) .member (__main__.BySlot)",
    M + "InCycle": "module __main__ .cyc_b (list) [1] (__main__.InCycle)",
    M + "ByDeque": "module __main__ .dq (collections.deque) [100] (__main__.ByDeque)",
    # held only by a static type's dict: that dict is the root
    M + "ByTypeDict": "type slice.__dict__ (dict) ['_by_type_dict'] (__main__.ByTypeDict)",
    # thread id, function (file:running line): from the target, which
    # records from inside the line each of its two frames runs
    M + "ByLocal": "thread %d frame 1 worker (%s:%d) local in_thread (__main__.ByLocal)",
    M + "ByInnerLocal": "thread %d frame 0 block (%s:%d) local in_block (__main__.ByInnerLocal)",
}


def run(argv, timeout=TIMEOUT):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def start(argv):
    p = harness.start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = harness.read_line(p, 60)
    if not line or not line.startswith("ready"):
        raise RuntimeError("target did not start: %r %s" % (line, short(p.stderr.read().decode()
                                                                        if p.poll() is not None else "")))
    return p, line


def expected_chains(truth):
    """EXPECTED with the frame roots filled in from the target's truth."""
    expected = dict(EXPECTED)
    expected[M + "ByLocal"] = EXPECTED[M + "ByLocal"] % tuple(truth["worker"])
    expected[M + "ByInnerLocal"] = EXPECTED[M + "ByInnerLocal"] % tuple(truth["block"])
    return expected


def check_paths(rep, pc, py):
    label = py["label"]
    p, line = start([py["path"], "-E", "-s", TARGET])
    try:
        truth = json.loads(line.split(" ", 1)[1])
        expected = expected_chains(truth)
        names = sorted(expected) + [M + "ByOpaque", M + "Leaked"]
        rc, out, err = run([pc, "why", str(p.pid)] + names)
        if not rep.check(rc == 0, label, "why runs", "exit 0", "exit %d: %s" % (rc, short(err))):
            return
        doc = json.loads(out)
        by = {t["type"]: t for t in doc["types"]}
        for name, chain in sorted(expected.items()):
            t = by.get(name, {})
            shapes = t.get("shapes", [])
            got = [s["chain"] for s in shapes]
            rep.check(got == [chain] and t.get("count") == 1 and t.get("unrooted") == 0,
                      label, "path " + name[len(M):], chain, "got %r (count %r)" % (got, t.get("count")))
            if name in truth and shapes:
                tid, size = truth[name]
                rep.check(shapes[0]["sample"] == hex(tid) and t["bytes"] == size, label,
                          "sample+bytes " + name[len(M):], "%s, %d bytes" % (hex(tid), size),
                          "sample %s bytes %s; the target says %s, %d" % (shapes[0]["sample"], t["bytes"],
                                                                          hex(tid), size))
        # retained sizes against the target's own dominator sets
        truth_dom = truth["dominators"]
        rc, out, err = run([pc, "why", "--top", "3", str(p.pid)] + sorted(truth_dom))
        doc2 = json.loads(out) if rc == 0 else {"types": []}
        for t in doc2["types"]:
            want = truth_dom.get(t["type"])
            rep.check([t.get("freed_bytes"), t.get("freed_objects")] == want, label,
                      "retained " + t["type"][len(M):], "%s bytes in %s objects, as the target's "
                      "dominators say" % tuple(want), "got %s/%s, the target says %s" % (
                          t.get("freed_bytes"), t.get("freed_objects"), want))
        tops = doc2.get("dominators", [])
        sizes = [d["retained_bytes"] for d in tops]
        rep.check(len(tops) == 3 and sizes == sorted(sizes, reverse=True) and
                  all(d["retains"] and d["retained_objects"] >= 1 for d in tops) and
                  sizes[0] <= doc2.get("reachable_bytes", 0), label, "--top 3",
                  "largest first: %s" % ["%s %d" % (d["chain"], d["retained_bytes"]) for d in tops],
                  "got %r" % (tops,))
        t = by.get(M + "ByOpaque", {})
        got = [s["chain"] for s in t.get("shapes", [])]
        ok = (len(got) == 1 and got[0].startswith("module __main__ .chained (itertools.chain) "
                                                  "<opaque itertools.chain> ")
              and got[0].endswith("(list) [0] (__main__.ByOpaque)"))
        rep.check(ok, label, "path ByOpaque", "held through the opaque itertools.chain: %s" % got[:1],
                  "got %r" % got)
        t = by.get(M + "Leaked", {})
        sh = t.get("shapes", [])
        ok = (t.get("count") == 1 and t.get("unrooted") == 1 and len(sh) == 1 and sh[0]["unrooted"]
              and sh[0]["chain"] == "unrooted (__main__.Leaked)"
              and sh[0]["sample"] == hex(truth[M + "Leaked"][0]))
        rep.check(ok, label, "unrooted Leaked", "Py_IncRef leak reported unrooted", "got %r" % (t,))
        # the table says the same chains
        rc, out, err = run([pc, "why", "--format", "table", str(p.pid)] + sorted(expected))
        missing = [c for c in expected.values() if ("1  " + c) not in out]
        rep.check(rc == 0 and not missing, label, "table", "one chain per shape",
                  "exit %d, missing %r: %s" % (rc, missing, short(out + err)))
        rc, out, err = run([pc, "why", "--format", "dot", str(p.pid)] + sorted(expected))
        if not rep.check(rc == 0 and out.startswith("digraph") and '"in_thread"' not in out
                         and '".cell_contents"' in out, label, "dot", "a digraph with hop labels",
                         "exit %d: %s" % (rc, short(out + err))):
            return
        if not shutil.which("dot"):
            rep.skip(label, "dot -Tsvg", "Graphviz not installed (scripts/install-deps --test)")
            return
        d = subprocess.run(["dot", "-Tsvg"], input=out.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        rep.check(d.returncode == 0 and b"<svg" in d.stdout and b"ByClosure" in d.stdout, label,
                  "dot -Tsvg", "renders", "exit %d: %s" % (d.returncode, short(d.stderr.decode())))
    finally:
        harness.kill_proc(p)


# the running-line facts a layout table can lack: without them the frame
# roots name the function's first line, saying so
LINE_FACTS = ("PyFrameObject.f_lasti", "_PyInterpreterFrame.prev_instr|instr_ptr")


def check_first_line(rep, pc, py):
    label = py["label"]
    p, line = start([py["path"], "-E", "-s", TARGET])
    try:
        truth = json.loads(line.split(" ", 1)[1])
        rc, out, err = run([pc, "info", str(p.pid)])
        if not rep.check(rc == 0, label, "first-line fallback: info", "exit 0",
                         "exit %d: %s" % (rc, short(err))):
            return
        info = json.loads(out)
        facts = info["layout"]["facts"]
        absent = 0
        for f in facts:
            if f["fact"] in LINE_FACTS:
                absent += f["value"] is not None
                f["value"] = None
        fd, path = tempfile.mkstemp(prefix="pycensus-noline-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        try:
            env = dict(os.environ, PYCENSUS_TEST_LAYOUT_TABLE=path)
            q = subprocess.run([pc, "why", "--format", "table", str(p.pid), M + "ByLocal"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                               stdin=subprocess.DEVNULL, env=env)
        finally:
            os.unlink(path)
        out = q.stdout.decode("utf-8", "replace")
        tid, base = truth["worker"][:2]
        want = "thread %d frame 1 worker (%s:%d, first line) local in_thread (__main__.ByLocal)" % (
            tid, base, truth["first"]["worker"])
        rep.check(absent == 1 and q.returncode == 0 and ("1  " + want) in out, label,
                  "first-line fallback", "without the instruction position: %s" % want,
                  "%d position facts removed; exit %d: %s" % (absent, q.returncode,
                                                              short(out + q.stderr.decode())))
    finally:
        harness.kill_proc(p)


def check_story(rep, pc, py):
    label = py["label"]
    p = harness.start([py["path"], "-u", STORY, "--lifetime", "60"], stdout=subprocess.PIPE,
                      stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready"):
            rep.fail(label, "lru story", "did not start: %r" % line)
            return
        time.sleep(2)    # a few dozen leaked handlers
        rc, out, err = run([pc, "why", str(p.pid), M + "UploadHandler", M + "HTTPServerRequest"])
        if not rep.check(rc == 0, label, "lru story runs", "exit 0", "exit %d: %s" % (rc, short(err))):
            return
        doc = json.loads(out)
        # the lru_cache wrapper's dict; 2.7 (no lru_cache): the story's memo dict
        holders = ("module __main__ .ApiBaseHandler (type) ._calculate_uri_prefix "
                   "(functools._lru_cache_wrapper) .cache (dict) (key) ",
                   "module __main__ .ApiBaseHandler (type) ._calculate_uri_prefix "
                   "(function) .memo (dict) (key) ")
        for t in doc["types"]:
            held = sum(s["count"] for s in t["shapes"] if s["chain"].startswith(holders))
            # the request in flight when the target stopped: a frame's local
            busy = sum(s["count"] for s in t["shapes"] if s["chain"].startswith("thread "))
            rep.check(t["count"] >= 10 and busy <= 1 and held + busy == t["count"], label, "lru story " + t["type"],
                      "%d of %d held by the lru_cache wrapper: %s" % (held, t["count"],
                                                                      t["shapes"][0]["chain"]),
                      "%d of %d: %r" % (held, t["count"], [s["chain"] for s in t["shapes"]][:3]))
    finally:
        harness.kill_proc(p)


# (story, type, what every shape of it must name)
STORIES = (
    ("celery_trail.py", M + "AsyncResult", ("(__main__.Context) .children (list) [*] (__main__.AsyncResult)",)),
    # <= 3.12: the local's dummies dict; 3.13: its localdicts, which
    # local_traverse does not visit (why scans the local's C fields)
    ("webpy_timer_threadlocal.py", M + "DBConnection", ("(__main__.ThreadedDict) .dummies (dict)",
                                                        "(__main__.ThreadedDict) .localdicts (dict)")),
)


# Stories that are Python 3 code (the others run on 2.7 too).
PY3_STORIES = ("celery_trail.py",)


def check_stories(rep, pc, py):
    """The Celery and web.py stories: the holder each needed a tool inside
    the process to find."""
    label = py["label"]
    for script, typ, holder in STORIES:
        if py["version"][0] == 2 and script in PY3_STORIES:
            rep.skip(label, script, "Python 3 code (2.7 runs the tornado and web.py stories)")
            continue
        p = harness.start([py["path"], "-u", os.path.join(HERE, "leaks", script), "--lifetime", "60"],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        try:
            line = harness.read_line(p, 60)
            if not line or not line.startswith("ready"):
                rep.fail(label, script, "did not start: %r" % line)
                continue
            time.sleep(2)
            rc, out, err = run([pc, "why", "--top", "0", str(p.pid), typ])
            if not rep.check(rc == 0, label, script + " runs", "exit 0", "exit %d: %s" % (rc, short(err))):
                continue
            t = json.loads(out)["types"][0]
            held = sum(s["count"] for s in t["shapes"] if any(h in s["chain"] for h in holder))
            rep.check(t["count"] >= 5 and held == t["count"], label, script + " " + typ,
                      "%d of %d held by %s: %s" % (held, t["count"], " or ".join(holder),
                                                   t["shapes"][0]["chain"]),
                      "%d of %d: %r" % (held, t["count"], [s["chain"] for s in t["shapes"]][:3]))
        finally:
            harness.kill_proc(p)


def check_watch_why(rep, pc, py):
    """watch --why on the Celery story: the growing AsyncResult's entry
    names its holder (held_by), in JSON and in the table's row."""
    label = py["label"]
    if py["version"][0] == 2:
        rep.skip(label, "watch --why", "the Celery story is Python 3 code")
        return
    p = harness.start([py["path"], "-u", os.path.join(HERE, "leaks", "celery_trail.py"), "--lifetime", "60"],
                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = harness.read_line(p, 60)
        if not line or not line.startswith("ready"):
            rep.fail(label, "watch --why", "did not start: %r" % line)
            return
        holder = ".children (list) [*] (__main__.AsyncResult)"
        for fmt in ("json", "table"):
            rc, out, err = run([pc, "watch", "--why", "--interval", "500ms", "--count", "5", "--format", fmt,
                                str(p.pid)])
            if fmt == "json":
                last = json.loads(out.strip().splitlines()[-1]) if rc == 0 and out.strip() else {}
                g = [e for e in last.get("growing", []) if e["type"] == M + "AsyncResult"]
                held = g[0].get("held_by", []) if g else []
                n = sum(s["count"] for s in held if s["chain"].endswith(holder))
                rep.check(g and held and n >= g[0]["count"] - 1, label, "watch --why json",
                          "growing AsyncResult held_by %s (%d of %d)" % (held[0]["chain"] if held else None, n,
                                                                        g[0]["count"] if g else 0),
                          "exit %d, %s: %r" % (rc, short(err), g[:1]))
            else:
                rows = [l for l in out.splitlines() if l.startswith(M + "AsyncResult ")]
                rep.check(rc == 0 and rows and rows[-1].endswith(holder), label, "watch --why table",
                          "the growing row ends with its holder: %s" % (rows[-1][-90:] if rows else None),
                          "exit %d, %s: %r" % (rc, short(err), rows[-1:]))
        rc, out, err = run([pc, "watch", "--why", "--no-stop", "--count", "1", str(p.pid)])
        rep.check(rc == 2 and "--no-stop" in err, label, "watch --why --no-stop", "usage error, exit 2",
                  "exit %d: %s" % (rc, short(err)))
    finally:
        harness.kill_proc(p)


def has_module(py, name):
    return subprocess.run([py["path"], "-E", "-s", "-c", "import " + name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, timeout=60).returncode == 0


def check_real_stories(rep, pc, py):
    """The matplotlib and Django start-up stories with the real libraries
    (Debian's python3-matplotlib and python3-django: /usr/bin/python3
    only; SKIP where they do not import)."""
    label = py["label"]
    # matplotlib: every Figure held by pyplot's figure registry
    if not has_module(py, "matplotlib"):
        rep.skip(label, "matplotlib story", "matplotlib does not import (scripts/install-deps --test)")
    else:
        p, line = start([py["path"], "-E", os.path.join(HERE, "targets", "why_matplotlib.py"), "25"])
        try:
            figs = json.loads(line.split(" ", 1)[1])["figures"]
            rc, out, err = run([pc, "why", "--top", "0", str(p.pid), "matplotlib.figure.Figure"])
            t = json.loads(out)["types"][0] if rc == 0 else {}
            reg = "module matplotlib._pylab_helpers .Gcf (type) .figs "
            held = sum(s["count"] for s in t.get("shapes", []) if s["chain"].startswith(reg)
                       and s["chain"].endswith(" .figure (matplotlib.figure.Figure)"))
            samples = {int(s["sample"], 16) for s in t.get("shapes", [])}
            rep.check(rc == 0 and t["count"] == len(figs) == 25 and held == 25 and samples <= set(figs),
                      label, "matplotlib story Figure", "25 of 25 held by pyplot's registry: %s" % (
                          t.get("shapes") or [{}])[0].get("chain"),
                      "exit %d, %s: %s" % (rc, short(err), [(s["count"], s["chain"]) for s in t.get("shapes", [])][:3]))
        finally:
            harness.kill_proc(p)
    # Django: the module global that holds the giant str, among the
    # largest retained objects, with the target's own id and size
    if not has_module(py, "django"):
        rep.skip(label, "django story", "django does not import (scripts/install-deps --test)")
        return
    p, line = start([py["path"], "-E", os.path.join(HERE, "targets", "why_django.py")])
    try:
        addr, size = json.loads(line.split(" ", 1)[1])["data"]
        rc, out, err = run([pc, "why", "--top", "5", "--shapes", "1", str(p.pid), "str"])
        tops = json.loads(out).get("dominators", []) if rc == 0 else []
        got = [(d["address"], d["chain"], d["retained_bytes"]) for d in tops]
        rep.check((hex(addr), "module entry.startup .data (str)", size) in got, label, "django story str",
                  "the 4 MiB str held by module entry.startup .data, %d bytes retained, at %s" % (size, hex(addr)),
                  "exit %d, %s: %r" % (rc, short(err), got))
    finally:
        harness.kill_proc(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--only")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = Report()
    pc = os.path.abspath(args.pycensus)
    try:
        for py in pythons.discover():
            if not py["supported"] or py["skip_reason"]:
                rep.skip(py["label"], "", py["skip_reason"] or "unsupported")
                continue
            if args.only and args.only not in py["label"]:
                continue
            for fn in (check_paths, check_first_line, check_story, check_stories, check_real_stories, check_watch_why):
                try:
                    fn(rep, pc, py)
                except Exception as e:  # a target that failed: one FAIL, go on
                    rep.fail(py["label"], fn.__name__, "%s: %s" % (type(e).__name__, short(str(e))))
    finally:
        harness.cleanup()
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
