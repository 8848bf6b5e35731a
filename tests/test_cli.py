#!/usr/bin/env python3
"""Tests of pycensus's command line, its man page and its README.

    python3 tests/test_cli.py [--pycensus ./pycensus] [--quick]

--help and --version; the man page against --help, both ways (every option
and every exit code in one is in the other, as strace and austin check).
Per command, parsed, not listed here: its own --help, the man SYNOPSIS, the
man OPTIONS entries, the README's usage block and the getopt_long tables of
src/ name the same options with the same arguments.  Exit codes: error.h,
--help, the man page and the README's table.  JSON fields both ways: every
bold name of the man page's JSON OUTPUT is emitted by src/, every field src/
emits is documented there.  The man page's and the README's JSON examples
have the fields real output has (snapshot, watch, diff, info of a leaking
target under one interpreter), no more, no fewer.  Every command whose
output cannot be written (>/dev/full, a failing --output or --prometheus)
exits 1 with one line on stderr.  Usage errors (exit 2, one line on
stderr); the options --help lists are accepted; `make install`; the man page
renders without warnings.  One line per check: PASS / FAIL / SKIP; the last
line is "N passed, M failed, K skipped"; the exit status is 1 if anything
failed.  --quick is accepted and changes nothing: all of this takes seconds.
"""

import argparse
import filecmp
import glob
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
from harness import EXIT_INPUT, EXIT_USAGE  # noqa: E402

MAN = os.path.join(TOP, "man", "pycensus.1")
TIMEOUT = 30

COMMANDS = ("snapshot", "watch", "diff", "info", "why", "dump")
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
    """{code: meaning} from the "Exit codes:" list of --help; a meaning may
    go on over lines indented past the code."""
    codes, inside, last = {}, False, None
    for line in help_text.splitlines():
        if re.match(r"^exit (codes|status)", line.strip(), re.I):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+(\d+)\s+(\S.*)$", line)
            if m:
                last = int(m.group(1))
                codes[last] = m.group(2).strip()
            elif last is not None and re.match(r"^\s{4,}\S", line):
                codes[last] += " " + line.strip()
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
    srcs = sorted(glob.glob(os.path.join(TOP, "src", "*", "*.c")))
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
    check_json_fields(rep, man)

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


# --- options: the code, the man page, --help and the README, compared ---------

OPT_ENTRY = re.compile(r'\{\s*"([a-z][a-z0-9-]*)"\s*,\s*(no|required|optional)_argument')
# An option and its argument in a usage line: the argument is the next word
# unless that is another option or a bracket closes first.
USAGE_OPT = re.compile(r"(--[a-z][a-z0-9-]*)(?:[ \t]+([^\s\[\]|\-][^\s\[\]]*))?")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def c_functions(code):
    """{name: body} of the functions defined in C source CODE (K&R layout:
    the name line, then "{" and "}" in column 0)."""
    out = {}
    for m in re.finditer(r"^[A-Za-z][^;{}()]*?\b(\w+)\(([^;{}]*)\)\s*\n\{\n(.*?)^\}", code, re.S | re.M):
        out[m.group(1)] = m.group(3)
    return out


def code_options():
    """{command: {option: takes an argument}} from the getopt_long tables
    in src/: main()'s dispatch names the function of each command; its
    table is in that function or in one it calls.  --help is left out."""
    macros = {}
    for h in glob.glob(os.path.join(TOP, "include", "*.h")):
        for m in re.finditer(r"#define (\w+) \\\n((?:.*\\\n)*.*)", read(h)):
            macros[m.group(1)] = m.group(2)
    funcs = {}
    for path in sorted(glob.glob(os.path.join(TOP, "src", "*", "*.c"))):
        funcs.update(c_functions(read(path)))
    main_c = read(os.path.join(TOP, "src", "cmd", "main.c"))
    dispatch = dict(re.findall(r'strcmp\(cmd, "(\w+)"\)\)\s*return (\w+)\(', main_c))

    def table(body):
        m = re.search(r"struct option \w+\[\] = \{(.*?)\n\s*\};", body, re.S)
        if not m:
            return None
        text = m.group(1)
        for name, value in macros.items():
            if re.search(r"\b%s\b" % name, text):
                text += value
        return dict(("--" + n, a != "no") for n, a in OPT_ENTRY.findall(text) if n != "help")

    out = {}
    for cmd, fn in dispatch.items():
        body = funcs.get(fn, "")
        opts = table(body)
        if opts is None:      # the table is in a function it calls
            for callee in re.findall(r"\b(\w+)\(", body):
                if callee in funcs and callee != fn:
                    opts = table(funcs[callee])
                    if opts is not None:
                        break
        out[cmd] = opts or {}
    return out


