"""Opaque target for pycensus tests: GC objects pycensus cannot look into.

    python opaque_target.py GROUND_TRUTH.json

Python 2.7 and 3.6+.  Empties the permanent generation (3.12 starts with tuples
there, which gc.get_objects() would not list), then builds N instances each of C types that are GC-tracked and
have a tp_traverse of their own that pycensus has no rule for
(itertools.chain, _csv.writer; operator.itemgetter too, but for
_operator's, which pycensus mirrors since issue 16), each itemgetter holding
a str nothing else refers to: pycensus scans opaque objects' memory, so it
counts those strs all the same.  Computes in itself the transitive closure of
gc.get_referents() from gc.get_objects() (type -> count, bytes), writes

    {"pid", "version", "types": {name: {"count", "bytes"}}, "totals",
     "candidates": {type name: instances},
     "held_only_by_opaque": {"str": N}}

atomically to GROUND_TRUTH.json, prints "ready" and blocks reading stdin
(os.read: nothing allocated while blocked).  Commands: "ping" -> "pong";
"quit" or EOF -> exit 0.
"""

import _csv
import gc
import itertools
import json
import operator
import os
import sys

N = 50
KEEP = []


def type_name(t):
    """module.qualname; 2.7 has no __qualname__ and two builtins modules."""
    qual = getattr(t, "__qualname__", t.__name__)
    if t.__module__ in ("builtins", "__builtin__", "exceptions"):
        return qual
    return t.__module__ + "." + qual


class Sink(object):
    """Something with a write method for _csv.writer."""

    def write(self, text):
        return len(text)


def build():
    sink = Sink()
    chains = [itertools.chain(("chain-%d" % i, [i]), [i + 1]) for i in range(N)]
    getters = [operator.itemgetter("held-by-itemgetter-%d" % i) for i in range(N)]
    writers = [_csv.writer(sink) for i in range(N)]
    KEEP.extend((sink, chains, getters, writers))
    candidates = {}
    for objs in (chains, getters, writers):
        t = type(objs[0])
        if not t.__flags__ & (1 << 14):          # Py_TPFLAGS_HAVE_GC
            continue
        candidates[type_name(t)] = 0
    return candidates


# Old-style instances (2.7) are counted under their class, as pycensus does.
INSTANCE_TYPE = getattr(__import__("types"), "InstanceType", None)


def closure():
    objs = gc.get_objects()
    stats = {}
    # This frame is GC-tracked on 2.7/3.6 and dies before the census.
    seen = set([id(sys._getframe())])
    stack = list(objs)
    del objs
    getsizeof = sys.getsizeof
    get_referents = gc.get_referents
    while stack:
        o = stack.pop()
        i = id(o)
        if i in seen:
            continue
        seen.add(i)
        t = type(o)
        if t is INSTANCE_TYPE:
            t = o.__class__
        e = stats.get(t)
        if e is None:
            e = stats[t] = [0, 0]
        e[0] += 1
        e[1] += getsizeof(o)
        stack.extend(get_referents(o))
    types = {}
    for t, (n, b) in stats.items():
        e = types.setdefault(type_name(t), {"count": 0, "bytes": 0})
        e["count"] += n
        e["bytes"] += b
    return types


def write_atomically(path, obj):
    data = json.dumps(obj).encode("utf-8")
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def say(text):
    data = text.encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: opaque_target.py GROUND_TRUTH.json\n")
        return 2
    path = sys.argv[1]
    gc.disable()
    gc.collect()        # (3.12 puts immortal tuples back there)
    if hasattr(gc, "unfreeze"):      # 3.7+
        gc.unfreeze()       # 3.12 starts with tuples in the permanent generation
    # A partial called with no arguments passes its own args tuple on: on
    # 2.7 os.read would otherwise hold a new GC-tracked tuple while blocked.
    import functools
    read = functools.partial(os.read, 0, 4096)
    KEEP.append(read)
    candidates = build()
    for attempt in range(2):        # the first one warms lazy caches up
        types = closure()
        for name in candidates:
            candidates[name] = types.get(name, {}).get("count", 0)
        truth = {"pid": os.getpid(), "version": sys.version.split()[0],
                 "types": types,
                 "totals": {"objects": sum(e["count"] for e in types.values()),
                            "bytes": sum(e["bytes"] for e in types.values()),
                            "types": len(types)},
                 "candidates": candidates,
                 "held_only_by_opaque": {"str": N}}
        write_atomically(path, truth)
        del types, truth
    say("ready\n")
    pending = b""
    while True:
        nl = pending.find(b"\n")
        if nl < 0:
            chunk = read()
            if not chunk:
                break
            pending += chunk
            continue
        line = pending[:nl].strip()
        pending = pending[nl + 1:]
        if line == b"quit":
            break
        if line == b"ping":
            say("pong\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
