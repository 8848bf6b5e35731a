#!/usr/bin/env python3
"""Tests of pycensus's command line that need no target process.

    python3 tests/test_cli.py [--pycensus ./pycensus] [--quick]

--help and --version; the man page against --help, both ways (every option
and every exit code in one is in the other, as strace and austin check);
the man page against the code (every JSON field src/ emits, every
environment variable it reads); usage errors (exit 2, one line on stderr);
the options --help lists are accepted; `make install`; the man page renders
without warnings.  One line per check: PASS / FAIL / SKIP; the last line is
"N passed, M failed, K skipped"; the exit status is 1 if anything failed.
--quick is accepted and changes nothing: all of this takes seconds.
"""

import argparse
import filecmp
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import EXIT_INPUT, EXIT_USAGE  # noqa: E402

MAN = os.path.join(TOP, "man", "pycensus.1")
TIMEOUT = 30

COMMANDS = ("snapshot", "watch", "diff", "info")
MAN_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS", "JSON OUTPUT",
                "SCOPES", "TYPE NAMES", "EXIT STATUS", "ENVIRONMENT", "SIGNALS",
                "EXAMPLES", "PERMISSIONS", "SEE ALSO")
# What each usage error is, and the command line that makes it.
USAGE_ERRORS = (
    ("no command", []),
    ("snapshot without PID", ["snapshot"]),
    ("snapshot notapid", ["snapshot", "notapid"]),
    ("snapshot --scope bogus", ["snapshot", "--scope", "bogus", "1"]),
    ("unknown command", ["bogus"]),
    ("snapshot two PIDs", ["snapshot", "1", "2"]),
    ("snapshot --top 0", ["snapshot", "--top", "0", "1"]),
    ("snapshot --format xml", ["snapshot", "--format", "xml", "1"]),
    ("snapshot unknown option", ["snapshot", "--no-such-option", "1"]),
    ("info without PID", ["info"]),
    ("info notapid", ["info", "notapid"]),
    ("watch without PID", ["watch"]),
    ("diff with one file", ["diff", "only-one.json"]),
)
# A sample argument for each option that takes one ({tmp}: a scratch dir).
OPTION_ARGS = {
    "--scope": ["gc"], "--top": ["5"], "--format": ["table"], "--interval": ["5s"],
    "--count": ["2"], "--output": ["{tmp}/out.jsonl"], "--growth-rounds": ["3"],
    "--prometheus": ["{tmp}/metrics.prom"], "--pidfile": ["{tmp}/pc.pid"],
}
NOT_ACCEPTED = re.compile(r"unrecognized option|unknown option|invalid option|"
                          r"not implemented|requires an argument", re.I)


# --- reporting ---------------------------------------------------------------

def short(s, n=300):
    """S on one line, its line breaks shown as " | " (help and man output)."""
    s = s.strip().replace("\n", " | ")
    return s if len(s) <= n else s[:n] + "..."


def run(argv, timeout=TIMEOUT, env=None, cwd=None):
    """(returncode, stdout, stderr); returncode None if it timed out."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, env=env, cwd=cwd,
                           universal_newlines=True, errors="replace",
                           start_new_session=True)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        return None, out, err
    except OSError as e:
        return -1, "", str(e)


def make_env():
    """The environment for a sub-make: none of the outer make's flags (its
    jobserver descriptors are not ours to use)."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR", "PREFIX"):
        env.pop(k, None)
    return env


# --- the man page, read as roff ----------------------------------------------

_ESCAPES = [("\\-", "-"), ("\\(dq", '"'), ("\\(aq", "'"), ("\\(lq", '"'), ("\\(rq", '"'),
            ("\\(mu", "x"), ("\\(em", "--"), ("\\(en", "-"), ("\\e", "\\"), ("\\&", ""),
            ("\\ ", " "), ("\\|", "")]
_FONT = re.compile(r"\\f(\[[^\]]*\]|\(..|.)")
_FONT_MACROS = {"B", "I", "SM", "SB"}
_ALT_MACROS = {"BR", "RB", "BI", "IB", "IR", "RI"}


