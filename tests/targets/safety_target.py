#!/usr/bin/env python3
"""Misbehaving targets for tests/test_safety.py (Python 3.8-3.13).

    safety_target.py MODE [ARG]

Every mode prints "ready" on stdout once it is set up and answers a "ping"
line on stdin with "pong" (except exec, which cannot keep a stdin reader
across its execs).  stdout is written with os.write only.

  threads     the main thread starts and joins short-lived threads forever
              (several in flight at any time); a reader thread answers.
  fork        the main thread forks children that exit within ~5 ms, forever,
              and reaps them; a reader thread answers.
  exec [GEN]  every ~50 ms the process re-execs itself (os.execv), from the
              main thread on even generations and from a second thread on odd
              ones; each generation prints "gen N" (the first also "ready").
  alloc       the main thread allocates and frees containers, instances and
              reference cycles forever, with the GC enabled; a reader thread
              answers.
  big N       build N small GC-tracked objects (one-item lists, each with its
              own int) and then only serve pings: a heap whose stop takes long
              enough for --timeout to have something to cut, built in a second
              or two.
  vfork       serve commands on stdin: "hold SECS" starts a thread that
              clone()s with CLONE_VM|CLONE_VFORK a child running libc's
              sleep(SECS) on a stack of its own, so the thread waits in
              uninterruptible sleep (state D) until the child exits; it prints
              "holding TID" before and "held TID" after, then stays alive,
              blocked in an ordinary sleep.  (A thread PTRACE_INTERRUPT
              cannot stop: tests/test_safety.py's d-state checks.)
  corrupt     build a heap, gc.collect(), gc.disable(), then serve commands on
              stdin: "corrupt KIND" damages one object with ctypes (see
              KINDS) and answers "done ..." or "error ..."; afterwards the
              target never touches the damaged objects again (it only reads
              stdin and answers pings), and is meant to be killed, not quit.
"""

import ctypes
import gc
import os
import sys
import threading
import time
import warnings

GARBAGE = 0xdeadbeef0          # 8-aligned, not mapped in any test process


def say(text):
    data = text.encode("utf-8")
    while data:
        data = data[os.write(1, data):]


def serve(handler=None):
    """Answer stdin lines until EOF or "quit"; HANDLER(line) for others."""
    pending = b""
    while True:
        nl = pending.find(b"\n")
        if nl < 0:
            chunk = os.read(0, 4096)
            if not chunk:
                return
            pending += chunk
            continue
        line = pending[:nl].strip()
        pending = pending[nl + 1:]
        if line == b"quit":
            return
        if line == b"ping":
            say("pong\n")
        elif handler is not None:
            handler(line.decode("utf-8", "replace"))


def reader_thread():
    """Serve pings from a daemon thread; exit the whole process on EOF/quit."""
    def run():
        serve()
        os._exit(0)
    th = threading.Thread(target=run, name="safety-reader")
    th.daemon = True
    th.start()


# --- threads ------------------------------------------------------------------

def mode_threads():
    reader_thread()
    sink = []

    def work(i):
        sink.append([i] * (i % 5))
        time.sleep(0.001 * (i % 4))
        del sink[:-50]

    say("ready\n")
    i = 0
    live = []
    while True:
        th = threading.Thread(target=work, args=(i,))
        th.start()
        live.append(th)
        i += 1
        if len(live) >= 8:
            live.pop(0).join()


# --- fork -----------------------------------------------------------------------

def mode_fork():
    warnings.simplefilter("ignore")          # 3.12+: fork() with threads
    reader_thread()
    say("ready\n")
    children = set()
    while True:
        pid = os.fork()
        if pid == 0:
            try:
                time.sleep(0.005)
            finally:
                os._exit(0)
        children.add(pid)
        while len(children) >= 4:
            done, _ = os.waitpid(-1, 0)
            children.discard(done)
        try:
            while children:
                done, _ = os.waitpid(-1, os.WNOHANG)
                if not done:
                    break
                children.discard(done)
        except ChildProcessError:
            children.clear()
        time.sleep(0.001)


# --- exec ----------------------------------------------------------------------------

