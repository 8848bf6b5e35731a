#!/usr/bin/env python3
"""The five leak stories: does `pycensus watch` make each leak obvious?

    python3 tests/test_leaks.py [--pycensus ./pycensus] [--python PATH]
                                [--all-pythons] [--only SUBSTR] [--quick]

Each story in tests/leaks/ is a small pure-Python reproduction of a real leak
report (tornado handler + lru_cache, Celery trail=True, web.py thread-locals
in a uWSGI timer, Django start-up burst, matplotlib figures under gunicorn).
For each, this starts the story under the preferred supported interpreter
(pyenv 3.12) and Debian sid's 3.13-3.15 (tests/pythons.py; 3.14 and 3.15 are
only there), or --python, or every supported one with --all-pythons; runs

    pycensus watch --interval 1s --count 5 PID      (default reachable scope)

and checks what a user would look at: the leaking types are in the final
census's "growing" list at about the rate the story leaks them, and the
control types (a fixed set of objects, and objects created at the same rate
but freed) are not.  The start-up story is the other way round: its first
census must show the culprits (str, dict, list) on top, and nothing may grow.
Each story also prints a one-line summary as a person would read it ("# ...").

One line per check: PASS / FAIL / SKIP; the last line is "N passed, M failed,
K skipped"; the exit status is 1 if anything failed.  --quick is accepted for
tests/run.py and changes nothing (about 35 s per interpreter).  The stories
need the standard library only: nothing is installed into the sid root.  Every process
started here is killed on the way out, whatever happens.
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
LEAKS = os.path.join(HERE, "leaks")
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import cleanup, read_line, short, start  # noqa: E402

READY_TIMEOUT = 60         # the start-up story builds ~40 MiB first
LIFETIME = 180             # stories exit on their own after this, whatever happens
ROUNDS = 5                 # censuses per watch, 1 s apart
RATE_LO, RATE_HI = 0.7, 1.35   # a rate is plausible within these factors of the story's


# --- reporting -------------------------------------------------------------

def human_bytes(n):
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return "%s%.0f %s" % (sign, n, unit) if unit == "B" else "%s%.1f %s" % (sign, n, unit)
        n /= 1024


def human_rate(n):
    return ("+" if n >= 0 else "") + human_bytes(n) + "/s"


def num(x):
    return ("%.0f" % x) if abs(x) >= 10 else ("%.1f" % x)


# --- processes ---------------------------------------------------------------

def start_story(python, script, tmp):
    """Start tests/leaks/SCRIPT; returns (Popen, the dict of its ready line, stderr path)."""
    err = os.path.join(tmp, script + ".stderr")
    with open(err, "w") as ef:
        p = start([python, "-u", os.path.join(LEAKS, script), "--lifetime", str(LIFETIME)],
                  stdout=subprocess.PIPE, stderr=ef, stdin=subprocess.DEVNULL)
    line = read_line(p, READY_TIMEOUT)
    if not line or not line.startswith("ready "):
        with open(err) as f:
            raise RuntimeError("%s did not start (got %r; stderr %s)" % (script, line, short(f.read())))
    return p, json.loads(line[len("ready "):]), err


class PC(harness.SanitizerPycensus):
    def watch(self, pid, extra=()):
        """watch --interval 1s --count 5 PID: (exit, [census per line], stderr)."""
        rc, out, err = self.run(["watch", "--interval", "1s", "--count", str(ROUNDS)] + list(extra) + [str(pid)])
        lines = []
        for line in out.splitlines():
            if line.strip():
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    lines.append({"event": "unparseable", "text": line})
        return rc, lines, err


def censuses(lines, pid):
    return [d for d in lines if "event" not in d and d.get("pid") == pid]


def entry(census, name):
    for t in census.get("types", []):
        if t["type"] == name:
            return t
    return None


def growing(census, name):
    for g in census.get("growing", []):
        if g["type"] == name:
            return g
    return None


def seconds_between(a, b):
    """Seconds between two censuses' "time" stamps (same day)."""
    return harness.clock_seconds(b) - harness.clock_seconds(a)


def growing_names(census):
    return [g["type"] for g in census.get("growing", [])]


# --- the checks every story shares ----------------------------------------------

