# A target that never stops mutating: threads allocate and free dicts,
# lists and instances, rebind names and create and drop classes, while
# pycensus reads it with --no-stop.  Usage: live_target.py OUT.json
# [NBASE] [THREADS].  Prints "ready" once its base heap is built; on "quit"
# it stops the mutators, waits until they are gone and writes OUT.json:
# {"names": every type name it has or ever created}.  Also answers "ping".
# Runs on 2.7 too (names there: module.__name__, __builtin__ and
# exceptions left out, old-style instances by class).
import gc
import io
import sys
import threading

PY2 = sys.version_info[0] == 2
text = unicode if PY2 else str  # noqa: F821


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()

OUT = sys.argv[1]
NBASE = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
NTHREADS = int(sys.argv[3]) if len(sys.argv) > 3 else 2

made = []              # the name of every class the mutators created
made_lock = threading.Lock()
stop = threading.Event()


def type_name(t):
    try:
        m, q = t.__module__, getattr(t, "__qualname__", t.__name__)
    except Exception:
        return None
    if not isinstance(q, str):
        return None
    return q if m in ("builtins", "__builtin__", "exceptions") or not isinstance(m, str) else m + "." + q


class Base(object):
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
say("ready")
for line in iter(sys.stdin.readline, ""):   # (2.7's file iterator reads ahead)
    line = line.strip()
    if line == "ping":
        say("pong")
    elif line == "quit":
        break
stop.set()
for t in threads:
    t.join()
names = set(made)
for o in gc.get_objects():
    if PY2 and type(o).__name__ == "instance":
        names.add(type_name(o.__class__))     # old-style instances: by class
        continue
    for t in getattr(type(o), "__mro__", ()):
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
with io.open(OUT, "w", encoding="utf-8", errors="surrogateescape") as f:
    f.write(text(json.dumps({"names": sorted(names)})))
say("done")
