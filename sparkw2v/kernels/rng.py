"""Explicit, splittable random numbers for the kernels.

The state is one uint64 that the caller derives from `(seed, epoch, round, partition)` with
`derive_seed`; kernels advance it with splitmix64 and never touch numpy's global generator. The same
inputs therefore give bit-identical draws, and a retried Spark task recomputes exactly what it did.
"""
import numpy as np
from numba import njit

from ._cache import CACHE

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def derive_seed(seed: int, *keys: int) -> int:
    """A 64-bit seed for one stream, e.g. `derive_seed(seed, epoch, round, partition)`."""
    state = _mix((seed + _GOLDEN) & _MASK)
    for key in keys:
        state = _mix((state ^ (int(key) & _MASK)) + _GOLDEN & _MASK)
    return state


@njit(inline="always", cache=CACHE)
def next_u64(state):
    """splitmix64: returns (new_state, 64 random bits)."""
    state = state + np.uint64(_GOLDEN)
    z = state
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state, z ^ (z >> np.uint64(31))


@njit(inline="always", cache=CACHE)
def uniform(bits):
    """A float64 in [0, 1) from 64 random bits."""
    return np.int64(bits >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(inline="always", cache=CACHE)
def below(bits, n):
    """An int64 in [0, n) from 64 random bits (n < 2**31, so the modulo bias is below 2**-22)."""
    return np.int64(bits >> np.uint64(11)) % n