class Story:
    def __init__(self, rep, pc, label, key):
        self.rep, self.pc, self.label, self.key = rep, pc, label, key

    def name(self, what):
        return "%s %s: %s" % (self.label, self.key, what)

    def watched(self, rc, lines, err, pid, n=ROUNDS):
        cs = censuses(lines, pid)
        ok = self.rep.check(rc == 0 and len(cs) == n and all(c.get("complete") for c in cs),
                            self.name("watch pid %d: %d complete censuses" % (pid, n)),
                            "exit %s, %d census lines (%s complete); stderr %s" % (
                                rc, len(cs), sum(1 for c in cs if c.get("complete")), short(err)))
        return cs if ok else None

    def grows(self, cs, types, rate, what=""):
        """Each of TYPES ({name: objects per second}) is in the final census's
        growing list at a plausible rate."""
        last = cs[-1]
        results = {}
        for t, r in types.items():
            g = growing(last, t)
            per_s = g["count_per_s"] if g else None
            results[t] = g
            self.rep.check(g and RATE_LO * r <= per_s <= RATE_HI * r,
                           self.name("%s growing ~%s/s%s" % (t, num(r), what)),
                           ("%s/s, expected %s/s" % (per_s, num(r))) if g else
                           "not in the final growing list %s (deltas per round %s)" % (
                               growing_names(last)[:12],
                               [(entry(c, t) or {}).get("count_delta") for c in cs[1:]]),
                           "%s objects/s, %s, %d now" % (num(per_s), human_rate(g["bytes_per_s"]), g["count"])
                           if g else "")
        return results

    def flat(self, cs, t, count):
        """A control: exactly COUNT objects of T in every census, never growing."""
        counts = [(entry(c, t) or {}).get("count") for c in cs]
        g = [growing_names(c) for c in cs]
        self.rep.check(counts == [count] * len(cs) and not any(t in x for x in g),
                       self.name("control %s flat at %d" % (t, count)),
                       "counts %s; growing in %s" % (counts, [i + 1 for i, x in enumerate(g) if t in x]))

    def churn(self, cs, t):
        """A control: created as often as the leak but freed; never growing."""
        g = [growing_names(c) for c in cs]
        counts = [(entry(c, t) or {}).get("count", 0) for c in cs]
        self.rep.check(not any(t in x for x in g) and max(counts) <= 5,
                       self.name("control %s (freed) not growing" % t),
                       "counts %s; growing in censuses %s" % (counts, [i + 1 for i, x in enumerate(g) if t in x]),
                       "counts %s" % counts)

    def summary(self, text):
        print("# %s story (%s): %s" % (self.key, self.label, text), flush=True)


def rate_part(g, name=None, show_bytes=False):
    if not g:
        return "%s not growing" % (name or "?")
    s = "%s %s/s" % (g["type"], "+" + num(g["count_per_s"]))
    if show_bytes:
        s = "%s %s (%s objects/s)" % (g["type"], human_rate(g["bytes_per_s"]), num(g["count_per_s"]))
    return s


# --- story 1: tornado handler, lru_cache on a method -------------------------

def story_lru(st, pc, python, tmp):
    p, info, _ = start_story(python, "lru_cache_handler.py", tmp)
    pid, rate, body = info["pid"], info["rate"], info["body_bytes"]
    # The bodies' type and its header, as the story measured them: bytes,
    # 33; on 2.7 str, 37.
    kind, overhead = info.get("bytes_type", "bytes"), info.get("body_overhead", 33)
    rc, lines, err = pc.watch(pid)
    cs = st.watched(rc, lines, err, pid)
    if not cs:
        return
    last = cs[-1]
    want = {"__main__.UploadHandler": rate, "__main__.HTTPServerRequest": rate}
    if kind == "bytes":
        want[kind] = rate
    g = st.grows(cs, want, rate, " (not %s/s: plain handlers free theirs)" % num(2 * rate))
    if kind != "bytes":
        # 2.7: the kept headers' text is str too, so the bodies' type grows
        # faster than the bodies; their bytes are checked below.
        g[kind] = growing(last, kind)
        per_s = g[kind]["count_per_s"] if g[kind] else None
        st.rep.check(per_s is not None and per_s >= RATE_LO * rate,
                     st.name("%s growing at least ~%s/s (bodies, and the kept headers' text)" % (kind, num(rate))),
                     "%s/s" % per_s, "%s objects/s" % (per_s and num(per_s)))
    b = g[kind]
    per_body = body + overhead
    st.rep.check(b and RATE_LO * rate * per_body <= b["bytes_per_s"] <= RATE_HI * rate * per_body,
                 st.name("bytes growth ~%s" % human_rate(rate * per_body)),
                 "bytes_per_s %s" % (b and b["bytes_per_s"]), human_rate(b["bytes_per_s"]) if b else "")
    names = growing_names(last)
    st.rep.check(names[:1] == [kind], st.name("%s first in growing (largest byte growth)" % kind),
                 "growing order %s" % names[:8])
    st.flat(cs, "__main__.URLSpec", info["routes"])
    st.churn(cs, "__main__.MainHandler")
    # The cache is unbounded, so its entries live in a plain dict: no
    # functools._lru_list_elem (only bounded caches, like the story's
    # lru_cache() with maxsize=128, link those, and stop at maxsize).
    elem = entry(last, "functools._lru_list_elem")
    st.rep.check("functools._lru_list_elem" not in names, st.name("functools._lru_list_elem not growing"),
                 "growing: %s" % short(growing(last, "functools._lru_list_elem")),
                 "absent" if not elem else "%d, from other (bounded) caches, flat" % elem["count"])
    st.summary("growing %s, %s, %s; plain MainHandler bodies freed" % (
        rate_part(b, kind, True), rate_part(g["__main__.UploadHandler"], "__main__.UploadHandler"),
        rate_part(g["__main__.HTTPServerRequest"], "__main__.HTTPServerRequest")))


