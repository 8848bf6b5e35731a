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
(quiescent.py's census and serve(): nothing allocated while blocked).
Commands: "ping" -> "pong"; "quit" or EOF -> exit 0.
"""

import _csv
import gc
import itertools
import operator
import os
import sys

import quiescent     # tests/targets: the census, output, the command loop

N = 50
KEEP = []
type_name = quiescent.type_name


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


def write_truth(path, candidates):
    types = quiescent.by_name(quiescent.census(("reachable",))[0])
    for name in candidates:
        candidates[name] = types.get(name, {}).get("count", 0)
    quiescent.write_atomically(path, {
        "pid": os.getpid(), "version": sys.version.split()[0], "types": types,
        "totals": {"objects": sum(e["count"] for e in types.values()),
                   "bytes": sum(e["bytes"] for e in types.values()), "types": len(types)},
        "candidates": candidates, "held_only_by_opaque": {"str": N}})


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: opaque_target.py GROUND_TRUTH.json\n")
        return 2
    path = sys.argv[1]
    gc.disable()
    gc.collect()        # (3.12 puts immortal tuples back there)
    if hasattr(gc, "unfreeze"):      # 3.7+
        gc.unfreeze()       # 3.12 starts with tuples in the permanent generation
    candidates = build()
    # Twice, the first warming lazy caches up; not in a loop, whose
    # iterator 2.7 would count and then free.
    quiescent.serve(lambda: (write_truth(path, candidates), write_truth(path, candidates)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