def unescape(s):
    s = _FONT.sub("", s)
    for a, b in _ESCAPES:
        s = s.replace(a, b)
    return s


def macro_args(rest):
    """Split a macro's arguments, honouring double quotes."""
    args, cur, quoted, had = [], "", False, False
    for ch in rest:
        if ch == '"':
            quoted = not quoted
            had = True
        elif ch in " \t" and not quoted:
            if cur or had:
                args.append(cur)
            cur, had = "", False
        else:
            cur += ch
    if cur or had:
        args.append(cur)
    return args


def line_text(line):
    """The text a roff source line contributes ('' for most requests)."""
    if line.startswith(".\\\"") or line.startswith("'\\\""):
        return ""
    if line.startswith("."):
        name, _, rest = line[1:].partition(" ")
        if name in _FONT_MACROS:
            return unescape(" ".join(macro_args(rest)))
        if name in _ALT_MACROS:
            return unescape("".join(macro_args(rest)))
        if name in ("SH", "SS"):
            return unescape(" ".join(macro_args(rest)))
        return ""
    return unescape(line)


class ManPage:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().splitlines()
        self.sections = {}          # name -> [source lines]
        cur = None
        for line in self.lines:
            if line.startswith(".SH"):
                cur = " ".join(macro_args(line[3:].strip()))
                self.sections[cur] = []
            elif cur is not None:
                self.sections[cur].append(line)

    def th_version(self):
        for line in self.lines:
            if line.startswith(".TH"):
                args = macro_args(line[3:].strip())
                return args[3] if len(args) > 3 else None
        return None

    def tags(self, section=None):
        """The tag line of every .TP (in SECTION, or the whole page), as text."""
        lines = self.sections.get(section, []) if section else self.lines
        return [line_text(lines[i + 1]) for i, l in enumerate(lines[:-1])
                if l.strip() == ".TP"]

    def entries(self, section):
        """[(tag text, body text)] for the .TP entries of SECTION."""
        out, tag, body = [], None, []
        lines = self.sections.get(section, [])
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.strip() == ".TP" and i + 1 < len(lines):
                if tag is not None:
                    out.append((tag, " ".join(body)))
                tag, body = line_text(lines[i + 1]), []
                i += 2
                continue
            if line.startswith((".PP", ".SS", ".SH", ".RS")):
                if tag is not None:
                    out.append((tag, " ".join(body)))
                tag, body = None, []
            elif tag is not None:
                t = line_text(line)
                if t:
                    body.append(t)
            i += 1
        if tag is not None:
            out.append((tag, " ".join(body)))
        return out

    def text(self, section=None):
        lines = self.sections.get(section, []) if section else self.lines
        return "\n".join(line_text(l) for l in lines)


OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def norm(s):
    return " ".join(s.lower().split()).rstrip(".")


# --- checks ------------------------------------------------------------------

def check_help_version(rep, pc):
    rc, out, err = run([pc, "--help"])
    rep.check(rc == 0 and "usage:" in out and not err.strip(), "--help",
              "exit %s, stdout %d bytes, stderr %s" % (rc, len(out), short(err) or "empty"),
              "exit 0, usage on stdout")
    rc, vout, err = run([pc, "--version"])
    rep.check(rc == 0 and re.match(r"^pycensus \d+\.\d+\S*\n$", vout) and not err.strip(),
              "--version", "exit %s, stdout %r, stderr %s" % (rc, vout, short(err) or "empty"),
              vout.strip())
    for cmd in COMMANDS:
        rc, cout, err = run([pc, cmd, "--help"])
        rep.check(rc == 0 and "usage:" in cout and not err.strip(), "%s --help" % cmd,
                  "exit %s, stderr %s" % (rc, short(err) or "empty"), "exit 0")
    version = vout.split()[1] if rc is not None and vout.startswith("pycensus ") else None
    return out, version


def help_exit_codes(help_text):
    codes, inside = {}, False
    for line in help_text.splitlines():
        if re.match(r"^exit (codes|status)", line.strip(), re.I):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+(\d+)\s+(\S.*)$", line)
            if m:
                codes[int(m.group(1))] = m.group(2).strip()
            elif line.strip():
                break
            elif codes:
                break
    return codes


