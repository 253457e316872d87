"""Model parameters: initialisation and the averaging of partition copies. numpy only.

`syn0` holds the input vectors (what users get), `syn1` the Huffman inner nodes (HS), `syn1neg` the
output vectors (NS). An unused matrix is kept as a (0, d) array so kernels see one signature.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .config import TrainConfig
from .kernels.rng import derive_seed

_INIT_STREAM = 0x1417  # keeps the init draw apart from the training streams of the same seed


class Params(NamedTuple):
    syn0: np.ndarray
    syn1: np.ndarray
    syn1neg: np.ndarray

    def copy(self) -> "Params":
        return Params(*(m.copy() for m in self))

    def all_finite(self) -> bool:
        return all(bool(np.isfinite(m).all()) for m in self)


def init_params(vocab_size: int, config: TrainConfig) -> Params:
    """syn0 uniform in [-0.5/d, 0.5/d) from the seed; syn1 and syn1neg at zero (word2vec.c)."""
    d = config.vector_size
    rng = np.random.Generator(np.random.PCG64(derive_seed(config.seed, _INIT_STREAM)))
    syn0 = ((rng.random((vocab_size, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d))
    syn1 = np.zeros((max(vocab_size - 1, 1) if config.use_hs else 0, d), dtype=np.float32)
    syn1neg = np.zeros((vocab_size if config.use_ns else 0, d), dtype=np.float32)
    return Params(syn0, syn1, syn1neg)


def touched_rows(local: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Indices of rows a partition changed (a row whose updates cancel exactly counts as untouched)."""
    if local.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((local != base).any(axis=1))


def average_rows(base_rows: np.ndarray, deltas: list[np.ndarray], touch_counts: np.ndarray,
                 partitions: int, averaging: str) -> np.ndarray:
    """New values of some rows from the partitions' deltas, summed in the order given.

    touched: base + sum(deltas) / n_r, n_r the partitions that changed row r (Spark's SPARK-24666).
    mean:    base + sum(deltas) / P.
    Deltas are summed in float64, so P float32 deltas cannot overflow where their mean would not.
    """
    total = np.zeros(base_rows.shape, dtype=np.float64)
    for delta in deltas:
        total += delta
    if averaging == "touched":
        divisor = np.maximum(touch_counts, 1).astype(np.float64)[:, None]
    else:
        divisor = float(partitions)
    return (base_rows + total / divisor).astype(np.float32)