def usage_options(text, census):
    """[(option, argument or None)] of one usage line; "census options"
    stands for CENSUS."""
    opts = []
    if "census options" in text:
        opts += census
    text = text.replace("census options", "")
    for opt, arg in USAGE_OPT.findall(text):
        if opt != "--help":
            opts.append((opt, arg or None))
    return opts


def man_subsection_tags(man, section, title):
    """The .TP tags of the .SS TITLE of SECTION."""
    tags, inside = [], False
    lines = man.sections.get(section, [])
    for i, line in enumerate(lines):
        if line.startswith(".SS"):
            inside = " ".join(macro_args(line[3:].strip())).lower().startswith(title.lower())
        elif inside and line.strip() == ".TP" and i + 1 < len(lines):
            tags.append(line_text(lines[i + 1]))
    return tags


def man_census_options(man):
    out = []
    for tag in man_subsection_tags(man, "OPTIONS", "Census options"):
        out += usage_options(tag, [])[:1]
    return out


def man_synopsis(man):
    """{command: [(option, argument)]} from SYNOPSIS, one .br-separated
    line per command."""
    census = man_census_options(man)
    chunks, cur = [], []
    for line in man.sections.get("SYNOPSIS", []):
        if line.strip() == ".br":
            chunks.append(cur)
            cur = []
        else:
            cur.append(line)
    chunks.append(cur)
    out = {}
    for chunk in chunks:
        text = " ".join(t for t in (line_text(l) for l in chunk) if t)
        words = text.split()
        if len(words) >= 2 and words[0] == "pycensus" and not words[1].startswith("-"):
            out[words[1]] = usage_options(" ".join(words[2:]), census)
    return out


def help_options(text):
    """[(option, argument)] of a command's --help: the option column of
    every line starting with two spaces and a dash."""
    out = []
    for line in text.splitlines():
        m = re.match(r"^  (-\S.*?)(\s{2,}|$)", line)
        if m:
            out += usage_options(m.group(1), [])
    return out


def readme():
    path = os.path.join(TOP, "README.md")
    return read(path) if os.path.exists(path) else None


def readme_usage(text, census):
    """{command: [(option, argument)]} from the README's ## Usage block."""
    m = re.search(r"^## Usage\n.*?^```\n(.*?)^```", text, re.S | re.M)
    if not m:
        return None
    out, cmd = {}, None
    for line in m.group(1).splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "pycensus":
            cmd = words[1]
            out[cmd] = usage_options(" ".join(words[2:]), census)
        elif cmd and line.startswith(" "):
            out[cmd] += usage_options(line, census)
    return out


def compare_options(rep, name, a_name, a, b_name, b, args=True):
    """A and B, [(option, argument)] or {option: takes_arg}, name the same
    options (both ways) and, with ARGS, the same arguments."""
    da = dict(a) if not isinstance(a, dict) else a
    db = dict(b) if not isinstance(b, dict) else b
    problems = []
    for o in sorted(set(da) - set(db)):
        problems.append("%s in %s, not in %s" % (o, a_name, b_name))
    for o in sorted(set(db) - set(da)):
        problems.append("%s in %s, not in %s" % (o, b_name, a_name))
    for o in sorted(set(da) & set(db)):
        x, y = da[o], db[o]
        if not args:
            x, y = bool(x), bool(y)
        if x != y:
            problems.append("%s takes %r in %s, %r in %s" % (o, x, a_name, y, b_name))
    rep.check(not problems, name, "; ".join(problems),
              "%d options agree" % len(da) if da else "no options in either")