def check_man_vs_help(rep, man, help_text, version):
    missing = [s for s in MAN_SECTIONS if s not in man.sections]
    rep.check(not missing, "man sections", "missing: %s" % ", ".join(missing),
              "%d sections" % len(man.sections))

    th = man.th_version()
    if version is None:
        rep.skip("man .TH version", "--version printed nothing usable")
    else:
        rep.check(th is not None and version in th, "man .TH version",
                  ".TH says %r, --version says %s" % (th, version), th)

    help_opts = set(OPTION.findall(help_text))
    man_opts = set()
    for tag in man.tags():
        man_opts.update(OPTION.findall(tag))
    if not help_opts:
        rep.fail("--help options", "found no --options in --help")
    for opt in sorted(help_opts | man_opts):
        if opt in help_opts and opt in man_opts:
            rep.ok("option %s" % opt, "in --help and in the man page")
        elif opt in help_opts:
            rep.fail("option %s" % opt, "in --help but has no .TP entry in the man page")
        else:
            rep.fail("option %s" % opt, "documented in the man page but not in --help")

    cmd_tags = [t.split()[0] for t in man.tags("COMMANDS") if t.split()]
    for cmd in COMMANDS:
        in_help = re.search(r"pycensus %s\b" % cmd, help_text) is not None
        rep.check(in_help and cmd in cmd_tags, "command %s" % cmd,
                  "in --help: %s, in the man page's COMMANDS: %s" % (in_help, cmd in cmd_tags),
                  "in --help and in COMMANDS")

    hcodes = help_exit_codes(help_text)
    mcodes = {}
    for tag, body in man.entries("EXIT STATUS"):
        if tag.strip().isdigit():
            mcodes[int(tag)] = body
    if not hcodes:
        rep.fail("exit codes", "no 'Exit codes:' list found in --help")
    for code in sorted(set(hcodes) | set(mcodes)):
        name = "exit code %d" % code
        if code not in mcodes:
            rep.fail(name, "in --help (%s) but not in the man page's EXIT STATUS" % hcodes[code])
        elif code not in hcodes:
            rep.fail(name, "in the man page's EXIT STATUS but not in --help")
        elif not norm(mcodes[code]).startswith(norm(hcodes[code])):
            rep.fail(name, "--help says %r, the man page %r" % (hcodes[code], short(mcodes[code])))
        else:
            rep.ok(name, hcodes[code])
    return hcodes


def check_code_documented(rep, man, hcodes):
    """What the C code defines must be documented: exit codes, JSON fields,
    environment variables."""
    error_h = os.path.join(TOP, "include", "error.h")
    srcs = sorted(glob.glob(os.path.join(TOP, "src", "*.c")))
    if not os.path.exists(error_h) or not srcs:
        rep.skip("code vs docs", "no include/error.h or src/*.c next to the tests")
        return
    with open(error_h) as f:
        enum = dict((int(v), n) for n, v in re.findall(r"\b(PC_EXIT_\w+)\s*=\s*(\d+)", f.read()))
    undocumented = ["%s=%d" % (n, v) for v, n in sorted(enum.items()) if v not in hcodes]
    extra = [str(c) for c in sorted(hcodes) if c not in enum]
    rep.check(enum and not undocumented and not extra, "error.h exit codes in --help",
              "not in --help: %s; in --help but not in error.h: %s" % (
                  ", ".join(undocumented) or "-", ", ".join(extra) or "-"),
              "%d codes" % len(enum))

    code = ""
    for path in srcs:
        with open(path, encoding="utf-8", errors="replace") as f:
            code += f.read()
    fields = set(re.findall(r'json_object_object_add\s*\([^,]+,\s*"([^"]+)"', code))
    doc = man.text("JSON OUTPUT") + "\n" + man.text("COMMANDS")
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", doc))
    missing = sorted(f for f in fields if f not in words)
    rep.check(fields and not missing, "JSON fields in the man page",
              "emitted by src/ but not in JSON OUTPUT: %s" % ", ".join(missing),
              "%d fields" % len(fields))

    envs = set(re.findall(r'"(PYCENSUS_[A-Z0-9_]+)"', code))
    doc = man.text("ENVIRONMENT")
    missing = sorted(e for e in envs if e not in doc)
    rep.check(not missing, "environment variables in the man page",
              "read by src/ but not in ENVIRONMENT: %s" % ", ".join(missing),
              ", ".join(sorted(envs)) or "none read")


