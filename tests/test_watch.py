#!/usr/bin/env python3
"""End-to-end tests of `pycensus watch`, `diff`, --prometheus and the scripts.

    python3 tests/test_watch.py [--pycensus ./pycensus] [--python PATH]
                                [--only SUBSTR] [--quick]

Real CPython targets (the preferred supported interpreter from
tests/pythons.py and Debian sid's 3.13-3.15, or --python; each line names
it): a process leaking `Leak` objects at 200 per second from a thread
while keeping its `Flat` objects constant, and a master that forks Python
children.  Deltas, growing and diff are checked exactly against the counts
the same run emitted: every type's count_delta and bytes_delta against the
census before, the growing list (types, growth, order) recomputed from the
last K+1 censuses, and every type of a diff against the two files.  One
line per check: PASS / FAIL / SKIP; the last line is
"N passed, M failed, K skipped"; the exit status is 1 if anything failed.
--quick is accepted for tests/run.py and changes nothing: the whole file
takes well under a minute.

Every process started here is killed on the way out, whatever happens.
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import (EXIT_INPUT, EXIT_USAGE, kill_tree, read_line, short,  # noqa: E402
                     start)

LEAK_RATE = 200            # Leak objects per second in the leaking target
READY_TIMEOUT = 30

LEAK_TARGET = r'''
import sys, threading, time

class Leak(object):
    pass

class Flat(object):
    pass

flat = [Flat() for _ in range(500)]
leaked = []

def leak():
    # 20 every 0.1 s on a fixed schedule: 200 per second without drift.
    t0 = time.time()
    k = 0
    while True:
        for _ in range(20):
            leaked.append(Leak())
        k += 1
        time.sleep(max(0.0, t0 + k * 0.1 - time.time()))

t = threading.Thread(target=leak)
t.daemon = True   # (2.7: no daemon= argument)
t.start()
sys.stdout.write("ready\n")
sys.stdout.flush()
while True:
    time.sleep(1000)
'''

# Forks three Python children (the first exits after 2.5 s), starts a
# non-Python child, and forks a fourth Python child 1.5 s later.  Prints the
# PIDs: "ready PY0 PY1 PY2 OTHER", then "late PY3".
MASTER_TARGET = r'''
import os, signal, subprocess, sys, time

class Worker(object):
    pass

def child(lifetime):
    keep = [Worker() for _ in range(300)]
    time.sleep(lifetime)
    os._exit(0)

def reap(*_):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass

signal.signal(signal.SIGCHLD, reap)
kids = []
for lifetime in (2.5, 1000, 1000):
    pid = os.fork()
    if pid == 0:
        child(lifetime)
    kids.append(pid)
other = subprocess.Popen(["sleep", "1000"])
sys.stdout.write("ready %s %d\n" % (" ".join(map(str, kids)), other.pid))
sys.stdout.flush()
time.sleep(1.5)
pid = os.fork()
if pid == 0:
    child(1000)
sys.stdout.write("late %d\n" % pid)
sys.stdout.flush()
while True:
    time.sleep(1000)
'''

_daemon_pids = []


# --- processes ---------------------------------------------------------------

def start_target(python, code, tmp, name):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(code)
    p = start([python, "-u", path], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    line = read_line(p, READY_TIMEOUT)
    if not line or not line.startswith("ready"):
        raise RuntimeError("%s did not start (got %r)" % (name, line))
    return p, line.split()[1:]


def cleanup():
    for pid in _daemon_pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    harness.cleanup()     # process groups too: the master's children


def json_lines(text):
    out = []
    for line in text.splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def censuses(lines, pid=None):
    return [d for d in lines if "event" not in d and (pid is None or d["pid"] == pid)]


def type_entry(census, name):
    for t in census["types"]:
        if t["type"] == name:
            return t
    return None


def counts(census):
    """{type: (count, bytes)} of one census."""
    return dict((t["type"], (t["count"], t["bytes"])) for t in census["types"])


def delta_errors(cs):
    """Every type of every census from the second on must carry exactly
    count_delta = count(N) - count(N-1) and bytes_delta likewise, a type
    absent from census N-1 counting 0 there; the first carries none."""
    errs = ["census 1 has deltas on %s" % t["type"] for t in cs[0]["types"] if "count_delta" in t]
    for prev, cur in zip(cs, cs[1:]):
        before = counts(prev)
        for t in cur["types"]:
            c0, b0 = before.get(t["type"], (0, 0))
            want = (t["count"] - c0, t["bytes"] - b0)
            got = (t.get("count_delta"), t.get("bytes_delta"))
            if got != want:
                errs.append("census %d %s: deltas %s, counts give %s" % (cur["seq"], t["type"], got, want))
    return errs


def growing_want(cs, n, k):
    """What census N (0-based in CS) must list as growing with
    --growth-rounds K, from the counts the same run emitted: the types of
    census N whose count rose in each of the K rounds up to it (absent = 0),
    with count_growth and bytes_growth against census N-K, sorted by
    bytes_growth, count_growth (largest first), then name."""
    if n < k:
        return []
    window = [counts(c) for c in cs[n - k:n + 1]]
    out = []
    for name, (count, size) in window[-1].items():
        series = [w.get(name, (0, 0))[0] for w in window]
        if all(a < b for a, b in zip(series, series[1:])):
            c0, b0 = window[0].get(name, (0, 0))
            out.append({"type": name, "count": count, "bytes": size,
                        "count_growth": count - c0, "bytes_growth": size - b0, "rounds": k})
    out.sort(key=lambda g: (-g["bytes_growth"], -g["count_growth"], g["type"]))
    return out


def growing_errors(cs, k):
    """growing of every census against growing_want; seconds against the
    censuses' own time stamps (ms resolution, plus the scheduling noise
    between the stamp and the monotonic start: 50 ms allowed); the rates
    against count_growth / seconds (4 significant digits printed)."""
    errs = []
    secs = harness.clock_seconds
    for n, c in enumerate(cs):
        if n == 0:
            if "growing" in c:
                errs.append("census 1 has growing")
            continue
        got = c.get("growing")
        want = growing_want(cs, n, k)
        fields = ("type", "count", "bytes", "count_growth", "bytes_growth", "rounds")
        if got is None or [dict((f, g.get(f)) for f in fields) for g in got] != want:
            errs.append("census %d growing %s, counts give %s" % (
                c["seq"], short([(g.get("type"), g.get("count_growth")) for g in got or []], 200),
                short([(g["type"], g["count_growth"]) for g in want], 200)))
            continue
        span = secs(c) - secs(cs[n - k]) if n >= k else None
        for g in got:
            if abs(g["seconds"] - span) > 0.05:
                errs.append("census %d %s: seconds %s, time stamps span %.3f" % (c["seq"], g["type"], g["seconds"],
                                                                                 span))
            for what in ("count", "bytes"):
                rate = g["%s_growth" % what] / g["seconds"] if g["seconds"] > 0 else 0.0
                if abs(g["%s_per_s" % what] - rate) > 1e-3 * abs(rate) + 1e-9:
                    errs.append("census %d %s: %s_per_s %s, %s_growth / seconds %.6g" % (
                        c["seq"], g["type"], what, g["%s_per_s" % what], what, rate))
    return errs


# --- checks ------------------------------------------------------------------

def check_leak(rep, pc, python, tmp):
    """watch on the leaking target: deltas, growing, schedule, table."""
    p, _ = start_target(python, LEAK_TARGET, tmp, "leak.py")
    pid = p.pid
    log = os.path.join(tmp, "leak.jsonl")
    try:
        rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "1s", "--count", "5", str(pid)],
                              timeout=60)
        with open(log, "w") as f:
            f.write(out)
        lines = json_lines(out) if rc == 0 else []
        cs = censuses(lines, pid)
        if not rep.check(rc == 0 and len(cs) == 5, "watch leak: 5 censuses, exit 0",
                         "exit %s, %d census lines; stderr: %s" % (rc, len(cs), short(err))):
            return log, pid, p
        harness.censused(python)
        rep.check([c["seq"] for c in cs] == [1, 2, 3, 4, 5] and [c["round"] for c in cs] == [1, 2, 3, 4, 5],
                  "watch leak: seq and round", "seq %s round %s" % ([c["seq"] for c in cs], [c["round"] for c in cs]))

        errs = delta_errors(cs)
        ntypes = sum(len(c["types"]) for c in cs[1:])
        rep.check(not errs, "watch leak: every delta = count(N) - count(N-1)", "; ".join(errs[:5]),
                  "%d type entries exact" % ntypes)
        deltas = [type_entry(c, "__main__.Leak") for c in cs[1:]]
        ok = all(d and "count_delta" in d for d in deltas)
        per_round = [d["count_delta"] for d in deltas] if ok else []
        # The premise of the exact checks: a leak seen in every round (the
        # rate itself is the target's clock, only roughly kept).
        rep.check(ok and all(LEAK_RATE / 2 <= x <= LEAK_RATE * 2 for x in per_round),
                  "watch leak: Leak grows every round (~%d)" % LEAK_RATE,
                  "Leak count_delta per round: %s" % per_round, "%s" % per_round)
        flat = [type_entry(c, "__main__.Flat") for c in cs[1:]]
        rep.check(all(f and f.get("count_delta") == 0 and f["count"] == 500 for f in flat),
                  "watch leak: Flat constant, delta 0", "Flat entries: %s" % short(flat))
        rep.check("count_delta" not in json.dumps(cs[0]["types"]) and "growing" not in cs[0],
                  "watch leak: no deltas in the first census", "first census: %s" % short(cs[0]))

        grow = [[g["type"] for g in c.get("growing", [])] for c in cs[1:]]
        last = cs[-1].get("growing", [])
        leak = [g for g in last if g["type"] == "__main__.Leak"]
        rate = leak[0]["count_per_s"] if leak else None
        errs = growing_errors(cs, 3)
        rep.check(not errs, "watch leak: growing = what the emitted counts give (K=3)", "; ".join(errs[:5]),
                  "growing per census 2-5: %s" % grow)
        rep.check(grow[0] == [] and grow[1] == [] and all("__main__.Leak" in g for g in grow[2:]),
                  "watch leak: Leak growing from census 4 (K=3)", "growing per census 2-5: %s" % grow)
        rep.check(all("__main__.Flat" not in g for g in grow), "watch leak: Flat not growing",
                  "growing per census 2-5: %s" % grow)
        c2, c5 = type_entry(cs[1], "__main__.Leak"), type_entry(cs[4], "__main__.Leak")
        rep.check(leak and c2 and c5 and leak[0]["count_growth"] == c5["count"] - c2["count"]
                  and leak[0]["count_growth"] > 0 and LEAK_RATE / 2 <= rate <= LEAK_RATE * 2,
                  "watch leak: Leak count_growth = count(5) - count(2)", "Leak in growing: %s" % short(leak),
                  "count_growth %s = %s - %s, %s/s" % (leak[0]["count_growth"] if leak else "-",
                                                      c5["count"] if c5 else "-", c2["count"] if c2 else "-", rate))
        bytes_order = [g["bytes_growth"] for g in last]
        rep.check(bytes_order == sorted(bytes_order, reverse=True), "watch leak: growing sorted by bytes",
                  "bytes_growth order %s" % bytes_order)
        order = [t["bytes"] for t in cs[-1]["types"]]
        rep.check(order == sorted(order, reverse=True), "watch leak: types sorted by bytes", "not sorted")

        # The schedule: censuses 1 s apart on t0 + k*interval, not drifting.
        secs = harness.clock_seconds
        gaps = [round(secs(b) - secs(a), 3) for a, b in zip(cs, cs[1:])]
        span = secs(cs[-1]) - secs(cs[0])
        rep.check(all(0.8 <= g <= 1.2 for g in gaps) and 3.9 <= span <= 4.1 and not any(c.get("overrun") for c in cs),
                  "watch leak: fixed 1 s schedule", "gaps %s, span %.3f" % (gaps, span),
                  "span of 4 intervals: %.3f s" % span)

        # --format table: deltas and the growing section.
        rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "500ms", "--count", "2",
                               "--growth-rounds", "1", "--top", "8", "--format", "table", str(pid)])
        rep.check(rc == 0 and out.count("census 1") == 1 and out.count("census 2") == 1 and "+COUNT" in out
                  and re.search(r"Growing in each of the last 1 censuses.*\n.*\n__main__\.Leak\s+\d+\s+\+\d+", out)
                  and re.search(r"KiB|MiB", out),
                  "watch --format table", "exit %s; output: %s; stderr %s" % (rc, short(out, 800), short(err)))
    except Exception:
        raise
    return log, pid, p


def check_diff(rep, pc, pid, tmp):
    a, b = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
    rc1, out1, err1 = pc.run(["snapshot", "--scope", "gc", str(pid)])
    time.sleep(1.5)
    rc2, out2, err2 = pc.run(["snapshot", "--scope", "gc", str(pid)])
    if rc1 or rc2:
        rep.fail("diff: snapshots", "snapshot exit %s/%s: %s %s" % (rc1, rc2, short(err1), short(err2)))
        return
    with open(a, "w") as f:
        f.write(out1)
    with open(b, "w") as f:
        f.write(out2)
    rc, out, err = pc.run(["diff", a, b])
    try:
        d = json.loads(out) if rc == 0 else None
    except ValueError:
        d = None
    if not rep.check(d is not None and not err.strip(), "diff: two snapshots, exit 0",
                     "exit %s, stderr %s, stdout %s" % (rc, short(err), short(out))):
        return
    leak = [t for t in d["types"] if t["type"] == "__main__.Leak"]
    flat = [t for t in d["types"] if t["type"] == "__main__.Flat"]
    # Exact: the per-type differences of the two files, every type of either.
    old, new = counts(json.loads(out1)), counts(json.loads(out2))
    want = {}
    for name in set(old) | set(new):
        c0, b0 = old.get(name, (0, 0))
        c1, b1 = new.get(name, (0, 0))
        want[name] = (c1, b1, c1 - c0, b1 - b0)
    got = dict((t["type"], (t["count"], t["bytes"], t["count_delta"], t["bytes_delta"])) for t in d["types"])
    wrong = ["%s %s, files give %s" % (n, got.get(n), want.get(n)) for n in sorted(set(want) | set(got))
             if got.get(n) != want.get(n)]
    rep.check(not wrong and len(got) == len(d["types"]), "diff: every type = NEW - OLD of the files",
              "; ".join(wrong[:5]) or "a type listed twice", "%d types exact" % len(want))
    tot = lambda doc: (doc["totals"]["objects"], doc["totals"]["bytes"])
    t1, t2 = tot(json.loads(out1)), tot(json.loads(out2))
    rep.check(d.get("totals") == {"count_delta": t2[0] - t1[0], "bytes_delta": t2[1] - t1[1]}
              and (d["from"].get("totals", {}).get("objects"), d["from"].get("totals", {}).get("bytes")) == t1
              and (d["to"].get("totals", {}).get("objects"), d["to"].get("totals", {}).get("bytes")) == t2,
              "diff: totals = NEW - OLD of the files", "diff totals %s from %s to %s; files %s %s" % (
                  d.get("totals"), d["from"].get("totals"), d["to"].get("totals"), t1, t2))
    # The premise: the leak was seen between the two snapshots.
    rep.check(leak and leak[0]["count_delta"] > 0 and leak[0]["bytes_delta"] > 0,
              "diff: Leak grew between the snapshots", "Leak entry: %s" % short(leak),
              "Leak count_delta %s" % (leak[0]["count_delta"] if leak else "-"))
    rep.check(flat and flat[0]["count_delta"] == 0, "diff: Flat count_delta 0", "Flat entry: %s" % short(flat))
    keys_ok = all(set(t) >= {"type", "count", "bytes", "count_delta", "bytes_delta"} for t in d["types"])
    order = [(-t["bytes_delta"], -t["count_delta"], t["type"]) for t in d["types"]]
    rep.check(keys_ok and order == sorted(order) and d["from"]["pid"] == pid and d["to"]["pid"] == pid,
              "diff: schema and order", "keys ok %s, order sorted %s, from/to %s" % (
                  keys_ok, order == sorted(order), short([d.get("from"), d.get("to")])))
    names_a = {t["type"] for t in json.loads(out1)["types"]}
    names_b = {t["type"] for t in json.loads(out2)["types"]}
    rep.check({t["type"] for t in d["types"]} == names_a | names_b, "diff: covers types of either",
              "type sets differ")

    rc, out, err = pc.run(["diff", "--format", "table", a, b])
    rep.check(rc == 0 and re.search(r"__main__\.Leak\s+\d+\s+\+\d+\s+\S+ \S+\s+\+\S+ \S+", out)
              and "from pid %d" % pid in out,
              "diff --format table", "exit %s: %s" % (rc, short(out, 600)))

    # A watch line works as input too, and different PIDs are a warning.
    w1 = os.path.join(tmp, "w1.json")
    other = json.loads(out1)
    other["pid"] = pid + 1
    with open(w1, "w") as f:
        f.write(json.dumps(other) + "\n")
    rc, out, err = pc.run(["diff", w1, b])
    ok = rc == 0 and "different processes" in err and len(err.strip().splitlines()) == 1
    try:
        ok = ok and any("different processes" in w for w in json.loads(out).get("warnings", []))
    except ValueError:
        ok = False
    rep.check(ok, "diff: different PIDs warn", "exit %s, stderr %s" % (rc, short(err)))

    cases = {
        "malformed JSON": '{"pycensus": 1, "pid": 3, "types": [',
        "not JSON": "hello\n",
        "missing types": '{"pycensus": 1, "pid": 3, "scope": "gc", "time": "x"}',
        "event line": '{"pycensus": 1, "event": "exited", "pid": 3}',
        "negative count": '{"pycensus": 1, "pid": 3, "scope": "gc", "types": [{"type": "x", "count": -1, "bytes": 1}]}',
        "two values": out2 + out2,
    }
    for name, text in cases.items():
        path = os.path.join(tmp, "bad.json")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = pc.run(["diff", a, path])
        lines = err.strip().splitlines()
        rep.check(rc == EXIT_INPUT and len(lines) == 1 and not out.strip(), "diff: %s -> exit 7" % name,
                  "exit %s, stderr %s, stdout %s" % (rc, short(err), short(out, 100)), lines[0] if lines else "")
    other = json.loads(out2)
    other["scope"] = "reachable"
    path = os.path.join(tmp, "scope.json")
    with open(path, "w") as f:
        json.dump(other, f)
    rc, out, err = pc.run(["diff", a, path])
    rep.check(rc == EXIT_INPUT and len(err.strip().splitlines()) == 1, "diff: different scopes -> exit 7",
              "exit %s, stderr %s" % (rc, short(err)))
    rc, out, err = pc.run(["diff", a, os.path.join(tmp, "does-not-exist.json")])
    rep.check(rc == EXIT_INPUT and len(err.strip().splitlines()) == 1, "diff: missing file -> exit 7",
              "exit %s, stderr %s" % (rc, short(err)), short(err))


def check_prometheus(rep, pc, pid, tmp):
    d = os.path.join(tmp, "textfile")
    os.mkdir(d)
    prom = os.path.join(d, "pycensus.prom")
    rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "300ms", "--count", "2",
                           "--prometheus", prom, str(pid)])
    if not rep.check(rc == 0 and os.path.exists(prom), "prometheus: file written",
                     "exit %s, exists %s, stderr %s" % (rc, os.path.exists(prom), short(err))):
        return
    with open(prom) as f:
        text = f.read()
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
                        r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$')
    bad, typed, values = [], set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
        elif line.startswith("#"):
            continue
        else:
            m = sample.match(line)
            if not m:
                bad.append(line)
            else:
                values[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    leak = values.get('pycensus_objects{pid="%d",type="__main__.Leak"}' % pid)
    leak_b = values.get('pycensus_bytes{pid="%d",type="__main__.Leak"}' % pid)
    nobj = sum(1 for k in values if k.startswith("pycensus_objects{"))
    rep.check(not bad and {"pycensus_objects", "pycensus_bytes"} <= typed and leak and leak_b,
              "prometheus: parseable, has the leaking type",
              "bad lines %s; typed %s; Leak %s/%s" % (short(bad), sorted(typed), leak, leak_b),
              "Leak objects %d, bytes %d, %d object series" % (leak or 0, leak_b or 0, nobj))
    rep.check(0 < nobj <= 50, "prometheus: default top 50", "%d pycensus_objects series" % nobj)
    rep.check(os.listdir(d) == ["pycensus.prom"], "prometheus: no temporary files left", "dir: %s" % os.listdir(d))


def check_plot(rep, log, tmp):
    script = os.path.join(TOP, "scripts", "pycensus-plot")
    if not shutil.which("gnuplot"):
        rep.skip("pycensus-plot", "gnuplot not installed (scripts/install-deps --test installs gnuplot-nox)")
        return
    for ext, magic in ((".png", b"\x89PNG"), (".svg", b"<svg")):
        out = os.path.join(tmp, "chart" + ext)
        r = subprocess.run([sys.executable, script, log, out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           universal_newlines=True, timeout=60)
        data = open(out, "rb").read() if os.path.exists(out) else b""
        rep.check(r.returncode == 0 and len(data) > 1000 and magic in data[:2000],
                  "pycensus-plot %s" % ext, "exit %s, %d bytes, stderr %s" % (r.returncode, len(data), short(r.stderr)),
                  "%d bytes" % len(data))
    r = subprocess.run([sys.executable, script, log, os.path.join(tmp, "chart.gif")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    rep.check(r.returncode == 2 and r.stderr.strip(), "pycensus-plot: bad extension", "exit %s" % r.returncode)


def check_children(rep, pc, python, tmp):
    master, words = start_target(python, MASTER_TARGET, tmp, "master.py")
    kids = [int(w) for w in words[:3]]
    other = int(words[3])
    rc, out, err = pc.run(["watch", "--scope", "gc", "--children", "--interval", "1s", "--count", "5",
                           "--top", "20", str(master.pid)], timeout=60)
    late_line = read_line(master, 1)
    late = int(late_line.split()[1]) if late_line and late_line.startswith("late") else None
    try:
        lines = json_lines(out)
    except ValueError:
        lines = []
    if not rep.check(rc == 0 and lines, "children: watch exit 0", "exit %s; stderr %s" % (rc, short(err))):
        return
    by_pid = {}
    for d in censuses(lines):
        by_pid.setdefault(d["pid"], []).append(d)
    events = [d for d in lines if "event" in d]
    rep.check(len(by_pid.get(master.pid, [])) == 5, "children: master censused every round",
              "master censuses: %d" % len(by_pid.get(master.pid, [])))
    worker_ok = all(by_pid.get(k) and type_entry(by_pid[k][0], "__main__.Worker")
                    and type_entry(by_pid[k][0], "__main__.Worker")["count"] == 300
                    and all(c.get("root") == master.pid for c in by_pid[k]) for k in kids)
    rep.check(worker_ok, "children: each child censused (300 Worker, root=master)",
              "censuses per child: %s" % {k: len(by_pid.get(k, [])) for k in kids})
    exited = [e for e in events if e["event"] == "exited"]
    rep.check([e["pid"] for e in exited] == [kids[0]], "children: exited child reported once",
              "exited events: %s" % short(exited))
    after = [d for d in censuses(lines) if exited and d["round"] > exited[0]["round"]]
    rep.check(exited and {kids[1], kids[2], master.pid} <= {d["pid"] for d in after}
              and kids[0] not in {d["pid"] for d in after},
              "children: watch goes on after the exit", "pids censused after the exit: %s" % sorted(
                  {d["pid"] for d in after}))
    started = [e["pid"] for e in events if e["event"] == "started"]
    rep.check(late is not None and late in started and len(by_pid.get(late, [])) >= 2
              and by_pid[late][0]["seq"] == 1 and by_pid[late][0]["round"] > 1,
              "children: a child started mid-watch is picked up",
              "late child %s, started events %s, its censuses %d" % (late, started, len(by_pid.get(late, []))))
    rep.check(other not in by_pid and other not in [e["pid"] for e in events],
              "children: non-Python child ignored quietly",
              "lines about pid %d: %s" % (other, short([d for d in lines if d.get("pid") == other])))
    rep.check(not err.strip(), "children: nothing on stderr", "stderr: %s" % short(err))
    kill_tree(master)


def check_signals(rep, pc, pid, tmp):
    # SIGTERM while the target is stopped for a census (a test hook in
    # snapshot.c stalls inside the stop), then SIGTERM and SIGINT while waiting.
    for sig, stall, name in ((signal.SIGTERM, "3000", "mid-census"), (signal.SIGTERM, "0", "between rounds"),
                             (signal.SIGINT, "0", "between rounds")):
        out = os.path.join(tmp, "sig.jsonl")
        w = pc.start(["watch", "--scope", "gc", "--interval", "1s", "--output", out, str(pid)],
                     env={"PYCENSUS_TEST_STALL_MS": stall})
        was = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.05)
            st, tracer = harness.process_state(pid)
            if stall != "0" and st in ("t", "T"):
                was = st
                break
            if stall == "0" and os.path.exists(out) and os.path.getsize(out) > 0:
                time.sleep(0.3)
                break
        w.send_signal(sig)
        t0 = time.monotonic()
        rc, _, err = pc.finish(w, timeout=10)
        took = time.monotonic() - t0
        time.sleep(0.1)
        st, tracer = harness.process_state(pid)
        try:
            with open(out) as f:
                good = all(json.loads(l) for l in f if l.strip())
        except ValueError:
            good = False
        label = "signals: %s %s" % (signal.Signals(sig).name, name)
        if stall != "0" and was is None:
            rep.skip(label + " (target stopped)", "never saw the target stopped during the census")
        rep.check(rc == 0 and st not in ("t", "T", None) and tracer == 0 and good and took < 3,
                  label, "exit %s after %.2f s, target state %s tracer %s, output valid %s, stderr %s" % (
                      rc, took, st, tracer, good, short(err)),
                  "exit 0 in %.2f s, target %s%s" % (took, st, " (was %s)" % was if was else ""))
        os.unlink(out)

    # SIGHUP: logrotate moves the file away; new lines go to a new file.
    out = os.path.join(tmp, "hup.jsonl")
    w = pc.start(["watch", "--scope", "gc", "--interval", "300ms", "--output", out, str(pid)])

    def nlines(path):
        try:
            with open(path) as f:
                return sum(1 for l in f if l.strip())
        except OSError:
            return 0
    deadline = time.monotonic() + 10
    while nlines(out) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.rename(out, out + ".1")
    time.sleep(0.05)
    w.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 10
    while nlines(out) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    old_n = nlines(out + ".1")
    time.sleep(0.7)
    old_after = nlines(out + ".1")
    w.send_signal(signal.SIGTERM)
    rc, _, err = pc.finish(w)
    seqs = []
    for path in (out + ".1", out):
        with open(path) as f:
            seqs += [json.loads(l)["seq"] for l in f if l.strip()]
    rep.check(rc == 0 and nlines(out) >= 2 and old_after <= old_n + 1 and seqs == list(range(1, len(seqs) + 1)),
              "signals: SIGHUP reopens --output",
              "exit %s, old file %d->%d lines, new file %d lines, seqs %s, stderr %s" % (
                  rc, old_n, old_after, nlines(out), seqs, short(err)),
              "old file %d lines, new file %d lines" % (old_after, nlines(out)))


def check_overrun(rep, pc, pid):
    rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "300ms", "--count", "3", "--top", "3", str(pid)],
                          env={"PYCENSUS_TEST_STALL_MS": "700"}, timeout=30)
    try:
        cs = censuses(json_lines(out))
    except ValueError:
        cs = []
    rounds = [c["round"] for c in cs]
    rep.check(rc == 0 and len(cs) == 3 and all(c.get("overrun") for c in cs) and rounds == [1, 4, 7]
              and "longer than" in err,
              "watch: overrun rounds skip missed slots", "exit %s, rounds %s, overrun %s, stderr %s" % (
                  rc, rounds, [c.get("overrun") for c in cs], short(err)), "rounds %s" % rounds)


def check_exit_when_gone(rep, pc, python):
    p = start([python, "-c", "import time; time.sleep(1.5)"])
    time.sleep(0.5)
    t0 = time.monotonic()
    rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "30s", "--top", "1", str(p.pid)], timeout=30)
    took = time.monotonic() - t0
    try:
        lines = json_lines(out)
    except ValueError:
        lines = []
    ev = [d for d in lines if d.get("event")]
    rep.check(rc == 0 and len(censuses(lines)) == 1 and [(e["event"], e["pid"]) for e in ev] == [("exited", p.pid)]
              and took < 5,
              "watch: exits when every target has exited", "exit %s after %.1f s, lines %s, stderr %s" % (
                  rc, took, short(lines), short(err)), "exit 0 after %.1f s (interval 30 s)" % took)


def check_daemon(rep, pc, pid, tmp):
    pidfile = os.path.join(tmp, "pc.pid")
    out = os.path.join(tmp, "daemon.jsonl")
    log = os.path.join(tmp, "daemon.log")
    rc, _, err = pc.run(["watch", "--scope", "gc", "--interval", "300ms", "--daemon", "--pidfile", pidfile,
                         "--output", out, "--log", log, str(pid)], timeout=30)
    dpid = None
    try:
        with open(pidfile) as f:
            dpid = int(f.read().strip())
        _daemon_pids.append(dpid)
    except (OSError, ValueError):
        pass
    sid = None
    if dpid:
        try:
            sid = os.getsid(dpid)
        except OSError:
            pass
    # Detached: a session of its own, of which it is not the leader (so it
    # can never get a controlling terminal).
    rep.check(rc == 0 and dpid and sid and sid != os.getsid(0) and sid != dpid,
              "daemon: detaches, pidfile", "exit %s, pidfile pid %s, sid %s, stderr %s" % (rc, dpid, sid, short(err)),
              "daemon %s in session %s" % (dpid, sid))
    rc2, _, err2 = pc.run(["watch", "--scope", "gc", "--daemon", "--pidfile", pidfile, "--output", out, str(pid)])
    rep.check(rc2 == 1 and "held" in err2, "daemon: second instance refused", "exit %s, stderr %s" % (rc2, short(err2)))
    time.sleep(1)
    if dpid:
        os.kill(dpid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while os.path.exists(pidfile) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        with open(out) as f:
            n = len(json_lines(f.read()))
    except (OSError, ValueError):
        n = 0
    st, tracer = harness.process_state(pid)
    logtext = open(log).read() if os.path.exists(log) else ""
    pc.note(logtext)
    rep.check(n >= 2 and not os.path.exists(pidfile) and st not in ("t", "T") and tracer == 0,
              "daemon: writes, stops on SIGTERM, removes pidfile",
              "%d lines, pidfile exists %s, target %s/%s, log %s" % (n, os.path.exists(pidfile), st, tracer,
                                                                     short(logtext)))


def check_usage(rep, pc, pid):
    for args, what in ((["--interval", "0"], "--interval 0"), (["--interval", "5x"], "--interval 5x"),
                       (["--count", "0"], "--count 0"), (["--growth-rounds", "0"], "--growth-rounds 0"),
                       (["--daemon", "--output", "/dev/null"], "--daemon without --pidfile")):
        rc, out, err = pc.run(["watch"] + args + [str(pid)])
        rep.check(rc == EXIT_USAGE and len(err.strip().splitlines()) == 1, "usage: watch %s" % what,
                  "exit %s, stderr %s" % (rc, short(err)))
    rc, out, err = pc.run(["watch", "--scope", "gc", "--interval", "1.5", "--count", "1", "--top", "1", str(pid)])
    rep.check(rc == 0 and len(censuses(json_lines(out))) == 1, "usage: --interval 1.5 (seconds)",
              "exit %s, stderr %s" % (rc, short(err)))


def pick_pythons(explicit):
    """[(path, label)]: --python, else the preferred interpreter and sid's."""
    if explicit:
        return [(explicit, explicit)]
    return [(e["path"], e["label"]) for e in harness.preferred_and_sid(harness.usable_pythons())]