def check_commands(rep, pc, man):
    """Each command's --help, the man SYNOPSIS, the man OPTIONS entries, the
    README's usage and the code's option tables: the same options with the
    same arguments."""
    code = code_options()
    syn = man_synopsis(man)
    # an option two commands share may take other arguments in each
    # (--format): {option: set of arguments}
    tags = {}
    for t in man.tags("OPTIONS"):
        if usage_options(t, []):
            o, a = usage_options(t, [])[0]
            tags.setdefault(o, set()).add(a)
    text = readme()
    rusage = readme_usage(text, man_census_options(man)) if text else None
    if rusage is None:
        rep.fail("README usage", "no ## Usage code block in README.md")
    rep.check(set(code) == set(COMMANDS), "commands in main()",
              "main() dispatches %s, the tests know %s" % (sorted(code), sorted(COMMANDS)),
              ", ".join(sorted(code)))
    for cmd in sorted(set(code) | set(syn)):
        rc, out, err = run([pc, cmd, "--help"])
        first = out.splitlines()[0] if out.strip() else ""
        rep.check(rc == 0 and first.startswith("usage: pycensus %s" % cmd), "%s --help is its own" % cmd,
                  "exit %s, first line %r" % (rc, first), first)
        if cmd not in syn:
            rep.fail("SYNOPSIS %s" % cmd, "main() dispatches %s; the man SYNOPSIS has no line for it" % cmd)
            continue
        compare_options(rep, "%s --help vs man SYNOPSIS" % cmd, "--help", help_options(out),
                        "SYNOPSIS", syn[cmd])
        compare_options(rep, "man SYNOPSIS %s vs code" % cmd, "SYNOPSIS", syn[cmd], "src/ getopt table",
                        code.get(cmd, {}), args=False)
        wrong = ["%s %s in SYNOPSIS, %s in OPTIONS" % (o, a, sorted(map(str, tags.get(o)))) for o, a in syn[cmd]
                 if o in tags and a not in tags[o]]
        missing = [o for o, a in syn[cmd] if o not in tags]
        rep.check(not wrong and not missing, "man OPTIONS entries for %s" % cmd,
                  "; ".join(wrong + ["%s has no .TP entry" % o for o in missing]),
                  "every option's argument as in SYNOPSIS")
        if rusage is not None:
            compare_options(rep, "README usage %s vs code" % cmd, "README", rusage.get(cmd, []),
                            "src/ getopt table", code.get(cmd, {}), args=False)


def check_readme_exit_codes(rep, hcodes):
    text = readme()
    m = re.search(r"^## Exit codes\n(.*?)(?=^## )", text or "", re.S | re.M)
    if not m:
        rep.fail("README exit codes", "no ## Exit codes section in README.md")
        return
    rows = dict((int(c), t.strip()) for c, t in re.findall(r"^\|\s*(\d+)\s*\|\s*(.*?)\s*\|\s*$", m.group(1), re.M))
    with open(os.path.join(TOP, "include", "error.h")) as f:
        enum = set(int(v) for v in re.findall(r"\bPC_EXIT_\w+\s*=\s*(\d+)", f.read()))
    problems = ["%d not in README" % c for c in sorted(enum - set(rows))]
    problems += ["%d in README, not in error.h" % c for c in sorted(set(rows) - enum)]
    problems += ["%d: README %r, --help %r" % (c, rows[c], hcodes[c]) for c in sorted(set(rows) & set(hcodes))
                 if not norm(rows[c]).replace("`", "").startswith(norm(hcodes[c]))]
    rep.check(rows and not problems, "README exit codes vs error.h and --help", "; ".join(problems),
              "%d codes" % len(rows))


# --- JSON: fields documented, fields emitted, examples against real output ---

