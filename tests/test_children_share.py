#!/usr/bin/env python3
"""`watch --children` over many workers: one interpreter build, one index.

    python3 tests/test_children_share.py [--pycensus ./pycensus] [--only SUBSTR] [--quick]

Real process trees (tests/targets/share_target.py): a master that forks
workers (its own address layout) and starts more of its interpreter as new
processes (load addresses of their own: ASLR), each worker holding its own
number of Worker objects.  Checked, from the "session" field watch prints:

  share      per interpreter: every process of the tree shares one build
             (one "build" number, "processes" = the tree, indexed once), the
             shared sessions open in a fraction of the indexing one, and
             every census (reachable and gc) equals, type by type, a
             `snapshot` of the same PID by a pycensus of its own (per-PID
             session), with each worker's Worker count its ground truth;
  mix        a master of one interpreter with workers of another: two builds;
  copy       a worker running a copy of the interpreter's executable (same
             build-id, another file) shares the build, named by its own file;
  peak RSS   watch over a master and 16 workers peaks at <= 2x the RSS of
             one `snapshot --scope gc` of one worker;
  churn      workers exiting and replaced for hundreds of rounds: every
             worker shares the master's build, the sessions alive stay
             bounded, and pycensus's RSS at the end (read from
             /proc/PID/status while it runs) is within a bound of its RSS
             after the first 30 rounds;
  relearn    Python processes started one after the other below a shell:
             each one's build is freed when it exits (the next one indexes
             anew under a new number), and RSS stays flat across cycles;
  gunicorn   Debian's python3.11 gunicorn with 4 Flask workers recycled by
             --max-requests 5 under 200 requests (127.0.0.1): every worker
             shares the master's build, one flask.app.Flask (--preload) in each.

RSS bounds are skipped, named, under a sanitizer build (its allocator
quarantines freed memory); --quick runs fewer rounds.  Every process
started here is killed on the way out.
"""

import argparse
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import json
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import harness  # noqa: E402
import pythons  # noqa: E402
from harness import kill_tree, short, start  # noqa: E402

TARGET = os.path.join(HERE, "targets", "share_target.py")
READY_TIMEOUT = 60
RSS_PEAK_FACTOR = 2.0      # the goal: watch over many <= 2x one census
# Growth allowed between the early and the final RSS of a long watch: malloc
# arenas settle, stdio buffers; one more session per process would be tens
# of MB (an interpreter's DWARF index and debug file).
RSS_FLAT_KB = 4096


# --- processes -----------------------------------------------------------------

