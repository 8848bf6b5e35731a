#!/usr/bin/env python3
"""tests/test_safety.py's checks on Debian sid's 3.14 and 3.15, which
exist only there (tests/pythons.py finds them through scripts/sid-pythonN;
sid's 3.13 has a pyenv twin that test_safety.py runs): kills,
signals, timeouts, exits, exec, churn, garbage and no-write, as a file of
its own so that each stays within tests/run.py's time limit per file.

    python3 tests/test_safety_sid.py [--pycensus ./pycensus] [--quick] ...

Takes test_safety.py's options; --quick is passed on.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
import test_safety  # noqa: E402

if __name__ == "__main__":
    sys.exit(test_safety.main(["--sid"] + sys.argv[1:]))