def man_json_fields(man, code_cmds, scopes_too=False):
    """Field names the man page's JSON OUTPUT documents: every bold
    identifier there (tags and text), less command names, scope names,
    JSON literals and references to sections (all capitals)."""
    bold_at = {".B": None, ".BR": 0, ".BI": 0, ".RB": 1, ".IB": 1}
    scopes = set()
    for t in man.tags("OPTIONS"):
        if t.startswith("--scope"):
            scopes = set(t.split()[1].split("|"))
    words = set()
    for line in man.sections.get("JSON OUTPUT", []):
        name, _, rest = line.partition(" ")
        if name not in bold_at:
            continue
        args = macro_args(rest)
        bold = [" ".join(args)] if bold_at[name] is None else args[bold_at[name]::2]
        for b in bold:
            b = unescape(b).strip()
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", b) and not b.isupper():
                words.add(b)
    # "gc" is a scope and a field: a scope name is not taken to document a
    # field unless SCOPES_TOO.
    return words - set(code_cmds) - (set() if scopes_too else scopes) - {"true", "false", "null"}


def emitted_fields():
    code = ""
    for path in sorted(glob.glob(os.path.join(TOP, "src", "*", "*.c"))):
        code += read(path)
    return set(re.findall(r'json_object_object_add\s*\([^,]+,\s*"([^"]+)"', code))


def check_json_fields(rep, man):
    doc = man_json_fields(man, code_options())
    emitted = emitted_fields()
    gone = sorted(doc - emitted)
    rep.check(doc and not gone, "JSON fields documented are emitted",
              "in the man page's JSON OUTPUT but emitted nowhere in src/: %s" % ", ".join(gone),
              "%d documented" % len(doc))
    undoc = sorted(emitted - man_json_fields(man, code_options(), scopes_too=True))
    rep.check(emitted and not undoc, "JSON fields emitted are documented",
              "emitted by src/ but not in the man page's JSON OUTPUT: %s" % ", ".join(undoc),
              "%d emitted" % len(emitted))


def optional_fields(man):
    """Fields the man page's JSON OUTPUT says are there only sometimes
    ("Present when ...", "... only:"): an example may leave them out."""
    return set(tag for tag, body in man.entries("JSON OUTPUT")
               if re.search(r"^Present when\b|\bonly:", body))


def shape_problems(example, real, path, exact, optional=()):
    """Where EXAMPLE's keys differ from REAL's: exactly (less OPTIONAL keys
    REAL has), or with EXACT false only keys REAL lacks (a jq projection);
    below the top, exact."""
    probs = []
    if isinstance(example, dict):
        if not isinstance(real, dict):
            return ["%s: an object in the example, %s in real output" % (path or ".", type(real).__name__)]
        extra = sorted(set(example) - set(real))
        lacking = sorted(set(real) - set(example) - set(optional)) if exact else []
        if extra:
            probs.append("%s: %s not in real output" % (path or ".", ", ".join(extra)))
        if lacking:
            probs.append("%s: real output also has %s" % (path or ".", ", ".join(lacking)))
        for k in sorted(set(example) & set(real)):
            probs += shape_problems(example[k], real[k], "%s.%s" % (path, k), True, optional)
    elif isinstance(example, list) and isinstance(real, list) and example and real:
        probs += shape_problems(example[0], real[0], path + "[0]", True, optional)
    return probs


def sub_objects(obj):
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            for o in sub_objects(v):
                yield o
    elif isinstance(obj, list) and obj:
        for o in sub_objects(obj[0]):
            yield o


