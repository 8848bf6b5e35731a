# -*- coding: utf-8 -*-
"""Census target for pycensus tests.

    python census_target.py GROUND_TRUTH.json [--scale N] [--scope gc|reachable]

Builds a known heap, computes its own census ("ground truth") from inside,
writes it to GROUND_TRUTH.json atomically, prints "ready" and then blocks
reading stdin without allocating.  Stdin commands, one per line:

    ping      -> "pong"
    recount   -> recompute the census and print one JSON line comparing it with
                 the file: {"recount": {"objects": N, "abs_diff": D,
                 "diffs": {type: delta}}}  (a self-check of this program;
                 the state after a recount is no longer the one counted)
    quit, EOF -> exit 0

Valid Python 2.7 and 3.6-3.13 (no f-strings, no walrus).

Heap layout (counts times --scale):
  * Frozen x700 (plus their dicts), built then gc.freeze()d (3.7+): the
    permanent generation.  On 2.7/3.6 they are ordinary objects.
  * Leaky x3000, in thirds: oldest generation (full collect), generation 1
    (gc.collect(0) moves survivors up), generation 0 (never collected).
  * Slotted x1000, Node x500 in rings of 5, DictSub x200, ListSub x200 and
    nested lists/dicts/tuples/sets spread over the same generations.
  * A daemon thread blocked in threading.Event().wait(), started before the
    census and known to be blocked when it is taken.
The cyclic GC is disabled before building, so nothing moves between
generations or gets untracked after the census.

Ground truth, --scope gc (default): every object gc.get_objects() returns,
plus the permanent generation.  gc.get_objects() omits the permanent
generation and Python cannot list it, so just before gc.freeze() we call
gc.unfreeze() (3.12 keeps ~375 start-up tuples there) and keep
FROZEN = gc.get_objects(): after gc.freeze() the permanent generation is
exactly FROZEN's items plus the list FROZEN itself (checked against
gc.get_freeze_count() and recorded under "gc").

Ground truth, --scope reachable: the transitive closure of gc.get_referents()
from the gc-scope objects, each object once (by id).

Objects the census itself creates, and why the counts should still match
what an outside reader sees while we block:
  * The lists, dicts, ints and strs of the census are made after
    gc.get_objects() returns (so they are not in it; that list never contains
    itself) and are all freed before "ready".
  * Executing frames: on 2.7/3.6 they are GC-tracked objects, so the frames
    of the census's call chain (below main()) are in gc.get_objects() but die
    when the census returns: they are excluded.  main()'s frame persists and
    is counted; the blocking loop runs inline in main() so no new frame
    exists while blocked.  3.7-3.10 do not track a frame while it executes,
    and on 3.11+ frames are not objects unless materialised (we never call
    sys._getframe() there), so neither view sees them.
  * type.__module__ of a static type may intern a new str the first time
    (e.g. 3.12+): a warm-up census is run first and thrown away, so the real one
    creates nothing that lasts.  Same for any lazy caches of json/open.
  * The main thread blocks in os.read(0, ...) and answers with os.write(1,
    ...), not sys.stdin.readline()/sys.stdout: on 3.x a BufferedReader blocks
    inside raw.readinto(memoryview), so a memoryview and its managedbuffer
    (both GC-tracked) exist only while blocked -- pycensus saw exactly those
    two more objects on 3.8-3.13.  FileIO.readline() would hold a bound
    method while blocked.  os.read holds only an untracked bytes object that
    nothing references.  Writing through sys.stdout would likewise hold a
    memoryview for an instant after "ready" has reached the pipe.
  * After each command the main frame holds the line read (bytes, not
    GC-tracked, so only the reachable scope can see it).
  * Generation 0 is left populated (no collection after the last batch), so
    any cyclic garbage made after the last gc.collect() is still in the GC
    lists: gc.get_objects() and an outside reader both count it.
  * "recount" checks all this from inside: in the gc scope it finds no
    difference (2.7-3.13, also after pings).
  * Reachable scope only: objects referenced only from an executing frame
    (3.7+: such frames are not GC roots here), or only from the
    interned-string table, are not in the closure; pycensus counts those
    roots too, so it may see a few more objects -- e.g. the bytes main()
    holds after a command was read (chunk, line, pending), and the locals of
    the waiter thread's frames.  main() keeps its other locals in the global
    STATE too.
"""
from __future__ import print_function