def mode_exec(gen):
    if gen == 0:
        say("ready\n")
    say("gen %d\n" % gen)
    keep = [{"gen": gen, "i": i, "l": [i] * 8} for i in range(2000)]
    argv = [sys.executable, "-E", "-s", os.path.abspath(__file__), "exec", str(gen + 1)]

    def execute():
        time.sleep(0.05)
        os.execv(sys.executable, argv)

    if gen % 2:
        th = threading.Thread(target=execute)
        th.start()
        while True:                # the main thread keeps running meanwhile
            keep.append(len(keep))
            time.sleep(0.002)
    else:
        sleeper = threading.Thread(target=time.sleep, args=(10,))
        sleeper.daemon = True
        sleeper.start()
        execute()


# --- alloc ----------------------------------------------------------------------------

class Churn(object):
    def __init__(self, i):
        self.i = i
        self.name = "churn-%d" % i
        self.other = None


def mode_alloc():
    reader_thread()
    say("ready\n")
    live = []
    i = 0
    while True:
        a, b = Churn(i), Churn(i + 1)
        a.other, b.other = b, a                       # a cycle for the GC
        live.append([a, {"k%d" % i: (i, str(i))}, bytearray(i % 300), [b] * (i % 11)])
        if len(live) > 20000:
            del live[:5000]
        if i % 50000 == 0:
            live = []
        i += 1


# --- corrupt ------------------------------------------------------------------------------

class Victim(object):
    def __init__(self, i):
        self.i = i
        self.tag = "victim-%d" % i


class Cyc(object):
    pass


class Named(object):
    pass


KEEP = []
SPARE = []                      # objects whose references we overwrite leak here

TP_BASE = 256                   # offsetof(PyTypeObject, tp_base), 3.8-3.13
TP_NAME = 24
BYTES_SVAL = 32                 # offsetof(PyBytesObject, ob_sval)


def word(addr):
    return ctypes.c_void_p.from_address(addr)


def build():
    gc.disable()
    for batch in range(20):
        KEEP.append([Victim(batch * 1000 + i) for i in range(200)])
        KEEP.append([{"b": batch, "i": i, "l": [i, str(i)]} for i in range(200)])
    KEEP.append([Cyc() for _ in range(10)])
    KEEP.append([Named() for _ in range(10)])
    gc.collect()                # everything into the oldest generation
    gc.disable()


def middle_victim():
    """A tracked Victim in the middle of the oldest generation's list."""
    v = KEEP[18][100]
    if not gc.is_tracked(v):
        raise RuntimeError("victim not tracked")
    return v


def fresh_list(n=3):
    items = [Victim(-k - 1) for k in range(n)]
    l = list(items)
    KEEP.append(l)
    SPARE.append(items)
    return l


def set_item(l, i, value):
    ob_item = word(id(l) + 24).value
    word(ob_item + 8 * i).value = value


def corrupt(kind):
    if kind == "gc_next":
        v = middle_victim()
        old = word(id(v) - 16).value
        word(id(v) - 16).value = GARBAGE
        return "_gc_next of Victim at 0x%x: 0x%x -> 0x%x" % (id(v), old or 0, GARBAGE)
    if kind == "gc_self":
        v = middle_victim()
        word(id(v) - 16).value = id(v) - 16
        return "_gc_next of Victim at 0x%x points at its own GC head" % id(v)
    if kind == "item_garbage":
        l = fresh_list()
        set_item(l, 1, GARBAGE)
        return "list 0x%x ob_item[1] = 0x%x" % (id(l), GARBAGE)
    if kind == "item_misaligned":
        l = fresh_list()
        target = id(l[0]) + 3
        set_item(l, 1, target)
        return "list 0x%x ob_item[1] = 0x%x (misaligned)" % (id(l), target)
    if kind == "item_wild":
        l = fresh_list()
        buf = b"\x41" * 4096
        SPARE.append(buf)
        set_item(l, 1, id(buf) + BYTES_SVAL + 64)
        return "list 0x%x ob_item[1] -> inside a bytes of 0x41" % id(l)
    if kind == "type_buffer":
        v = middle_victim()
        buf = bytes(range(256)) * 4
        SPARE.append(buf)
        word(id(v) + 8).value = id(buf) + BYTES_SVAL
        return "ob_type of Victim at 0x%x -> bytes buffer 0x%x" % (id(v), id(buf) + BYTES_SVAL)
    if kind == "type_unmapped":
        v = middle_victim()
        word(id(v) + 8).value = GARBAGE
        return "ob_type of Victim at 0x%x = 0x%x" % (id(v), GARBAGE)
    if kind == "ob_size_huge":
        l = fresh_list()
        ctypes.c_ssize_t.from_address(id(l) + 16).value = 2 ** 40
        return "ob_size of list 0x%x = 2**40" % id(l)
    if kind == "tp_base_cycle":
        if word(id(Cyc) + TP_BASE).value != id(object):
            raise RuntimeError("tp_base is not at offset %d" % TP_BASE)
        word(id(Cyc) + TP_BASE).value = id(Cyc)
        return "Cyc.tp_base = Cyc (10 instances)"
    if kind == "tp_name_garbage":
        old = word(id(Named) + TP_NAME).value
        if ctypes.string_at(old) != b"Named":
            raise RuntimeError("tp_name is not at offset %d" % TP_NAME)
        word(id(Named) + TP_NAME).value = GARBAGE
        return "Named.tp_name = 0x%x (10 instances)" % GARBAGE
    raise ValueError("unknown kind %r" % kind)


