# -*- coding: utf-8 -*-
"""Benchmark target for scripts/bench: a big heap and its own in-process censuses.

    python bench_target.py [--gc-objects N] [--reachable M] [--repeat R]

Python 3.8+.  Builds a heap of roughly N objects the cyclic GC tracks and M
objects reachable in all (the GC-tracked ones included), times the censuses a
program can take of itself on that heap, prints ONE JSON line and then blocks
in os.read(0, ...) without allocating: a line "ping" is answered "pong", EOF
(or "quit") exits.

The heap (all kept alive from the global HEAP, built with the GC disabled,
then one full gc.collect() so tuples and dicts that hold only atoms are
untracked the way a long-running program's are; the GC stays disabled after
that, so nothing moves while the censuses run or while pycensus reads):

  * records: instances of Record with five attributes -- a distinct int, a
    distinct str, a float, a tuple of two distinct strs and a small dict
    {"k": int, "n": str} (untracked after the collection);
  * int lists: lists of INTS_PER_LIST distinct ints (no cached small ints).

How many GC-tracked and reachable objects one record and one int list add
differs between versions (3.11+ keeps instance attributes inline, without a
__dict__ object; 3.8-3.10 have one), so the target first calibrates: it builds
CAL units of each kind, measures what they added (len(gc.get_objects()) and
the closure below), and solves for how many of each kind reach N and M.  The
real numbers are measured on the finished heap and reported, not assumed.

Censuses, GC disabled, medians and all samples reported in seconds; the
reachable one is timed --repeat times (default 3), the gc ones, which take
well under a second, max(2 * repeat + 1, 5) times:

  gc_count     objgraph's typestats: gc.get_objects(), count per type name.
  gc_census    the same plus sys.getsizeof() summed per type: the numbers
               `pycensus snapshot --scope gc` gives (count and bytes per
               module.qualname).  scripts/bench compares pycensus with this.
  reachable    the transitive closure of gc.get_referents() from
               gc.get_objects(), each object once (an id() set), counted per
               type with sys.getsizeof() summed: what `--scope reachable`
               gives (pympler's muppy+summary, followed all the way down).

The JSON line (all on one line):
  {"bench_target": 1, "python": "3.12.1", "pid": ...,
   "requested": {"gc": N, "reachable": M},
   "mix": {"records": ..., "int_lists": ..., "ints_per_list": ...,
           "per_record": [gc, reachable], "per_int_list": [gc, reachable]},
   "objects": {"gc": ..., "reachable": ..., "reachable_bytes": ...,
               "gc_bytes": ..., "frozen": gc.get_freeze_count()},
   "build_s": ..., "calibrate_s": ...,
   "inprocess": {"gc_count": {"median_s": ..., "samples_s": [...]},
                 "gc_census": {...}, "reachable": {...}},
   "rss": {"after_build_bytes": ..., "after_census_bytes": ...,
           "hwm_bytes": ...}}

"objects" are what the in-process censuses counted: "gc" is
len(gc.get_objects()), which leaves out the permanent generation ("frozen";
3.12+ keeps a few hundred start-up objects there), so pycensus's gc scope
should see gc + frozen, give or take the two GC objects main() makes after
the gc census (the reachable census's result dict and its list of samples).

"after_build" is VmRSS once the heap is built (before any census);
"after_census" is VmRSS when the line is printed, i.e. while blocked and
while pycensus reads (the closure's id() set has been freed by then, but the
allocator may keep some of it); "hwm" is VmHWM, the peak.
"""

import gc
import json
import os
import sys
import time

INTS_PER_LIST = 24
CAL = 20000                  # units of each kind built to calibrate
INT_BASE = 1 << 40           # far above the small-int cache

HEAP = []                    # everything built stays alive from here
STATE = {}                   # main()'s results, kept out of transient frames


class Record(object):
    def __init__(self, i):
        self.ident = INT_BASE + i
        self.name = "record-%d" % i
        self.score = i * 0.5 + 0.25
        self.tags = ("tag-%d" % i, "kind-%d" % (i * 3))
        self.meta = {"k": INT_BASE * 2 + i, "n": "meta-%d" % i}


