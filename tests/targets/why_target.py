# Known reference graphs for `pycensus why` (tests/test_why.py): each
# instance of a marker class is held in exactly one way.  Prints "ready"
# and blocks on stdin; a second thread blocks with a local.
import collections, ctypes, gc, itertools, os, sys, threading

class ByAttr: pass
class ByIndex: pass
class ByKey: pass
class ByClosure: pass
class ByLocal: pass
class ByInnerLocal: pass
class InCycle: pass
class ByOpaque: pass
class Leaked: pass
class BySlot: pass
class ByDeque: pass
class ByTypeDict: pass
class AsKey:
    def __hash__(self): return 1

class Holder:
    def __init__(self): self.attr = ByAttr()

class Slotted(object):   # (new-style on 2.7 too: slots)
    __slots__ = ('member',)

holder = Holder()
items = [0, 1, ByIndex()]
table = {'the key': ByKey()}
keyed = {AsKey(): 1}

def make():
    captured = ByClosure()
    def inner(): return captured
    return inner
closure = make()

slotted = Slotted()
slotted.member = BySlot()

# a cycle: a -> b -> a, the pair held by a module global
cyc_a = []; cyc_b = [cyc_a, InCycle()]; cyc_a.append(cyc_b)

# a deque item past the first block (64 items a block)
dq = collections.deque(range(100)); dq.append(ByDeque())

# a static type's dict: Python refuses setattr on slice, but the dict is
# the referent of the read-only proxy type.__dict__ gives
gc.get_referents(slice.__dict__)[0]['_by_type_dict'] = ByTypeDict()

# itertools.chain: a traverse pycensus has no rule for
chained = itertools.chain([ByOpaque()])

# a reference leaked from C: no container holds it
leak = Leaked()
ctypes.pythonapi.Py_IncRef(ctypes.py_object(leak))
leaked_id = id(leak)
del leak

# dominators: a small graph of list subclasses and bytes, held only by
# dom_root; c -> e -> c is a cycle, d is shared by a and b
class DomNode(list):
    __slots__ = ()
class DomR(DomNode): __slots__ = ()
class DomA(DomNode): __slots__ = ()
class DomB(DomNode): __slots__ = ()
class DomC(DomNode): __slots__ = ()
class DomD(DomNode): __slots__ = ()
class DomE(DomNode): __slots__ = ()

def build_dom():
    # bytes made at run time: a constant would also be held by the code
    e = DomE([("e" * 500).encode()])
    c = DomC([e, ("c" * 300).encode()])
    d = DomD([e, ("d" * 400).encode()])
    e.append(c)
    a = DomA([c, d, ("a" * 100).encode()])
    b = DomB([d, ("b" * 200).encode()])
    return DomR([a, b])
dom_root = build_dom()

def dominated_truth(root):
    """{type name: [retained bytes, objects]} of each Dom* node, from the
    target's own dominator sets over gc.get_referents()."""
    nodes, todo = {id(root): root}, [root]
    while todo:
        for r in gc.get_referents(todo.pop()):
            if isinstance(r, (DomNode, bytes)) and id(r) not in nodes:
                nodes[id(r)] = r
                todo.append(r)
    preds = {i: set() for i in nodes}
    for i, o in nodes.items():
        for r in gc.get_referents(o):
            if id(r) in nodes:
                preds[id(r)].add(i)
    dom = {i: set(nodes) for i in nodes}
    dom[id(root)] = {id(root)}
    changed = True
    while changed:
        changed = False
        for i in nodes:
            if i == id(root):
                continue
            new = set.intersection(*(dom[p] for p in preds[i])) | {i}
            if new != dom[i]:
                dom[i], changed = new, True
    out = {}
    for i, o in nodes.items():
        if isinstance(o, DomNode):
            held = [v for v in nodes if i in dom[v]]
            out["__main__." + type(o).__name__] = [sum(sys.getsizeof(nodes[v]) for v in held), len(held)]
    return out

# The second thread's two frames each record, from inside, the line they
# run while the target is stopped (frame 0 blocks in os.read, frame 1 in
# the call of block): why's frame roots must name these lines.
started = threading.Event()
lines = {}
def block():
    in_block = ByInnerLocal()
    lines["block"] = sys._getframe().f_lineno; started.set(); os.read(0, 1)
    return in_block
def worker():
    in_thread = ByLocal()
    lines["worker"] = sys._getframe().f_lineno; block()
    return in_thread
t = threading.Thread(target=worker)
t.daemon = True   # (2.7: no daemon= argument)
t.start()
started.wait()
gc.collect()
import json
ids = {}
for obj, name in ((holder.attr, "ByAttr"), (items[2], "ByIndex"), (table['the key'], "ByKey"),
                  (next(iter(keyed)), "AsKey"), (closure.__closure__[0].cell_contents, "ByClosure"),
                  (cyc_b[1], "InCycle"), (slotted.member, "BySlot"), (dq[100], "ByDeque"),
                  (slice.__dict__['_by_type_dict'], "ByTypeDict")):
    ids["__main__." + name] = [id(obj), sys.getsizeof(obj)]
del obj, name   # module globals otherwise: the last would be held twice
ids["__main__.Leaked"] = [leaked_id, None]
ids["dominators"] = dominated_truth(dom_root)
ids["worker"] = [t.ident, os.path.basename(worker.__code__.co_filename), lines["worker"]]
ids["block"] = [t.ident, os.path.basename(block.__code__.co_filename), lines["block"]]
ids["first"] = {"worker": worker.__code__.co_firstlineno, "block": block.__code__.co_firstlineno}
sys.stdout.write("ready " + json.dumps(ids) + "\n")
sys.stdout.flush()
os.read(0, 1)
