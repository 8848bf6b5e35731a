#!/usr/bin/env python3
"""

# run.py: alone -- its censuses are bounded in wall-clock time.`--no-stop` against a target that never stops changing, and names that
need escaping (issue 18).

    python3 tests/test_live.py [--pycensus ./pycensus] [--quick] [--only SUBSTR]

For every interpreter tests/pythons.py finds (--quick: the first preferred
one, and fewer rounds):

  * "live": tests/targets/live_target.py keeps threads allocating and
    freeing dicts, lists and instances, rebinding names, creating and
    dropping classes and running deep, changing stacks.  pycensus takes
    ROUNDS `snapshot --no-stop` censuses of it, alternating the scopes,
    each with --timeout BOUND.  Every output must be one JSON document in
    strict UTF-8, exit 0, take no longer than BOUND plus SLACK (elapsed_us
    and wall clock), and name only types the target really has: once
    quiescent, the target writes the names of its gc objects' types and
    their MROs, of every class reachable through __subclasses__(), and of
    every class its threads ever created.  One census with a tiny
    --timeout must say it was cut ("complete": false and a warning).  The
    target must never be left stopped and must answer ping afterwards.
    The counts of the last live census against a stopped census taken
    right after are printed as "#" lines (the accuracy of --no-stop).
  * "names": tests/targets/names_target.py holds heap types whose
    __qualname__ or __module__ has a newline, a tab, BEL, a double quote, a
    backslash, 'e-acute', a C1 control character and a lone surrogate.  In
    both scopes the snapshot JSON must be strict UTF-8 and give each such
    type under its escaped name (the rule of text.h and the man page) with
    the target's count; `--format table` must be strict UTF-8 with no
    control character in any line; `watch --count 1 --prometheus FILE`
    must write a file `promtool check metrics` accepts whose type labels,
    unescaped as the exposition format says, are the escaped names.

One line per check: PASS / FAIL / SKIP; "#" lines are information; the last
line is "N passed, M failed, K skipped".  Every process started here is
killed on the way out.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402
from harness import LabelReport as Report, TargetError, short  # noqa: E402

LIVE_TARGET = os.path.join(HERE, "targets", "live_target.py")
NAMES_TARGET = os.path.join(HERE, "targets", "names_target.py")
READY_TIMEOUT = 60
BOUND = 8.0          # --timeout of each live census, seconds
SLACK = 3.0          # what a census may take besides its bounded walk
TINY = 0.02          # a --timeout no walk of the live target fits in


def escape(name):
    """A type name as pycensus prints it (include/text.h)."""
    out = []
    for ch in name:
        c = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif c < 0x20 or c == 0x7f:
            out.append("\\x%02x" % c)
        elif 0x80 <= c <= 0x9f or 0xd800 <= c <= 0xdfff:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    return "".join(out)


def run(pc, args, timeout):
    """(exit code or None, stdout bytes, stderr text, seconds)."""
    t0 = time.monotonic()
    p = harness.track(subprocess.Popen([pc] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    rc, out, err = harness.communicate(p, timeout)
    return rc, out, err.decode("utf-8", "replace"), time.monotonic() - t0


def strict_json(out):
    """(document, None) or (None, why): one JSON object, strict UTF-8."""
    try:
        text = out.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        return None, "not UTF-8: %s near %r" % (e, out[max(0, e.start - 40):e.end + 40])
    try:
        doc = json.loads(text)
    except ValueError as e:
        return None, "not JSON: %s: %s" % (e, short(text))
    if not isinstance(doc, dict):
        return None, "not a JSON object"
    return doc, None


def counts(doc):
    return dict((t["type"], t["count"]) for t in doc["types"])


# --- live ---------------------------------------------------------------------------

def check_live(rep, pc, py, workdir, rounds):
    label = py["label"]
    names_path = os.path.join(workdir, label + "-names.json")
    target = harness.Target(py["path"], [LIVE_TARGET, names_path, "50000", "2"], workdir,
                            label + "-live")
    try:
        target.wait_ready(READY_TIMEOUT)
    except TargetError as e:
        rep.fail(label, "live target", str(e))
        return
    time.sleep(0.3)                 # let the mutators get going
    docs, bad, slow, sanitizer = [], [], [], []
    for i in range(rounds):
        scope = "reachable" if i % 2 == 0 else "gc"
        rc, out, err, secs = run(pc, ["snapshot", "--no-stop", "--timeout", BOUND, "--scope", scope,
                                      target.pid], BOUND + SLACK + 30)
        if harness.SANITIZER.search(err):
            sanitizer.append(short(err, 400))
        doc, why = strict_json(out)
        if rc != 0 or doc is None:
            bad.append("round %d (%s): exit %r, %s; stderr %s" % (i + 1, scope, rc, why or "",
                                                                   short(err, 200)))
            continue
        docs.append((scope, doc, secs))
        if secs > BOUND + SLACK or doc["elapsed_us"] > (BOUND + SLACK) * 1e6:
            slow.append("round %d (%s): %.2f s wall, elapsed_us %d" % (i + 1, scope, secs,
                                                                        doc["elapsed_us"]))
    rep.check(not bad, label, "live outputs strict JSON",
              "%d --no-stop censuses, both scopes, all strict UTF-8 JSON" % rounds, "; ".join(bad[:3]))
    walls = sorted(s for _, _, s in docs)
    rep.check(docs and not slow, label, "live rounds bounded",
              "wall %.2f-%.2f s (median %.2f), bound %.1f s + %.1f s" % (
                  walls[0], walls[-1], walls[len(walls) // 2], BOUND, SLACK) if docs else "",
              "; ".join(slow[:3]) or "no census")
    rep.check(not sanitizer, label, "live no sanitizer report", "none", "; ".join(sanitizer[:2]))

    # A bound too small for the walk: the census says it was cut.
    rc, out, err, secs = run(pc, ["snapshot", "--no-stop", "--timeout", TINY, target.pid], 60)
    doc, why = strict_json(out)
    if doc is None:
        rep.fail(label, "live cut at --timeout", "exit %r, %s; %s" % (rc, why, short(err, 200)))
    else:
        cut = [w for w in doc.get("warnings", []) if "cut after" in w]
        rep.check(rc == 0 and doc["complete"] is False and cut and secs < TINY + SLACK, label,
                  "live cut at --timeout", "%.2f s, complete false: %s" % (secs, cut[0] if cut else ""),
                  "exit %r, %.2f s, complete %r, warnings %r" % (rc, secs, doc["complete"],
                                                               doc.get("warnings")))

    # Accuracy: the last live census of each scope against a stopped one
    # taken right after (the target keeps mutating).
    for scope in ("reachable", "gc"):
        live = [d for s, d, _ in docs if s == scope]
        rc, out, err, secs = run(pc, ["snapshot", "--scope", scope, target.pid], 120)
        stopped, why = strict_json(out)
        if not live or stopped is None:
            continue
        lc, sc = counts(live[-1]), counts(stopped)
        lt, st = live[-1]["totals"]["objects"], stopped["totals"]["objects"]
        big = sorted(sc, key=lambda n: -sc[n])[:5]
        Report.note(label, "accuracy %s: live %d objects, stopped %d (%+.2f%%); %s" % (
            scope, lt, st, 100.0 * (lt - st) / max(st, 1),
            ", ".join("%s %d/%d" % (n, lc.get(n, 0), sc[n]) for n in big)))

    ok = harness.target_running(target)
    rep.check(ok is None, label, "live target runs", "never stopped, answers ping", ok)
    # The target's own list of its types, once it is quiescent.
    target.send("quit")
    line = None
    deadline = time.monotonic() + 60
    while line != "done" and time.monotonic() < deadline:
        line = target.readline(max(0.0, deadline - time.monotonic()))
        if line is None:
            break
    try:
        with open(names_path, encoding="utf-8") as f:
            known = set(escape(n) for n in json.load(f)["names"])
    except (OSError, ValueError) as e:
        rep.fail(label, "live names are the target's", "the target wrote no list of names: %s" % e)
        return
    unknown = {}
    for scope, doc, _ in docs:
        for name in counts(doc):
            if name not in known:
                unknown.setdefault(name, []).append(scope)
    rep.check(docs and not unknown, label, "live names are the target's",
              "%d distinct names over %d censuses, all among the target's %d" % (
                  len(set(n for _, d, _ in docs for n in counts(d))), len(docs), len(known)),
              "; ".join("%r (%d censuses)" % (n, len(s)) for n, s in sorted(unknown.items())[:8])
              or "no census")


# --- names ---------------------------------------------------------------------------

def prom_unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}.get(m.group(1), "?"), v)


def check_names(rep, pc, py, workdir):
    label = py["label"]
    truth_path = os.path.join(workdir, label + "-weird.json")
    target = harness.Target(py["path"], [NAMES_TARGET, truth_path], workdir, label + "-names")
    try:
        target.wait_ready(READY_TIMEOUT)
        with open(truth_path, encoding="utf-8") as f:
            want = dict((escape(n), c) for n, c in json.load(f)["names"].items())
    except (TargetError, OSError, ValueError) as e:
        rep.fail(label, "names target", str(e))
        return
    for scope in ("reachable", "gc"):
        rc, out, err, _ = run(pc, ["snapshot", "--scope", scope, target.pid], 120)
        doc, why = strict_json(out)
        if rc != 0 or doc is None:
            rep.fail(label, "names %s json" % scope, "exit %r, %s; %s" % (rc, why, short(err, 200)))
            continue
        got = counts(doc)
        wrong = ["%r: %r, want %d" % (n, got.get(n), c) for n, c in sorted(want.items()) if got.get(n) != c]
        rep.check(not wrong, label, "names %s json" % scope,
                  "%d escaped names with their counts, e.g. %r" % (len(want), sorted(want)[0]),
                  "; ".join(wrong[:4]))

    rc, out, err, _ = run(pc, ["snapshot", "--format", "table", target.pid], 120)
    try:
        text = out.decode("utf-8", "strict")
        lines = text.split("\n")
        ctrl = [l for l in lines if re.search(r"[\x00-\x1f\x7f\x80-\x9f]", l)]
        rows = [l.split("  ")[0].rstrip() for l in lines]
        missing = [n for n in want if not any(l.startswith(n + " ") for l in lines)]
        rep.check(rc == 0 and not ctrl and not missing, label, "names table",
                  "%d lines, strict UTF-8, no control characters, every escaped name in a row" % len(lines),
                  "exit %r, control characters in %r, rows missing %r" % (rc, ctrl[:2], missing[:3]))
        del rows
    except UnicodeDecodeError as e:
        rep.fail(label, "names table", "not UTF-8: %s" % e)

    prom = os.path.join(workdir, label + ".prom")
    # --top: the file holds the 50 biggest types by default, and these are small
    rc, out, err, _ = run(pc, ["watch", "--count", "1", "--top", "100000", "--prometheus", prom,
                               target.pid], 120)
    if rc != 0 or not os.path.exists(prom):
        rep.fail(label, "names prometheus", "exit %r, no %s: %s" % (rc, prom, short(err, 200)))
    else:
        with open(prom, "rb") as f:
            raw = f.read()
        if shutil.which("promtool"):
            r = subprocess.run(["promtool", "check", "metrics"], input=raw, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=60)
            rep.check(r.returncode == 0, label, "names promtool check metrics",
                      "accepted (%d bytes)" % len(raw),
                      "exit %d: %s" % (r.returncode, short(r.stdout.decode("utf-8", "replace"), 400)))
        else:
            rep.fail(label, "names promtool check metrics", "promtool not installed (scripts/install-deps)")
        labels = set()
        for line in raw.decode("utf-8", "replace").split("\n"):
            m = re.match(r'pycensus_objects\{pid="\d+",type="((?:[^"\\]|\\.)*)"\} (\d+)$', line)
            if m:
                labels.add((prom_unescape(m.group(1)), int(m.group(2))))
        missing = [n for n, c in want.items() if (n, c) not in labels]
        rep.check(not missing, label, "names prometheus labels",
                  "every escaped name, quotes, backslashes and non-ASCII included",
                  "missing %r" % missing[:4])
    why = harness.target_running(target)
    rep.check(why is None, label, "names target runs", "answers ping", why)
    target.quit()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pycensus", default=os.path.join(HERE, "..", "pycensus"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = Report()
    pc = os.path.abspath(args.pycensus)
    pys = harness.by_preference(harness.usable_pythons(args.only), pyenv_first=True)
    if args.quick:
        pys = pys[:1]
    if not pys:
        rep.skip("all", "", "no usable interpreter")
    workdir = tempfile.mkdtemp(prefix="pycensus-live-")
    try:
        for py in pys:
            check_live(rep, pc, py, workdir, 10 if args.quick else 24)
            check_names(rep, pc, py, workdir)
            harness.cleanup()
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
