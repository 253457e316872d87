"""Whether Numba may cache compiled kernels on disk, and where.

`cache=True` fails on a read-only install (a packed executor environment, a system site-packages) unless
NUMBA_CACHE_DIR points somewhere writable. We cache only where it can work.

Numba keys a cached function by its own source file only. `_train` (models.py) is compiled together with
the steps it calls (steps.py), so after an edit of steps.py alone it would load from the cache with the old
steps: a stale kernel that even the tests would not notice. The kernels therefore cache in a folder named
by a digest of every kernel source. The driver's table builders (sampling.py, huffman.py, warmstart.py)
call nothing outside their own file, so Numba's per-file key suffices for them.
"""
import contextlib
import glob
import hashlib
import os

import numba

_here = os.path.dirname(os.path.abspath(__file__))
CACHE = bool(os.environ.get("NUMBA_CACHE_DIR")) or os.access(_here, os.W_OK)


@contextlib.contextmanager
def versioned_cache_dir():
    """Numba functions decorated inside this block cache under a folder for this version of the kernels."""
    if not CACHE:
        yield
        return
    digest = hashlib.sha1()
    for path in sorted(glob.glob(os.path.join(_here, "*.py"))):
        with open(path, "rb") as handle:
            digest.update(handle.read())
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(_here, "__pycache__")
    previous = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = os.path.join(base, f"sparkw2v-kernels-{digest.hexdigest()[:16]}")
    try:
        yield
    finally:
        numba.config.CACHE_DIR = previous
