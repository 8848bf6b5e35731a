# -*- coding: utf-8 -*-
"""Census target for pycensus tests.

    python census_target.py GROUND_TRUTH.json [--scale N] [--scope gc|reachable]
                            [--zoo] [--ids IDS.txt]

Builds a known heap, computes its own census ("ground truth") from inside,
writes it to GROUND_TRUTH.json atomically, prints "ready" and then blocks
reading stdin without allocating.  Stdin commands, one per line:

    ping      -> "pong"
    recount   -> recompute the census and print one JSON line comparing it with
                 the file: {"recount": {"objects": N, "abs_diff": D,
                 "diffs": {type: delta}}}  (a self-check of this program;
                 the state after a recount is no longer the one counted)
    grow N    -> build N more instances of Fresh (each with a list), in new
                 memory, census again and rewrite the ground truth file,
                 then print "grown" (tests/test_snapshot.py: a heap that
                 changed after pycensus's pre-pass)
    path HEX  -> debugging: the shortest gc.get_referents() chain from a GC
                 root to the object whose id() is HEX, as one JSON line
                 {"path": [[hexid, type, repr], ...]} (state changes after)
    quit, EOF -> exit 0

--zoo (2.7, 3.5+; tests/test_reachable.py) adds build_zoo()'s heap: one or more of
every object kind the reachable scope decodes (see build_zoo), its classes
under "classes"/"class_kinds" and facts the test checks under "zoo".  Without
--zoo the heap is the one described below.  --ids writes one line per object
counted, "hexid size type repr" (repr for str/bytes/int/float only), to
compare with pycensus's PYCENSUS_DEBUG_DUMP.

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
    of the census's call chain (below quiescent.serve()) are in
    gc.get_objects() but die when the census returns: they are excluded.
    main()'s and serve()'s frames persist and are counted; the census runs
    under serve(), whose blocking loop then makes no new frame.  3.7-3.10 do not track a frame while it executes,
    and on 3.11+ frames are not objects unless materialised (we never call
    sys._getframe() there), so neither view sees them.
  * type.__module__ of a static type may intern a new str the first time
    (e.g. 3.12+): a warm-up census is run first and thrown away, so the real one
    creates nothing that lasts.  Same for any lazy caches of json/open.
  * The main thread blocks in os.read(0, ...) (FileIO.readinto on 3.6, see
    quiescent.py) and answers with os.write(1,
    ...), not sys.stdin.readline()/sys.stdout: on 3.x a BufferedReader blocks
    inside raw.readinto(memoryview), so a memoryview and its managedbuffer
    (both GC-tracked) exist only while blocked -- pycensus saw exactly those
    two more objects on 3.8-3.13.  FileIO.readline() would hold a bound
    method while blocked.  os.read holds only an untracked bytes object that
    nothing references.  Writing through sys.stdout would likewise hold a
    memoryview for an instant after "ready" has reached the pipe.
  * After each command serve()'s frame holds the line read (bytes, not
    GC-tracked, so only the reachable scope can see it).
  * Generation 0 is left populated (no collection after the last batch), so
    any cyclic garbage made after the last gc.collect() is still in the GC
    lists: gc.get_objects() and an outside reader both count it.
  * "recount" checks all this from inside: in the gc scope it finds no
    difference (2.7-3.13, also after pings).
  * Reachable scope only: objects referenced only from an executing frame
    (3.7+: such frames are not GC roots here), or only from the
    interned-string table, are not in the closure; pycensus counts those
    roots too, so it may see a few more objects -- e.g. the bytes serve()
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

import quiescent     # tests/targets: transient frames, a read that holds nothing

PY2 = sys.version_info[0] == 2
HAS_FREEZE = hasattr(gc, "freeze")           # 3.7+

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


class OldStyle:
    """An old-style class on 2.7 (its instances are of type `instance`,
    counted under the class); an ordinary one on 3.x."""

    def __init__(self, i):
        self.i = i


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


type_name = quiescent.type_name


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
    batch["old"] = [OldStyle(i) for i in range(n_sub)]
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


# --- the zoo (--zoo): every kind of object the reachable scope decodes -----

ZOO_CLASSES = {}       # zoo class -> kind (as CLASS_KINDS), once built
ZOO_FACTS = {}         # what the test should look for, written as "zoo"


def build_zoo(scale):
    """Python 3 only (run with --zoo): one or more of every object kind
    pycensus's reachable scope has to decode, kept alive from KEEP.

    Everything lives in this one function (classes, helpers, the Python 3
    source below) so that without --zoo the heap is as before: the same
    classes and layout; only this module's few extra functions (and, while
    the script runs, the parser's list of its constants) are new.
    Nothing here may leave a frame that refers back to main(): tracebacks
    are made inside a generator that stays suspended (a suspended
    generator's frame has no f_back, and on 3.11+ only a completed frame
    links its caller's), so the closure never takes in main()'s locals,
    which change while the target blocks."""
    import array
    import collections
    import functools
    import types
    import weakref

    n = 100 * scale
    zoo = {}
    KEEP.append(zoo)
    facts = ZOO_FACTS
    getsizeof = sys.getsizeof

    # Python 3 syntax: keyword-only defaults, async def, return in a
    # generator, non-ASCII identifiers.  Classes get __module__ "__main__".
    src = u'''
def make_kwfunc(default, kwdefault):
    def kwfunc(a, b=default, *args, k=kwdefault, **kw):
        return a, b, args, k, kw
    return kwfunc

@types.coroutine
def zoo_suspend(tag):
    got = yield tag
    return got

async def zoo_coro(aw, tag):
    held = ["coro-held", tag]
    got = await aw
    return held, got

async def zoo_agen(tag):
    yield tag

class Zo\u00e9(object):
    __qualname__ = "Zo\u00e9"
    def __init__(self, i):
        self.\u00e9t\u00e9 = i * 1000 + 11
        self.name = "zo\u00e9-%d" % i
'''
    py3 = {"types": types}
    if PY2:
        # No Python 3 syntax, no non-ASCII identifiers: plain stand-ins.
        class ZooAccent(object):
            def __init__(self, i):
                self.ete = i * 1000 + 11
                self.name = "zoe-%d" % i
        py3["make_kwfunc"] = lambda default, kwdefault: (lambda a, b=default, k=kwdefault: (a, b, k))
    else:
        exec(compile(src, "<zoo>", "exec"), globals(), py3)
        ZooAccent = py3["Zo\u00e9"]

    # Classes.  __qualname__ keeps "build_zoo.<locals>." out of the names.
    class ZooPlain(object):
        __qualname__ = "ZooPlain"

        def __init__(self, i):
            self.a = i * 1000 + 3
            self.b = "zp-%d" % i
            self.c = [i, -i]
            self.d = (i, "zt-%d" % i)

        def method(self):
            return self.a

        def _get_a(self):
            return self.a
        prop = property(_get_a, None, None, "a property")

        @classmethod
        def cmeth(cls):
            return cls

        @staticmethod
        def smeth(x):
            return x

    class ZooSlots(object):
        __qualname__ = "ZooSlots"
        __slots__ = ("x", "y")

    class ZooSlotsChild(ZooSlots):           # inherits x, y; adds z
        __qualname__ = "ZooSlotsChild"
        __slots__ = ("z",)

    class ZooSlotsDict(ZooSlots):            # slotted base, own __dict__
        __qualname__ = "ZooSlotsDict"

    class ZooSlotsExplicit(object):
        __qualname__ = "ZooSlotsExplicit"
        __slots__ = ("p", "__dict__", "__weakref__")

    class ZooTuple(tuple):                   # __dict__ after the items
        __qualname__ = "ZooTuple"

    class ZooInt(int):
        __qualname__ = "ZooInt"

    class ZooDict(dict):
        __qualname__ = "ZooDict"

    class ZooMeta(type):
        __qualname__ = "ZooMeta"

    class ZooError(Exception):
        __qualname__ = "ZooError"

    ZooMetaUser = ZooMeta("ZooMetaUser", (object,), {"__qualname__": "ZooMetaUser",
                                                     "tag": "meta-user"})
    ZooDyn = type("ZooDyn", (ZooPlain,), {"__qualname__": "ZooDyn",
                                          "extra": ["dyn-extra"]})
    for c, kind in ((ZooPlain, "plain"), (ZooSlots, "plain"), (ZooSlotsChild, "plain"),
                    (ZooSlotsDict, "plain"), (ZooSlotsExplicit, "plain"),
                    (ZooMetaUser, "plain"), (ZooDyn, "plain"), (ZooAccent, "plain"),
                    (ZooError, "plain"), (ZooTuple, "builtin-subclass"),
                    (ZooInt, "builtin-subclass"), (ZooDict, "builtin-subclass"),
                    (ZooMeta, "metaclass")):
        ZOO_CLASSES[c] = kind
    zoo["classes"] = list(ZOO_CLASSES)

    # Instances with __dict__: values only (3.11+ managed dict never
    # materialised; 3.13 inline values), a materialised __dict__ (3.11+),
    # split dicts and their shared-key copies (<= 3.10), an attribute
    # deleted, and a dict that no longer fits the shared keys.
    plain = [ZooPlain(i) for i in range(3 * n)]
    for i, o in enumerate(plain):
        k = i % 6
        if k == 1:
            vars(o)
        elif k == 2:
            del o.b
        elif k == 3:
            vars(o)["own-%d" % i] = i          # unshared key
        elif k == 4:
            setattr(o, "late_%d" % (i % 40), i)  # grows then overflows the shared keys
        elif k == 5:
            zoo.setdefault("dict_copies", []).append(vars(o).copy())
    zoo["plain"] = plain
    zoo["dyn"] = [ZooDyn(i) for i in range(n // 2)]
    zoo["accent"] = [ZooAccent(i) for i in range(n // 4)]
    zoo["meta_users"] = [ZooMetaUser() for i in range(n // 4)]
    for i, o in enumerate(zoo["meta_users"]):
        o.value = ["mu-%d" % i]

    slots = []
    for i in range(n):
        s = ZooSlots()
        s.x = "sx-%d" % i
        if i % 3:
            s.y = [i]                          # else left empty (NULL slot)
        c = ZooSlotsChild()
        c.x, c.y, c.z = i, "sc-%d" % i, (i, [i])
        d = ZooSlotsDict()
        d.x = -i - 1000
        d.extra = "sd-%d" % i
        e = ZooSlotsExplicit()
        e.p = {"p": i}
        e.q = "se-%d" % i
        slots.extend((s, c, d, e))
    zoo["slots"] = slots

    subs = []
    for i in range(n // 2):
        t = ZooTuple((i, "zt-%d" % i, [i]))
        t.note = "tuple-note-%d" % i
        z = ZooInt(i * 7919 + 10 ** 12)
        z.note = "int-note-%d" % i
        d = ZooDict(a=i, b="zd-%d" % i)
        d.attr = [i]
        subs.extend((t, z, d))
    zoo["subclass_instances"] = subs

    # Functions: defaults, keyword-only defaults, closures (cells), lambdas.
    def make_closure(i):
        captured = ["cell-%d" % i]
        calls = [0]

        def inner(x=i * 3 + 100000, y=("dflt-%d" % i,)):
            calls[0] += 1
            return captured, x, y
        return inner
    zoo["closures"] = [make_closure(i) for i in range(n)]
    zoo["kwfuncs"] = [py3["make_kwfunc"](["kwd-default-%d" % i], ("kwonly-%d" % i,))
                      for i in range(n // 4)]
    zoo["lambdas"] = [lambda v, i=i: v + i for i in range(n // 4)]
    zoo["codes"] = [compile("x + %d" % (i + 100000), "<zoo-code-%d>" % i, "eval")
                    for i in range(n // 5)]
    # A hot function: 3.8-3.10 give its code an opcache after 1024 calls,
    # which sys.getsizeof counts (entries, plus one byte per code unit).
    def hot(x):
        return len(str(x)) + int(x.real)
    before = getsizeof(hot.__code__)
    for i in range(2000):
        hot(i)
    facts["opcache_growth"] = getsizeof(hot.__code__) - before
    zoo["hot"] = hot
    mod = types.ModuleType("zoo_module", "the zoo's own module")
    mod.payload = ["zoo-module-%d" % i for i in range(20)]
    mod.func = make_closure(-1)
    zoo["module"] = mod
    zoo["bound"] = [o.method for o in plain[:n // 2]] + [ZooPlain.cmeth]
    zoo["descriptors"] = [property(lambda s: 1, None, None, "p-%d" % i) for i in range(10)] + \
        [classmethod(make_closure(i)) for i in range(10)] + \
        [staticmethod(make_closure(i)) for i in range(10)]
    if not PY2:
        zoo["namespace"] = types.SimpleNamespace(a="ns-a", b=["ns-b"])
    else:
        # 2.7's own kinds: old-style classes, their instances and bound
        # methods (instancemethod, with im_class), unbound methods, and
        # exceptions with a message.
        class ZooOld:
            def __init__(self, i):
                self.v = ["old-%d" % i]

            def method(self):
                return self.v
        olds = [ZooOld(i) for i in range(n)]
        zoo["old_style"] = olds
        zoo["old_bound"] = [o.method for o in olds[:n // 2]] + [ZooOld.method, ZooPlain.method]
        zoo["messages"] = [ValueError("msg-%d" % i) for i in range(10)]

    # Generators suspended mid-iteration (an iterator on their stack),
    # not started, and finished; coroutines suspended in an await; an
    # async generator not started.
    def zoo_gen(count, tag):
        acc = []
        for i in range(count):
            item = "%s-%d" % (tag, i)
            acc.append(item)
            yield item
    gens = [zoo_gen(10, "gen%d" % j) for j in range(n // 5)]
    for g in gens:
        next(g)
        next(g)
    fresh = zoo_gen(3, "fresh")
    done = zoo_gen(1, "done")
    for _ in done:
        pass
    zoo["generators"] = gens + [fresh, done]
    if not PY2:
        coros = []
        for j in range(n // 10):
            c = py3["zoo_coro"](py3["zoo_suspend"]("await-%d" % j), "coro-%d" % j)
            c.send(None)
            coros.append(c)
        zoo["coroutines"] = coros
        zoo["agen"] = py3["zoo_agen"]("agen-tag")

    # Weak references, with and without callback (referents kept alive).
    def on_death(ref):
        pass
    zoo["weakrefs"] = [weakref.ref(o) for o in plain[:n // 2]] + \
        [weakref.ref(o, on_death) for o in plain[n // 2:n]] + \
        [weakref.ref(slots[3]), weakref.ref(ZooPlain)]

    # collections and functools.
    dq = collections.deque("dq-%d" % i for i in range(3 * n))  # > 64: several blocks
    dq.rotate(17)
    zoo["deque"] = dq
    zoo["deque_maxlen"] = collections.deque(("dm-%d" % i for i in range(250)), 100)
    od = collections.OrderedDict(("od-%d" % i, ["odv", i]) for i in range(n))
    if not PY2:
        od.move_to_end("od-3")
    del od["od-5"]
    zoo["ordereddict"] = od
    dd = collections.defaultdict(list)
    for i in range(n):
        dd[i * 31 + 100000].append("dd-%d" % i)
    zoo["defaultdict"] = dd
    zoo["partials"] = [functools.partial(make_closure, i) for i in range(5)] + \
        [functools.partial(py3["make_kwfunc"], ["pd"], k=("pk-%d" % i,)) for i in range(5)]

    # The leak: an lru_cache whose results are large bytes (2.7 has no
    # lru_cache: a memo dict, as the leak stories of that time had).
    if PY2:
        memo = {}

        def render(i):
            if i not in memo:
                memo[i] = ("%08d" % i) * 4096
            return memo[i]
        render.memo = memo
    else:
        @functools.lru_cache(maxsize=4 * n)
        def render(i):
            return (("%08d" % i) * 4096).encode("ascii")          # 32 KiB each
    leak = [render(i) for i in range(n)]
    facts["leak"] = {"count": len(leak), "bytes": sum(getsizeof(b) for b in leak),
                     "ids": ["%x" % id(b) for b in leak], "type": type_name(bytes)}
    del leak
    zoo["lru"] = render

    # Exceptions with args, __cause__, __context__ and __traceback__.
    def zoo_raise(i):
        try:
            raise KeyError("zoo-key-%d" % i)
        except KeyError as inner:
            err = ZooError("zoo-error-%d" % i, i)
            err.detail = {"i": i}
            err.__cause__ = inner
            raise err                          # __context__ = inner too

    def zoo_catcher(count):
        caught = []
        for i in range(count):
            try:
                zoo_raise(i)
            except ZooError as e:
                caught.append(e)
        yield caught
        yield None
    catcher = zoo_catcher(n // 5)
    zoo["exceptions"] = next(catcher)
    if PY2:
        # 2.7's exceptions hold no traceback: keep one (its frames are the
        # suspended generator's and zoo_raise's, none of main()'s).
        def zoo_tb():
            try:
                zoo_raise(-1)
            except ZooError:
                yield sys.exc_info()[2]
            yield None
        tbs = zoo_tb()
        zoo["traceback"] = (next(tbs), tbs)
    zoo["catcher"] = catcher

    # Atomic objects.
    big = b"B" * (2 << 20)
    zoo["big_bytes"] = big
    facts["big_bytes"] = {"id": "%x" % id(big), "size": getsizeof(big)}
    zoo["bytes"] = [("by-%d" % i).encode("ascii") for i in range(n)] + [b"", b"x"]
    zoo["bytearray"] = [bytearray(b"ba" * i) for i in range(20)] + [bytearray(), bytearray(256 << 10)]
    zoo["strs"] = {
        "ascii": ["ascii-%d" % i for i in range(n)] + ["A" * 100000],
        "latin1": [u"\xe9t\xe9-%d" % i for i in range(n)] + [u"\xe9" * 100000],
        "ucs2": [u"\u0100\u0101-%d" % i for i in range(n)] + [u"\u0100" * 100000],
        "ucs4": [u"\U0001F600-%d" % i for i in range(n)] + [u"\U0001F600" * 50000],
    }
    # A str's UTF-8 is cached by PyUnicode_AsUTF8AndSize, which compile()
    # calls on its source: sys.getsizeof grows by the UTF-8 length + 1.
    cached = []
    facts["utf8_cached"] = {}
    for kind, ch in (("latin1", u"\xe9"), ("ucs2", u"\u0100"), ("ucs4", u"\U0001F600")):
        for i in range(10):
            s = u"'%s%s-%d'" % (ch, ch, i)
            before = getsizeof(s)
            compile(s, "<zoo-utf8>", "eval")
            cached.append(s)
            if i == 0:
                facts["utf8_cached"][kind] = getsizeof(s) - before
    facts["utf8_ids"] = ["%x" % id(s) for s in cached]
    zoo["utf8_cached"] = cached
    # <= 3.11: a wchar_t copy, made on 3.8 by array('u', s).
    if sys.version_info < (3, 12):
        s = u"wide-\xe9-str"
        before = getsizeof(s)
        array.array("u", s)
        facts["wstr_cached"] = getsizeof(s) - before
        facts["wstr_id"] = "%x" % id(s)
        zoo["wstr_cached"] = s
    zoo["ints"] = list(range(-5, 257)) + [2 ** (64 + i) for i in range(n // 2)] + \
        [-(i * 1000 + 7) for i in range(n // 2)] + [-(2 ** 100 + i) for i in range(10)] + [0]
    zoo["floats"] = [i / 3.0 + 0.5 for i in range(n)] + [float("nan"), float("inf"), -0.0]
    zoo["complex"] = [complex(i, -i - 0.5) for i in range(n // 2)]
    zoo["bools"] = [True, False, True]

    # Containers of every layout.
    zoo["dicts"] = {
        "int_keys": dict((i, "dv-%d" % i) for i in range(50)),
        "tuple_keys": dict(((i, "tk"), [i]) for i in range(50)),
        "mixed_keys": {1: "mixed", "two": 2, (3,): [3]},
        "str_keys": dict(("k%d" % i, [i]) for i in range(50)),
        "str_atomic": dict(("ka%d" % i, i) for i in range(8)),   # untracked
        "empty": {},
        "big": dict(("big-%d" % i, i) for i in range(20 * n)),
        "fromkeys": dict.fromkeys(["fk-%d" % i for i in range(30)], "fv"),
    }
    deleted = dict(("del-%d" % i, [i]) for i in range(20))
    for i in range(0, 20, 2):
        del deleted["del-%d" % i]
    zoo["dicts"]["deleted"] = deleted
    removed = set(range(100, 200))
    for i in range(100, 200, 3):
        removed.discard(i)
    zoo["sets"] = [set(), set([1, 2, 3]), set(range(1000, 1100)), removed,
                   set("set-%d" % i for i in range(40)),
                   frozenset(), frozenset([4, 5]), frozenset(range(2000, 2050)),
                   frozenset("fs-%d" % i for i in range(40))]
    grown = []
    for i in range(37):
        grown.append("grown-%d" % i)          # over-allocated
    zoo["lists"] = [[], grown, [[i] for i in range(20)], list(range(300))]
    zoo["tuples"] = [(), (1,), tuple(range(300)), tuple("tup-%d" % i for i in range(30)),
                     ((1, 2), ("a", "b"))]
    return zoo


# --- the census --------------------------------------------------------------

def frozen_roots():
    """The permanent generation as census roots: FROZEN's tracked items
    (nothing untracks them, the GC never collects it, but be safe) and the
    list itself; made when census() asks, after gc.get_objects()."""
    if FROZEN is None:
        return []
    return [[o for o in FROZEN if gc.is_tracked(o)], [FROZEN]]


def census(scope, frozen, record=False):
    """{type: [count, bytes]} for the scope, keyed by type object (FROZEN,
    if FROZEN, is the permanent generation).  With RECORD, ({...}, [(id,
    type, size, short repr) of each object counted])."""
    out = quiescent.census(scope, frozen_roots if frozen is not None else (),
                           short_repr if record else None)
    return out[0] if not record else (out[0], out[1])


def short_repr(o, t):
    """A short description of atomic objects for the --ids file."""
    if t is str or t is bytes:
        return repr(o[:40]) + ("..%d" % len(o) if len(o) > 40 else "")
    if t is int or t is float:
        return repr(o)[:40]
    return ""


def own_sizeof(stats):
    """Names of the counted types whose __sizeof__ comes from a class outside
    builtins (a C extension's, such as _struct.Struct's): sys.getsizeof
    gives what that method says, which the BRIEF's formula need not match."""
    names = set()
    for t in stats:
        for k in getattr(t, "__mro__", ()):
            if "__sizeof__" in k.__dict__:
                if getattr(k, "__module__", None) not in ("builtins", "__builtin__"):
                    names.add(type_name(t))
                break
    return sorted(names)


by_name = quiescent.by_name


def write_ids(path, record):
    """One line per object counted: "hexid size typename repr" (the repr
    only for str, bytes, int and float), to compare with PYCENSUS_DEBUG_DUMP."""
    names = {}
    lines = []
    for i, t, size, rep in record:
        name = names.get(t)
        if name is None:
            name = names[t] = type_name(t)
        lines.append("%x %d %s %s\n" % (i, size, name, rep))
    data = "".join(lines)
    del lines
    if not isinstance(data, bytes):
        data = data.encode("utf-8", "backslashreplace")
    write_atomically(path, data)


def ground_truth(scope, frozen, scale, ids_path=None):
    if ids_path:
        stats, record = census(scope, frozen, True)
        write_ids(ids_path, record)
        del record
    else:
        stats = census(scope, frozen)
    types = by_name(stats)
    own = own_sizeof(stats)
    del stats
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
        "own_sizeof": own,
        "classes": sorted(type_name(c) for c in CLASS_KINDS),
        "class_kinds": dict((type_name(c), k) for c, k in CLASS_KINDS.items()),
        "threads": threading.active_count(),
    }
    if ZOO_CLASSES:
        truth["classes"] += sorted(type_name(c) for c in ZOO_CLASSES)
        truth["class_kinds"].update((type_name(c), k) for c, k in ZOO_CLASSES.items())
        truth["zoo"] = ZOO_FACTS
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