import gc
import json
import os
import sys
import threading
import time

PY2 = sys.version_info[0] == 2
HAS_FREEZE = hasattr(gc, "freeze")           # 3.7+
# Executing frames are GC-tracked on 2.7/3.6 only (see the module doc);
# sys._getframe() is harmless up to 3.10 and materialises a frame on 3.11+.
FRAMES_ARE_OBJECTS = sys.version_info < (3, 11)

# Everything built stays alive through these globals.
KEEP = []
FROZEN = None          # gc.get_objects() taken just before gc.freeze()
STATE = {}             # main()'s locals, also reachable from here
WAITER = {}            # the blocked thread and its event


# --- the test's own classes ------------------------------------------------

class Leaky(object):
    def __init__(self, i):
        self.index = i * 1000 + 7            # not a cached small int
        self.name = "leaky-%d" % i
        self.payload = [i, i + 1, i + 2]     # GC-tracked list per instance
        self.pair = (i, "pair-%d" % i)
        self.ratio = i / 7.0


class Slotted(object):
    __slots__ = ("a", "b", "c")

    def __init__(self, i):
        self.a = i
        self.b = "slot-%d" % i
        self.c = (i, i)


class Node(object):
    def __init__(self, i):
        self.i = i
        self.next = None
        self.data = {"i": i}


class DictSub(dict):
    pass


class ListSub(list):
    pass


class Frozen(object):
    def __init__(self, i):
        self.i = i
        self.tag = "frozen-%d" % i
        self.items = {"k": [i]}


# "plain": instances whose size is the default formula (basicsize + GC
# header/pre-header); "builtin-subclass": size comes from the builtin's
# __sizeof__ (dict/list tables).
CLASS_KINDS = {Leaky: "plain", Slotted: "plain", Node: "plain",
               Frozen: "plain", DictSub: "builtin-subclass",
               ListSub: "builtin-subclass"}


def type_name(t):
    """The BRIEF's naming rule; 2.7 has no __qualname__ and calls the
    builtins module __builtin__."""
    qual = getattr(t, "__qualname__", None)
    if qual is None:
        qual = t.__name__
    mod = getattr(t, "__module__", None)
    if mod == "builtins" or (PY2 and mod == "__builtin__"):
        return qual
    return str(mod) + "." + qual


# --- building the heap -----------------------------------------------------

def build_frozen(n):
    frozen = [Frozen(i) for i in range(n)]
    KEEP.append(frozen)
    KEEP.append({"frozen-index": dict((f.tag, f) for f in frozen[:50])})


def freeze():
    """Move everything alive into the permanent generation and return the
    list of what was moved (minus the list itself, which is moved too)."""
    gc.unfreeze()                # start-up objects already frozen (3.12)
    objs = gc.get_objects()      # no collection can run until freeze()
    gc.freeze()
    return objs


def build_batch(n_leaky, n_slotted, n_nodes, n_sub, tag):
    batch = {"tag": tag}
    batch["leaky"] = [Leaky(i) for i in range(n_leaky)]
    batch["slotted"] = [Slotted(i) for i in range(n_slotted)]
    nodes = [Node(i) for i in range(n_nodes)]
    for ring in range(0, n_nodes, 5):          # reference cycles
        members = nodes[ring:ring + 5]
        for j, node in enumerate(members):
            node.next = members[(j + 1) % len(members)]
    batch["nodes"] = nodes
    batch["dictsub"] = [DictSub(a=i, b=[i], c="d%d" % i) for i in range(n_sub)]
    batch["listsub"] = [ListSub([i, (i, i), [i]]) for i in range(n_sub)]
    # Nested plain containers of assorted shapes.
    batch["nested"] = [
        {"k%d" % i: [(i, "t%d" % i), {"x": i, "y": [i] * (i % 7)}],
         "set": set(range(i % 9)), "fs": frozenset([i, -i]),
         "bytes": ("b%d" % i).encode("ascii"), "ba": bytearray(i % 17)}
        for i in range(max(1, n_sub))]
    batch["tuples"] = [(i, [i], (i, (i,))) for i in range(n_sub)]
    KEEP.append(batch)


def split3(n):
    a = n // 3
    b = (n - a) // 2
    return [a, b, n - a - b]