# --- story 2: Celery AsyncResult with trail=True -------------------------------

def story_celery(st, pc, python, tmp):
    p, info, _ = start_story(python, "celery_trail.py", tmp)
    pid, rate = info["pid"], info["rate"]
    rc, lines, err = pc.watch(pid)
    cs = st.watched(rc, lines, err, pid)
    if not cs:
        return
    g = st.grows(cs, {"__main__.AsyncResult": rate, "__main__.promise": rate, "weakref.WeakMethod": rate}, rate)
    growth = [x["count_growth"] for x in g.values() if x]
    st.rep.check(len(growth) == 3 and len(set(growth)) == 1,
                 st.name("AsyncResult, promise, WeakMethod grow in step"),
                 "count_growth %s" % {k: v and v["count_growth"] for k, v in g.items()},
                 "+%d each over 3 rounds" % growth[0] if growth else "")
    st.flat(cs, "__main__.Task", info["tasks"])
    st.churn(cs, "__main__.Message")
    st.summary("growing %s, %s, %s; broker Messages freed" % tuple(
        rate_part(g[t], t, t == "__main__.AsyncResult") for t in
        ("__main__.AsyncResult", "__main__.promise", "weakref.WeakMethod")))


# --- story 3: web.py thread-locals in a uWSGI timer thread ----------------------

def story_webpy(st, pc, python, tmp):
    p, info, _ = start_story(python, "webpy_timer_threadlocal.py", tmp)
    pid, rate, req = info["pid"], info["rate"], info["request_rate"]
    rc, lines, err = pc.watch(pid)
    cs = st.watched(rc, lines, err, pid)
    if not cs:
        return
    g = st.grows(cs, {"__main__.DBConnection": rate}, rate,
                 " (the timer's rate, not %s/s: request threads clear theirs)" % num(rate + req))
    g.update(st.grows(cs, {"__main__.ThreadedDict": rate + req}, rate + req,
                      " (ThreadedDict._instances keeps every one)"))
    threads = [c["process"]["threads"] for c in cs]
    st.rep.check(len(set(threads)) == 1, st.name("thread count flat (no thread leak)"),
                 "threads per census %s" % threads, "%d threads" % threads[0])
    st.flat(cs, "__main__.Route", info["urls"])
    st.churn(cs, "__main__.User")
    opaque = [o["type"] for o in cs[-1].get("opaque", [])]
    if "__main__.ThreadedDict" in opaque:
        print("# note: __main__.ThreadedDict is listed as opaque (pycensus does not decode the referents of "
              "_thread._local subclasses); the connections are found anyway, they are GC-tracked", flush=True)
    st.summary("growing %s (timer only), %s; %d threads, flat; request-thread User rows freed" % (
        rate_part(g["__main__.DBConnection"], "__main__.DBConnection", True),
        rate_part(g["__main__.ThreadedDict"], "__main__.ThreadedDict"), threads[0]))


# --- story 4: Django start-up burst --------------------------------------------------

