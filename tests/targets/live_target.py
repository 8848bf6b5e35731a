# A target that never stops mutating: threads allocate and free dicts,
# lists and instances, rebind names and create and drop classes, while
# pycensus reads it with --no-stop.  Usage: live_target.py OUT.json
# [NBASE] [THREADS].  Prints "ready" once its base heap is built; on "quit"
# it stops the mutators, waits until they are gone and writes OUT.json:
# {"names": every type name it has or ever created}.  Also answers "ping".
import gc
import sys
import threading

OUT = sys.argv[1]
NBASE = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
NTHREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2

made = []              # the name of every class the mutators created
made_lock = threading.Lock()
stop = threading.Event()


def type_name(t):
    try:
        m, q = t.__module__, t.__qualname__
    except Exception:
        return None
    if not isinstance(q, str):
        return None
    return q if m == "builtins" or not isinstance(m, str) else m + "." + q


class Base:
    def __init__(self, i):
        self.i = i
        self.s = str(i)


base = [{"k": i, "v": [i, str(i)], "o": Base(i)} for i in range(NBASE)]


def mutate(seed):
    n = seed
    pool = []
    while not stop.is_set():
        n += 1
        pool.append({"n": n, "l": [n] * (n % 7), "t": (n, str(n))})
        if len(pool) > 5000:
            del pool[: 2500]
        if n % 50 == 0:
            name = "Dyn%d_%d" % (seed, n % 997)
            cls = type(name, (Base,), {"x": n})
            with made_lock:
                made.append(type_name(cls))
            pool.append(cls(n))
            pool.append([cls(n), cls(n)])
        if n % 7 == 0:
            globals()["rebound"] = [n, {"x": n}]
        if n % 3 == 0:
            base[n % NBASE] = {"k": n, "v": [n], "o": Base(n)}


def recurse(depth, n):
    # Deep stacks that change all the time, as a web worker's do per request.
    if depth:
        return recurse(depth - 1, n) + 1
    return len([n] * 3)


def churn_frames(seed):
    n = seed
    while not stop.is_set():
        n += 1
        recurse(n % 40, n)


threads = [threading.Thread(target=mutate, args=(i * 1000000,)) for i in range(NTHREADS)]
threads.append(threading.Thread(target=churn_frames, args=(7,)))
for t in threads:
    t.start()
print("ready", flush=True)
for line in sys.stdin:
    line = line.strip()
    if line == "ping":
        print("pong", flush=True)
    elif line == "quit":
        break
stop.set()
for t in threads:
    t.join()
names = set(made)
for o in gc.get_objects():
    for t in type(o).__mro__:
        names.add(type_name(t))
    if isinstance(o, type):
        for t in o.__mro__:
            names.add(type_name(t))
todo = [object]
seen = set()
while todo:
    t = todo.pop()
    if id(t) in seen:
        continue
    seen.add(id(t))
    names.add(type_name(t))
    try:
        todo.extend(type.__subclasses__(t))
    except TypeError:
        pass
names.discard(None)
import json
with open(OUT, "w", encoding="utf-8", errors="surrogateescape") as f:
    json.dump({"names": sorted(names)}, f)
print("done", flush=True)