write_atomically = quiescent.write_atomically
say = quiescent.say


class Fresh(object):
    def __init__(self, i):
        self.i = i
        self.items = [i]


def grow(n, path, scope, scale, frozen):
    """The "grow" command (see the module doc)."""
    CLASS_KINDS[Fresh] = "plain"
    KEEP.append([Fresh(i) for i in range(n)])
    truth = ground_truth(scope, frozen, scale)
    truth["gc"] = STATE.get("gc_info")
    write_atomically(path, truth)
    del truth
    say("grown\n")


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


def find_path(hexid, frozen):
    """Debugging aid: the shortest chain of gc.get_referents() from a GC
    root (gc.get_objects() or the permanent generation) to the object whose
    id is HEXID, as one JSON line {"path": [[hexid, type, repr], ...]}
    (root first; empty if not reachable)."""
    import collections
    want = int(hexid, 16)
    objs = gc.get_objects()
    if frozen is not None:
        objs.extend(o for o in frozen if gc.is_tracked(o))
        objs.append(frozen)
    parent = {}
    byid = {}
    queue = collections.deque()
    for o in objs:
        i = id(o)
        if i not in parent:
            parent[i] = None
            byid[i] = o
            queue.append(o)
    del objs
    found = want in parent
    while queue and not found:
        o = queue.popleft()
        for r in gc.get_referents(o):
            j = id(r)
            if j not in parent:
                parent[j] = id(o)
                byid[j] = r
                queue.append(r)
                if j == want:
                    found = True
                    break
    path = []
    i = want if found else None
    while i is not None:
        o = byid[i]
        path.append(["%x" % i, type_name(type(o)), short_repr(o, type(o)) or repr(o)[:60]])
        i = parent[i]
    path.reverse()
    byid.clear()
    queue.clear()
    say(json.dumps({"path": path}) + "\n")


