"""A payload-heavy target for tests/test_payload.py and scripts/bench.

    python payload_target.py TRUTH.json MIB [SMALL]

Holds MIB MiB of 1 MiB buffers -- 5/8 of them bytes, 3/16 bytearray, 3/16
array.array('d') -- plus SMALL (default 20000) small Item objects (each an
int, a short str and a list), the shape of a service caching upload bodies
next to its request objects.  Then, with the GC disabled so nothing moves,
it counts the reachable closure of gc.get_referents() from gc.get_objects()
by type with sys.getsizeof, writes {"types": {name: [count, bytes]},
"rss": bytes} to TRUTH.json, prints "ready", and answers "ping" with "pong"
until "quit" or EOF.  "grow N" builds N more Items and N // 1000 + 1 more
1 MiB bytes (on pages that held none), rewrites TRUTH.json and prints
"grown" (a heap that changed after pycensus's pre-pass).  stdlib only.
"""

import array
import gc
import json
import sys


class Item(object):
    def __init__(self, i):
        self.id = i
        self.name = "item-%d" % i
        self.tags = [i]


def type_name(t):
    """module.qualname, builtins left out; 2.7: module.__name__, and its
    builtins modules are __builtin__ and exceptions."""
    m = t.__module__
    q = getattr(t, "__qualname__", t.__name__)
    return q if m in ("builtins", "__builtin__", "exceptions") else "%s.%s" % (m, q)


def reachable():
    """{type: [count, bytes]}: the gc.get_referents() closure of the GC
    objects, each object once."""
    stats = {}
    # this frame is GC-tracked on 2.7/3.6 and gone before the census
    seen = set([id(sys._getframe())])
    getsizeof = sys.getsizeof
    get_referents = gc.get_referents
    stack = gc.get_objects()
    while stack:
        o = stack.pop()
        i = id(o)
        if i in seen:
            continue
        seen.add(i)
        e = stats.get(type(o))
        if e is None:
            e = stats[type(o)] = [0, 0]
        e[0] += 1
        e[1] += getsizeof(o)
        stack.extend(get_referents(o))
    return stats


def rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def build(mib, small):
    mb = 1 << 20
    n_bytes = mib * 5 // 8
    n_ba = (mib - n_bytes) // 2
    n_arr = mib - n_bytes - n_ba
    # Distinct contents, so no buffer is shared; every page is touched.
    # (bytes(bytearray(...)): on 2.7 bytes is str, bytes([n]) its repr)
    blobs = [bytes(bytearray([i % 251])) * mb for i in range(n_bytes)]
    buffers = [bytearray([i % 251]) * mb for i in range(n_ba)]
    arrays = [array.array("d", bytes(bytearray([i % 251])) * mb) for i in range(n_arr)]
    items = [Item(i) for i in range(small)]
    return {"blobs": blobs, "buffers": buffers, "arrays": arrays, "items": items}


def main():
    truth_path, mib = sys.argv[1], int(sys.argv[2])
    small = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    keep = build(mib, small)
    gc.collect()
    gc.disable()
    write_truth(truth_path)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in iter(sys.stdin.readline, ""):   # (2.7's file iterator reads ahead)
        words = line.split()
        if words == ["ping"]:
            sys.stdout.write("pong\n")
            sys.stdout.flush()
        elif len(words) == 2 and words[0] == "grow":
            n = int(words[1])
            keep.setdefault("grown", []).append(
                ([Item(i) for i in range(n)], [bytes(bytearray([7])) * (1 << 20) for _ in range(n // 1000 + 1)]))
            write_truth(truth_path)
            sys.stdout.write("grown\n")
            sys.stdout.flush()
        elif words == ["quit"]:
            break
    del keep


def write_truth(path):
    stats = reachable()
    out = {"types": dict((type_name(t), v) for t, v in stats.items()), "rss": rss(),
           "bytes_type": type_name(bytes)}   # str on 2.7
    with open(path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
