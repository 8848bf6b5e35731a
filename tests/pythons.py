"""Find the CPython interpreters the tests run against.

    discover() -> [{"label", "path", "version", "full_version", "elf",
                    "supported", "skip_reason"}, ...]

Sources, in order: $PYCENSUS_TEST_PYTHONS (colon-separated paths; replaces
discovery), else every $PYENV_ROOT/versions/*/bin/python (PYENV_ROOT defaults
to /root/.pyenv), every /usr/bin/python3.N, and Debian sid's python3.N from
the root scripts/sid-root builds, run through scripts/sid-pythonN (a chroot
in a mount namespace of its own: the same PID as on the host, the host's
/tmp and this repository at their paths, so every test file starts it like
any other interpreter).  Their "elf" and debug information are looked up
inside the root ("root" names it).  The root is not built here (that takes
minutes): tests/run.py and tests/test_container.py build it; without it,
or without root privileges, sid's interpreters are listed with a
skip_reason.  A free-threaded CPython 3.14 that scripts/ft-python built
(never built here either: minutes) is listed when present, as "ft-3.14" and
its --strip-all copy "ft-3.14-stripped".

"free_threaded" is true for a --disable-gil build (Py_GIL_DISABLED): such a
build is not supported (pycensus refuses it, exit 4), whatever its version.
"supported" means pycensus is expected to read the version (2.7, 3.6-3.15).
"skip_reason" is set when the census checks cannot run: an unsupported
version, or no debug information for the ELF file holding the runtime (a
stripped distribution build whose -dbg package is not installed).

Run it directly to print the table.
"""

import glob
import os
import re
import subprocess
import sys

SUPPORTED_MIN = (2, 7)
SUPPORTED_MAX = (3, 15)   # inclusive, by minor version
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SID_VERSIONS = ("3.13", "3.14", "3.15")    # the root's interpreters (scripts/sid-root)
SID_WRAPPER = re.compile(r"/sid-python(3\.\d+)$")
FT_EXE = "python3.14t"          # scripts/ft-python's interpreter

# Works on 2.7 as well as 3.x.
_VERSION_SNIPPET = ("import sys, sysconfig; "
                    "print('%d %d %d ' % sys.version_info[:3] + sys.version.split()[0] + "
                    "' %d' % bool(sysconfig.get_config_var('Py_GIL_DISABLED')))")


def _ask_version(path):
    """(major, minor, micro), "3.11.2", free-threaded? as the interpreter
    reports them."""
    out = subprocess.run([path, "-E", "-s", "-c", _VERSION_SNIPPET],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         timeout=30, check=True, universal_newlines=True).stdout
    parts = out.split()
    return tuple(int(p) for p in parts[:3]), parts[3], parts[4] == "1"


def _label(path, version):
    ver = "%d.%d.%d" % version
    real = os.path.realpath(path)
    m = re.search(r"/versions/([^/]+)/bin/", real)
    if m:
        return "pyenv-" + m.group(1)
    if re.match(r"^/usr/bin/python\d\.\d+$", path):
        return "debian-%d.%d" % version[:2]
    if SID_WRAPPER.search(real):
        return "sid-%d.%d" % version[:2]
    if real.startswith(ft_dir() + "/"):
        return "ft-%d.%d" % version[:2] + ("-stripped" if "/stripped/" in real else "")
    return "python-%s" % ver


