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


def mean_rows(contributions: list[tuple[np.ndarray, np.ndarray]], base: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The reducer's half of the combine: for every row any copy changed, how many did and their mean value.

    `contributions` holds, per copy and in copy order, `(rows, values)`: the rows it changed and their
    new values. Returns `(rows, counts, means, lengths)`. Sums run in float64 in copy order, so the result is
    the same whatever order Spark delivered the contributions in, and a row from one copy keeps its value
    exactly. With `base` (the matrix the copies started from), `lengths` holds the mean length of the copies'
    steps on each row, which bounds a faster combined step (combined_values); None otherwise. The driver,
    which has the base values, finishes the combine.
    """
    union = np.unique(np.concatenate([rows for rows, _ in contributions]))
    total = np.zeros((union.size, contributions[0][1].shape[1]), dtype=np.float64)
    count = np.zeros(union.size, dtype=np.int64)
    lengths = None if base is None else np.zeros(union.size, dtype=np.float64)
    for rows, values in contributions:
        at = np.searchsorted(union, rows)
        total[at] += values
        count[at] += 1
        if base is not None:
            step = values.astype(np.float64) - base[rows]
            lengths[at] += np.sqrt(np.einsum("ij,ij->i", step, step))
    if lengths is not None:
        lengths = (lengths / count).astype(np.float32)
    return union, count, (total / count[:, None]).astype(np.float32), lengths


def combined_values(base_rows: np.ndarray, counts: np.ndarray, means: np.ndarray, copies: int, averaging: str,
                    least_divisor: float = 1.0, most_divisor: float | None = None,
                    lengths: np.ndarray | None = None) -> np.ndarray:
    """The driver's half: the new global values of rows that `counts` copies changed to `means` on average.

    scaled:  base + sum_p (local_p - base) / min(max(n_r, least_divisor), most_divisor), n_r the copies that
             changed row r, `least_divisor` TrainConfig.combine_divisor and `most_divisor`
             TrainConfig.most_divisor (both at most the number of copies; at least_divisor = most_divisor =
             copies this is their plain mean, at 1 and copies the touched mean). A row that more than
             `most_divisor` copies changed takes a step longer than their mean, which is bounded by
             `lengths`: the mean length of its copies' steps (mean_rows) times TrainConfig.full_pace_bound.
             Where the copies agree, that bound holds the step back; where they disagree, their sum divided
             by fewer copies is still shorter (README, "Many copies").
    touched: base + sum_p (local_p - base) / n_r (SPARK-24666).
    mean:    base + sum_p (local_p - base) / P.
    sum:     base + sum_p (local_p - base): each update counts in full, as if the partitions had run
             one after another on stale copies (Hogwild-like). Averaging divides a shared row's
             progress by the partitions that touched it; summing does not, but can overshoot.
    sum_p (local_p - base) is n_r * (mean - base). A row with divisor 1 from one copy takes that copy's
    value exactly, which makes a 1-partition run bit-identical to the single-process trainer.
    """
    if averaging == "scaled":
        divisor = np.maximum(np.minimum(counts, copies if most_divisor is None else most_divisor), least_divisor)
    elif averaging == "touched":
        divisor = counts
    elif averaging == "mean":
        divisor = np.full(counts.size, copies)
    else:  # "sum": every partition's update applied in full
        divisor = np.ones(counts.size, dtype=np.int64)
    base = base_rows.astype(np.float64)
    step = (counts / np.maximum(divisor, 1.0))[:, None] * (means - base)
    if lengths is not None and averaging == "scaled":
        faster = np.flatnonzero(divisor < counts)  # only a step past the copies' mean can outrun their steps
        step[faster] = bounded_steps(step[faster], lengths[faster])
    new = (base + step).astype(np.float32)
    exact = (divisor == 1) & (counts == 1)
    new[exact] = means[exact]
    return new


def bounded_steps(steps: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`steps` (float64 rows), each longer than its entry of `lengths` shortened to it, in place."""
    length = np.sqrt(np.einsum("ij,ij->i", steps, steps))
    steps *= np.minimum(1.0, lengths / np.maximum(length, 1e-30))[:, None]
    return steps


def combine_rows(base: np.ndarray, contributions: list[tuple[np.ndarray, np.ndarray]], partitions: int,
                 averaging: str, least_divisor: float = 1.0, most_divisor: float | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Both halves in one place, for the tests: `(rows, new values)` of every row a copy changed."""
    rows, counts, means, lengths = mean_rows(contributions, base if most_divisor is not None else None)
    return rows, combined_values(base[rows], counts, means, partitions, averaging, least_divisor, most_divisor,
                                 lengths)


class RoundUpdate:
    """Applies a round's combined rows to the global parameters in place, block by block as they arrive,
    with block momentum where it is on, so the driver never holds a second copy of the model.

    Block momentum (BMUF, Chen & Huo 2016): velocity = momentum * velocity + (combined - previous);
    global = previous global + velocity. The copies' shared drift accumulates to 1 / (1 - momentum) times
    a sync's step, while a row that each copy settled to its optimum within the sync is only carried on by
    the decaying velocity (heavy-ball, stable where extrapolating the step would overshoot).

    With `nesterov` (CNTK's BMUF default), the copies start each round from the look-ahead
    global + momentum * velocity instead of the global model itself, so they train where the momentum is
    taking the model anyway. `params` then holds that look-ahead, which is what the next round broadcasts;
    the global model is recovered as params - momentum * velocity (global_model) when training ends, so the
    driver still keeps one copy and a velocity. With a look-ahead P, a round's step G = combined - P gives
    velocity' = m * velocity + G and P' = P - m * velocity + (1 + m) * velocity' = P + m * velocity' + G.
    """

    def __init__(self, params: Params, velocity: Params | None, momentum: float, nesterov: bool = False):
        self.params, self.momentum = params, momentum
        self.nesterov = nesterov and momentum > 0
        self.velocity = velocity
        if momentum > 0:
            if self.velocity is None:
                self.velocity = Params(*(np.zeros_like(m) for m in params))
            for speed in self.velocity:
                speed *= np.float32(momentum)
        # Nesterov moves a row as its block arrives; finish() moves the rows no copy changed.
        self.idle = [np.ones(m.shape[0], dtype=bool) for m in params] if self.nesterov else None

    def rows(self, matrix: int, rows: np.ndarray | slice, new_values: np.ndarray) -> None:
        """Each row at most once per round: `new_values` are computed from the round's starting values."""
        if self.nesterov:
            step = new_values - self.params[matrix][rows]
            speed = self.velocity[matrix][rows] + step
            self.velocity[matrix][rows] = speed
            self.params[matrix][rows] += np.float32(self.momentum) * speed + step
            self.idle[matrix][rows] = False
        elif self.momentum > 0:
            self.velocity[matrix][rows] += new_values - self.params[matrix][rows]
        else:
            self.params[matrix][rows] = new_values

    def finish(self) -> Params | None:
        """Apply the velocity; returns it (None without momentum)."""
        if self.nesterov:
            for values, speed, idle in zip(self.params, self.velocity, self.idle):
                for block in _row_blocks(values):
                    values[block][idle[block]] += np.float32(self.momentum) * speed[block][idle[block]]
        elif self.momentum > 0:
            for values, speed in zip(self.params, self.velocity):
                values += speed
        return self.velocity


def global_model(look_ahead: Params, velocity: Params | None, momentum: float) -> Params:
    """The global model behind a Nesterov look-ahead (RoundUpdate): look_ahead - momentum * velocity, in place."""
    if velocity is not None and momentum > 0:
        for values, speed in zip(look_ahead, velocity):
            for block in _row_blocks(values):
                values[block] -= np.float32(momentum) * speed[block]
    return look_ahead


def _row_blocks(matrix: np.ndarray, rows: int = 65_536):
    """Row slices of a matrix, so that arithmetic on it needs temporaries of one block, not of the matrix."""
    return [slice(start, start + rows) for start in range(0, matrix.shape[0], rows)]
