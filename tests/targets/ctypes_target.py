"""ctypes target for pycensus tests (issue 16): ctypes objects and
classes sized as sys.getsizeof sizes them.

    python ctypes_target.py GROUND_TRUTH.json

Python 2.7 and 3.6+.  Holds many ctypes objects of every flavour: simple types
(c_int, c_double, c_char_p, c_wchar_p), arrays of several sizes (owning
their buffer, or views from_buffer of a bytearray, which do not),
create_string_buffer, a Structure, a Union, pointers, and the classes
these make (PyCStructType, PyCArrayType, PyCSimpleType, PyCPointerType
instances, whose type dict is a StgDict up to 3.12).

The GC is disabled and the permanent generation emptied.  Computes in
itself:

  * "gc": per type, the count and sum of sys.getsizeof of gc.get_objects();
  * "types": per type, the count and bytes of the transitive closure of
    gc.get_referents() from gc.get_objects() (each object once);
  * "ctypes": the names of the ctypes types among them: instances of a
    ctypes class, the ctypes metatypes (the classes' types) and StgDict.

writes {"pid", "version", "gc", "types", "ctypes"} atomically to
GROUND_TRUTH.json, prints "ready" and blocks reading stdin
(quiescent.py's census and serve(): nothing allocated while blocked).
"ping" -> "pong"; "quit" or EOF -> exit 0.
"""

import ctypes
import gc
import os
import sys

import quiescent     # tests/targets: the census, output, the command loop

KEEP = []
type_name = quiescent.type_name


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double), ("name", ctypes.c_char * 24),
                ("v", ctypes.c_int * 7)]


class Either(ctypes.Union):
    _fields_ = [("i", ctypes.c_longlong), ("d", ctypes.c_double), ("raw", ctypes.c_ubyte * 40)]


def build():
    keep = KEEP
    keep += [ctypes.c_int(i) for i in range(50)]
    keep += [ctypes.c_double(i / 3.0) for i in range(20)]
    keep += [ctypes.c_char_p(b"bytes %d" % i) for i in range(20)]
    keep += [ctypes.c_wchar_p(u"text %d" % i) for i in range(10)]
    for n in (1, 2, 15, 16, 17, 100, 1000, 65536):
        keep += [(ctypes.c_char * n)() for i in range(3)]
        keep += [(ctypes.c_int * n)() for i in range(2)]
    keep += [ctypes.create_string_buffer(b"s" * i) for i in range(0, 300, 10)]
    keep += [ctypes.create_unicode_buffer(i + 1) for i in range(10)]
    keep += [Point(i, i / 2.0) for i in range(30)]
    keep += [Either(i) for i in range(10)]
    ints = [ctypes.c_int(i) for i in range(20)]
    keep += [ctypes.pointer(x) for x in ints]
    keep += [ctypes.POINTER(Point)() for i in range(5)]
    # Views: memory owned by the bytearray, not by the ctypes object.
    buf = bytearray(4096)
    keep.append(buf)
    keep += [(ctypes.c_char * 4096).from_buffer(buf) for i in range(5)]
    keep += [Point.from_buffer(buf, 64 * i) for i in range(5)]
    keep += [(ctypes.c_double * 16).from_buffer(buf, 128) for i in range(3)]
    # Fields read from a structure: objects that point into it.
    p = Point(1, 2.0)
    keep.append(p)
    keep += [p.v for i in range(3)]
    # Many classes: each a metatype instance with its StgDict or StgInfo.
    keep += [ctypes.c_short * (i + 1) for i in range(40)]
    keep += [ctypes.POINTER(ctypes.c_short * (i + 1)) for i in range(10)]
    keep += [type("S%d" % i, (ctypes.Structure,), {"_fields_": [("f%d" % j, ctypes.c_int) for j in range(i + 1)]})
             for i in range(10)]
    keep += [type("U%d" % i, (ctypes.Union,), {"_fields_": [("u", ctypes.c_char * (i + 1))]}) for i in range(5)]
    keep += [type("I%d" % i, (ctypes.c_int,), {}) for i in range(5)]


def ctypes_types(types):
    """The ctypes names among TYPES: instances of a ctypes class, the
    metatypes and StgDict."""
    metas = set(type(t) for t in (ctypes.c_int, ctypes.Structure, ctypes.Union, ctypes.c_int * 2,
                                  ctypes.POINTER(ctypes.c_int), ctypes.CFUNCTYPE(None)))
    out = set()
    for t in types:
        if t in metas or type(t) in metas or t.__name__ == "StgDict":
            out.add(type_name(t))
    return sorted(out)


def census():
    gcs, stats = quiescent.census()
    names = ctypes_types(list(gcs) + list(stats))
    return quiescent.by_name(gcs), quiescent.by_name(stats), names


def write_truth(path):
    gcs, closure, names = census()
    quiescent.write_atomically(path, {"pid": os.getpid(), "version": sys.version.split()[0], "gc": gcs,
                                      "types": closure, "ctypes": names})


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: ctypes_target.py GROUND_TRUTH.json\n")
        return 2
    path = sys.argv[1]
    gc.disable()
    build()
    gc.collect()
    if hasattr(gc, "unfreeze"):
        gc.unfreeze()
    # Twice, the first warming lazy caches up; not in a loop, whose
    # iterator 2.7 would count and then free.
    quiescent.serve(lambda: (write_truth(path), write_truth(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