def int_list(i):
    b = INT_BASE * 3 + i * INTS_PER_LIST
    return list(range(b, b + INTS_PER_LIST))


def type_name(t):
    mod = getattr(t, "__module__", None)
    qual = getattr(t, "__qualname__", t.__name__)
    if mod == "builtins" or not isinstance(mod, str):
        return qual
    return mod + "." + qual


def by_name(per_type):
    """{type: [count, bytes]} -> {name: [count, bytes]}"""
    out = {}
    for t, cb in per_type.items():
        e = out.setdefault(type_name(t), [0, 0])
        e[0] += cb[0]
        e[1] += cb[1]
    return out


# --- the in-process censuses -------------------------------------------------

def census_gc_count():
    """objgraph.typestats(): gc.get_objects() counted per type name."""
    stats = {}
    for o in gc.get_objects():
        n = type(o).__name__
        stats[n] = stats.get(n, 0) + 1
    return sum(stats.values()), 0, len(stats)


def census_gc():
    """gc.get_objects() counted per type with sys.getsizeof summed."""
    getsizeof = sys.getsizeof
    acc = {}
    for o in gc.get_objects():
        t = type(o)
        s = getsizeof(o)
        e = acc.get(t)
        if e is None:
            acc[t] = [1, s]
        else:
            e[0] += 1
            e[1] += s
    named = by_name(acc)
    return (sum(e[0] for e in named.values()), sum(e[1] for e in named.values()),
            len(named))


def census_reachable():
    """Closure of gc.get_referents() from gc.get_objects(), each object once,
    counted per type with sys.getsizeof summed.  Breadth first, one
    gc.get_referents(*level) call per level."""
    getsizeof = sys.getsizeof
    get_referents = gc.get_referents
    level = gc.get_objects()
    seen = set(map(id, level))
    add = seen.add
    acc = {}
    while level:
        for o in level:
            t = type(o)
            s = getsizeof(o)
            e = acc.get(t)
            if e is None:
                acc[t] = [1, s]
            else:
                e[0] += 1
                e[1] += s
        nxt = []
        push = nxt.append
        for r in get_referents(*level):
            i = id(r)
            if i not in seen:
                add(i)
                push(r)
        level = nxt
    del seen
    named = by_name(acc)
    return (sum(e[0] for e in named.values()), sum(e[1] for e in named.values()),
            len(named))