def libpython(path):
    """The shared libpython the interpreter loads, or None if it is static."""
    try:
        out = subprocess.run(["ldd", path], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        m = re.match(r"\s*(libpython\S+)\s+=>\s+(\S+)", line)
        if m and os.path.exists(m.group(2)):
            return m.group(2)
    return None


def build_id(elf):
    """GNU build id of an ELF file (hex string) or None."""
    try:
        out = subprocess.run(["readelf", "-n", elf], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"Build ID:\s*([0-9a-fA-F]+)", out)
    return m.group(1).lower() if m else None


def has_debug_info(elf):
    try:
        out = subprocess.run(["readelf", "-S", "-W", elf], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30,
                             universal_newlines=True).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return ".debug_info" in out


def sid_root():
    return os.environ.get("PYCENSUS_SID_ROOT") or "/var/cache/pycensus/sid-root"


def sid_problem():
    """None if scripts/sid-pythonN can run here, else why not."""
    if os.geteuid() != 0:
        return "sid's interpreters need root (a mount namespace and chroot)"
    if not os.path.exists(os.path.join(sid_root(), ".pycensus-sid-root")):
        return "the sid root %s is not built (scripts/sid-root)" % sid_root()
    return None


def ft_dir():
    """Where scripts/ft-python puts its free-threaded build."""
    return os.path.realpath(os.environ.get("PYCENSUS_FT_PYTHON") or "/var/cache/pycensus/ft-3.14")


def ft_pythons():
    """The free-threaded build and its stripped copy, [] if not built."""
    d = ft_dir()
    if not os.path.exists(os.path.join(d, ".pycensus-ft-python")):
        return []
    return [p for p in (os.path.join(d, "bin", FT_EXE), os.path.join(d, "stripped", FT_EXE))
            if os.path.exists(p)]


def debuginfo_problem(elf, root=""):
    """None if DWARF for ELF can be found (in the file itself or under
    ROOT's /usr/lib/debug/.build-id), else a sentence saying what is missing."""
    if has_debug_info(elf):
        return None
    bid = build_id(elf)
    if bid is None:
        return "%s has no debug info and no build id" % elf
    debug = "%s/usr/lib/debug/.build-id/%s/%s.debug" % (root, bid[:2], bid[2:])
    if os.path.exists(debug):
        return None
    m = re.match(r"^/usr/bin/(python\d\.\d+)$", elf[len(root):])
    package = m.group(1) + "-dbg" if m else "the -dbg package"
    return "no debug info: %s is stripped and %s is missing (install %s)" % (
        elf, debug, package)


def describe(path):
    """One interpreter's dict (see module doc)."""
    entry = {"label": None, "path": path, "version": None, "full_version": None,
             "elf": None, "supported": False, "skip_reason": None, "root": None,
             "free_threaded": False}
    sid = SID_WRAPPER.search(os.path.realpath(path))
    if sid:
        entry["root"] = sid_root()
        why = sid_problem()
        if why:
            entry["label"] = "sid-" + sid.group(1)
            entry["skip_reason"] = why
            return entry
    try:
        version, full, ft = _ask_version(path)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        entry["label"] = "python-" + os.path.basename(path)
        entry["skip_reason"] = "cannot run %s: %s" % (path, e)
        return entry
    entry["version"] = version
    entry["full_version"] = full
    entry["label"] = _label(path, version)
    if sid:
        # Debian's python3.N is a static build (no libpython loaded).
        entry["elf"] = os.path.join(entry["root"], "usr/bin/python" + sid.group(1))
    else:
        entry["elf"] = libpython(path) or os.path.realpath(path)
    entry["free_threaded"] = ft
    entry["supported"] = SUPPORTED_MIN <= version[:2] <= SUPPORTED_MAX and not ft
    if ft:
        entry["skip_reason"] = ("free-threaded build %s (Py_GIL_DISABLED): pycensus refuses it, "
                                "exit 4 (tests/test_freethreaded.py)" % full)
    elif not entry["supported"]:
        entry["skip_reason"] = "unsupported version %s (pycensus reads %d.%d-%d.%d)" % (
            full, SUPPORTED_MIN[0], SUPPORTED_MIN[1], SUPPORTED_MAX[0], SUPPORTED_MAX[1])
    else:
        entry["skip_reason"] = debuginfo_problem(entry["elf"], entry["root"] or "")
    return entry


def _candidates():
    env = os.environ.get("PYCENSUS_TEST_PYTHONS")
    if env:
        return [p for p in env.split(":") if p]
    root = os.environ.get("PYENV_ROOT") or "/root/.pyenv"
    paths = sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python")))
    # Distribution builds: python3.11, not python3.11d / python3.11-dbg.
    paths += sorted(p for p in glob.glob("/usr/bin/python3.*")
                    if re.match(r"^/usr/bin/python3\.\d+$", p))
    paths += [os.path.join(TOP, "scripts", "sid-python" + v) for v in SID_VERSIONS]
    paths += ft_pythons()
    return paths


def discover():
    entries = [describe(p) for p in _candidates()]
    entries.sort(key=lambda e: (e["version"] or (0,), e["label"]))
    return entries


if __name__ == "__main__":
    for e in discover():
        print("%-18s %-45s %-8s supported=%-5s %s" % (
            e["label"], e["path"], e["full_version"], e["supported"],
            e["skip_reason"] or ""))
    sys.exit(0)