KINDS = ["gc_next", "gc_self", "item_garbage", "item_misaligned", "item_wild",
         "type_buffer", "type_unmapped", "ob_size_huge", "tp_base_cycle",
         "tp_name_garbage"]


# --- vfork ----------------------------------------------------------------------

CLONE_VM, CLONE_VFORK, SIGCHLD = 0x100, 0x4000, 17
STACK_SIZE = 1 << 16


def hold(secs):
    """Wait in the kernel, uninterruptibly, for SECS seconds."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.clone.restype = ctypes.c_int
    libc.clone.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    stack = ctypes.create_string_buffer(STACK_SIZE)
    top = (ctypes.addressof(stack) + STACK_SIZE - 256) & ~15
    # threading.get_native_id() is 3.8+; before, gettid(2) (x86-64: 186).
    tid = threading.get_native_id() if hasattr(threading, "get_native_id") else libc.syscall(186)
    say("holding %d\n" % tid)
    # The child runs sleep(SECS) (x86-64: its argument in the register the
    # clone wrapper passes ARG in) and exits; it touches no Python state.
    pid = libc.clone(ctypes.cast(libc.sleep, ctypes.c_void_p), top,
                     CLONE_VM | CLONE_VFORK | SIGCHLD, secs)
    if pid < 0:
        say("error clone: errno %d\n" % ctypes.get_errno())
        return
    os.waitpid(pid, 0)
    say("held %d\n" % tid)
    while True:
        time.sleep(3600)


def mode_vfork():
    def handle(line):
        parts = line.split()
        if len(parts) == 2 and parts[0] == "hold":
            th = threading.Thread(target=hold, args=(int(parts[1]),), name="safety-vfork")
            th.daemon = True
            th.start()
        else:
            say("error unknown command %r\n" % line)

    say("ready\n")
    serve(handle)


def mode_big(n):
    gc.disable()
    heap = [[i + 1000] for i in range(n)]
    say("ready\n")
    serve()
    return heap


def mode_corrupt():
    build()

    def handle(line):
        parts = line.split()
        if len(parts) == 2 and parts[0] == "corrupt":
            try:
                say("done %s\n" % corrupt(parts[1]))
            except Exception as e:
                say("error %s: %s\n" % (type(e).__name__, e))
        else:
            say("error unknown command %r\n" % line)

    say("ready\n")
    serve(handle)
    os._exit(0)                 # no teardown over damaged objects


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: safety_target.py threads|fork|exec [GEN]|alloc|big N|vfork|corrupt\n")
        return 2
    mode = sys.argv[1]
    if mode == "threads":
        mode_threads()
    elif mode == "fork":
        mode_fork()
    elif mode == "exec":
        mode_exec(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    elif mode == "alloc":
        mode_alloc()
    elif mode == "corrupt":
        mode_corrupt()
    elif mode == "big":
        mode_big(int(sys.argv[2]))
    elif mode == "vfork":
        mode_vfork()
    else:
        sys.stderr.write("unknown mode %r\n" % mode)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