def check_usage_errors(rep, pc):
    for name, args in USAGE_ERRORS:
        rc, out, err = run([pc] + args)
        lines = err.splitlines()
        ok = rc == EXIT_USAGE and len(lines) == 1 and lines[0].startswith("pycensus") \
            and not out.strip()
        rep.check(ok, "usage error: %s" % name,
                  "pycensus %s: exit %s (want %d), %d line(s) on stderr (want 1): %s%s" % (
                      " ".join(args), rc, EXIT_USAGE, len(lines), short(err) or "-",
                      "; stdout: " + short(out, 100) if out.strip() else ""),
                  lines[0] if lines else "")


def check_options_accepted(rep, pc, help_text):
    """Every option --help lists for a command is accepted by its parser:
    given a sample argument and a PID that is not a number, the complaint
    must be about the PID, not about the option."""
    sections = {"census": [], "watch": []}
    cur = None
    for line in help_text.splitlines():
        if re.match(r"^census options", line, re.I):
            cur = "census"
        elif re.match(r"^watch options", line, re.I):
            cur = "watch"
        elif not line.strip() or not line.startswith(" "):
            cur = None
        elif cur:
            m = re.match(r"^  (-\S.*?)(\s{2,}|$)", line)     # the option column
            if m:
                sections[cur] += OPTION.findall(m.group(1))
    cases = [("snapshot", o) for o in sections["census"]] + \
            [("watch", o) for o in sections["census"] + sections["watch"]]
    tmp = tempfile.mkdtemp(prefix="pycensus-cli-")
    try:
        for cmd, opt in cases:
            argv = [opt] + [a.format(tmp=tmp) for a in OPTION_ARGS.get(opt, [])]
            if opt == "--daemon":
                argv += ["--pidfile", os.path.join(tmp, "pc.pid")]
            elif opt == "--pidfile":
                argv = ["--daemon"] + argv
            rc, out, err = run([pc, cmd] + argv + ["notapid"], timeout=15)
            pidfile = os.path.join(tmp, "pc.pid")
            if os.path.exists(pidfile):         # it daemonized after all: stop it
                try:
                    with open(pidfile) as f:
                        os.kill(int(f.read().strip()), signal.SIGTERM)
                except (OSError, ValueError):
                    pass
                os.unlink(pidfile)
            ok = rc == EXIT_USAGE and not NOT_ACCEPTED.search(err)
            rep.check(ok, "%s accepts %s" % (cmd, opt),
                      "pycensus %s %s notapid: exit %s: %s" % (
                          cmd, " ".join(argv), rc, short(err) or "-"),
                      short(err, 100))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    rc, out, err = run([pc, "diff", "--format", "table", "/nonexistent/old.json",
                        "/nonexistent/new.json"])
    rep.check(rc == EXIT_INPUT and len(err.splitlines()) == 1, "diff of missing files",
              "exit %s (want %d): %s" % (rc, EXIT_INPUT, short(err) or "-"),
              short(err, 100))


