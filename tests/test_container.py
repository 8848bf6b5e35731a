#!/usr/bin/env python3
"""pycensus against CPythons in containers: their own mount and PID namespace.

    python3 tests/test_container.py [--pycensus ./pycensus] [--quick]

The targets run Debian sid's interpreters (python3.13, 3.14, 3.15) the way a
container runtime starts them: tests/targets/in_container.sh unshares a mount
and a PID namespace, pivot_roots into a Debian sid root (scripts/sid-root
builds it once, ~1.5 min, and caches it) and runs the interpreter as PID 1.
Its files exist only in that root: pycensus must reach them through
/proc/PID/root.  The tests directory, the work directory and pycensus's own
directory are bind-mounted inside under /mnt.

The other files run sid's interpreters too, as plain host processes in a
chroot-like mount namespace (scripts/sid-pythonN, found by tests/pythons.py);
this file is where they run as PID 1 of a namespace of their own.

Checks, for python3.13, 3.14 and 3.15 (all supported): from the host, the
gc census exact against the target's gc.get_objects() (test_snapshot's
checks), the reachable census (test_reachable's zoo) and the layout table's
round trip (test_layout's checks); the incremental-GC layout decision
(young, old[2], as 3.14.0-3.14.4 have it) fed the build's own facts as a
synthetic table, and a free-threaded header refused; watch with
--prometheus on a growing target; why on tests/targets/why_target.py
(each holder chain exactly as test_why expects it, the second thread's
root named by the thread id the target reports, not "#N"), with DWARF and
from the layout table, from the host and from inside; dump (test_dump's counts: the gc dump
exact, the reachable one equal to snapshot, memlab's counts); from inside the namespace (nsenter
--mount --pid, pycensus run from the bind mount); from a sidecar (the
target's PID namespace, pycensus's own root: kubectl debug --target); with
the root's /usr/lib/debug hidden (the census from the layout table, from the
host and inside; exact from a sidecar bringing the debug files; exact with a
.gnu_debuglink file inside the root); a deleted and a shadowed executable
(through /proc/PID/map_files); exit 5 naming SYS_PTRACE without that
capability; --children over a master and workers inside the container, from
the host and from inside.
A version listed in UNSUPPORTED (none today) must exit 4 "unsupported
version" (not a crash, not exit 6).

Needs root (namespaces, debootstrap); without it every check SKIPs (exit 77).
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
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True
import harness  # noqa: E402
from harness import EXIT_NOTPY, TargetError, short  # noqa: E402
import test_snapshot  # noqa: E402
import test_reachable  # noqa: E402
import test_layout  # noqa: E402
import test_dump  # noqa: E402
import test_why  # noqa: E402

IN_CONTAINER = os.path.join(HERE, "targets", "in_container.sh")
CENSUS_TARGET = os.path.join(HERE, "targets", "census_target.py")
WHY_TARGET = os.path.join(HERE, "targets", "why_target.py")
SHARE_TARGET = os.path.join(HERE, "targets", "share_target.py")
SID_ROOT = os.path.join(TOP, "scripts", "sid-root")
READY_TIMEOUT = 60
CENSUS_TIMEOUT = 120
SUPPORTED = ("3.13", "3.14", "3.15")
# Versions the root ships that pycensus refuses (exit 4); none today.
UNSUPPORTED = ()
# A target that only answers harness.Target's ready/ping/quit protocol.
PINGER = ("import sys\nprint('ready', flush=True)\nfor l in sys.stdin:\n"
          "    if l.strip() == 'quit': break\n    print('pong', flush=True)\n")


# A target whose __main__.Leaky objects grow (a thread adds 200 every 50 ms)
# and that answers ping.
LEAKER = ("import sys, threading, time\nclass Leaky: pass\nkept = []\n"
          "def grow():\n    while True:\n        kept.extend(Leaky() for _ in range(200)); time.sleep(0.05)\n"
          "threading.Thread(target=grow, daemon=True).start()\nprint('ready', flush=True)\n"
          "for l in sys.stdin:\n    if l.strip() == 'quit': break\n    print('pong', flush=True)\n")


# --- PIDs across namespaces ------------------------------------------------------

def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def container_pid(self):
    """A target's PID as pycensus on the host sees it: the Popen process is
    unshare, whose only child is the interpreter (PID 1 inside)."""
    if getattr(self, "_ct_pid", None) is None:
        deadline = time.monotonic() + 10
        kids = children_of(self.proc.pid)
        while not kids and time.monotonic() < deadline:
            time.sleep(0.05)
            kids = children_of(self.proc.pid)
        self._ct_pid = kids[0] if kids else self.proc.pid
    return self._ct_pid


def censused_note(python):
    """harness.censused() would name in_container.sh, not one of
    tests/pythons.py's interpreters (the other files census sid's through
    scripts/sid-pythonN)."""
    print("# censused in the sid root's container", flush=True)


harness.censused = censused_note

# Every target here runs through in_container.sh: test_snapshot's and
# test_reachable's checks then census the interpreter, not unshare.
harness.Target.pid = property(container_pid)


def ns_pid(pid):
    """PID as its own (innermost) PID namespace sees it: NSpid's last field."""
    st = harness.proc_status("/proc/%d/status" % pid) or {}
    fields = st.get("NSpid", "").split()
    return int(fields[-1]) if fields else None


