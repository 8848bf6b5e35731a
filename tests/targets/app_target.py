"""Application-heap target for pycensus tests (issue 16): C buffers and
what was opaque.

    python app_target.py GROUND_TRUTH.json [--app | --numpy]

Python 2.7 and 3.6+ (2.7: no typing objects).  Builds, in every interpreter, C objects that own buffers
sys.getsizeof counts: array.array, mmap.mmap, _struct.Struct, deque,
_io.BytesIO/StringIO/BufferedReader/BufferedWriter, and objects pycensus
used to list as opaque (locks, typing.TypeVar, operator.attrgetter and
itemgetter, functools.partial, itertools objects).  --app adds, on an
interpreter that has them (Debian's python3.11 with python3-numpy,
-pandas, -django, -sqlalchemy): numpy arrays of every flavour (owning,
view, non-contiguous, 0-d, object dtype, structured dtype, Fortran order),
numpy scalars of every fixed size, a pandas DataFrame of 100,000 rows, Django with auth/admin/sessions set up
on an in-memory sqlite and 2,000 User objects, SQLAlchemy, asyncio, json
and decimal imported.

The GC is disabled and the permanent generation emptied (3.12 starts with
objects there, which gc.get_objects() would not list).  Computes in itself:

  * "gc": per type, the count and sum of sys.getsizeof of gc.get_objects();
  * "types": per type, the count and bytes of the transitive closure of
    gc.get_referents() from gc.get_objects() (each object once);

  * "python_sizeof": the types whose __sizeof__ is Python code (pandas'
    DataFrame, Series, Index: a deep memory_usage no reader from outside
    can replay);
  * "flavours" (--app): per numpy array flavour, [hex id, sys.getsizeof];
  * "names": for each name (and qualname) of the typing.TypeVar,
    ParamSpec and TypeAliasType objects it holds, [hex id, whether the
    closure has it] (their traverse visits it only from a patch release
    on);

writes {"pid", "version", "app" (versions, --app), "gc", "types",
"totals", "gc_totals", "python_sizeof", "flavours", "names"} atomically
to GROUND_TRUTH.json, prints "ready" and blocks reading stdin
(quiescent.py's census and serve(): nothing allocated while blocked, the
census's frames left out on 2.7/3.6).  "ping" -> "pong"; "quit" or EOF ->
exit 0.
"""

from __future__ import print_function

import array
import collections
import functools
import gc
import io
import itertools
import mmap
import operator
import os
import struct
import sys
import threading
import types
try:
    import typing
except ImportError:     # 2.7
    typing = None

import quiescent     # tests/targets: the census, output, the command loop

KEEP = []
FLAVOURS = {}     # numpy array flavour -> [hex id, sys.getsizeof]
NAME_IDS = []     # ids of the type parameters' and aliases' names


type_name = quiescent.type_name


def build_buffers():
    arrays = [array.array("d", range(i * 100)) for i in range(20)]
    arrays += [array.array("b", b"x" * 1000), array.array("u", u"text" * 50)]
    maps = [mmap.mmap(-1, 4096 * (i + 1)) for i in range(5)]
    structs = [struct.Struct("<%dsI%dq" % (i + 1, i)) for i in range(10)]
    deques = [collections.deque(range(i * 30)) for i in range(10)]
    bios = [io.BytesIO(b"b" * (1000 * (i + 1))) for i in range(5)]
    sios = [io.StringIO(u"s" * (1000 * (i + 1))) for i in range(5)]
    rpath = os.path.abspath(__file__)
    readers = [io.open(rpath, "rb") for i in range(3)]     # (2.7's open() is file)
    for r in readers:
        r.read(10)          # allocates the buffer
    writers = [io.open(os.devnull, "wb") for i in range(3)]
    for w in writers:
        w.write(b"w")
    # Objects pycensus used to call opaque, each holding a str nothing
    # else refers to.
    locks = [threading.Lock() for i in range(10)] + [threading.RLock() for i in range(10)]
    tvars = [typing.TypeVar("T%d" % i) for i in range(10)] if typing else []
    tvars += [typing.ParamSpec("P%d" % i) for i in range(5)] if hasattr(typing, "ParamSpec") else []
    # Their names (and 3.15's alias qualnames) are referents only from a
    # patch release on (gh-140000): each a str nothing else holds.
    if hasattr(typing, "TypeAliasType"):
        qual = (lambda i: {"qualname": "Q.Alias%d" % i}) if sys.version_info >= (3, 15) else (lambda i: {})
        tvars += [typing.TypeAliasType("Alias%d" % i, int, **qual(i)) for i in range(5)]
    getters = [operator.attrgetter("attr_%d" % i) for i in range(10)]
    getters += [operator.itemgetter("item_%d" % i) for i in range(10)]
    partials = [functools.partial(print, "partial-%d" % i) for i in range(10)]
    iters = [itertools.count(i) for i in range(10)]
    iters += [itertools.repeat("repeat-%d" % i) for i in range(10)]
    KEEP.extend((arrays, maps, structs, deques, bios, sios, readers, writers,
                 locks, tvars, getters, partials, iters))
    # By address only: a list of them would hold them visibly.
    NAME_IDS.extend(id(v.__name__) for v in tvars)
    NAME_IDS.extend(id(v.__qualname__) for v in tvars if hasattr(v, "__qualname__"))


