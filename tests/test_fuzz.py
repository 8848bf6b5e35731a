#!/usr/bin/env python3
"""Fuzz the census walkers over corrupted memory images of real processes.

For a few interpreters (pyenv's 3.8, 3.11 and 3.13, Debian sid's 3.14 and
3.15 through tests/pythons.py): start tests/targets/small_target.py, take a memory
image of it with build/dump_image, and run the libFuzzer harness
build/fuzz_census (make fuzz) on it for PYCENSUS_FUZZ_SECONDS seconds
(default 12; --quick: 8).  Each fuzz input overwrites words of the image:
raw words (garbage, small deltas, pointers into other mappings,
self-pointers) and, aimed at the objects of the image, extreme lengths and
counts, pointers into other objects, into their middle or to themselves,
type pointers made other objects, cycles of pointers, type names made raw
bytes (see
tests/fuzz/fuzz_census.c).  Both censuses and a `why` walk (paths from
the roots, unrooted objects, the dominator tree over the decoded graph)
must finish without a crash, a sanitizer report or a leak (and the
line-table decoder of why's frame roots, run over each input's raw bytes
in every format, must answer or refuse, as must what finds statics by
their contents for builds without symbols: 2.7/3.6's interp_head, the
interned dict, a collection seen in GC headers, the sets' dummy key), and render as
strict JSON in valid UTF-8 and as a table (why: and dot) without control
characters.  The harness's own count must show
that every kind of mutation was made and that some censuses found invalid
objects.
"""
import argparse
import os
import random
import re
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pythons  # noqa: E402
import harness  # noqa: E402