def start_tree(python, args):
    """A share_target.py tree: (Popen, [(pid, workers)], master first)."""
    p = start([python, "-E", "-s", TARGET] + [str(a) for a in args],
              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = harness.read_line(p, READY_TIMEOUT)
    if not line or not line.startswith("ready"):
        kill_tree(p)
        raise RuntimeError("share_target.py %s did not start (got %r)" % (args[0], line))
    procs = [tuple(int(x) for x in w.split(":")) for w in line.split()[1:]]
    return p, procs


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def is_sanitized(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


def json_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def censuses(lines):
    return [d for d in lines if "event" not in d]


def counts(census):
    return dict((t["type"], (t["count"], t["bytes"])) for t in census["types"])


def worker_count(census):
    return counts(census).get("__main__.Worker", (0, 0))[0]


class Stream:
    """A running `pycensus watch`, read line by line."""

    def __init__(self, pc, args):
        self.p = pc.start(args)
        self.fd = self.p.stdout.fileno()
        self.buf = b""
        self.lines = []

    def next(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return None
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        d = json.loads(line.decode())
        self.lines.append(d)
        return d

    def stop(self, pc):
        """SIGTERM, then the exit code and stderr (sanitizer reports noted)."""
        try:
            self.p.send_signal(signal.SIGTERM)
        except OSError:
            pass
        rc, out, err = pc.finish(self.p, timeout=30)
        for l in (out or "").splitlines():
            if l.strip():
                self.lines.append(json.loads(l))
        return rc, err


# --- checks -----------------------------------------------------------------------

def snapshot_counts(pc, pid, scope):
    rc, out, err = pc.run(["snapshot", "--scope", scope, str(pid)], timeout=120)
    if rc != 0:
        return None, "snapshot of %d: exit %s, %s" % (pid, rc, short(err))
    return counts(json.loads(out)), None


def compare_with_snapshots(pc, cs, procs, scope):
    """Problems: each PID's censuses against its own snapshot and its truth."""
    probs = []
    for pid, n in procs:
        mine = [c for c in cs if c["pid"] == pid]
        if not mine:
            probs.append("%d: not censused" % pid)
            continue
        snap, why = snapshot_counts(pc, pid, scope)
        if why:
            probs.append(why)
            continue
        for c in mine:
            if counts(c) != snap:
                diff = sorted(t for t in set(snap) | set(counts(c)) if snap.get(t) != counts(c).get(t))
                probs.append("%d seq %d: %d types differ from its snapshot: %s" % (
                    pid, c["seq"], len(diff), short(["%s %s/%s" % (t, counts(c).get(t), snap.get(t))
                                                      for t in diff[:4]], 200)))
            if n and worker_count(c) != n:
                probs.append("%d: %d Worker, holds %d" % (pid, worker_count(c), n))
    return probs


def load_biases(pc, procs):
    out = {}
    for pid, _ in procs:
        rc, text, _ = pc.run(["info", str(pid)], timeout=60)
        if rc == 0:
            out[pid] = json.loads(text)["load_bias"]
    return out


def check_share(rep, pc, py):
    label, python = py["label"], py["path"]
    p, procs = start_tree(python, ["tree", 3, 3])
    try:
        master = procs[0][0]
        rc, out, err = pc.run(["watch", "--children", "--scope", "reachable", "--interval", "0.3s",
                               "--count", "2", str(master)], timeout=180)
        lines = json_lines(out) if rc == 0 else []
        cs = censuses(lines)
        if not rep.check(rc == 0 and cs, "%s share: watch --children exit 0" % label,
                         "exit %s, stderr %s" % (rc, short(err))):
            return
        harness.censused(python)
        pids = set(pid for pid, _ in procs)
        builds = set(c["session"]["build"] for c in cs)
        procs_seen = set(c["session"]["processes"] for c in cs)
        indexed = sorted(set(c["pid"] for c in cs if c["session"]["indexed"]))
        rep.check(set(c["pid"] for c in cs) == pids and len(builds) == 1 and procs_seen == {len(pids)}
                  and indexed == [master],
                  "%s share: %d processes, one build, indexed once (by the master)" % (label, len(pids)),
                  "censused %s of %s, builds %s, processes %s, indexed by %s" % (
                      sorted(set(c["pid"] for c in cs)), sorted(pids), builds, procs_seen, indexed),
                  "build %s, processes %s" % (builds, procs_seen))
        # The spawned workers are where the shared rules meet another load
        # bias; a fixed-address (non-PIE) executable has none to meet.
        biases = load_biases(pc, procs)
        spawned = [pid for pid, _ in procs[4:]]
        if len(set(biases.values())) > 1:
            rep.ok("%s share: spawned workers at other load addresses" % label,
                   "%d distinct biases" % len(set(biases.values())))
        elif set(biases.values()) == {"0x0"}:
            rep.skip("%s share: spawned workers at other load addresses" % label,
                     "a non-PIE executable: every process has load bias 0")
        else:
            rep.fail("%s share: spawned workers at other load addresses" % label,
                     "biases %s (spawned %s)" % (biases, spawned))
        # The median: one session preempted on a busy machine says nothing.
        setup_index = max(c["session"]["setup_us"] for c in cs if c["session"]["indexed"])
        shared = sorted(dict((c["pid"], c["session"]["setup_us"]) for c in cs
                             if not c["session"]["indexed"]).values())
        setup_shared = shared[len(shared) // 2]
        print("# %s setup_us: indexing %d, shared %s" % (label, setup_index, shared), flush=True)
        rep.check(setup_shared * 4 < setup_index, "%s share: shared sessions open without indexing" % label,
                  "shared setup median %d us, indexing %d us" % (setup_shared, setup_index),
                  "median %d us against %d us" % (setup_shared, setup_index))
        probs = compare_with_snapshots(pc, cs, procs, "reachable")
        rep.check(not probs, "%s share: reachable counts equal per-PID snapshots, Worker truth" % label,
                  "; ".join(probs[:4]), "%d censuses" % len(cs))
        rc, out, err = pc.run(["watch", "--children", "--scope", "gc", "--count", "1", str(master)],
                              timeout=120)
        cs = censuses(json_lines(out)) if rc == 0 else []
        probs = compare_with_snapshots(pc, cs, procs, "gc") if cs else ["watch exit %s: %s" % (rc, short(err))]
        rep.check(not probs, "%s share: gc counts equal per-PID snapshots, Worker truth" % label,
                  "; ".join(probs[:4]), "%d censuses" % len(cs))
    finally:
        kill_tree(p)


def check_mix(rep, pc, py, other):
    label = "%s+%s" % (py["label"], other["label"])
    p, procs = start_tree(py["path"], ["tree", 2, 1, other["path"], 2])
    try:
        master = procs[0][0]
        rc, out, err = pc.run(["watch", "--children", "--scope", "gc", "--count", "1", str(master)],
                              timeout=180)
        cs = censuses(json_lines(out)) if rc == 0 else []
        if not rep.check(len(cs) == len(procs), "%s mix: every process censused" % label,
                         "exit %s, %d censuses of %d processes, stderr %s" % (rc, len(cs), len(procs),
                                                                              short(err))):
            return
        ours = set(pid for pid, _ in procs[:4])
        theirs = set(pid for pid, _ in procs[4:])
        b_ours = set((c["session"]["build"], c["session"]["processes"]) for c in cs if c["pid"] in ours)
        b_theirs = set((c["session"]["build"], c["session"]["processes"]) for c in cs if c["pid"] in theirs)
        nindexed = sum(1 for c in cs if c["session"]["indexed"])
        rep.check(len(b_ours) == 1 and len(b_theirs) == 1 and b_ours != b_theirs
                  and next(iter(b_ours))[1] == 4 and next(iter(b_theirs))[1] == 2 and nindexed == 2,
                  "%s mix: two interpreters, two builds" % label,
                  "(build, processes) of %s: %s, of %s: %s; %d indexed" % (
                      py["label"], b_ours, other["label"], b_theirs, nindexed),
                  "%s: %s, %s: %s" % (py["label"], b_ours, other["label"], b_theirs))
        probs = compare_with_snapshots(pc, cs, procs, "gc")
        rep.check(not probs, "%s mix: counts equal per-PID snapshots, Worker truth" % label,
                  "; ".join(probs[:4]))
    finally:
        kill_tree(p)


def check_copy(rep, pc, pys, tmp):
    """A copy of the interpreter's file (same build-id, another inode) is
    matched by its build-id after discovery: no second index."""
    name = "copy"
    static = [p for p in pys if not p.get("root") and not pythons.libpython(p["path"])]
    if not static:
        rep.skip(name, "no usable interpreter outside the sid root with its runtime in the executable to copy")
        return
    py = static[0]
    copy = os.path.join(tmp, "python-copy")
    shutil.copy2(os.path.realpath(py["path"]), copy)
    p, procs = start_tree(py["path"], ["tree", 1, 1, copy, 1])
    label = "%s %s" % (py["label"], name)
    try:
        rc, out, err = pc.run(["watch", "--children", "--scope", "gc", "--count", "1", str(procs[0][0])],
                              timeout=120)
        cs = censuses(json_lines(out)) if rc == 0 else []
        by_pid = dict((c["pid"], c) for c in cs)
        mine = by_pid.get(procs[-1][0])
        ss = set((c["session"]["build"], c["session"]["processes"]) for c in cs)
        nindexed = sum(1 for c in cs if c["session"]["indexed"])
        rep.check(len(cs) == 4 and mine and len(ss) == 1 and nindexed == 1
                  and mine["python"]["binary"] == copy,
                  "%s: a copy of the file shares the build (build-id)" % label,
                  "exit %s, %d censuses, (build, processes) %s, %d indexed, the copy's binary %r; %s" % (
                      rc, len(cs), ss, nindexed, mine and mine["python"]["binary"], short(err)),
                  "(build, processes) %s, binary %s" % (ss, copy))
        probs = compare_with_snapshots(pc, cs, procs, "gc")
        rep.check(not probs, "%s: counts equal per-PID snapshots, Worker truth" % label, "; ".join(probs[:4]))
    finally:
        kill_tree(p)


def maxrss_kb(pc, args, timeout=180):
    """(exit code, stdout, ru_maxrss in KB) of one pycensus run."""
    p = subprocess.Popen([pc.path] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    harness.track(p)
    deadline = time.monotonic() + timeout
    out = b""
    while True:
        r, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            harness.kill_proc(p)
            break
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        out += chunk
    err = p.stderr.read().decode("utf-8", "replace")
    pc.note(err)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status
    return p.returncode, out.decode("utf-8", "replace"), ru.ru_maxrss


def check_peak(rep, pc, py, sanitized):
    label = py["label"]
    name = "%s peak RSS: watch over 17 processes <= %.0fx one snapshot" % (label, RSS_PEAK_FACTOR)
    if sanitized:
        rep.skip(name, "sanitizer build: its allocator quarantines freed memory")
        return
    p, procs = start_tree(py["path"], ["tree", 16, 0])
    try:
        rc1, _, one = maxrss_kb(pc, ["snapshot", "--scope", "gc", str(procs[1][0])])
        rc2, out, many = maxrss_kb(pc, ["watch", "--children", "--scope", "gc", "--interval", "0.2s",
                                        "--count", "2", str(procs[0][0])])
        cs = censuses(json_lines(out)) if rc2 == 0 else []
        rep.check(rc1 == 0 and len(cs) == 34, "%s peak RSS: premise, 17 processes censused twice" % label,
                  "snapshot exit %s, watch exit %s with %d censuses" % (rc1, rc2, len(cs)))
        print("# %s peak RSS: watch over 17 processes %d KB, one snapshot %d KB" % (label, many, one),
              flush=True)
        rep.check(rc1 == 0 and rc2 == 0 and many <= RSS_PEAK_FACTOR * one, name,
                  "watch %d KB, snapshot %d KB" % (many, one), "%d KB against %d KB" % (many, one))
    finally:
        kill_tree(p)


def check_churn(rep, pc, py, sanitized, rounds):
    label = py["label"]
    nworkers = 3
    p = start([py["path"], "-E", "-s", TARGET, "churn", str(nworkers)],
              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    w = None
    try:
        line = harness.read_line(p, READY_TIMEOUT)
        if not rep.check(line == "ready", "%s churn: target started" % label, "got %r" % line):
            return
        w = Stream(pc, ["watch", "--children", "--scope", "gc", "--interval", "0.05s", str(p.pid)])
        early = late = None
        last_round = 0
        deadline = time.monotonic() + rounds * 2 + 60
        while last_round < rounds and time.monotonic() < deadline:
            d = w.next(30)
            if d is None:
                break
            last_round = max(last_round, d.get("round", 0))
            if early is None and last_round >= 30:
                early = rss_kb(w.p.pid)
        late = rss_kb(w.p.pid)
        rc, err = w.stop(pc)
        cs = censuses(w.lines)
        master = [c for c in cs if c["pid"] == p.pid]
        workers = [c for c in cs if c["pid"] != p.pid]
        nworker_pids = len(set(c["pid"] for c in workers))
        if not rep.check(last_round >= rounds and master and nworker_pids >= rounds // 4,
                         "%s churn: %d rounds, workers came and went" % (label, rounds),
                         "reached round %d, %d master censuses, %d workers censused; stderr %s" % (
                             last_round, len(master), nworker_pids, short(err)),
                         "%d workers censused" % nworker_pids):
            return
        build = master[0]["session"]["build"]
        other = [c for c in cs if c["session"]["build"] != build or
                 (c["pid"] != p.pid and c["session"]["indexed"])]
        rep.check(not other, "%s churn: every worker shares the master's build" % label,
                  "%d censuses with another build or indexed: %s" % (len(other), short(other[:1])))
        most = max(c["session"]["processes"] for c in cs)
        rep.check(most <= 1 + 2 * nworkers, "%s churn: sessions alive stay bounded" % label,
                  "up to %d processes on the build, %d workers alive at a time" % (most, nworkers),
                  "at most %d" % most)
        rep.check(rc == 0, "%s churn: watch exits 0 on SIGTERM" % label, "exit %s: %s" % (rc, short(err)))
        name = "%s churn: RSS flat over %d rounds" % (label, rounds)
        if sanitized:
            rep.skip(name, "sanitizer build: its allocator quarantines freed memory")
        else:
            print("# %s churn: RSS %s KB after round 30, %s KB after round %d" % (label, early, late, last_round),
                  flush=True)
            rep.check(early and late and late <= early + RSS_FLAT_KB, name,
                      "%s KB after round 30, %s KB at the end" % (early, late),
                      "%s KB -> %s KB" % (early, late))
    finally:
        if w and w.p.poll() is None:
            kill_tree(w.p)
        kill_tree(p)


def check_relearn(rep, pc, py, sanitized, cycles):
    label = py["label"]
    # The pause lets watch see each process gone (and let go of its
    # session) before the next one starts.
    loop = "while :; do %s -E -s -c 'import time; time.sleep(0.7)'; sleep 0.5; done" % py["path"]
    sh = start(["sh", "-c", loop], stdin=subprocess.DEVNULL)
    w = None
    try:
        w = Stream(pc, ["watch", "--children", "--scope", "gc", "--interval", "0.1s", str(sh.pid)])
        seen = []              # python PIDs in the order first censused
        early = late = None
        deadline = time.monotonic() + cycles * 6 + 60
        while len(seen) < cycles and time.monotonic() < deadline:
            d = w.next(30)
            if d is None:
                break
            if "event" not in d and d["pid"] not in seen:
                seen.append(d["pid"])
                if len(seen) == 3:
                    early = rss_kb(w.p.pid)
        late = rss_kb(w.p.pid)
        rc, err = w.stop(pc)
        cs = censuses(w.lines)
        first = []
        for pid in seen:
            first.append([c for c in cs if c["pid"] == pid][0])
        serials = [c["session"]["build"] for c in first]
        ok = (len(seen) >= cycles and all(c["session"]["indexed"] and c["session"]["processes"] == 1
                                          for c in first)
              and all(a < b for a, b in zip(serials, serials[1:])))
        rep.check(ok, "%s relearn: each process's build freed when it exits" % label,
                  "%d processes; builds %s; indexed %s; processes %s; stderr %s" % (
                      len(seen), serials, [c["session"]["indexed"] for c in first],
                      [c["session"]["processes"] for c in first], short(err)),
                  "%d processes, builds %s" % (len(seen), serials))
        name = "%s relearn: RSS flat over %d builds learnt and freed" % (label, len(seen))
        if sanitized:
            rep.skip(name, "sanitizer build: its allocator quarantines freed memory")
        else:
            print("# %s relearn: RSS %s KB at the 3rd process, %s KB at the %dth" % (label, early, late, len(seen)),
                  flush=True)
            rep.check(early and late and late <= early + RSS_FLAT_KB, name,
                      "%s KB at the 3rd, %s KB at the end" % (early, late), "%s KB -> %s KB" % (early, late))
    finally:
        if w and w.p.poll() is None:
            kill_tree(w.p)
        kill_tree(sh)


GUNICORN_APP = """
from flask import Flask
app = Flask(__name__)

@app.route("/")
def hello():
    return "ok"
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_gunicorn(rep, pc, tmp):
    """gunicorn with Flask workers recycled by --max-requests under traffic."""
    name = "gunicorn"
    python = "/usr/bin/python3.11"
    pys = [p for p in harness.usable_pythons() if p["path"] == python]
    if not pys:
        rep.skip(name, "%s is not a usable interpreter here (tests/pythons.py)" % python)
        return
    if subprocess.run([python, "-c", "import gunicorn, flask"], stderr=subprocess.DEVNULL).returncode:
        rep.skip(name, "gunicorn or flask not importable by %s (apt-get install gunicorn python3-flask)"
                 % python)
        return
    with open(os.path.join(tmp, "app.py"), "w") as f:
        f.write(GUNICORN_APP)
    # A recycled worker leaves without finalizing the interpreter, so that
    # every census of it, up to its last, holds the app (a census during
    # Py_Finalize would see it torn down).
    with open(os.path.join(tmp, "gunicorn.conf.py"), "w") as f:
        f.write("import os\n\ndef worker_exit(server, worker):\n    os._exit(0)\n")
    port = free_port()
    # --preload: the app is built in the master, so every worker holds
    # exactly one Flask from its first instant.
    g = start([python, "-m", "gunicorn", "-w", "4", "--max-requests", "5", "-b", "127.0.0.1:%d" % port,
               "--preload", "--chdir", tmp, "-c", os.path.join(tmp, "gunicorn.conf.py"), "app:app"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
              stderr=subprocess.DEVNULL)
    w = None
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        up = False
        while not up and time.monotonic() < deadline:
            try:
                up = urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=2).read() == b"ok"
            except OSError:
                time.sleep(0.2)
        if not rep.check(up, "%s: workers answer" % name, "no answer on 127.0.0.1:%d" % port):
            return
        w = Stream(pc, ["watch", "--children", "--scope", "gc", "--interval", "0.2s", str(g.pid)])
        served = []

        def traffic():
            for _ in range(200):
                try:
                    served.append(urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5).read())
                except OSError:
                    pass
                time.sleep(0.02)
        th = threading.Thread(target=traffic)
        th.start()
        while th.is_alive():
            if w.next(10) is None:
                break
        th.join()
        for _ in range(20):        # a few rounds after the traffic
            if w.next(10) is None:
                break
        rc, err = w.stop(pc)
        cs = censuses(w.lines)
        master = [c for c in cs if c["pid"] == g.pid]
        workers = [c for c in cs if c["pid"] != g.pid]
        npids = len(set(c["pid"] for c in workers))
        if not rep.check(master and npids >= 8 and served.count(b"ok") >= 150,
                         "%s: workers recycled under traffic" % name,
                         "%d master censuses, %d worker PIDs censused, %d requests served; stderr %s" % (
                             len(master), npids, served.count(b"ok"), short(err)),
                         "%d worker PIDs censused, %d requests" % (npids, served.count(b"ok"))):
            return
        build = master[0]["session"]["build"]
        bad = [c["pid"] for c in workers if c["session"]["build"] != build or c["session"]["indexed"]]
        rep.check(not bad, "%s: every worker shares the master's build" % name,
                  "%d worker censuses with another build or indexed" % len(bad))
        most = max(c["session"]["processes"] for c in cs)
        rep.check(most <= 1 + 2 * 4, "%s: sessions alive stay bounded" % name,
                  "up to %d processes on the build, 4 workers" % most, "at most %d" % most)
        flask = [(c["pid"], counts(c).get("flask.app.Flask", (0, 0))[0]) for c in cs]
        rep.check(all(n == 1 for _, n in flask), "%s: one flask.app.Flask in master and workers" % name,
                  "(pid, count) %s" % short([f for f in flask if f[1] != 1][:5]), "%d censuses" % len(flask))
    finally:
        if w and w.p.poll() is None:
            kill_tree(w.p)
        kill_tree(g)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--only", help="run only the checks whose name contains this")
    ap.add_argument("--quick", action="store_true", help="fewer rounds; one interpreter for share")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = harness.Report(always_colon=("FAIL", "SKIP"), only=args.only)
    pc = harness.SanitizerPycensus(os.path.abspath(args.pycensus))
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="pycensus-share-test-")
    try:
        pys = harness.by_preference(harness.usable_pythons())
        if not os.access(pc.path, os.X_OK):
            rep.fail("pycensus", "%s is not executable (run make)" % pc.path)
        elif not pys:
            rep.skip("share", "no supported interpreter with debug info found (tests/pythons.py)")
        else:
            sanitized = is_sanitized(pc.path)
            groups = [("share", lambda py=py: check_share(rep, pc, py))
                      for py in (pys[:1] if args.quick else pys)]
            # A master starts the other interpreter by its path: sid's
            # wrappers (scripts/sid-pythonN) do not run inside the sid root.
            host = [p for p in pys if not p.get("root")]
            if len(host) > 1:
                groups.append(("mix", lambda: check_mix(rep, pc, host[0], host[1])))
            else:
                rep.skip("mix", "fewer than two usable interpreters outside the sid root: a mix needs two")
            groups += [
                ("copy", lambda: check_copy(rep, pc, pys, tmp)),
                ("peak", lambda: check_peak(rep, pc, pys[0], sanitized)),
                ("churn", lambda: check_churn(rep, pc, pys[0], sanitized, 100 if args.quick else 300)),
                ("relearn", lambda: check_relearn(rep, pc, pys[0], sanitized, 6 if args.quick else 12)),
                ("gunicorn", lambda: check_gunicorn(rep, pc, tmp)),
            ]
            for name, fn in groups:
                if not rep.wanted(name):
                    continue
                try:
                    fn()
                except Exception as e:
                    rep.fail(name, "%s: %s" % (type(e).__name__, e))
            rep.check(not pc.sanitizer, "no sanitizer reports", "; ".join(pc.sanitizer[:3]))
    finally:
        harness.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %.1f s" % (time.monotonic() - t0))
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