def build_app():
    import asyncio  # noqa: F401
    import decimal
    import numpy as np
    import pandas as pd
    import sqlalchemy
    import django
    from django.conf import settings
    settings.configure(
        DEBUG=False, SECRET_KEY="x" * 50, USE_TZ=True,
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.admin", "django.contrib.sessions",
                        "django.contrib.messages"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    django.setup()
    from django.core.management import call_command
    from django.contrib.auth.models import User
    call_command("migrate", verbosity=0)
    User.objects.bulk_create([User(username="user%d" % i, email="u%d@example.com" % i,
                                   password="!") for i in range(2000)])
    users = list(User.objects.all())
    engine = sqlalchemy.create_engine("sqlite://")
    meta = sqlalchemy.MetaData()
    table = sqlalchemy.Table("t", meta, sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
                             sqlalchemy.Column("name", sqlalchemy.String(50)))
    meta.create_all(engine)
    n = 100000
    df = pd.DataFrame({"i": np.arange(n), "f": np.linspace(0, 1, n),
                       "s": ["row-%d" % (i % 1000) for i in range(n)],
                       "c": pd.Categorical(["a", "b", "c", "d"] * (n // 4))})
    build_numpy()
    KEEP.extend((users, engine, table, df, decimal.Decimal("1.25")))
    return {"numpy": np.__version__, "pandas": pd.__version__, "django": django.__version__,
            "sqlalchemy": sqlalchemy.__version__}


def build_numpy():
    """numpy arrays of every flavour and scalars of every fixed size (--app,
    and alone with --numpy on an interpreter with numpy but not the rest)."""
    import numpy as np
    flavours = {
        "owning": np.arange(10000, dtype=np.float64),
        "zero_d": np.array(3.5),
        "object": np.array(["obj-%d" % i for i in range(100)], dtype=object),
        "structured": np.zeros(500, dtype=[("a", "<i4"), ("b", "<f8"), ("c", "S7")]),
        "fortran": np.asfortranarray(np.ones((30, 40))),
        "empty": np.empty((0, 5)),
    }
    base = np.arange(5000, dtype=np.int32)
    flavours["view"] = base[100:200]
    flavours["strided"] = base[::3]
    flavours["base"] = base
    flavours["reshaped"] = np.ones((20, 30)).T
    flavours["matrix"] = np.matrix(np.ones((3, 4)))                 # a Python subclass
    flavours["recarray"] = np.rec.array([(1, 2.0)] * 10, dtype=[("x", "i4"), ("y", "f8")])
    flavours["int8"] = np.arange(1000, dtype=np.int8)
    if hasattr(getattr(np, "dtypes", None), "StringDType"):    # numpy 2: not a legacy dtype
        flavours["stringdtype"] = np.array(["s-%d" % i for i in range(100)],
                                           dtype=np.dtypes.StringDType())
    scalars = [t(i) for t in (np.float64, np.float32, np.longdouble, np.int8, np.uint16, np.int64,
                              np.complex64, np.complex128, np.bool_) for i in range(3)]
    scalars += [np.datetime64("2020-01-0%d" % (i + 1)) for i in range(3)]
    scalars += [np.timedelta64(i, "s") for i in range(3)]
    KEEP.extend((flavours, scalars))
    FLAVOURS.update((k, ["%x" % id(a), sys.getsizeof(a)]) for k, a in flavours.items())
    return {"numpy": np.__version__}


def python_sizeof(t):
    """Whether T's __sizeof__ is Python code (pandas' deep memory_usage):
    no reader from outside can replay it."""
    f = getattr(t, "__sizeof__", None)
    return isinstance(f, types.FunctionType) or isinstance(getattr(f, "__func__", None), types.FunctionType)


def census():
    gcs, stats, inside = quiescent.census(probe=NAME_IDS)
    names = []
    for n in range(len(NAME_IDS)):
        names.append(["%x" % NAME_IDS[n], inside[n]])
    pysz = sorted(set(type_name(t) for t in list(gcs) + list(stats) if python_sizeof(t)))
    return quiescent.by_name(gcs), quiescent.by_name(stats), pysz, names


def write_truth(path, versions):
    gcs, closure, pysz, names = census()
    tot = lambda d: {"objects": sum(e["count"] for e in d.values()),  # noqa: E731
                     "bytes": sum(e["bytes"] for e in d.values()), "types": len(d)}
    truth = {"pid": os.getpid(), "version": sys.version.split()[0], "app": versions,
             "gc": gcs, "types": closure, "totals": tot(closure), "gc_totals": tot(gcs),
             "python_sizeof": pysz, "flavours": FLAVOURS, "names": names}
    quiescent.write_atomically(path, truth)


def main():
    args = sys.argv[1:]
    app = "--app" in args
    numpy_only = "--numpy" in args
    args = [a for a in args if a not in ("--app", "--numpy")]
    if len(args) != 1:
        sys.stderr.write("usage: app_target.py GROUND_TRUTH.json [--app | --numpy]\n")
        return 2
    path = args[0]
    gc.disable()
    build_buffers()
    versions = build_app() if app else build_numpy() if numpy_only else None
    gc.collect()
    if hasattr(gc, "unfreeze"):
        gc.unfreeze()
    # Twice, the first warming lazy caches up; not in a loop, whose
    # iterator 2.7 would count and then free.
    quiescent.serve(lambda: (write_truth(path, versions), write_truth(path, versions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