def start_waiter():
    """A daemon thread blocked in Event.wait(); returns once it is blocked,
    so it allocates nothing after the census."""
    ev = threading.Event()
    th = threading.Thread(target=ev.wait, name="census-waiter")
    th.daemon = True
    WAITER["event"] = ev
    WAITER["thread"] = th
    th.start()
    cond = getattr(ev, "_cond", None) or getattr(ev, "_Event__cond")
    deadline = time.time() + 30
    while time.time() < deadline:
        waiters = getattr(cond, "_waiters", None)
        if waiters is None:
            waiters = getattr(cond, "_Condition__waiters")
        if len(waiters) > 0:
            break
        time.sleep(0.005)
    # From appending its waiter lock to blocking on it, the thread runs a few
    # bytecodes only.
    time.sleep(0.1)


# --- the census --------------------------------------------------------------

def transient_frames():
    """ids of the frames between main() (exclusive) and our caller: on
    2.7/3.6 they are in gc.get_objects() but die before we block."""
    if not FRAMES_ARE_OBJECTS:
        return set()
    ids = set()
    f = sys._getframe(1)
    while f is not None and f.f_code is not main.__code__:
        ids.add(id(f))
        f = f.f_back
    return ids


def census(scope, frozen):
    """{type: [count, bytes]} for the scope, keyed by type object."""
    objs = gc.get_objects()                 # first: see the module doc
    skip = transient_frames()
    roots = [objs]
    if frozen is not None:
        # Only tracked objects are in the permanent generation; nothing
        # untracks them (the GC never collects it) but be safe.
        roots.append([o for o in frozen if gc.is_tracked(o)])
        roots.append([frozen])
    try:
        return count(roots, skip, scope)
    finally:
        # objs holds this frame on 2.7/3.6 (a cycle the disabled GC would never
        # free); the loops run in count() so no loop variable keeps it either.
        del objs, roots


def count(roots, skip, scope):
    stats = {}
    seen = set(skip)
    getsizeof = sys.getsizeof
    if scope == "gc":
        for group in roots:
            for o in group:
                i = id(o)
                if i in seen:
                    continue
                seen.add(i)
                t = type(o)
                entry = stats.get(t)
                if entry is None:
                    entry = stats[t] = [0, 0]
                entry[0] += 1
                entry[1] += getsizeof(o)
        return stats
    get_referents = gc.get_referents
    stack = []
    for group in roots:
        stack.extend(group)
    # Every object on the stack is referenced by a live root, so ids stay
    # unique while we walk.
    while stack:
        o = stack.pop()
        i = id(o)
        if i in seen:
            continue
        seen.add(i)
        t = type(o)
        entry = stats.get(t)
        if entry is None:
            entry = stats[t] = [0, 0]
        entry[0] += 1
        entry[1] += getsizeof(o)
        stack.extend(get_referents(o))
    return stats


def by_name(stats):
    """Merge {type: [count, bytes]} into {name: {"count", "bytes"}}."""
    types = {}
    for t, (count, size) in stats.items():
        name = type_name(t)
        entry = types.get(name)
        if entry is None:
            entry = types[name] = {"count": 0, "bytes": 0}
        entry["count"] += count
        entry["bytes"] += size
    return types


def ground_truth(scope, frozen, scale):
    types = by_name(census(scope, frozen))
    truth = {
        "pid": os.getpid(),
        "version": sys.version.split()[0],
        "version_info": list(sys.version_info[:3]),
        "executable": sys.executable,
        "scope": scope,
        "scale": scale,
        "types": types,
        "totals": {"objects": sum(e["count"] for e in types.values()),
                   "bytes": sum(e["bytes"] for e in types.values()),
                   "types": len(types)},
        "classes": sorted(type_name(c) for c in CLASS_KINDS),
        "class_kinds": dict((type_name(c), k) for c, k in CLASS_KINDS.items()),
        "threads": threading.active_count(),
    }
    return truth


def gc_info(frozen):
    """GC state for the record (taken before the real census; it only
    allocates transient objects)."""
    info = {"get_count": list(gc.get_count()), "enabled": gc.isenabled()}
    if sys.version_info >= (3, 8):
        info["generation_lengths"] = [len(gc.get_objects(generation=g))
                                      for g in range(3)]
    if HAS_FREEZE:
        info["freeze_count"] = gc.get_freeze_count()
        # +1: the list FROZEN itself is frozen too.
        info["frozen_listed"] = (len(frozen) + 1) if frozen is not None else 0
    return info


