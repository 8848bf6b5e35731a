# Known reference graphs for `pycensus why` (tests/test_why.py): each
# instance of a marker class is held in exactly one way.  Prints "ready"
# and blocks on stdin; a second thread blocks with a local.
import ctypes, gc, itertools, os, sys, threading

class ByAttr: pass
class ByIndex: pass
class ByKey: pass
class ByClosure: pass
class ByLocal: pass
class InCycle: pass
class ByOpaque: pass
class Leaked: pass
class BySlot: pass
class AsKey:
    def __hash__(self): return 1

class Holder:
    def __init__(self): self.attr = ByAttr()

class Slotted:
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

# itertools.chain: a traverse pycensus has no rule for
chained = itertools.chain([ByOpaque()])

# a reference leaked from C: no container holds it
leak = Leaked()
ctypes.pythonapi.Py_IncRef(ctypes.py_object(leak))
leaked_id = id(leak)
del leak

started = threading.Event()
def worker():
    in_thread = ByLocal()
    started.set()
    os.read(0, 1)
    return in_thread
t = threading.Thread(target=worker, daemon=True)
t.start()
started.wait()
gc.collect()
import json
ids = {}
for obj, name in ((holder.attr, "ByAttr"), (items[2], "ByIndex"), (table['the key'], "ByKey"),
                  (next(iter(keyed)), "AsKey"), (closure.__closure__[0].cell_contents, "ByClosure"),
                  (cyc_b[1], "InCycle"), (slotted.member, "BySlot")):
    ids["__main__." + name] = [id(obj), sys.getsizeof(obj)]
del obj, name   # module globals otherwise: the last would be held twice
ids["__main__.Leaked"] = [leaked_id, None]
print("ready " + json.dumps(ids), flush=True)
os.read(0, 1)
