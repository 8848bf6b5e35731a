#!/usr/bin/env python3
"""A payload-heavy heap: what pycensus reads, what it holds, and its memory
ceiling (issue 9).

    python3 tests/test_payload.py [--pycensus ./pycensus] [--only SUBSTR]
                                  [--quick]

For every interpreter tests/pythons.py discovers, tests/targets/
payload_target.py holds MIB MiB of 1 MiB bytes, bytearray and
array.array('d') buffers plus 20000 small Item objects, counts the reachable
closure of gc.get_referents() itself with sys.getsizeof while quiescent (GC
disabled), writes it and blocks.  Checks:

  * "exact": pycensus's count and bytes minus its "hidden" part equal the
    target's own for bytearray, array.array and Item -- every buffer sized
    from its header, to the byte.  For bytes, small ones that C state
    pycensus cannot decode holds (as in test_reachable.py) may differ by up
    to BYTES_RESIDUE objects and BYTES_RESIDUE_B bytes: less than one page,
    so every 1 MiB bytes is counted and sized exactly.
  * "reads objects, not payload": the census read (before and during the
    stop) less than a tenth of the buffers' bytes, in "hinted" mode.
  * "own memory": pycensus's peak RSS (ru_maxrss of the child, from wait4)
    beyond its fixed cost is under 0.05x the target's RSS (0.15x until the
    DWARF was let go of before the census), and the peak it
    reports holding (read.peak_bytes) under 0.1x.  The fixed cost is the
    peak of `pycensus info` on the same target: the debug information of
    the build, which does not grow with the heap (~21 MiB for pyenv's
    builds, ~60-70 MiB for Debian's -dbg files, whose compressed DWARF
    libdw inflates); both figures are printed.  The ASan build's RSS includes shadow
    memory, so there only read.peak_bytes is bounded.
  * "debug information let go": the DWARF (and libdwfl's inflated
    sections) is freed once the build is learnt, so between two censuses
    `pycensus watch` holds (VmRSS) under LET_GO_SHARE of info's peak.
  * "max-memory": --max-memory 8M, far below a copy of the heap: exit 0,
    "complete": false, a warning naming the ceiling, refused pages counted,
    read.peak_bytes within the ceiling, and both processes alive.
  * "changed after pre-pass": the target builds 20000 more Items and 21
    more 1 MiB bytes after pycensus's pre-pass (PYCENSUS_TEST_PREPASS_WAIT)
    and before the stop: the pages read in the first stop lack them, so
    pycensus stops a second time and must still count exactly what the
    target counts.
  * the target runs on after every census (no thread left stopped, answers
    ping).
  * "watch under the ceiling" (one interpreter): a snapshot of one such
    target says what one census holds (read.peak_bytes, P); then `pycensus
    watch --count 2 --max-memory 1.5P` over two of them: every census
    complete (a watch holding both at once would need 2P and be refused
    pages) with read.peak_bytes within the ceiling -- censuses run one at a
    time, so the ceiling bounds the watch, not the sum of the workers -- and
    pycensus's peak RSS under WATCH_RSS_SHARE (0.15x) of the targets' (the
    peak of learning the build's DWARF, let go of before the censuses, is
    not something the ceiling covers).

  * "out of memory is named" (one interpreter, not under ASan, which needs
    a huge address space): pycensus under address-space limits (RLIMIT_AS)
    from 150 to 500 MiB, so that mapping its copy of the target fails.  Each
    run is complete and exact, or partial with a warning that says "out of
    memory" (never --timeout, which was not given), or a one-line error;
    the target runs on, and at least one run must be the partial kind.

--quick (the sanitizer pass of tests/run.py) changes nothing: the heap takes
a few seconds, and a smaller one would be less payload-heavy than the bounds
assume.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True     # no tests/__pycache__
import pythons  # noqa: E402
import harness  # noqa: E402
from harness import LabelReport as Report, TargetError, short, target_running  # noqa: E402

TARGET = os.path.join(HERE, "targets", "payload_target.py")
MIB = 256
EXACT = ("bytes", "bytearray", "array.array", "__main__.Item")
BYTES_RESIDUE, BYTES_RESIDUE_B = 8, 4096
# 2.7: the bytes kind is str, names included; pycensus also counts the strs
# only the interned table holds (an untracked dict, outside the target's
# closure): a few dozen, far below one buffer.
STR_RESIDUE, STR_RESIDUE_B = 64, 16384
READ_SHARE = 0.1           # of the buffers' bytes
# 2.7's objects are larger (a dict is 280 bytes with its 8 inline slots):
# the same 20000 Items are a larger share of what is read.
READ_SHARE_27 = 0.12
# (pycensus peak RSS - its fixed cost) / target RSS: the DWARF is let go
# of before the census, so the census's memory does not stack on it
RSS_SHARE = 0.05
WATCH_RSS_SHARE = 0.15     # watch's peak RSS / the targets' RSS
HELD_SHARE = 0.1           # read.peak_bytes / target RSS
LET_GO_SHARE = 0.5         # watch's RSS between censuses / info's peak RSS
CEILING = 8 << 20


def run_rusage(argv, timeout, limit_as=None):
    """(exit code or -signal, stdout, stderr, ru_maxrss bytes) of ARGV, with
    its address space limited to LIMIT_AS bytes if given."""
    def pre():
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    p = harness.track(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE,
                                       preexec_fn=pre if limit_as else None))
    out, err = [], []
    # Read both pipes, then reap with wait4 for the child's own rusage.
    import threading
    t = threading.Thread(target=lambda: err.append(p.stderr.read()))
    t.start()
    deadline = time.monotonic() + timeout
    out.append(p.stdout.read())
    t.join(max(0.0, deadline - time.monotonic()))
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else (-(status & 0x7f) if status & 0x7f else status >> 8)
    return (p.returncode, out[0].decode("utf-8", "replace"),
            (err[0] if err else b"").decode("utf-8", "replace"), ru.ru_maxrss * 1024)


def exact(truth):
    """EXACT, with the bytes kind under its name in the target (2.7: str)."""
    kind = truth.get("bytes_type", "bytes")
    return tuple(kind if n == "bytes" else n for n in EXACT)


def mismatches(rows, truth):
    """What differs from the target's own census among EXACT (see the doc)."""
    bad = []
    kind = truth.get("bytes_type", "bytes")
    for name in exact(truth):
        want = tuple(truth["types"].get(name, (0, 0)))
        got = rows.get(name, (0, 0))
        residue, residue_b = (BYTES_RESIDUE, BYTES_RESIDUE_B) if kind == "bytes" else (STR_RESIDUE, STR_RESIDUE_B)
        if name == kind and abs(got[0] - want[0]) <= residue and abs(got[1] - want[1]) < residue_b:
            continue
        if got != want:
            bad.append("%s: %d objects %d bytes, target %d %d" % ((name,) + got + want))
    return bad


