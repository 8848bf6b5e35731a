# -*- coding: utf-8 -*-
"""A heap with damaged objects, for tests/test_damage.py (2.7, 3.6+).

    python damage_target.py OUT.json

Builds a heap, counts it from inside (the gc scope: every object
gc.get_objects() returns, with sys.getsizeof()), then overwrites length and
count fields of a few objects, as a buggy C extension could (through
/proc/self/mem: ctypes would add types whose __sizeof__ pycensus does
not mirror):
a tuple's ob_size set to 2^60, to INT64_MIN and to -1, a list's allocated to
2^60 and INT64_MIN, a set's mask, a dict's keys' dk_usable, a str's length
(huge, negative), an int's digit count, a bytes' ob_size, a bytearray's
ob_alloc.  OUT.json then holds:

    "truth":   {type name: {"count", "bytes"}}, counted before the damage
    "damaged": [{"what", "type", "size" (its getsizeof before), "tracked"
                 (on the GC lists), "addr" written, "value" written}]
    "version": [major, minor, micro]

and the target prints "ready" and blocks reading stdin until EOF or "quit"
(answering "ping" with "pong": quiescent.serve); it never touches the
damaged objects again (the cyclic GC is disabled; a collection would walk
them) and leaves with os._exit(), so nothing deallocates them.

The counting follows census_target.py: a warm-up count first (type names
may be interned on first use), nothing lasting is made after the count
(the damage writes use only what the warm-up made), and the main thread
blocks in quiescent.serve's read, which holds no GC object.
"""
import gc
import os
import struct
import sys

import quiescent     # tests/targets: the census, output, the command loop

PY2 = quiescent.PY2
type_name = quiescent.type_name
VICTIMS = []     # the damaged objects, alive to the end
DAMAGE = []      # (object, address, value, what), all made before the count
MEM = []         # a descriptor of /proc/self/mem
KEEP = []        # the undamaged heap


# /proc/self/mem at an address (2.7 has no os.pread/pwrite).
def peek(fd, addr):
    os.lseek(fd, addr, os.SEEK_SET)
    return struct.unpack("<Q", os.read(fd, 8))[0]


def poke(fd, data, addr):
    os.lseek(fd, addr, os.SEEK_SET)
    os.write(fd, data)


class Plain(object):
    def __init__(self, i):
        self.i = i
        self.name = "plain-%d" % i
        self.items = [i, (i, str(i))]


def build():
    KEEP.append([Plain(i) for i in range(500)])
    KEEP.append({"k%d" % i: [i] for i in range(300)})
    KEEP.append([(i, "t%d" % i) for i in range(300)])
    KEEP.append([set(range(i % 20)) for i in range(50)])

    big = 1 << 60
    int64_min = -(1 << 63)
    # ob_size is at 16 in every PyVarObject of a release build; list
    # allocated at 32, set mask at 32, str length at 16, int ob_size (or
    # lv_tag, 3.12+) at 16, bytearray ob_alloc at 24, dict ma_keys at 32.
    def damage(obj, offset, value, what, base=None):
        VICTIMS.append(obj)
        DAMAGE.append((obj, (id(obj) if base is None else base) + offset, value, what))

    damage(tuple(range(1000, 1010)), 16, big, "tuple ob_size 2^60")
    damage(tuple(range(2000, 2010)), 16, int64_min, "tuple ob_size INT64_MIN")
    damage(tuple(range(3000, 3010)), 16, -1, "tuple ob_size -1")
    damage([1, 2, 3, "list"], 32, big, "list allocated 2^60")
    damage([4, 5, 6, "list"], 32, int64_min, "list allocated INT64_MIN")
    damage(set(range(100)), 32, (1 << 44) - 1, "set mask 2^44-1 (own table)")
    damage({"small", "set"}, 32, (1 << 44) - 1, "set mask 2^44-1 (small table)")
    d = dict(("dk%d" % i, [i]) for i in range(20))
    if PY2:
        # open addressing: ma_fill, ma_used, then ma_mask at 32
        damage(d, 32, (1 << 44) - 1, "dict ma_mask 2^44-1")
    else:
        keys = peek(MEM[0], id(d) + 32)
        # dk_usable: offset 24 up to 3.10, 16 from 3.11 (PyDictKeysObject).
        usable = 24 if sys.version_info < (3, 11) else 16
        damage(d, usable, 1 << 50, "dict keys dk_usable 2^50", base=keys)
    damage("".join(["damaged-str-", "a"]), 16, 1 << 62, "str length 2^62")
    damage("".join(["damaged-str-", "b"]), 16, -5, "str length -5")
    damage(b"".join([b"damaged-bytes", b"!"]), 16, 1 << 59, "bytes ob_size 2^59")
    # 2.7: an int ob_exports comes first, so ob_alloc is at 32
    damage(bytearray(b"damaged-bytearray"), 32 if PY2 else 24, big, "bytearray ob_alloc 2^60")
    huge = int("1" + "0" * 30)      # not a constant of this code object
    if sys.version_info >= (3, 12):
        # lv_tag = ndigits << 3 | sign
        damage(huge + 1, 16, (1 << 40) << 3, "int lv_tag 2^40 digits")
        damage(huge + 2, 16, ((1 << 60) << 3) | 2, "int lv_tag 2^60 digits, negative")
    else:
        damage(huge + 1, 16, 1 << 40, "int ob_size 2^40 digits")
        damage(huge + 2, 16, int64_min, "int ob_size INT64_MIN")


def count():
    return quiescent.by_name(quiescent.census(("gc",))[0])


def describe(tracked):
    return [{"what": what, "type": type_name(type(obj)), "size": sys.getsizeof(obj),
             "tracked": id(obj) in tracked, "addr": addr, "value": value}
            for obj, addr, value, what in DAMAGE]


def main():
    path = sys.argv[1]
    gc.disable()
    gc.collect()
    # 3.12 keeps start-up objects out of gc.get_objects(), and a collection
    # puts them back there: unfreeze after it.
    if hasattr(gc, "unfreeze"):      # 3.7+
        gc.unfreeze()
    MEM.append(os.open("/proc/self/mem", os.O_RDWR))
    build()
    tracked = set(id(o) for o in gc.get_objects())
    info = describe(tracked)
    del tracked
    # The writes, prepared now: (8 bytes, address).
    writes = [(struct.pack("<Q", d["value"] % (1 << 64)), d["addr"]) for d in info]
    fd = MEM[0]
    poke(fd, struct.pack("<Q", peek(fd, id(VICTIMS))), id(VICTIMS))      # warm-up
    # 3.7 keeps the keyword tuple of a C function's argument parser from its
    # first call on (open's ('raw', 'buffer_size'), rename's): call them now.
    quiescent.write_atomically(path + ".warm", {})
    os.remove(path + ".warm")

    def prepare():
        count()
        truth = count()
        quiescent.write_atomically(path, {"truth": truth, "damaged": info,
                                          "version": list(sys.version_info[:3])})
        del truth          # made after the count; INFO and WRITES were counted
        for data, addr in writes:
            poke(fd, data, addr)
    # Answers ping and blocks in quiescent's reader, which holds no GC object.
    quiescent.serve(prepare)
    os._exit(0)


if __name__ == "__main__":
    main()
