# A small heap of many kinds (instances, slots, lru_cache, generator,
# deque, OrderedDict) for memory images: blocks on stdin after "ready".
import os, collections, functools, sys
class A:
    def __init__(s,i): s.i=i; s.t=(i,str(i)); s.l=[i]*3
class S:
    __slots__ = ('a', 'b')
xs=[A(i) for i in range(300)]; d={i: str(i) for i in range(200)}; dq=collections.deque(range(100))
ss=[S() for i in range(50)]
for s in ss: s.a = 'x'; s.b = 1.5
def memo(fn):   # lru_cache, or 2.7's hand-written memo
    if hasattr(functools, "lru_cache"):
        return functools.lru_cache(maxsize=None)(fn)
    cache = {}
    def cached(x):
        if x not in cache:
            cache[x] = fn(x)
        return cache[x]
    return cached
@memo
def f(x): return bytes(x)
[f(i) for i in range(50)]
def g():
    yield 1; yield 2
gg=g(); next(gg)
od = collections.OrderedDict((i, i) for i in range(20))
sys.stdout.write("ready\n"); sys.stdout.flush()
os.read(0, 10)