def minus_hidden(snap):
    hidden = dict((r["type"], (r["count"], r["bytes"])) for r in snap.get("hidden", {}).get("types", []))
    rows = {}
    for r in snap["types"]:
        h = hidden.get(r["type"], (0, 0))
        rows[r["type"]] = (r["count"] - h[0], r["bytes"] - h[1])
    return rows


def held_between_rounds(pc, pid):
    """VmRSS of `pycensus watch` on PID between its first and second
    census (after the first line), in bytes; or a string saying why not."""
    p = subprocess.Popen([pc, "watch", "--count", "2", "--interval", "3s", str(pid)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        if not p.stdout.readline():
            return "watch printed nothing: %s" % short(p.stderr.read().decode("utf-8", "replace"))
        time.sleep(0.5)
        st = harness.proc_status("/proc/%d/status" % p.pid) or {}
        return int(st.get("VmRSS", "0 kB").split()[0]) * 1024 or "no VmRSS"
    finally:
        p.kill()
        p.wait()


def check_let_go(rep, pc, label, target, fixed):
    """The build's debug information is let go of once learnt: between two
    censuses `watch` holds less than LET_GO_SHARE of what `info` peaks at
    (that peak is mostly the DWARF libdw inflates: a watch keeping it held
    at least as much)."""
    held = held_between_rounds(pc, target.pid)
    if isinstance(held, str):
        rep.fail(label, "debug information let go", held)
        return
    rep.check(held < LET_GO_SHARE * fixed, label, "debug information let go",
              "watch holds %.1f MiB between censuses, %.2fx info's peak %.1f MiB" % (
                  held / 2.0 ** 20, held / float(fixed), fixed / 2.0 ** 20),
              "watch holds %d bytes between censuses >= %.1f x info's peak %d" % (
                  held, LET_GO_SHARE, fixed))


def check_python(rep, pc, py, workdir, mib, asan):
    label = py["label"]
    target = harness.TruthTarget(py["path"], TARGET, workdir, "payload-" + label.replace("/", "_"),
                                 args=[str(mib)])
    try:
        target.wait_ready(120)
        truth = target.truth
        payload = mib << 20
        _, _, _, fixed = run_rusage([pc, "info", str(target.pid)], 300)
        rc, out, err, maxrss = run_rusage([pc, "snapshot", str(target.pid)], 300)
        snap, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if snap is None:
            rep.fail(label, "census", why)
            return
        why = target_running(target)
        rep.check(why is None, label, "target runs on", "", why)
        rows = minus_hidden(snap)
        bad = mismatches(rows, truth)
        rep.check(not bad and snap["complete"], label, "exact",
                  "%s (target: bytes %d/%d B); complete" % (
                      ", ".join("%s %d/%d B" % ((n,) + rows.get(n, (0, 0))) for n in exact(truth)),
                      truth["types"][truth.get("bytes_type", "bytes")][0],
                      truth["types"][truth.get("bytes_type", "bytes")][1]),
                  "; ".join(bad) or "complete: %r %s" % (snap["complete"], snap.get("warnings")))
        rd = snap["read"]
        share = READ_SHARE if py["version"][0] >= 3 else READ_SHARE_27
        rep.check(rd["mode"] == "hinted" and rd["bytes"] < share * payload, label,
                  "reads objects, not payload",
                  "read %.1f MiB (%.1f MiB while stopped) of a %d MiB heap of buffers" % (
                      rd["bytes"] / 2.0 ** 20, rd["stopped_bytes"] / 2.0 ** 20, mib),
                  "mode %s, read %d bytes, want < %d" % (rd["mode"], rd["bytes"], share * payload))
        rss = truth["rss"]
        rep.check(rd["peak_bytes"] < HELD_SHARE * rss, label, "own memory held",
                  "peak_bytes %.1f MiB = %.3fx target RSS %.0f MiB" % (
                      rd["peak_bytes"] / 2.0 ** 20, rd["peak_bytes"] / float(rss), rss / 2.0 ** 20),
                  "peak_bytes %d >= %.1f x target RSS %d" % (rd["peak_bytes"], HELD_SHARE, rss))
        if asan:
            Report.note(label, "ASan build: peak RSS %.0f MiB includes shadow memory, not bounded"
                                % (maxrss / 2.0 ** 20))
        else:
            rep.check(maxrss - fixed < RSS_SHARE * rss, label, "own peak RSS",
                      "%.1f MiB = %.1f MiB fixed (info's peak: the debug information) + %.3fx "
                      "target RSS %.0f MiB" % (maxrss / 2.0 ** 20, fixed / 2.0 ** 20,
                                               (maxrss - fixed) / float(rss), rss / 2.0 ** 20),
                      "%d bytes - %d fixed (info's peak) >= %.2f x target RSS %d" % (
                          maxrss, fixed, RSS_SHARE, rss))

            check_let_go(rep, pc, label, target, fixed)

        # Below what a copy needs: partial, said so, both alive.
        rc, out, err, maxrss = run_rusage([pc, "snapshot", "--max-memory", "8M", str(target.pid)], 300)
        snap, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if snap is None:
            rep.fail(label, "max-memory", why)
            return
        rd = snap["read"]
        warned = [w for w in snap.get("warnings") or [] if "--max-memory" in w]
        problems = []
        if snap["complete"]:
            problems.append("complete: true")
        if not warned:
            problems.append("no warning names --max-memory: %r" % snap.get("warnings"))
        if rd["refused_pages"] <= 0:
            problems.append("refused_pages %r" % rd["refused_pages"])
        if rd["max_memory"] != CEILING or rd["peak_bytes"] > CEILING:
            problems.append("max_memory %r, peak_bytes %r" % (rd["max_memory"], rd["peak_bytes"]))
        why = target_running(target)
        if why:
            problems.append(why)
        rep.check(not problems, label, "max-memory",
                  "partial, %d pages refused, peak %.1f MiB: %s" % (
                      rd["refused_pages"], rd["peak_bytes"] / 2.0 ** 20, short(warned[0] if warned else "", 120)),
                  "; ".join(problems))
        check_changed(rep, pc, label, target, workdir)
        status = target.quit()
        rep.check(status == 0, label, "target quits", "", "exit %r: %s" % (status, short(target.stderr_text())))
    except TargetError as e:
        rep.fail(label, "target", str(e))
    finally:
        target.kill()


def check_changed(rep, pc, label, target, workdir):
    hook = tempfile.mkdtemp(prefix="prepass-", dir=workdir)
    env = dict(os.environ, PYCENSUS_TEST_PREPASS_WAIT=hook)
    p = harness.start([pc, "snapshot", str(target.pid)], stdin=subprocess.DEVNULL,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    errs = []
    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(hook, "prepass")) and p.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.01)
    grown = False
    if os.path.exists(os.path.join(hook, "prepass")):
        if target.send("grow 20000") and target.readline(120) == "grown":
            grown = True
            with open(target.truth_path, encoding="utf-8") as f:
                target.truth = json.load(f)
        else:
            errs.append("target did not grow: %s" % short(target.stderr_text()))
    else:
        errs.append("pycensus never reached the end of its pre-pass")
    open(os.path.join(hook, "go"), "w").close()
    rc, out, err = harness.communicate(p, 300)
    snap = None
    if rc != 0:
        errs.append("exit %r: %s" % (rc, short(err.decode("utf-8", "replace"))))
    else:
        snap, why = harness.parse_json(out.decode("utf-8", "replace"))
        if why:
            errs.append(why)
    if snap is not None:
        if snap.get("stops") != 2:
            errs.append("stops=%r, want 2 (the first stop's pages lacked the new objects)"
                        % snap.get("stops"))
        if snap.get("complete") is not True:
            errs.append("complete=%r %s" % (snap.get("complete"), snap.get("warnings")))
        if grown:
            errs.extend(mismatches(minus_hidden(snap), target.truth))
    why = target_running(target)
    if why:
        errs.append(why)
    rep.check(not errs, label, "changed after pre-pass",
              "stops 2, pause_us %s, Items and buffers exact" % (snap or {}).get("pause_us"),
              "; ".join(errs))


def check_watch(rep, pc, py, workdir, asan):
    label = py["label"]
    targets = [harness.TruthTarget(py["path"], TARGET, workdir, "watch-%d" % i, args=[str(MIB)])
               for i in range(2)]
    try:
        for t in targets:
            t.wait_ready(120)
        rc, out, err, _ = run_rusage([pc, "snapshot", str(targets[0].pid)], 300)
        one, why = harness.parse_json(out) if rc == 0 else (None, "exit %r: %s" % (rc, short(err)))
        if one is None:
            rep.fail(label, "watch under the ceiling", "snapshot of one target: %s" % why)
            return
        ceiling = one["read"]["peak_bytes"] * 3 // 2
        rc, out, err, maxrss = run_rusage([pc, "watch", "--count", "2", "--interval", "1s",
                                           "--max-memory", str(ceiling)] +
                                          [str(t.pid) for t in targets], 300)
        lines = [l for l in out.splitlines() if l.strip()]
        censuses = []
        for l in lines:
            obj, why = harness.parse_json(l)
            if obj is not None and "types" in obj:
                censuses.append(obj)
        problems = []
        if rc != 0:
            problems.append("exit %r: %s" % (rc, short(err)))
        if len(censuses) != 4:
            problems.append("%d censuses, want 4" % len(censuses))
        for c in censuses:
            if not c.get("complete") or c["read"]["peak_bytes"] > ceiling or \
                    c["read"]["max_memory"] != ceiling:
                problems.append("pid %s: complete %r, peak_bytes %r, max_memory %r" % (
                    c.get("pid"), c.get("complete"), c["read"]["peak_bytes"], c["read"]["max_memory"]))
        rss = sum(t.truth["rss"] for t in targets)
        if not asan and maxrss >= WATCH_RSS_SHARE * rss:
            problems.append("peak RSS %d >= %.2f x the targets' RSS %d" % (maxrss, WATCH_RSS_SHARE, rss))
        for t in targets:
            why = target_running(t)
            if why:
                problems.append(why)
        rep.check(not problems, label, "watch under the ceiling",
                  "4 censuses of 2 targets of %d MiB under --max-memory %.1f MiB (1.5x one "
                  "census), peak_bytes <= %.1f MiB, pycensus peak RSS %.0f MiB" % (
                      MIB, ceiling / 2.0 ** 20,
                      max(c["read"]["peak_bytes"] for c in censuses) / 2.0 ** 20,
                      maxrss / 2.0 ** 20) if censuses else "",
                  "; ".join(problems))
    except TargetError as e:
        rep.fail(label, "watch targets", str(e))
    finally:
        for t in targets:
            t.kill()


def check_nomem(rep, pc, py, workdir):
    label = py["label"]
    target = harness.TruthTarget(py["path"], TARGET, workdir, "nomem", args=[str(MIB)])
    try:
        target.wait_ready(120)
        kinds, problems = [], []
        for mib in (150, 200, 250, 300, 350, 400, 500):
            rc, out, err, _ = run_rusage([pc, "snapshot", str(target.pid)], 300, mib << 20)
            snap, why = harness.parse_json(out) if rc == 0 else (None, None)
            if rc != 0:
                kinds.append("%d:error" % mib)
                if harness.one_line(err):
                    problems.append("%d MiB: exit %r, %s" % (mib, rc, harness.one_line(err)))
            elif snap is None:
                problems.append("%d MiB: %s" % (mib, why))
            elif snap["complete"]:
                kinds.append("%d:complete" % mib)
                bad = mismatches(minus_hidden(snap), target.truth)
                if bad:
                    problems.append("%d MiB: complete but %s" % (mib, "; ".join(bad)))
            else:
                ws = snap.get("warnings") or []
                kinds.append("%d:partial" % mib)
                if not any("out of memory" in w for w in ws) or any("--timeout" in w for w in ws):
                    problems.append("%d MiB: partial, warnings %r" % (mib, ws))
            why = target_running(target)
            if why:
                problems.append("%d MiB: %s" % (mib, why))
        if not any(k.endswith(":partial") for k in kinds):
            problems.append("no limit gave a partial census (premise not observed)")
        rep.check(not problems, label, "out of memory is named", " ".join(kinds),
                  "; ".join(problems) + " [%s]" % " ".join(kinds))
    except TargetError as e:
        rep.fail(label, "nomem target", str(e))
    finally:
        target.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--only", help="only interpreters whose label contains this")
    ap.add_argument("--quick", action="store_true", help="accepted; the same checks")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = Report()
    pc = os.path.abspath(args.pycensus)
    asan = "ASAN_OPTIONS" in os.environ or pc.endswith("-san")
    workdir = tempfile.mkdtemp(prefix="pycensus-payload-")
    t0 = time.monotonic()
    try:
        if not (os.path.isfile(pc) and os.access(pc, os.X_OK)):
            rep.fail("setup", "pycensus", "no executable at %s (build it, or --pycensus)" % pc)
        else:
            usable = harness.by_preference(harness.usable_pythons(args.only), pyenv_first=True)
            if usable:
                check_watch(rep, pc, usable[0], workdir, asan)
                if asan:
                    rep.skip(usable[0]["label"], "out of memory is named",
                             "the ASan build cannot run under an address-space limit")
                else:
                    check_nomem(rep, pc, usable[0], workdir)
            for py in pythons.discover():
                if args.only and args.only not in py["label"]:
                    continue
                if not py["supported"] or py["skip_reason"]:
                    rep.skip(py["label"], "", py["skip_reason"])
                    continue
                try:
                    check_python(rep, pc, py, workdir, MIB, asan)
                except Exception as e:          # keep going with the others
                    rep.fail(py["label"], "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
