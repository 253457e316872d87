"""Random-draw tables: the negative-sampling noise distribution and subsampling keep-probabilities.

The noise distribution is an alias table (Walker/Vose): two arrays of V entries and O(1) per draw.
word2vec.c's 1e8-entry table would be 400 MB to broadcast; this is 8 bytes per word.
No Spark here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .kernels._cache import CACHE  # compiled once per install, not once per job (about 1 s)


class AliasTable(NamedTuple):
    """Draw `i` uniform in [0, V) and `u` uniform in [0, 1): the sample is `i` if u < prob[i] else alias[i]."""

    prob: np.ndarray   # float64[V]
    alias: np.ndarray  # int32[V]


def noise_distribution(counts: np.ndarray, exponent: float = 0.75) -> np.ndarray:
    """P(w) proportional to count(w) ** exponent, as float64 summing to 1."""
    weights = np.asarray(counts, dtype=np.float64) ** exponent
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        raise ValueError(f"noise distribution is degenerate for ns_exponent={exponent}")
    return weights / total


def build_alias_table(probabilities: np.ndarray) -> AliasTable:
    """Vose's alias method in O(V)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 1 or probabilities.size == 0:
        raise ValueError("build_alias_table needs a non-empty 1-d array")
    if probabilities.size >= 2**31:
        raise ValueError("alias table indices are int32: at most 2**31 - 1 words")
    prob, alias = _vose(probabilities / probabilities.sum())
    return AliasTable(prob, alias)


@njit(cache=CACHE)
def _vose(p):
    n = p.size
    scaled = p * n
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    n_small = 0
    n_large = 0
    for i in range(n):
        if scaled[i] < 1.0:
            small[n_small] = i
            n_small += 1
        else:
            large[n_large] = i
            n_large += 1
    while n_small > 0 and n_large > 0:
        n_small -= 1
        s = small[n_small]
        n_large -= 1
        g = large[n_large]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        if scaled[g] < 1.0:
            small[n_small] = g
            n_small += 1
        else:
            large[n_large] = g
            n_large += 1
    # What is left has probability 1 up to rounding.
    return prob, alias


def keep_probabilities(counts: np.ndarray, sample: float, train_words: int | None = None) -> np.ndarray:
    """word2vec.c's subsampling: keep each occurrence with min(1, (sqrt(f/t) + 1) * t/f).

    `f = count / train_words`, `t = sample`; `sample = 0` keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample == 0:
        return np.ones(counts.size, dtype=np.float32)
    total = float(counts.sum() if train_words is None else train_words)
    freq = counts / total
    keep = (np.sqrt(freq / sample) + 1.0) * sample / freq
    return np.minimum(keep, 1.0).astype(np.float32)
