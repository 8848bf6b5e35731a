#!/usr/bin/env python3
"""tests/test_stripped.py's checks on Debian sid's interpreters (3.13, 3.14
and 3.15 from scripts/sid-root): their nosyms copies through
scripts/sid-pythonN, and --strip-all copies censused in a container with the
root's /usr/lib/debug hidden, as a file of its own so that each stays within
tests/run.py's time limit per file.

    python3 tests/test_stripped_sid.py [--pycensus ./pycensus] [--quick] ...

Takes test_stripped.py's options.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import test_stripped  # noqa: E402

if __name__ == "__main__":
    sys.exit(test_stripped.main(["--part", "sid"] + sys.argv[1:]))