def timed(fn, repeat):
    samples = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    srt = sorted(samples)
    n = len(srt)
    med = srt[n // 2] if n % 2 else (srt[n // 2 - 1] + srt[n // 2]) / 2.0
    return {"median_s": round(med, 6), "samples_s": [round(s, 6) for s in samples],
            "objects": result[0], "bytes": result[1], "types": result[2]}


# --- building ------------------------------------------------------------------

def build(n_records, n_lists, start=0):
    """Records and int lists, in chunks of 10000 per holding list."""
    out = []
    chunk = []
    for i in range(start, start + n_records):
        chunk.append(Record(i))
        if len(chunk) == 10000:
            out.append(chunk)
            chunk = []
    if chunk:
        out.append(chunk)
    chunk = []
    for i in range(start, start + n_lists):
        chunk.append(int_list(i))
        if len(chunk) == 10000:
            out.append(chunk)
            chunk = []
    if chunk:
        out.append(chunk)
    return out


def measure():
    gc.collect()
    return len(gc.get_objects()), census_reachable()[0]


def calibrate():
    """(gc, reachable) added per record and per int list on this version."""
    g0, r0 = measure()
    part = build(CAL, 0, start=10 ** 9)
    g1, r1 = measure()
    del part
    g2, r2 = measure()
    part = build(0, CAL, start=10 ** 9)
    g3, r3 = measure()
    del part
    # The holding lists (CAL / 10000 of them) are part of each delta; they
    # are in the real heap too, at the same rate.
    rec = ((g1 - g0) / float(CAL), (r1 - r0) / float(CAL))
    lst = ((g3 - g2) / float(CAL), (r3 - r2) / float(CAL))
    return rec, lst, (g2, r2)


def plan(n_gc, n_reach, rec, lst, base):
    """How many records and int lists give about n_gc GC and n_reach
    reachable objects, on top of the interpreter's own base."""
    want_g = max(n_gc - base[0], 0)
    want_r = max(n_reach - base[1], 0)
    det = rec[0] * lst[1] - lst[0] * rec[1]
    if abs(det) < 1e-9:
        return int(want_g / rec[0]), 0
    n_rec = (want_g * lst[1] - lst[0] * want_r) / det
    n_lst = (rec[0] * want_r - want_g * rec[1]) / det
    if n_rec < 0:               # mostly lists wanted
        n_rec, n_lst = 0, want_r / lst[1]
    elif n_lst < 0:             # mostly records wanted
        n_rec, n_lst = want_g / rec[0], 0
    return int(round(n_rec)), int(round(n_lst))


def rss():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def say(text):
    data = (text + "\n").encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def parse_args(argv):
    args = {"gc": 1000000, "reachable": 10000000, "repeat": 3}
    names = {"--gc-objects": "gc", "--reachable": "reachable", "--repeat": "repeat"}
    i = 0
    while i < len(argv):
        a = argv[i]
        key, val = a, None
        if "=" in a:
            key, val = a.split("=", 1)
        if key not in names:
            sys.stderr.write("usage: bench_target.py [--gc-objects N] [--reachable M] "
                             "[--repeat R]\n")
            sys.exit(2)
        if val is None:
            i += 1
            val = argv[i]
        args[names[key]] = int(float(val))
        i += 1
    return args


def main():
    args = parse_args(sys.argv[1:])
    gc.disable()
    t0 = time.perf_counter()
    rec, lst, base = calibrate()
    STATE["calibrate_s"] = time.perf_counter() - t0
    n_rec, n_lst = plan(args["gc"], args["reachable"], rec, lst, base)

    t0 = time.perf_counter()
    HEAP.extend(build(n_rec, n_lst))
    gc.collect()                # untrack atom-only tuples and dicts, once
    STATE["build_s"] = time.perf_counter() - t0
    STATE["rss_build"] = rss()

    repeat = max(args["repeat"], 1)
    # The gc censuses take well under a second: more samples, steadier medians.
    STATE["gc_count"] = timed(census_gc_count, max(2 * repeat + 1, 5))
    STATE["gc_census"] = timed(census_gc, max(2 * repeat + 1, 5))
    STATE["reachable"] = timed(census_reachable, repeat)
    r = rss()

    out = {
        "bench_target": 1,
        "python": "%d.%d.%d" % sys.version_info[:3],
        "pid": os.getpid(),
        "requested": {"gc": args["gc"], "reachable": args["reachable"]},
        "mix": {"records": n_rec, "int_lists": n_lst, "ints_per_list": INTS_PER_LIST,
                "per_record": [round(x, 3) for x in rec],
                "per_int_list": [round(x, 3) for x in lst],
                "interpreter_base": list(base)},
        "objects": {"gc": STATE["gc_census"]["objects"],
                    "frozen": gc.get_freeze_count() if hasattr(gc, "get_freeze_count") else 0,
                    "gc_bytes": STATE["gc_census"]["bytes"],
                    "reachable": STATE["reachable"]["objects"],
                    "reachable_bytes": STATE["reachable"]["bytes"]},
        "build_s": round(STATE["build_s"], 3),
        "calibrate_s": round(STATE["calibrate_s"], 3),
        "inprocess": {k: STATE[k] for k in ("gc_count", "gc_census", "reachable")},
        "rss": {"after_build_bytes": STATE["rss_build"].get("VmRSS"),
                "after_census_bytes": r.get("VmRSS"),
                "hwm_bytes": r.get("VmHWM")},
    }
    STATE["line"] = json.dumps(out, sort_keys=True)
    del out, r
    say(STATE["line"])

    # Block without allocating (see census_target.py: os.read holds only an
    # untracked bytes object; sys.stdin would hold a memoryview).
    pending = b""
    while True:
        chunk = os.read(0, 4096)
        if not chunk:
            return 0
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            cmd = line.strip()
            if cmd == b"ping":
                os.write(1, b"pong\n")
            elif cmd == b"quit":
                return 0


if __name__ == "__main__":
    sys.exit(main())
