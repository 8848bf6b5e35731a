"""What a target that computes its own census and then blocks needs so that
an outside reader sees exactly the heap it counted (shared by
census_target.py and app_target.py; 2.7 and 3.x).

  * Executing frames are GC-tracked objects on 2.7/3.6 only: the frames of
    the census's call chain are in gc.get_objects() but die before the
    target blocks, so transient_frames() names them for exclusion.
  * Up to 3.6 os.read takes its arguments as a tuple, alive (and
    GC-tracked) while it blocks; a METH_O call, FileIO.readinto, bound
    beforehand into a buffer made beforehand, holds nothing new.
    blocking_reader() gives that pair there (on 2.7 a partial).
"""
import functools
import io
import os
import sys

# sys._getframe() is harmless up to 3.10 and materialises a frame on 3.11+.
FRAMES_ARE_OBJECTS = sys.version_info < (3, 11)


def transient_frames(stop_code):
    """ids of the frames between the one running STOP_CODE (exclusive) and
    our caller (inclusive)."""
    if not FRAMES_ARE_OBJECTS:
        return set()
    ids = set()
    f = sys._getframe(1)
    while f is not None and f.f_code is not stop_code:
        ids.add(id(f))
        f = f.f_back
    return ids


def blocking_reader(fd, size=4096):
    """(readinto, buf): FileIO(FD).readinto and a bytearray of SIZE on 3.x
    before 3.7; on 2.7 (whose os.read is METH_VARARGS too) a partial of
    os.read called with no arguments, which passes its own existing args
    tuple on, and no buffer; else (None, None) -- os.read holds nothing
    tracked there.  The caller keeps it alive and blocks inline:
    chunk = (read(fd, n) if readinto is None else readinto() if buf is None
             else bytes(buf[:readinto(buf)]))."""
    if sys.version_info[0] == 2:
        return functools.partial(os.read, fd, size), None
    if sys.version_info < (3, 7):
        return io.FileIO(fd, "r", closefd=False).readinto, bytearray(size)
    return None, None
