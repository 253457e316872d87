"""Whether Numba may cache compiled kernels on disk.

`cache=True` fails on a read-only install (a packed executor environment, a system site-packages) unless
NUMBA_CACHE_DIR points somewhere writable. We cache only where it can work.
"""
import os

_here = os.path.dirname(os.path.abspath(__file__))
CACHE = bool(os.environ.get("NUMBA_CACHE_DIR")) or os.access(_here, os.W_OK)