def run_one(rep, pc, python, tmp):
    leaker, log, pid = None, None, None
    try:
        log, pid, leaker = check_leak(rep, pc, python, tmp)
    except Exception as e:  # a target that did not start
        rep.fail("watch leak", "%s: %s" % (type(e).__name__, e))
    if pid:
        groups = [
            ("diff", lambda: check_diff(rep, pc, pid, tmp)),
            ("prometheus", lambda: check_prometheus(rep, pc, pid, tmp)),
            ("plot", lambda: check_plot(rep, log, tmp)),
            ("signals", lambda: check_signals(rep, pc, pid, tmp)),
            ("overrun", lambda: check_overrun(rep, pc, pid)),
            ("daemon", lambda: check_daemon(rep, pc, pid, tmp)),
            ("usage", lambda: check_usage(rep, pc, pid)),
        ]
    else:
        groups = []
    groups += [
        ("children", lambda: check_children(rep, pc, python, tmp)),
        ("exit", lambda: check_exit_when_gone(rep, pc, python)),
    ]
    for name, fn in groups:
        if not rep.wanted(name):
            continue
        try:
            fn()
        except Exception as e:
            rep.fail(name, "%s: %s" % (type(e).__name__, e))
    if leaker is not None:
        st, tracer = harness.process_state(leaker.pid)
        rep.check(leaker.poll() is None and st not in ("t", "T") and tracer == 0,
                  "leaking target still running, not stopped", "state %s, tracer %s" % (st, tracer))
    cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--python", help="interpreter for the targets (default: the preferred one "
                    "discovered, and Debian sid's)")
    ap.add_argument("--only", help="run only the checks whose group name contains this")
    ap.add_argument("--quick", action="store_true", help="accepted for tests/run.py; no effect")
    args = ap.parse_args()
    rep = harness.Report(always_colon=("FAIL", "SKIP"), only=args.only)
    pc = harness.SanitizerPycensus(os.path.abspath(args.pycensus))
    pys = pick_pythons(args.python)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="pycensus-watch-test-")
    try:
        if not os.access(pc.path, os.X_OK):
            rep.fail("pycensus", "%s is not executable (run make)" % pc.path)
        elif not pys:
            rep.skip("watch", "no supported interpreter with debug info found (tests/pythons.py)")
        for python, label in pys if os.access(pc.path, os.X_OK) else []:
            print("# targets run under %s (%s)" % (label, python), flush=True)
            rep.prefix = label + " "
            # Each interpreter's files apart: the checks name fixed files.
            sub = tempfile.mkdtemp(prefix=label + "-", dir=tmp)
            run_one(rep, pc, python, sub)
        rep.prefix = ""
        rep.check(not pc.sanitizer, "no sanitizer reports", "; ".join(pc.sanitizer[:3]))
    finally:
        cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    print("# %.1f s" % (time.monotonic() - t0))
    return rep.summary()

if __name__ == "__main__":
    sys.exit(main())