# --- main --------------------------------------------------------------------

def parse_args(argv):
    usage = ("usage: census_target.py GROUND_TRUTH.json [--scale N] [--scope gc|reachable]"
             " [--zoo] [--ids IDS.txt]")
    path, scale, scope, zoo, ids = None, 1, "gc", False, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--scale" and i + 1 < len(argv):
            scale = int(argv[i + 1])
            i += 2
        elif a == "--zoo" and (PY2 or sys.version_info >= (3, 5)):
            zoo = True
            i += 1
        elif a == "--ids" and i + 1 < len(argv):
            ids = argv[i + 1]
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
    return path, scale, scope, zoo, ids


def prepare():
    """The census: a warm-up one, written and thrown away, so that
    interned type names and lazy caches exist before the one that counts."""
    path, scope, scale, ids = STATE["path"], STATE["scope"], STATE["scale"], STATE.get("ids")
    write_atomically(path, ground_truth(scope, FROZEN, scale, ids))
    STATE["gc_info"] = gc_info(FROZEN)
    truth = ground_truth(scope, FROZEN, scale, ids)
    truth["gc"] = STATE["gc_info"]
    write_atomically(path, truth)


def main():
    global FROZEN
    path, scale, scope, zoo, ids = parse_args(sys.argv[1:])
    STATE.update(path=path, scale=scale, scope=scope)
    if zoo:
        STATE["zoo"] = zoo
    if ids:
        STATE["ids"] = ids

    gc.disable()                 # no automatic collection from here on
    gc.collect()

    # 1. The permanent generation.
    build_frozen(700 * scale)
    gc.collect()
    if HAS_FREEZE:
        FROZEN = freeze()

    # 2. Oldest generation, then generation 1, then generation 0; the zoo
    # goes with the oldest (its full collection untracks what it can).
    if zoo:
        build_zoo(scale)
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
    # The census runs under serve(), whose reader and frame exist by then.
    quiescent.serve(prepare, {
        b"recount": lambda rest: recount(path, scope, FROZEN),
        b"grow": lambda rest: grow(int(rest), path, scope, scale, FROZEN),
        b"path": lambda rest: find_path(rest.decode("ascii"), FROZEN)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