def descendants(pid):
    out = []
    for k in children_of(pid):
        out.append(k)
        out.extend(descendants(k))
    return out


# --- the container ---------------------------------------------------------------

class Container:
    """Environment for in_container.sh: ROOT, the interpreter, binds."""

    def __init__(self, root, program, binds, nodebug=False, copy=False):
        self.env = dict(os.environ, CT_ROOT=root, CT_PROGRAM=program, CT_BINDS=":".join(binds),
                        CT_NODEBUG="1" if nodebug else "", CT_COPY="strip" if copy == "strip" else "1" if copy else "")
        self.program = program

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


def inside(pc_path, target_pid):
    """The nsenter prefix and the path of pycensus inside the container."""
    return ["nsenter", "-t", str(target_pid), "--mount", "--pid", "--"], "/mnt" + pc_path


def sidecar(target_pid):
    """The target's PID namespace with a /proc of its own, pycensus's root:
    what kubectl debug --target and docker run --pid=container: give."""
    return ["nsenter", "-t", str(target_pid), "--pid", "--", "unshare", "--mount", "--mount-proc", "--"]


def run(pc_path, args, prefix=(), timeout=CENSUS_TIMEOUT):
    p = subprocess.run(list(prefix) + [pc_path] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def is_sanitized(path):
    with open(path, "rb") as f:
        return b"__asan_init" in f.read()


# --- checks ------------------------------------------------------------------------

def census_from(rep, label, where, pc_path, prefix, pid, want_pid, truth, binary_prefix):
    """A gc snapshot of PID through PREFIX, exact against TRUTH."""
    rc, out, err = run(pc_path, ["snapshot", "--scope", "gc", pid], prefix)
    if not rep.check(rc == 0, label, "%s: snapshot" % where, "pid %s" % pid,
                     "exit %s: %s" % (rc, short(err))):
        return None
    snap = json.loads(out)
    binary = snap["python"]["binary"]
    rep.check(snap["pid"] == want_pid and binary.startswith(binary_prefix), label,
              "%s: pid and binary" % where, "pid %d, binary %s, debuginfo %s" % (
                  snap["pid"], binary, snap["python"]["debuginfo"]),
              "pid %r want %d, binary %r want under %s" % (snap["pid"], want_pid, binary, binary_prefix))
    test_snapshot.check_census(rep, "%s %s:" % (label, where), snap, truth)
    return snap


def check_no_dwarf(rep, label, where, rc, out, err):
    """A census without DWARF: from the layout table, no debug file named."""
    p = (json.loads(out).get("python") or {}) if rc == 0 else {}
    rep.check(rc == 0 and "table" in (p.get("offsets") or "") and not p.get("debuginfo"), label, where,
              "offsets %s (%s)" % (p.get("offsets"), short(p.get("offsets_table"), 60)),
              "exit %s, offsets %r, debuginfo %r: %s" % (rc, p.get("offsets"), p.get("debuginfo"), short(err)))


def check_incremental_layout(rep, pc, py, workdir):
    """3.14.0-3.14.4's incremental collector has young and old[2] where
    the generational one has generations[3]; no such build is at hand, so
    this feeds the build's own facts back as a table that describes its GC
    state that way (young at generations[0], old right after it) and wants
    the same census: the layout must take the lists from the members the
    struct has.  It tests that decision, not an incremental target's memory
    (whose _gc_next bit 0 marks the old space: masked like the other tag
    bits)."""
    label = py["label"]
    target = test_snapshot.Target(py["path"], workdir, label + "-incr")
    try:
        target.wait_ready(READY_TIMEOUT)
        info, rc, err = test_layout.run_json(pc, ["info", str(target.pid)])
        if info is None:
            rep.fail(label, "incremental GC layout", "info exit %r: %s" % (rc, short(err)))
            return
        fs = info["layout"]["facts"]
        known = {f["fact"]: f["value"] for f in fs}
        gen, size = known.get("_gc_runtime_state.generations"), known.get("sizeof(gc_generation)")
        if gen is None or size is None or known.get("len(_gc_runtime_state.generations)") != 3:
            rep.fail(label, "incremental GC layout", "premise: generations[3] in the facts, got %r, %r" % (gen, size))
            return
        fs = [f for f in fs if not f["fact"].startswith(("_gc_runtime_state.generations",
                                                          "len(_gc_runtime_state.generations"))]
        fs += [{"fact": "_gc_runtime_state.generations", "value": None},
               {"fact": "_gc_runtime_state.young", "value": gen},
               {"fact": "_gc_runtime_state.old", "value": gen + size},
               {"fact": "len(_gc_runtime_state.old)", "value": 2}]
        info["layout"]["facts"] = fs
        path = os.path.join(workdir, label + "-incremental.json")
        with open(path, "w") as f:
            json.dump(info, f)
        d, rc1, err1 = test_layout.run_json(pc, ["snapshot", str(target.pid)])
        t, rc2, err2 = test_layout.run_json(pc, ["snapshot", str(target.pid)], table=path)
        if d is None or t is None:
            rep.fail(label, "incremental GC layout", "dwarf exit %r %s; table exit %r %s" % (
                rc1, short(err1), rc2, short(err2)))
            return
        kd, kt = test_layout.census_key(d), test_layout.census_key(t)
        rep.check(kd == kt and d["gc"] == t["gc"], label, "incremental GC layout (young, old[2]; synthetic table)",
                  "%d objects, lists %s: equal to the generations[3] census" % (
                      t["totals"]["objects"], t["gc"]["generations"]),
                  "gc %r vs %r; types differing %r" % (
                      d["gc"], t["gc"], sorted(n for n in set(kd[0]) | set(kt[0]) if kd[0].get(n) != kt[0].get(n))[:6]))
        # A free-threaded build's header (ob_tid): refused, never misread.
        ft = json.loads(json.dumps(info))
        ft["layout"]["facts"] = [f for f in fs if f["fact"] != "PyObject.ob_tid"] + [
            {"fact": "PyObject.ob_tid", "value": 0}]
        ftpath = os.path.join(workdir, label + "-ft.json")
        with open(ftpath, "w") as f:
            json.dump(ft, f)
        rc, out, err, _ = pc.run(["snapshot", str(target.pid)], env=test_layout.env_with(ftpath))
        rep.check(rc == EXIT_NOTPY and "free-threaded" in err and not out.strip(), label,
                  "free-threaded header (PyObject.ob_tid; synthetic table)",
                  "exit 4: %s" % one(err), "exit %r: %s" % (rc, short(err)))
        # Each list head is found where the layout says, not at a stride
        # from the first: young where generations[2] is and old[0..1] at
        # generations[0..1] take the same objects, the counts rotated.
        for f in fs:
            if f["fact"] == "_gc_runtime_state.young":
                f["value"] = gen + 2 * size
            elif f["fact"] == "_gc_runtime_state.old":
                f["value"] = gen
        with open(path, "w") as f:
            json.dump(info, f)
        d, rc1, err1 = test_layout.run_json(pc, ["snapshot", str(target.pid)])
        t, rc2, err2 = test_layout.run_json(pc, ["snapshot", str(target.pid)], table=path)
        if d is None or t is None:
            rep.fail(label, "incremental GC layout, old before young", "dwarf exit %r %s; table exit %r %s" % (
                rc1, short(err1), rc2, short(err2)))
            return
        g, h = d["gc"]["generations"], t["gc"]["generations"]
        rep.check(test_layout.census_key(d) == test_layout.census_key(t) and h == [g[2], g[0], g[1]] and
                  sum(g) > 0, label, "incremental GC layout, old before young (each head where the table puts it)",
                  "lists %s from generations %s" % (h, g), "lists %s from generations %s" % (h, g))
    except TargetError as e:
        rep.fail(label, "incremental target", str(e))
    finally:
        target.kill()


def check_why(rep, pc, label, workdir, san, where):
    """why on tests/targets/why_target.py in the container, from the host
    and from inside: each marker's holder chain exactly as test_why expects
    it, the target's own id() as the sample, and the second thread's local
    rooted at the thread id the target reports (threading's ident), never
    a "#N" stand-in."""
    target = harness.Target(IN_CONTAINER, [WHY_TARGET], workdir, "%s-why-%s" % (label, where.split()[0][1:]))
    try:
        line = target.readline(READY_TIMEOUT)
        if not line or not line.startswith("ready "):
            rep.fail(label, "why %s: target" % where, "no ready line: %r %s" % (line, short(target.stderr_text())))
            return
        truth = json.loads(line.split(" ", 1)[1])
        expected = dict(test_why.EXPECTED)
        expected[test_why.M + "ByLocal"] = test_why.EXPECTED[test_why.M + "ByLocal"] % tuple(truth["worker"])
        expected[test_why.M + "ByInnerLocal"] = \
            test_why.EXPECTED[test_why.M + "ByInnerLocal"] % tuple(truth["block"])
        tries = [("from the host", pc.path, (), target.pid)]
        if not san:
            prefix, inner = inside(pc.path, target.pid)
            tries.append(("from inside", inner, prefix, 1))
        for how, pc_path, prefix, pid in tries:
            rc, out, err = run(pc_path, ["why", "--top", "0", pid] + sorted(expected), prefix)
            if not rep.check(rc == 0, label, "why %s %s runs" % (where, how), "exit 0", "exit %s: %s" % (rc, short(err))):
                continue
            by = dict((t["type"], t) for t in json.loads(out)["types"])
            bad = []
            for name, chain in sorted(expected.items()):
                t = by.get(name, {})
                got = [sh["chain"] for sh in t.get("shapes", [])]
                if got != [chain] or t.get("count") != 1:
                    bad.append("%s: %r (count %r)" % (name, got, t.get("count")))
                elif name in truth and t["shapes"][0]["sample"] != hex(truth[name][0]):
                    bad.append("%s: sample %s, id() %s" % (name, t["shapes"][0]["sample"], hex(truth[name][0])))
            local = (by.get(test_why.M + "ByLocal", {}).get("shapes") or [{}])[0].get("chain", "")
            if not local.startswith("thread %d " % truth["worker"][0]):
                bad.append("the thread root %r is not thread %d" % (local[:40], truth["worker"][0]))
            rep.check(not bad, label, "why %s %s" % (where, how), "%d chains as test_why's; %s" % (
                len(expected), local), "; ".join(bad))
        # (it blocks reading one byte: a ping would end it)
        stopped = harness.still_stopped(target.pid)
        rep.check(stopped == [], label, "target runs after why %s" % where, "no thread stopped",
                  "gone" if stopped is None else "stopped: %s" % stopped)
    finally:
        target.kill()


def check_watch(rep, pc, py, workdir):
    """watch and its Prometheus file on a growing target: the leaking type
    grows census after census and is in the file."""
    label = py["label"]
    target = harness.Target(py["path"], ["-c", LEAKER], workdir, label + "-watch")
    try:
        target.wait_ready(READY_TIMEOUT)
        prom = os.path.join(workdir, label + ".prom")
        rc, out, err = run(pc.path, ["watch", "--scope", "gc", "--interval", "500ms", "--count", "3",
                                     "--prometheus", prom, target.pid])
        counts = []
        for line in out.splitlines():
            try:
                c = json.loads(line)
            except ValueError:
                continue
            counts.append(sum(t["count"] for t in c.get("types", []) if t["type"] == "__main__.Leaky"))
        rep.check(rc == 0 and len(counts) == 3 and counts[0] > 0 and counts[0] < counts[1] < counts[2], label,
                  "watch: the leaking type grows", "__main__.Leaky %s" % counts,
                  "exit %r, __main__.Leaky %s: %s" % (rc, counts, short(err)))
        text = open(prom).read() if os.path.exists(prom) else ""
        rep.check('pycensus_objects{pid="%d",type="__main__.Leaky"}' % target.pid in text, label,
                  "watch --prometheus: the leaking type's series", "%d lines" % len(text.splitlines()),
                  "no __main__.Leaky series in %d lines" % len(text.splitlines()))
        why = harness.target_running(target)
        rep.check(why is None, label, "target runs after watch", "pong", why)
    except TargetError as e:
        rep.fail(label, "watch target", str(e))
    finally:
        target.kill()


def check_supported(rep, pc, root, version, workdir, quick, san):
    label = "sid-" + version
    program = "/usr/bin/python" + version
    binds = [workdir, TOP, os.path.dirname(pc.path)]
    py = {"label": label, "path": IN_CONTAINER, "version": tuple(int(x) for x in version.split("."))}
    with Container(root, program, binds):
        # From the host: test_snapshot's whole per-interpreter suite (gc
        # exact, table, --top, info, a changing heap) and the reachable zoo.
        test_snapshot.check_supported(rep, pc, py, workdir)
        if not quick:
            test_reachable.check_zoo(rep, pc, py, workdir, False)
            test_layout.rep = rep
            test_layout.run_one(pc, py, workdir)
        check_incremental_layout(rep, pc, py, workdir)
        check_watch(rep, pc, py, workdir)
        check_why(rep, pc, label, workdir, san, "(DWARF)")
        # dump: gc exact, reachable equal to snapshot, memlab loads it
        try:
            test_dump.check_counts(rep, pc.path, py, workdir)
        except Exception as e:  # one FAIL, the other checks go on
            rep.fail(label, "dump", "%s: %s" % (type(e).__name__, short(str(e))))

        # From inside and from a sidecar, against one target.
        target = test_snapshot.Target(IN_CONTAINER, workdir, label + "-ns")
        try:
            target.wait_ready(READY_TIMEOUT)
            pid, npid = target.pid, ns_pid(target.pid)
            rep.check(npid == target.truth["pid"] == 1 and pid != 1, label, "its own PID namespace",
                      "host PID %d, PID %s inside (NSpid, os.getpid())" % (pid, npid),
                      "host %d, NSpid %s, os.getpid() %s" % (pid, npid, target.truth.get("pid")))
            prefix, inner = inside(pc.path, pid)
            if san:
                rep.skip(label, "inside (nsenter --mount --pid)",
                         "the sanitizer build needs libasan in the sid root")
            else:
                census_from(rep, label, "inside (nsenter --mount --pid)", inner, prefix, npid, npid,
                            target.truth, program)
            census_from(rep, label, "sidecar (nsenter --pid, own root)", pc.path, sidecar(pid), npid,
                        npid, target.truth, "/proc/%d/root/" % npid)
            why = harness.target_running(target)
            rep.check(why is None, label, "target runs after the censuses", "pong", why)
        except TargetError as e:
            rep.fail(label, "inside target", str(e))
        finally:
            target.kill()

    # The root's /usr/lib/debug hidden: no DWARF from the host or inside
    # (the layout table stands in), but a sidecar that
    # brings the debug files on its own side (its /usr/lib/debug) has them.
    with Container(root, program, binds, nodebug=True):
        target = test_snapshot.Target(IN_CONTAINER, workdir, label + "-nodebug")
        try:
            target.wait_ready(READY_TIMEOUT)
            # Every supported version has a layout table now: without
            # DWARF the census comes from it (exit 6, naming the build-id
            # file, is left to versions without one).
            rc, out, err = run(pc.path, ["snapshot", target.pid])
            check_no_dwarf(rep, label, "no /usr/lib/debug: from the host", rc, out, err)
            if not san:
                prefix, inner = inside(pc.path, target.pid)
                rc, out, err = run(inner, ["snapshot", "1"], prefix)
                check_no_dwarf(rep, label, "no /usr/lib/debug: from inside", rc, out, err)
            prefix = ["nsenter", "-t", str(target.pid), "--pid", "--", "unshare", "--mount", "--mount-proc",
                      "--", "sh", "-ec", 'mount --bind "$0" /usr/lib/debug; exec "$@"',
                      os.path.join(root, "usr/lib/debug")]
            census_from(rep, label, "no /usr/lib/debug: sidecar with the debug files", pc.path, prefix, 1, 1,
                        target.truth, "/proc/1/root/")
        except TargetError as e:
            rep.fail(label, "nodebug target", str(e))
        finally:
            target.kill()
        check_why(rep, pc, label, workdir, san, "(no /usr/lib/debug: the layout table)")

    # The root's /usr/lib/debug hidden, the debug file next to a copy of
    # the executable as its .gnu_debuglink names it (DIR/.debug/NAME).
    with Container(root, program, binds, nodebug=True, copy=True):
        target = test_snapshot.Target(IN_CONTAINER, workdir, label + "-debuglink")
        try:
            target.wait_ready(READY_TIMEOUT)
            pid = target.pid
            exe = root + program
            link = debuglink_name(exe)
            bid = build_id(exe)
            if rep.check(link and bid, label, "debuglink: premise", "%s links %s" % (program, link),
                         "no .gnu_debuglink or build-id in %s" % exe):
                src = os.path.join(root, "usr/lib/debug/.build-id", bid[:2], bid[2:] + ".debug")
                # Next to the file, and under the root's /usr/lib/debug
                # (a tmpfs here): only the second is not libdwfl's own
                # search of the path pycensus opened.
                for where in ("/mnt/.debug", "/usr/lib/debug/mnt"):
                    os.makedirs("/proc/%d/root%s" % (pid, where))
                    dst = "/proc/%d/root%s/%s" % (pid, where, link)
                    shutil.copyfile(src, dst)
                    snap = census_from(rep, label, "debuglink in %s" % where, pc.path, (), pid, pid,
                                       target.truth, "/proc/%d/root/mnt/" % pid)
                    if snap:
                        dbg = snap["python"]["debuginfo"]
                        rep.check(dbg == dst, label, "debuglink in %s: found there" % where, dbg,
                                  "debuginfo %s" % dbg)
                    os.unlink(dst)
        except TargetError as e:
            rep.fail(label, "debuglink target", str(e))
        finally:
            target.kill()

    # Root without CAP_SYS_PTRACE (docker's and kubectl's default): exit 5
    # naming the flags.
    with Container(root, program, binds):
        target = harness.Target(IN_CONTAINER, ["-c", PINGER], workdir, label + "-perm")
        try:
            target.wait_ready(READY_TIMEOUT)
            prefix = ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", "--"]
            rc, out, err = run(pc.path, ["snapshot", target.pid], prefix)
            rep.check(rc == 5 and "SYS_PTRACE" in err and "--cap-add" in err and "non-root" in err, label,
                      "without CAP_SYS_PTRACE", one(err), "exit %s want 5 naming --cap-add SYS_PTRACE and "
                      "the non-root caveat: %s" % (rc, short(err)))
            why = harness.target_running(target)
            rep.check(why is None, label, "target runs after the refusal", "pong", why)
        except TargetError as e:
            rep.fail(label, "perm target", str(e))
        finally:
            target.kill()

    # A deleted executable, and one shadowed by another build under the
    # same name (a file system mounted over its directory afterwards; maps
    # still names the path): only /proc/PID/map_files (or exe) still has
    # the mapped file.
    for how in ("deleted", "shadowed"):
        with Container(root, program, binds, copy=True):
            target = test_snapshot.Target(IN_CONTAINER, workdir, label + "-" + how)
            try:
                target.wait_ready(READY_TIMEOUT)
                pid = target.pid
                path = "/proc/%d/root/mnt/%s" % (pid, os.path.basename(program))
                if how == "deleted":
                    os.unlink(path)
                else:
                    other = "/usr/bin/python%s" % next(v for v in SUPPORTED + UNSUPPORTED if v != version)
                    subprocess.run(["nsenter", "-t", str(pid), "--mount", "--", "sh", "-ec",
                                    'mount -t tmpfs tmpfs /mnt; cp "$1" /mnt/', "sh", other], check=True)
                    os.rename("/proc/%d/root/mnt/%s" % (pid, os.path.basename(other)), path)
                with open("/proc/%d/maps" % pid) as f:
                    maps = f.read()
                premise = ("(deleted)" in maps) if how == "deleted" else \
                    ("/mnt/%s\n" % os.path.basename(program) in maps
                     and os.stat(path).st_ino not in [int(l.split()[4]) for l in maps.splitlines()
                                                      if l.endswith("/mnt/" + os.path.basename(program))])
                if rep.check(premise, label, "%s executable: premise" % how,
                             "maps names a file that is gone" if how == "deleted"
                             else "maps names the path, now another file (another inode)",
                             "maps does not show the %s file" % how):
                    census_from(rep, label, "%s executable" % how, pc.path, (), pid, pid, target.truth,
                                "/proc/%d/" % pid)
            except TargetError as e:
                rep.fail(label, how + " target", str(e))
            finally:
                target.kill()

    with Container(root, program, binds):
        check_children(rep, pc, label, workdir, san)


def debuglink_name(path):
    out = subprocess.run(["readelf", "-p", ".gnu_debuglink", path], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, universal_newlines=True, errors="replace").stdout
    for line in out.splitlines():
        if line.strip().startswith("[") and line.strip().endswith(".debug"):
            return line.split("]", 1)[1].strip()
    return None


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         universal_newlines=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split(":", 1)[1].strip()
    return None


def one(err):
    return short(err.strip().splitlines()[-1] if err.strip() else "", 200)


def start_tree(workdir):
    """share_target.py tree 2 2 in the container: (target, {inner pid: workers})."""
    t = harness.Target(IN_CONTAINER, [SHARE_TARGET, "tree", "2", "2"], workdir, "tree", group=True)
    line = t.readline(READY_TIMEOUT)
    if not line or not line.startswith("ready"):
        t.kill()
        raise TargetError("tree did not print ready: %r %s" % (line, short(t.stderr_text())))
    procs = dict((int(a), int(b)) for a, b in (w.split(":") for w in line.split()[1:]))
    return t, procs


def check_children(rep, pc, label, workdir, san):
    """watch --children over a master and its workers in the container:
    every process censused, each with its own Worker count; from the host
    the PIDs are the host's, from inside the container's own."""
    try:
        t, procs = start_tree(workdir)
    except TargetError as e:
        rep.fail(label, "--children target", str(e))
        return
    try:
        master = t.pid
        # The ready line names the container's PIDs; NSpid maps the host's.
        host = dict((ns_pid(p), p) for p in [master] + descendants(master))
        want_host = dict((host.get(inner), n) for inner, n in procs.items())
        for where, pc_path, prefix, pid, want in (
                ("from the host", pc.path, (), master, want_host),
                ("from inside", inside(pc.path, master)[1], inside(pc.path, master)[0], 1, procs)):
            if where == "from inside" and san:
                rep.skip(label, "--children " + where, "the sanitizer build needs libasan in the sid root")
                continue
            rc, out, err = run(pc_path, ["watch", "--children", "--scope", "gc", "--count", "1", pid],
                               prefix, timeout=180)
            cs = [json.loads(l) for l in out.splitlines() if l.strip()]
            cs = [c for c in cs if "event" not in c]
            got = dict((c["pid"], dict((x["type"], x["count"]) for x in c["types"])
                        .get("__main__.Worker", 0)) for c in cs)
            rep.check(rc == 0 and got == want and None not in want, label, "--children " + where,
                      "%d processes, Worker counts %s" % (len(got), sorted(got.values())),
                      "exit %s, got %s want %s: %s" % (rc, got, want, short(err)))
    finally:
        t.kill()


def check_unsupported(rep, pc, root, version, workdir, san):
    label = "sid-" + version
    program = "/usr/bin/python" + version
    binds = [workdir, TOP, os.path.dirname(pc.path)]
    with Container(root, program, binds):
        target = harness.Target(IN_CONTAINER, ["-c", PINGER], workdir, label)
        try:
            target.wait_ready(READY_TIMEOUT)
            tries = [("from the host", pc.path, (), target.pid)]
            if not san:
                prefix, inner = inside(pc.path, target.pid)
                tries.append(("from inside", inner, prefix, 1))
            for where, pc_path, prefix, pid in tries:
                rc, out, err = run(pc_path, ["snapshot", pid], prefix)
                rep.check(rc == EXIT_NOTPY and "unsupported version" in err and version in err, label,
                          "exit 4 " + where, one(err),
                          "exit %s want %d \"unsupported version\": %s" % (rc, EXIT_NOTPY, short(err)))
            why = harness.target_running(target)
            rep.check(why is None, label, "target runs after", "pong", why)
        except TargetError as e:
            rep.fail(label, "target", str(e))
        finally:
            target.kill()
    rep.skip(label, "census checks", "Python %s is not supported yet (issue \"CPython 3.14 and 3.15\")"
             % version)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--quick", action="store_true", help="leave out the reachable zoo")
    args = ap.parse_args()
    harness.exit_on_signals()
    rep = harness.LabelReport()
    pc = harness.Pycensus(os.path.abspath(args.pycensus), timeout=CENSUS_TIMEOUT)
    if os.geteuid() != 0:
        print("SKIP container: needs root (namespaces, debootstrap)", flush=True)
        print("0 passed, 0 failed, 1 skipped", flush=True)
        return 0
    t0 = time.monotonic()
    r = subprocess.run([SID_ROOT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if r.returncode != 0:
        rep.fail("setup", "sid root", short(r.stderr, 600))
        return rep.summary()
    root = r.stdout.strip().splitlines()[-1]
    print("# sid root %s ready in %.1fs%s" % (root, time.monotonic() - t0,
                                              " (built: %s)" % one(r.stderr) if r.stderr.strip() else ""),
          flush=True)
    san = is_sanitized(pc.path)
    workdir = tempfile.mkdtemp(prefix="pycensus-ct-")
    try:
        for v in SUPPORTED:
            try:
                check_supported(rep, pc, root, v, workdir, args.quick, san)
            except Exception as e:
                rep.fail("sid-" + v, "harness", "%s: %s" % (type(e).__name__, e))
        for v in UNSUPPORTED:
            try:
                check_unsupported(rep, pc, root, v, workdir, san)
            except Exception as e:
                rep.fail("sid-" + v, "harness", "%s: %s" % (type(e).__name__, e))
    finally:
        harness.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print("# %.1fs" % (time.monotonic() - t0), flush=True)
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