def check_install(rep):
    if not shutil.which("make"):
        rep.skip("make install", "make not installed")
        return
    env = make_env()
    rc, out, err = run(["make", "-C", TOP, "-n", "install", "PREFIX=/tmp/x"], env=env)
    rep.check(rc == 0 and "man/pycensus.1" in out and "/tmp/x/share/man/man1" in out,
              "make -n install mentions the man page",
              "exit %s: %s" % (rc, short(out + err)), "man/pycensus.1 -> /tmp/x/share/man/man1")

    binary = os.path.join(TOP, "pycensus")
    if not os.path.exists(binary):
        rep.skip("make install", "no %s built" % binary)
        return
    tmp = tempfile.mkdtemp(prefix="pycensus-install-")
    try:
        # -o pycensus: install what is built; do not rebuild it in the middle
        # of a test run (others may be editing src/).
        rc, out, err = run(["make", "-C", TOP, "-o", "pycensus", "install", "PREFIX=" + tmp],
                           env=env, timeout=120)
        b = os.path.join(tmp, "bin", "pycensus")
        m = os.path.join(tmp, "share", "man", "man1", "pycensus.1")
        problems = []
        if rc != 0:
            problems.append("exit %s: %s" % (rc, short(err)))
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            problems.append("no executable bin/pycensus")
        if not os.path.isfile(m):
            problems.append("no share/man/man1/pycensus.1")
        elif not filecmp.cmp(m, MAN, shallow=False):
            problems.append("share/man/man1/pycensus.1 differs from man/pycensus.1")
        if not problems:
            vrc, vout, _ = run([b, "--version"])
            if vrc != 0:
                problems.append("installed pycensus --version exits %s" % vrc)
        rep.check(not problems, "make install", "; ".join(problems),
                  "bin/pycensus and share/man/man1/pycensus.1 under PREFIX")

        dest = os.path.join(tmp, "dest")
        rc, out, err = run(["make", "-C", TOP, "-o", "pycensus", "install", "PREFIX=/usr",
                            "DESTDIR=" + dest], env=env, timeout=120)
        ok = rc == 0 and os.path.isfile(os.path.join(dest, "usr/bin/pycensus")) and \
            os.path.isfile(os.path.join(dest, "usr/share/man/man1/pycensus.1"))
        rep.check(ok, "make install DESTDIR", "exit %s: %s" % (rc, short(err) or "files missing"),
                  "DESTDIR/usr/bin/pycensus, DESTDIR/usr/share/man/man1/pycensus.1")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def check_man_renders(rep):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MANPAGER="cat", PAGER="cat",
               MANROFFSEQ="")
    if shutil.which("groff"):
        rc, out, err = run(["groff", "-man", "-Tutf8", "-ww", "-z", MAN], env=env)
        rep.check(rc == 0 and not err.strip(), "groff -man -ww renders cleanly",
                  "exit %s: %s" % (rc, short(err)))
    else:
        rep.skip("groff -man -ww renders cleanly", "groff not installed (apt-get install groff-base)")
    if shutil.which("man"):
        rc, out, err = run(["man", "--warnings", "-E", "UTF-8", "-l", MAN], env=env)
        ok = rc == 0 and not err.strip() and "EXIT STATUS" in out and "pycensus" in out
        rep.check(ok, "man -l renders cleanly", "exit %s: %s" % (rc, short(err) or "no text"),
                  "%d lines" % len(out.splitlines()))
    else:
        rep.skip("man -l renders cleanly", "man-db not installed (apt-get install man-db)")
    if shutil.which("lexgrog"):
        rc, out, err = run(["lexgrog", MAN], env=env)
        rep.check(rc == 0 and "pycensus - " in out, "lexgrog reads NAME (whatis/apropos)",
                  "exit %s: %s" % (rc, short(out + err)), short(out, 100))
    else:
        rep.skip("lexgrog reads NAME (whatis/apropos)", "man-db not installed")


# --- main --------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pycensus", default="./pycensus", help="binary under test")
    ap.add_argument("--quick", action="store_true", help="accepted; changes nothing")
    args = ap.parse_args()
    harness.exit_on_signals()

    rep = harness.Report(prefix="cli")
    pc = os.path.abspath(args.pycensus)
    try:
        man = ManPage(MAN) if os.path.exists(MAN) else None
        if man is None:
            rep.fail("man page", "%s does not exist" % MAN)
        if not (os.path.isfile(pc) and os.access(pc, os.X_OK)):
            rep.fail("setup", "no executable at %s (build it, or --pycensus)" % pc)
        else:
            help_text, version = check_help_version(rep, pc)
            if man:
                hcodes = check_man_vs_help(rep, man, help_text, version)
                check_code_documented(rep, man, hcodes)
            check_usage_errors(rep, pc)
            check_options_accepted(rep, pc, help_text)
        check_install(rep)
        if man:
            check_man_renders(rep)
    except Exception as e:                      # report, and still print the totals
        rep.fail("harness", "%s: %s" % (type(e).__name__, e))
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
