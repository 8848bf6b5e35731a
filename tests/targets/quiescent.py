"""What a target that computes its own census and then blocks needs so that
an outside reader sees exactly the heap it counted (shared by
census_target.py, app_target.py, ctypes_target.py, opaque_target.py and
damage_target.py; 2.7 and 3.x): the census, naming, output and the command
loop (serve()), and these two:

  * Executing frames are GC-tracked objects on 2.7/3.6 only: the frames of
    the census's call chain are in gc.get_objects() but die before the
    target blocks, so transient_frames() names them for exclusion.
  * Up to 3.6 os.read takes its arguments as a tuple, alive (and
    GC-tracked) while it blocks; a METH_O call, FileIO.readinto, bound
    beforehand into a buffer made beforehand, holds nothing new.
    blocking_reader() gives that pair there (on 2.7 a partial).
"""
import functools
import gc
import io
import json
import os
import sys

# sys._getframe() is harmless up to 3.10 and materialises a frame on 3.11+.
FRAMES_ARE_OBJECTS = sys.version_info < (3, 11)


def transient_frames(stop_code):
    """ids of the frames between the one running STOP_CODE (exclusive) and
    our caller (inclusive)."""
    if not FRAMES_ARE_OBJECTS:
        return set()
    ids = set()
    f = sys._getframe(1)
    while f is not None and f.f_code is not stop_code:
        ids.add(id(f))
        f = f.f_back
    return ids


def blocking_reader(fd, size=4096):
    """(readinto, buf): FileIO(FD).readinto and a bytearray of SIZE on 3.x
    before 3.7; on 2.7 (whose os.read is METH_VARARGS too) a partial of
    os.read called with no arguments, which passes its own existing args
    tuple on, and no buffer; else (None, None) -- os.read holds nothing
    tracked there.  The caller keeps it alive and blocks inline:
    chunk = (read(fd, n) if readinto is None else readinto() if buf is None
             else bytes(buf[:readinto(buf)]))."""
    if sys.version_info[0] == 2:
        return functools.partial(os.read, fd, size), None
    if sys.version_info < (3, 7):
        return io.FileIO(fd, "r", closefd=False).readinto, bytearray(size)
    return None, None


# --- naming ----------------------------------------------------------------

PY2 = sys.version_info[0] == 2
# Old-style instances (2.7) are counted under their class, as pycensus does.
INSTANCE_TYPE = getattr(__import__("types"), "InstanceType", None)


def type_name(t):
    """The BRIEF's naming rule, module.qualname, the builtins module left
    out; 2.7 has no __qualname__ and calls that module __builtin__."""
    qual = getattr(t, "__qualname__", None)
    if qual is None:
        qual = t.__name__
    mod = getattr(t, "__module__", None)
    if mod == "builtins" or (PY2 and mod in ("__builtin__", "exceptions")):
        return qual
    return str(mod) + "." + qual


def type_of(o):
    """type(o), but an old-style instance's class (2.7), as objgraph and
    pycensus name them."""
    t = type(o)
    if t is INSTANCE_TYPE:
        return o.__class__
    return t


# --- the census --------------------------------------------------------------

def census(scopes=("gc", "reachable"), extra=(), record=None, probe=None):
    """{type: [count, bytes]} for each scope of SCOPES (a tuple, or one
    scope's name), from one
    gc.get_objects() taken first (what the census makes after it is on no
    list, and is freed before it returns): "gc" counts those objects and
    the lists of EXTRA (the permanent generation, which it omits), each
    once (EXTRA may be a function that makes them, called after
    gc.get_objects() so that they are on no list); "reachable" the
    transitive closure of gc.get_referents() from them.  Called under
    serve(): the frames between serve's and this one are left out (objects
    on 2.7/3.6, gone before the target blocks).
    With RECORD, a function (object, type) -> str, one more item follows:
    [(id, type, size, RECORD's str)] of each object the last scope counts;
    with PROBE, a list of ids, then one more: whether the last scope has
    each.  (Lists made after gc.get_objects(), as they must be.)"""
    objs = gc.get_objects()
    skip = transient_frames(serve.__code__)
    if not isinstance(scopes, tuple):     # one, named: a tuple made now is on no list
        scopes = (scopes,)
    roots = [objs]
    roots.extend(extra() if callable(extra) else extra)
    out = []
    records = [] if record is not None else None
    found = []
    try:
        last = len(scopes) - 1
        for n in range(len(scopes)):      # (a loop: a comprehension is a frame)
            out.append(count(roots, skip, scopes[n], (record, records) if n == last and record else None,
                             probe if n == last else None, found))
        if record is not None:
            out.append(records)
        if probe is not None:
            out.append(found)
        return out
    finally:
        # objs holds this frame on 2.7/3.6 (a cycle the disabled GC would
        # never free); the loops run in count() so that no loop variable
        # keeps it either.
        del objs, roots