def readme_examples(text):
    """[(command, projected, [json values])] of the README's console
    blocks: the command of the last "$ pycensus" line, projected when the
    last "$" line pipes through jq."""
    out = []
    for block in re.findall(r"^```console\n(.*?)^```", text, re.S | re.M):
        lines = block.splitlines()
        cmds = [i for i, l in enumerate(lines) if l.startswith("$ ")]
        first = next((lines[i] for i in reversed(cmds) if lines[i].startswith("$ pycensus ")), None)
        if not first or not cmds:
            continue
        body = "\n".join(lines[cmds[-1] + 1:]).replace("\u2026", "")
        values, dec, i = [], json.JSONDecoder(), 0
        while i < len(body):
            if body[i] in "{[":
                try:
                    v, j = dec.raw_decode(body, i)
                except ValueError as e:
                    values.append(ValueError("%s: %s" % (e, body[i:i + 60])))
                    break
                values.append(v)
                i = j
            else:
                i += 1
        out.append((first.split()[2], "| jq" in lines[cmds[-1]], values))
    return out


def man_json_example(man):
    lines = man.sections.get("JSON OUTPUT", [])
    try:
        a, b = lines.index(".nf"), lines.index(".fi")
    except ValueError:
        return None
    return json.loads("\n".join(unescape(l) for l in lines[a + 1:b]))


LEAK_TARGET = r"""
import sys, threading, time
class Leak(object):
    pass
leaked = []
def leak():
    while True:
        leaked.append(Leak())
        time.sleep(0.01)
threading.Thread(target=leak, daemon=True).start()
sys.stdout.write("ready\n")
sys.stdout.flush()
time.sleep(600)
"""


