#!/usr/bin/env python3
"""

# run.py: alone -- wrk and gunicorn load both CPUs.Smoke test of scripts/bench-latency: a short real run, its JSON checked.

    python3 tests/test_bench_latency.py [--pycensus ./pycensus] [--quick]

Runs `scripts/bench-latency --quick --duration 2 --idle-runs 1 --json FILE`
(gunicorn + Flask on /usr/bin/python3 under wrk, about 30 s) and checks that
every mode was measured with sane figures: requests answered, 0 < p50 <= p99
<= max, no error answers, censuses of the worker (never the gunicorn master)
during the load, a pause in the stopping modes and none with --no-stop, and
nothing left running afterwards.  Timings themselves are not judged: the
machine may be busy.  SKIP (with the reason) when gunicorn, Flask, wrk or the
debug information of /usr/bin/python3 is missing.  --quick is accepted for
tests/run.py and changes nothing.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import harness  # noqa: E402

SCRIPT = os.path.join(TOP, "scripts", "bench-latency")
EXIT_MISSING = 3           # bench-latency: a prerequisite is missing
TIMEOUT = 120
SCOPES = ("gc", "reachable")


def expected_modes():
    modes = ["baseline"]
    for scope in SCOPES:
        modes += ["watch 1s %s" % scope, "watch 1s %s --no-stop" % scope]
    return modes + ["baseline (end)"]


def check_run(rep, run, worker):
    name = run["mode"]
    w = run.get("wrk") or {}
    p50, p99, mx = w.get("p50_us"), w.get("p99_us"), w.get("max_us")
    rep.check(w.get("requests", 0) > 0 and w.get("rps", 0) > 0, name + " requests",
              "no requests answered: %s" % harness.short(w),
              "%d requests, %.0f/s" % (w.get("requests", 0), w.get("rps", 0)))
    rep.check(all(isinstance(x, int) for x in (p50, p99, mx)) and 0 < p50 <= p99 <= mx,
              name + " percentiles", "want 0 < p50 <= p99 <= max: %r %r %r" % (p50, p99, mx),
              "p50 %s us, p99 %s us, max %s us" % (p50, p99, mx))
    errors = w.get("errors") or {}
    rep.check(errors.get("status") == 0 and sum(errors.values()) <= w.get("requests", 0) // 100,
              name + " errors", "wrk errors: %r" % errors)
    if name.startswith("baseline"):
        rep.check("pycensus" not in run, name + " alone", "pycensus ran in a baseline")
        return
    pc = run.get("pycensus") or {}
    pauses = pc.get("pause_us") or []
    rep.check(pc.get("exit") == 0 and pc.get("pids") == [worker], name + " worker",
              "pycensus exit %r, censused %r, want the worker %d" % (
                  pc.get("exit"), pc.get("pids"), worker))
    rep.check(pc.get("in_window", 0) >= 1 and len(pauses) == pc["in_window"],
              name + " censuses", "no census during the load: %s" % harness.short(pc),
              "%d during the load" % pc.get("in_window", 0))
    if run.get("no_stop"):
        rep.check(pauses and all(p == 0 for p in pauses), name + " no pause",
                  "pause_us %r with --no-stop" % pauses)
    else:
        rep.check(pauses and all(isinstance(p, int) and p > 0 for p in pauses),
                  name + " pause", "pause_us %r" % pauses, "pause_us %r" % pauses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default=os.path.join(TOP, "pycensus"))
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    rep = harness.Report(prefix="bench-latency")
    harness.exit_on_signals()
    tmp = tempfile.mkdtemp(prefix="pycensus-test-bench-latency.")
    out_json = os.path.join(tmp, "out.json")
    try:
        p = harness.start([sys.executable, SCRIPT, "--quick", "--duration", "2",
                           "--idle-runs", "1", "--pycensus", os.path.abspath(args.pycensus),
                           "--json", out_json],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
        code, out, err = harness.communicate(p, TIMEOUT)
        if code == EXIT_MISSING:
            line = [l for l in err.splitlines() if "missing" in l][-1:] or [err.strip()]
            rep.skip("run", harness.short(line[0]))
            return rep.summary()
        if not rep.check(code == 0, "run", "exit %r: %s" % (code, harness.short(err[-600:])),
                         "exit 0"):
            return rep.summary()
        with open(out_json) as f:
            res = json.load(f)
        server = res.get("server") or {}
        worker, master = server.get("worker"), server.get("master")
        rep.check(worker and master and worker != master and server.get("children") == [worker],
                  "worker", "server %r" % server, "master %s, worker %s" % (master, worker))
        for scope in SCOPES:
            idle = (res.get("idle") or {}).get(scope) or []
            rep.check(idle and all(x["pause_us"] > 0 and x["objects"] > 0 for x in idle),
                      "idle %s" % scope, "idle censuses %r" % idle)
        modes = [r["mode"] for r in res.get("runs") or []]
        rep.check(modes == expected_modes(), "modes", "got %r, want %r" % (
            modes, expected_modes()), ", ".join(modes))
        for run in res.get("runs") or []:
            check_run(rep, run, worker)
        rows = res.get("rows") or []
        rep.check(len(rows) == len(expected_modes()) and
                  all(r["p99_ratio"] and r["rps_ratio"] for r in rows) and
                  "| baseline (end) |" in out, "table",
                  "rows %s; table: %s" % (harness.short(rows), harness.short(out)))
        left = [pid for pid in (master, worker) if pid and os.path.exists("/proc/%d" % pid)
                and harness.process_state(pid)[0] not in (None, "Z")]
        rep.check(not left and res.get("left_running") == [], "cleanup",
                  "still running: %r (script says %r)" % (left, res.get("left_running")))
    finally:
        harness.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
