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


def combine_rows(base: np.ndarray, contributions: list[tuple[np.ndarray, np.ndarray]],
                 partitions: int, averaging: str, least_divisor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Average the partitions' new values of some rows into one global copy of those rows.

    `contributions` holds, per partition and in partition order, `(rows, values)`: the rows it
    touched and their new values. Returns `(rows, new_values)` for every row anyone touched.

    scaled:  base + sum_p (local_p - base) / max(n_r, least_divisor), n_r the copies that changed row r
             and `least_divisor` TrainConfig.combine_divisor (at most the number of copies, where
             this is their plain mean; at 1, the touched mean).
    touched: base + sum_p (local_p - base) / n_r (SPARK-24666).
    mean:    base + sum_p (local_p - base) / P.
    sum:     base + sum_p (local_p - base): each update counts in full, as if the partitions had run
             one after another on stale copies (Hogwild-like). Averaging divides a shared row's
             progress by the partitions that touched it; summing does not, but can overshoot.
    Sums run in float64 in partition order, so the result never overflows and is the same whatever
    order Spark delivered the contributions in. A row with divisor 1 takes the partition's value
    exactly, which makes a 1-partition run bit-identical to the single-process trainer.
    """
    size = base.shape[1]
    union = np.unique(np.concatenate([rows for rows, _ in contributions])) if contributions else \
        np.zeros(0, dtype=np.int64)
    total = np.zeros((union.size, size), dtype=np.float64)
    count = np.zeros(union.size, dtype=np.int64)
    last = np.zeros((union.size, size), dtype=np.float32)
    base_rows = base[union].astype(np.float64)
    for rows, values in contributions:
        at = np.searchsorted(union, rows)
        total[at] += values.astype(np.float64) - base_rows[at]
        count[at] += 1
        last[at] = values
    if averaging == "scaled":
        divisor = np.maximum(count, least_divisor)
    elif averaging == "touched":
        divisor = count
    elif averaging == "mean":
        divisor = np.full(union.size, partitions)
    else:  # "sum": every partition's update applied in full
        divisor = np.ones(union.size, dtype=np.int64)
    new = (base_rows + total / np.maximum(divisor, 1.0)[:, None]).astype(np.float32)
    exact = (divisor == 1) & (count == 1)
    new[exact] = last[exact]
    return union, new


def apply_block_momentum(previous: Params, combined: Params, velocity: Params | None,
                         momentum: float) -> tuple[Params, Params]:
    """Block momentum (BMUF, Chen & Huo 2016) on the combined copies; returns (next params, velocity).

    velocity = momentum * velocity + (combined - previous); next = previous + velocity. The copies'
    shared drift accumulates to 1 / (1 - momentum) times a sync's step, while a row that each copy
    settled to its optimum within the sync is only carried on by the decaying velocity (heavy-ball,
    stable where extrapolating the step would overshoot). `combined` and `velocity` are reused.
    """
    if velocity is None:
        velocity = Params(*(np.zeros_like(m) for m in previous))
    momentum32 = np.float32(momentum)
    for old, new, speed in zip(previous, combined, velocity):
        speed *= momentum32
        speed += new - old
        np.add(old, speed, out=new)
    return combined, velocity