def write_atomically(path, obj):
    # Default json.dumps uses the C encoder; indent or sort_keys would use
    # the pure-Python one (2.7: also for sort_keys), whose closures form
    # reference cycles that the disabled GC never frees.
    data = json.dumps(obj)
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    tmp = "%s.tmp.%d" % (path, os.getpid())
    f = open(tmp, "wb")                # binary: no locale lookup on open
    try:
        f.write(data)
    finally:
        f.close()
    os.rename(tmp, path)


def say(text):
    """Write all of TEXT to stdout with os.write (see the module doc)."""
    data = text.encode("utf-8") if not isinstance(text, bytes) else text
    while data:
        data = data[os.write(1, data):]


def recount(path, scope, frozen):
    """Self-check: census again and compare with the file."""
    now = by_name(census(scope, frozen))
    f = open(path, "rb")
    try:
        old = json.loads(f.read().decode("utf-8"))["types"]
    finally:
        f.close()
    diffs = {}
    for name in set(now) | set(old):
        d = now.get(name, {}).get("count", 0) - old.get(name, {}).get("count", 0)
        if d:
            diffs[name] = d
    total = sum(e["count"] for e in now.values())
    say(json.dumps({"recount": {"objects": total,
                                "abs_diff": sum(abs(d) for d in diffs.values()),
                                "diffs": diffs}}) + "\n")


# --- main --------------------------------------------------------------------

def parse_args(argv):
    usage = "usage: census_target.py GROUND_TRUTH.json [--scale N] [--scope gc|reachable]"
    path, scale, scope = None, 1, "gc"
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--scale" and i + 1 < len(argv):
            scale = int(argv[i + 1])
            i += 2
        elif a == "--scope" and i + 1 < len(argv) and argv[i + 1] in ("gc", "reachable"):
            scope = argv[i + 1]
            i += 2
        elif a.startswith("-") or path is not None:
            sys.stderr.write(usage + "\n")
            sys.exit(2)
        else:
            path = a
            i += 1
    if path is None or scale < 1:
        sys.stderr.write(usage + "\n")
        sys.exit(2)
    return path, scale, scope


def main():
    global FROZEN
    path, scale, scope = parse_args(sys.argv[1:])
    STATE.update(path=path, scale=scale, scope=scope)

    gc.disable()                 # no automatic collection from here on
    gc.collect()

    # 1. The permanent generation.
    build_frozen(700 * scale)
    gc.collect()
    if HAS_FREEZE:
        FROZEN = freeze()

    # 2. Oldest generation, then generation 1, then generation 0.
    leaky = split3(3000 * scale)
    slotted = split3(1000 * scale)
    nodes = [n - n % 5 for n in split3(500 * scale)]
    nodes[2] += 500 * scale - sum(nodes)
    subs = split3(200 * scale)
    for gen in range(3):
        build_batch(leaky[gen], slotted[gen], nodes[gen], subs[gen], "gen%d" % gen)
        if gen == 0:
            gc.collect()         # survivors to the oldest generation
        elif gen == 1:
            gc.collect(0)        # generation 0 survivors to generation 1
    del leaky, slotted, nodes, subs, gen

    start_waiter()

    read = os.read
    pending = b""
    STATE["read"] = read

    # Warm-up: a full census and write, thrown away, so that interned type
    # names and lazy caches exist before the census that counts.
    write_atomically(path, ground_truth(scope, FROZEN, scale))
    info = gc_info(FROZEN)
    STATE["gc_info"] = info

    truth = ground_truth(scope, FROZEN, scale)
    truth["gc"] = info
    write_atomically(path, truth)
    del truth

    say("ready\n")
    # Blocking loop, inline: no new frame, no GC-tracked object while
    # waiting in read().
    while True:
        nl = pending.find(b"\n")
        if nl < 0:
            chunk = read(0, 4096)
            if not chunk:
                break                       # EOF
            pending += chunk
            continue
        line = pending[:nl].strip()
        pending = pending[nl + 1:]
        if line == b"quit":
            break
        elif line == b"ping":
            say("pong\n")
        elif line == b"recount":
            recount(path, scope, FROZEN)
    return 0


if __name__ == "__main__":
    sys.exit(main())