def count(roots, skip, scope, record=None, probe=None, found=None):
    """One scope of census(); with RECORD, (function, list), the list gets
    each object's (id, type, size, function(object, type)); with PROBE,
    FOUND gets whether the scope has each of its ids."""
    stats = {}
    seen = set(skip)
    getsizeof = sys.getsizeof
    if scope == "gc":
        for group in roots:
            for o in group:
                i = id(o)
                if i in seen:
                    continue
                seen.add(i)
                t = type_of(o)
                entry = stats.get(t)
                if entry is None:
                    entry = stats[t] = [0, 0]
                size = getsizeof(o)
                entry[0] += 1
                entry[1] += size
                if record is not None:
                    record[1].append((i, t, size, record[0](o, t)))
    else:
        get_referents = gc.get_referents
        stack = []
        for group in roots:
            stack.extend(group)
        # Every object on the stack is referenced by a live root, so ids
        # stay unique while we walk.
        while stack:
            o = stack.pop()
            i = id(o)
            if i in seen:
                continue
            seen.add(i)
            t = type_of(o)
            entry = stats.get(t)
            if entry is None:
                entry = stats[t] = [0, 0]
            size = getsizeof(o)
            entry[0] += 1
            entry[1] += size
            if record is not None:
                record[1].append((i, t, size, record[0](o, t)))
            stack.extend(get_referents(o))
    if probe is not None:
        for i in probe:     # not a comprehension: its cell would hold seen (3.6)
            found.append(i in seen)
    return stats


def by_name(stats):
    """{type: [count, bytes]} merged into {name: {"count", "bytes"}}."""
    types = {}
    for t, (n, size) in stats.items():
        name = type_name(t)
        entry = types.get(name)
        if entry is None:
            entry = types[name] = {"count": 0, "bytes": 0}
        entry["count"] += n
        entry["bytes"] += size
    return types


# --- output and the command loop ---------------------------------------------

def write_atomically(path, obj):
    """OBJ (bytes, or JSON) to PATH, put in place when complete."""
    # Default json.dumps uses the C encoder; indent or sort_keys would use
    # the pure-Python one (2.7: also for sort_keys), whose closures form
    # reference cycles that the disabled GC never frees.
    data = obj if isinstance(obj, bytes) else json.dumps(obj)
    if not isinstance(data, bytes):
        data = data.encode("utf-8")
    tmp = "%s.tmp.%d" % (path, os.getpid())
    f = open(tmp, "wb")                # binary: no locale lookup on open
    try:
        f.write(data)
    finally:
        f.close()
    os.rename(tmp, path)


def say(text):
    """All of TEXT to stdout with os.write: writing through sys.stdout
    would hold a memoryview for an instant after the pipe has it."""
    data = text.encode("utf-8") if not isinstance(text, bytes) else text
    while data:
        data = data[os.write(1, data):]


def serve(prepare, commands=None):
    """Call PREPARE (the census), print "ready", then answer stdin a line
    at a time: "ping" -> "pong", "quit" or EOF -> return, "WORD REST" ->
    COMMANDS[b"WORD"](REST) (REST bytes, b"" without one).  The reader and
    every local exist before PREPARE runs, so that this frame (an object on
    2.7/3.6, counted then) holds the same while it blocks; it blocks in
    blocking_reader's read, which holds nothing new."""
    readinto, buf = blocking_reader(0)
    read = os.read
    pending = b""
    nl = -1
    commands = commands or {}
    prepare()
    say("ready\n")
    while True:
        nl = pending.find(b"\n")
        if nl < 0:
            chunk = (read(0, 4096) if readinto is None else readinto() if buf is None
                     else bytes(buf[:readinto(buf)]))
            if not chunk:
                break                       # EOF
            pending += chunk
            continue
        line = pending[:nl].strip()
        pending = pending[nl + 1:]
        word, _, rest = line.partition(b" ")
        if line == b"quit":
            break
        elif line == b"ping":
            say("pong\n")
        elif word in commands:
            commands[word](rest)