def story_startup(st, pc, python, tmp):
    p, info, _ = start_story(python, "django_startup.py", tmp)
    pid = info["pid"]
    rc, lines, err = pc.watch(pid)
    cs = st.watched(rc, lines, err, pid)
    if not cs:
        return
    first, last = cs[0], cs[-1]
    total = first["totals"]["bytes"]
    top = [t["type"] for t in first["types"][:3]]
    s, d, l = entry(first, "str"), entry(first, "dict"), entry(first, "list")
    culprits = sum(x["bytes"] for x in (s, d, l) if x)
    st.rep.check(top[:1] == ["str"] and set(top) == {"str", "dict", "list"} and culprits >= 0.75 * total,
                 st.name("first census: str, dict, list on top, most of the bytes"),
                 "top types %s; str+dict+list %s of %s" % (top, human_bytes(culprits), human_bytes(total)),
                 "%s (%d%%) of %s in objects" % (" ".join(top), 100 * culprits // total, human_bytes(total)))
    st.rep.check(s and s["bytes"] >= info["data_bytes"] and d and d["count"] >= info["nodes"] * 2 + 1,
                 st.name("first census: the big str and the parsed dicts are counted"),
                 "str %s, dict %s; start-up built a %s str and %d node dicts" % (
                     s, d, human_bytes(info["data_bytes"]), info["nodes"] * 2),
                 "str %s >= data %s; %d dicts" % (human_bytes(s["bytes"]), human_bytes(info["data_bytes"]),
                                                   d["count"]) if s and d else "")
    rss = first["process"]["rss_bytes"]
    st.rep.check(total >= 0.5 * rss, st.name("objects explain most of the RSS"),
                 "objects %s, RSS %s" % (human_bytes(total), human_bytes(rss)),
                 "objects %s of RSS %s" % (human_bytes(total), human_bytes(rss)))
    delta = last["totals"]["bytes"] - total
    big = [g for g in last.get("growing", []) if g["bytes_growth"] > 64 * 1024
           or g["type"] in ("str", "dict", "list")]
    st.rep.check(abs(delta) <= 128 * 1024 and not big, st.name("no growth after start-up"),
                 "total bytes %+d over the watch; growing %s" % (delta, short(big)),
                 "total %+d bytes over %d censuses; growing %s" % (delta, len(cs), growing_names(last)))
    # The same through `pycensus diff` of two saved snapshots.
    a, b = os.path.join(tmp, "startup1.json"), os.path.join(tmp, "startup5.json")
    with open(a, "w") as f:
        json.dump(first, f)
    with open(b, "w") as f:
        json.dump(last, f)
    rc, out, err = pc.run(["diff", a, b])
    try:
        dd = {t["type"]: t for t in json.loads(out)["types"]} if rc == 0 else {}
    except (ValueError, KeyError):
        dd = {}
    moved = {t: dd[t]["bytes_delta"] for t in ("str", "dict", "list") if t in dd}
    st.rep.check(len(moved) == 3 and all(abs(v) <= 0.01 * dd[t]["bytes"] for t, v in moved.items()),
                 st.name("diff of first and last census: culprits unchanged"),
                 "exit %s, bytes_delta %s, stderr %s" % (rc, moved, short(err)), "bytes_delta %s" % moved)
    parts = ["%s %s (%d%%)" % (x["type"], human_bytes(x["bytes"]), 100 * x["bytes"] // total)
             for x in first["types"][:3]]
    st.summary("top by bytes %s of %s in objects (RSS %s); over %d s: %+d bytes, growing %s" % (
        ", ".join(parts), human_bytes(total), human_bytes(rss), len(cs) - 1, delta,
        growing_names(last) or "nothing"))


# --- story 5: matplotlib figures in Flask under gunicorn ---------------------------

def story_figures(st, pc, python, tmp):
    p, info, _ = start_story(python, "flask_figures.py", tmp)
    master, workers, rate = info["pid"], info["workers"], info["rate"]
    rc, lines, err = pc.watch(master, ["--children"])
    started = sorted(d["pid"] for d in lines if d.get("event") == "started")
    st.rep.check(started == sorted(workers), st.name("--children finds the gunicorn workers"),
                 "started events for %s, workers %s" % (started, workers), "%s" % started)
    mcs = st.watched(rc, lines, err, master)
    if mcs:
        st.rep.check(not entry(mcs[-1], "__main__.Figure") and "__main__.Figure" not in growing_names(mcs[-1]),
                     st.name("master: no figures"),
                     "master final census: %s" % short(entry(mcs[-1], "__main__.Figure")))
    rates = {"__main__.Figure": rate, "__main__.FigureManagerBase": rate, "__main__.FigureCanvasAgg": rate,
             "__main__.Axes": 2 * rate, "__main__.Line2D": 6 * rate}
    shown = []
    for w in workers:
        cs = st.watched(rc, lines, err, w)
        if not cs:
            continue
        g = st.grows(cs, rates, rate, " in worker %d" % w)
        st.flat(cs, "__main__.Rule", info["rules"])
        st.churn(cs, "_io.BytesIO")
        st.churn(cs, "__main__.Response")
        arr = growing(cs[-1], "array.array")
        secs = max(1e-3, seconds_between(cs[0], cs[-1]))
        shown.append("worker %d: %s, %s, %s; RSS %s vs objects %s" % (
            w, rate_part(g["__main__.Figure"], "__main__.Figure"), rate_part(g["__main__.Line2D"], "Line2D"),
            rate_part(arr, "array.array", True),
            human_rate((cs[-1]["process"]["rss_bytes"] - cs[0]["process"]["rss_bytes"]) / secs),
            human_rate((cs[-1]["totals"]["bytes"] - cs[0]["totals"]["bytes"]) / secs)))
        if arr and w == workers[0]:
            per = arr["bytes"] / max(1, arr["count"])
            real = getsizeof(python, "__import__('array').array('d', [0.0] * %d)" % info["points"])
            if real and per < real:
                print("# note: pycensus counts the Line2D data arrays (array.array; numpy arrays in the story) "
                      "at %d bytes each where sys.getsizeof() says %d: for non-builtin types it counts "
                      "tp_basicsize + ob_size*tp_itemsize (as the contract says), which leaves out the item "
                      "buffer array.array and numpy allocate separately: the arrays' byte growth shown is about "
                      "%d times too small" % (per, real, round(real / per)), flush=True)
    if shown:
        st.summary("; ".join(shown) + "; master flat")


def getsizeof(python, expr):
    """sys.getsizeof(EXPR) under PYTHON, or None."""
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.getsizeof(%s))" % expr], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30, universal_newlines=True).stdout
        return int(out.strip())
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


STORIES = [
    ("lru_cache", story_lru),
    ("celery", story_celery),
    ("webpy", story_webpy),
    ("startup", story_startup),
    ("figures", story_figures),
]


# The stories that were Python 2 services (tornado, web.py under uWSGI):
# they run under 2.7 too, the others are Python 3 code.
PY2_STORIES = ("lru", "webpy")


def pick_pythons(explicit, all_pythons):
    """[(path, label, version or None)]: the preferred ones (and with them
    2.7, for its stories), or every supported one."""
    if explicit:
        return [(explicit, explicit, None)]
    entries = harness.usable_pythons()
    if all_pythons:
        return [(e["path"], e["label"], e["version"]) for e in entries]
    picked = [(e["path"], e["label"], e["version"]) for e in harness.preferred_and_sid(entries, pyenv_first=True)]
    return picked + [(e["path"], e["label"], e["version"]) for e in entries
                     if e["version"][0] == 2 and e["label"].startswith("pyenv-")][:1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--python", help="interpreter for the stories (default: discovered, 3.12 preferred, and sid's)")
    ap.add_argument("--all-pythons", action="store_true", help="run every story under every supported interpreter")
    ap.add_argument("--only", help="run only the stories whose name contains this")
    ap.add_argument("--quick", action="store_true", help="accepted for tests/run.py; no effect")
    args = ap.parse_args()
    rep = harness.Report(always_colon=("FAIL", "SKIP"), only=args.only)
    pc = PC(os.path.abspath(args.pycensus), timeout=90)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="pycensus-leaks-test-")
    try:
        interpreters = pick_pythons(args.python, args.all_pythons)
        if not os.access(pc.path, os.X_OK):
            rep.fail("pycensus", "%s is not executable (run make)" % pc.path)
        elif not interpreters:
            rep.skip("leak stories", "no supported interpreter with debug info found (tests/pythons.py)")
        for python, label, version in interpreters if os.access(pc.path, os.X_OK) else []:
            print("# stories run under %s (%s)" % (label, python), flush=True)
            for key, fn in STORIES:
                if not rep.wanted(key):
                    continue
                if version and version[0] == 2 and key not in PY2_STORIES:
                    rep.skip("%s %s" % (label, key), "a Python 3 story (2.7 runs %s)" % ", ".join(PY2_STORIES))
                    continue
                st = Story(rep, pc, label, key)
                try:
                    fn(st, pc, python, tmp)
                except Exception as e:
                    rep.fail(st.name("story"), "%s: %s" % (type(e).__name__, e))
                finally:
                    cleanup()
        rep.check(not pc.sanitizer, "no sanitizer reports", "; ".join(pc.sanitizer[:3]))
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %.1f s" % (time.monotonic() - t0))
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