def real_outputs(pc, python, tmp):
    """{command: the JSON it printed} from real runs on a leaking target,
    and the target; ({}, None) with a reason in "error" on failure."""
    path = os.path.join(tmp, "leak.py")
    with open(path, "w") as f:
        f.write(LEAK_TARGET)
    target = harness.start([python, "-E", "-s", path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    if harness.read_line(target, 30) != "ready":
        return {"error": "the target did not start"}, None
    pid = str(target.pid)
    outs = {}
    runs = (("snapshot", ["snapshot", "--top", "2", pid]), ("info", ["info", pid]),
            ("watch", ["watch", "--interval", "300ms", "--count", "3", "--growth-rounds", "1", pid]))
    for cmd, argv in runs:
        rc, out, err = run([pc] + argv, timeout=60)
        try:
            outs[cmd] = json.loads(out.strip().splitlines()[-1] if cmd == "watch" else out)
        except (ValueError, IndexError):
            return {"error": "%s: exit %s, %s" % (" ".join(argv), rc, short(err))}, target
    files = []
    for name in ("a.json", "b.json"):
        rc, out, err = run([pc, "snapshot", pid], timeout=60)
        files.append(os.path.join(tmp, name))
        with open(files[-1], "w") as f:
            f.write(out)
        time.sleep(0.3)
    rc, out, err = run([pc, "diff"] + files)
    try:
        outs["diff"] = json.loads(out)
    except ValueError:
        return {"error": "diff: exit %s, %s" % (rc, short(err))}, target
    outs["files"] = files
    return outs, target


def check_examples(rep, man, real):
    """The README's JSON examples and the man page's census example have
    the fields real output has, no more and no fewer."""
    for cmd in ("snapshot", "watch", "diff", "info"):
        real.setdefault(cmd, None)
    opt = optional_fields(man)
    ex = man_json_example(man)
    if ex is None:
        rep.fail("man JSON example", "no .nf/.fi example in JSON OUTPUT")
    else:
        probs = shape_problems(ex, real["snapshot"], "", True, opt)
        rep.check(not probs, "man JSON example vs real snapshot", "; ".join(probs), "same fields")
    text = readme() or ""
    examples = readme_examples(text)
    rep.check(examples, "README examples found", "no ```console block with JSON in README.md",
              "%d console blocks" % len(examples))
    for cmd, projected, values in examples:
        name = "README %s example vs real output" % cmd
        if cmd not in real or real[cmd] is None:
            rep.fail(name, "no real output of %s to compare with" % cmd)
            continue
        if not values:
            rep.fail(name, "no JSON in the example")
            continue
        probs = []
        for v in values:
            if isinstance(v, Exception):
                probs.append("example is not JSON: %s" % v)
            elif not projected:
                probs += shape_problems(v, real[cmd], "", True, opt)
            elif not shape_problems(v, real[cmd], "", False):
                pass                      # a projection of the top level
            else:
                # A projection of a part (.types[]): a whole sub-object.
                if not any(not shape_problems(v, o, "", True, opt) for o in sub_objects(real[cmd])):
                    probs.append("%s matches no object of the real output exactly (top level: %s)" % (
                        short(json.dumps(v), 120), "; ".join(shape_problems(v, real[cmd], "", False))))
        rep.check(not probs, name, "; ".join(probs), "%d value(s) agree" % len(values))


# --- a write that fails ---------------------------------------------------------

def check_write_failures(rep, pc, real, pid, tmp):
    """Every command whose output cannot be written (>/dev/full, an
    --output or --prometheus that fails): one stderr line, exit 1."""
    if not os.path.exists("/dev/full"):
        rep.fail("writes to /dev/full", "no /dev/full on this machine")
        return
    files = real.get("files") or ["/nonexistent-a.json", "/nonexistent-b.json"]
    watch = ["watch", "--interval", "200ms", "--count", "2"]
    cases = [["--help"], ["--version"]] + [[c, "--help"] for c in COMMANDS]
    if pid:
        cases += [["snapshot", pid], ["snapshot", "--format", "table", pid], ["info", pid],
                  ["diff"] + files, ["diff", "--format", "table"] + files,
                  watch + [pid], watch + ["--format", "table", pid],
                  watch + ["--output", "/dev/full", pid],
                  watch + ["--prometheus", os.path.join(tmp, "no-such-dir", "x.prom"), pid],
                  ["dump", pid], ["dump", "--output", os.path.join(tmp, "no-such-dir", "x.heapsnapshot"), pid]]
    else:
        rep.fail("writes to /dev/full with a target", "no target: snapshot, info, diff and watch not checked")
    for argv in cases:
        to_file = "--output" in argv or "--prometheus" in argv
        with open(os.devnull if to_file else "/dev/full", "w") as out:
            try:
                p = subprocess.run([pc] + argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                                   timeout=60, universal_newlines=True)
                rc, err = p.returncode, p.stderr
            except subprocess.TimeoutExpired:
                rc, err = None, "timed out"
        bad = harness.one_line(err)
        name = "write fails: pycensus %s%s" % (" ".join(a if a != pid else "PID" for a in argv),
                                               "" if to_file else " >/dev/full")
        rep.check(rc == harness.EXIT_FAILED and not bad and re.search(r"cannot (write|create)", err), name,
                  "exit %s (want 1); %s" % (rc, bad or short(err)), err.strip())


def check_with_target(rep, pc, man):
    """What needs a real target: the examples and failed writes."""
    pys = harness.by_preference(harness.usable_pythons())
    if not pys:
        rep.fail("real output", "no supported interpreter with debug info (tests/pythons.py): "
                 "the examples and failed writes of snapshot, info, watch and diff are unchecked")
        check_write_failures(rep, pc, {}, None, tempfile.gettempdir())
        return
    tmp = tempfile.mkdtemp(prefix="pycensus-cli-")
    try:
        real, target = real_outputs(pc, pys[0]["path"], tmp)
        print("# real output from %s" % pys[0]["label"], flush=True)
        if "error" in real:
            rep.fail("real output", real["error"])
        else:
            harness.censused(pys[0]["path"])
        if "error" not in real and man:
            check_examples(rep, man, real)
        check_write_failures(rep, pc, real, str(target.pid) if target else None, tmp)
        if target:
            why = harness.still_stopped(target.pid)
            rep.check(why == [], "target left running", "stopped threads %s" % why)
    finally:
        harness.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


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
            if man:
                check_commands(rep, pc, man)
                check_readme_exit_codes(rep, help_exit_codes(help_text))
            check_with_target(rep, pc, man)
        check_install(rep)
        if man:
            check_man_renders(rep)
    except Exception as e:                      # report, and still print the totals
        rep.fail("harness", "%s: %s" % (type(e).__name__, e))
    return rep.summary()


if __name__ == "__main__":
    sys.exit(main())