rep = harness.Report(always_colon=("PASS", "FAIL", "SKIP"))
report = rep.emit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pycensus", default="./pycensus")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    # seven images: 12 s each keeps the file near a minute and a half
    seconds = int(os.environ.get("PYCENSUS_FUZZ_SECONDS", "8" if args.quick else "12"))
    if os.path.basename(args.pycensus).endswith("-san"):
        # The fuzzer is built with ASan and UBSan already.
        report("SKIP", "fuzz", "the fuzz harness always runs under ASan/UBSan; not repeated for " + args.pycensus)
        return
    build = subprocess.run(["make", "-C", ROOT, "fuzz"], capture_output=True, text=True)
    if build.returncode != 0:
        tail = (build.stderr or build.stdout).strip().splitlines()[-3:]
        if "clang" in build.stderr and "not found" in build.stderr:
            report("SKIP", "fuzz", "clang is not installed (scripts/install-deps --test installs it)")
        else:
            report("FAIL", "fuzz build", " / ".join(tail))
        return
    # The harness reads the interpreter's debug file offline: pyenv builds
    # carry their DWARF in libpython, Debian sid's (3.14 and 3.15 exist only
    # there) in the root's /usr/lib/debug.  Seven versions span the layouts
    # (2.7 and 3.6: the static GC lists and the 32-byte GC header; 2.7's
    # str, dicts and old-style instances).
    found = [p for p in pythons.discover() if p.get("supported") and not p["skip_reason"]
             and (p["label"].startswith("pyenv-") or p.get("root"))]
    wanted = ("2.7", "3.6", "3.8", "3.11", "3.13", "3.14", "3.15")
    chosen = []
    for v in wanted:
        cands = [p for p in found if ".".join(map(str, p["version"][:2])) == v]
        chosen += sorted(cands, key=lambda p: not p["label"].startswith("pyenv-"))[:1]
    for p in found:
        if p not in chosen:
            print("# fuzz: not fuzzing %s (only %s, to keep the suite short)" % (p["label"], ", ".join(wanted)))
    if not chosen:
        report("SKIP", "fuzz", "no pyenv CPython 2.7/3.6/3.8/3.11/3.13 or sid 3.14/3.15 found")
    tmp = tempfile.mkdtemp(prefix="pycensus-fuzz-")
    for p in chosen:
        label = p["label"]
        image = os.path.join(tmp, label + ".img")
        target = subprocess.Popen([p["path"], os.path.join(HERE, "targets", "small_target.py")],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            target.stdout.readline()
            d = subprocess.run([os.path.join(ROOT, "build", "dump_image"), str(target.pid), image],
                               capture_output=True, text=True, timeout=60)
        finally:
            target.kill()
            target.wait()
        if d.returncode != 0:
            report("FAIL", label + " image", d.stderr.strip())
            continue
        if p.get("root"):
            rehome(image, target.pid, p["root"])
        corpus = os.path.join(tmp, label + "-corpus")
        os.makedirs(corpus)
        write_seeds(corpus)
        t0 = time.time()
        env = dict(os.environ, PYCENSUS_FUZZ_IMAGE=image)
        f = subprocess.run([os.path.join(ROOT, "build", "fuzz_census"), "-max_total_time=%d" % seconds,
                            "-len_control=0", "-max_len=520", "-timeout=20", "-rss_limit_mb=4096",
                            "-artifact_prefix=%s/" % tmp, corpus],
                           capture_output=True, text=True, env=env, timeout=seconds + 120)
        runs = re.findall(r"Done (\d+) runs", f.stderr)
        cov = re.findall(r"cov: (\d+)", f.stderr)
        if f.returncode == 0 and runs:
            checked = "not checked" not in f.stderr
            report("PASS", label + " fuzz", "%s runs in %.0f s, coverage %s edges, no crash, %s" %
                   (runs[-1], time.time() - t0, cov[-1] if cov else "?",
                    "output valid" if checked else "output NOT checked (PYCENSUS_FUZZ_NO_OUTPUT_CHECK)"))
        else:
            crash = [l for l in f.stderr.splitlines()
                     if "ERROR" in l or "SUMMARY" in l or "artifact" in l or l.startswith("fuzz_census: the ")]
            report("FAIL", label + " fuzz", " / ".join(crash[:4]) or f.stderr.strip()[-400:])
        if f.returncode == 0:
            check_reach(label, f.stderr)     # a crash is failure enough


def rehome(image, pid, root):
    """A sid target's debug file is /proc/PID/root/... in the image: gone
    with the target, the same file is under ROOT (image.h's header: magic,
    major, minor, bias, pathlen, path)."""
    with open(image, "rb") as f:
        head = f.read(28)
        n = struct.unpack_from("<I", head, 24)[0]
        path = f.read(n).decode()
        rest = f.read()
    prefix = "/proc/%d/root/" % pid
    if path.startswith(prefix):
        path = os.path.join(root, path[len(prefix):])
    print("# fuzz: %s's debug file %s" % (os.path.basename(image), path), flush=True)
    with open(image, "wb") as f:
        f.write(head[:24] + struct.pack("<I", len(path.encode())) + path.encode() + rest)


def write_seeds(corpus):
    """One input per mode of fuzz_census.c's records ({u32 k, u8 mode,
    u64 v}, 40 of them), so that every kind of mutation is in the corpus
    from the start rather than when libFuzzer happens to make it."""
    rnd = random.Random(15)
    for mode in range(16):
        data = b"".join(struct.pack("<IBQ", rnd.getrandbits(32), mode + 16 * rnd.randrange(16),
                                    rnd.getrandbits(64)) for _ in range(40))
        with open(os.path.join(corpus, "seed-%02d" % mode), "wb") as f:
            f.write(data)


def check_reach(label, stderr):
    """The harness's count: every kind of mutation made, some censuses
    with invalid objects (the damage was seen, not only survived)."""
    line = [l for l in stderr.splitlines() if l.startswith("fuzz_census: stats ")]
    if not line:
        report("FAIL", label + " mutations", "no \"fuzz_census: stats\" line on stderr")
        return
    made = dict((k, int(n)) for k, n in re.findall(r" (word|length|pointer|type|cycle|name) (\d+)/\d+", line[-1]))
    invalid = re.search(r"with invalid (\d+)", line[-1])
    missing = [k for k in ("word", "length", "pointer", "type", "cycle", "name") if not made.get(k)]
    # the why walk ran on the damaged images: paths found, dominators built
    why = re.search(r"why (\d+) \(shapes (\d+), unrooted \d+, dominators (\d+)\)", line[-1])
    if not why or not all(int(n) > 0 for n in why.groups()):
        missing.append("why (walks, shapes and dominators)")
    # the line-table decoder over raw bytes: answers and refusals both
    lines = re.search(r"fuzz_census: lines ok (\d+), no line (\d+), bad table (\d+)", stderr)
    if not lines or int(lines.group(1)) == 0 or int(lines.group(3)) == 0:
        missing.append("line-table decodes (ok and bad)")
    ok = not missing and invalid and int(invalid.group(1)) > 0
    report("PASS" if ok else "FAIL", label + " mutations",
           line[-1][len("fuzz_census: stats "):] if ok else
           "never made: %s; %s" % (", ".join(missing) or "-", line[-1]))


if __name__ == "__main__":
    main()
    sys.exit(rep.summary())
