"""What a target that computes its own census and then blocks needs so that
an outside reader sees exactly the heap it counted (shared by
census_target.py and app_target.py; 2.7 and 3.x).

  * Executing frames are GC-tracked objects on 2.7/3.6 only: the frames of
    the census's call chain are in gc.get_objects() but die before the
    target blocks, so transient_frames() names them for exclusion.
  * Up to 3.6 os.read takes its arguments as a tuple, alive (and
    GC-tracked) while it blocks; a METH_O call, FileIO.readinto, bound
    beforehand into a buffer made beforehand, holds nothing new.
    blocking_reader() gives that pair there.  The caller must block inline
    (no new frame): chunk = read(fd, n) if readinto is None else
    bytes(buf[:readinto(buf)]).
"""
import io
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
    before 3.7, else (None, None) -- os.read holds nothing tracked there."""
    if sys.version_info[0] == 3 and sys.version_info < (3, 7):
        return io.FileIO(fd, "r", closefd=False).readinto, bytearray(size)
    return None, None
