"""The combine of partition copies, and the learning-rate scaling that goes with it."""
import numpy as np
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.params import combine_rows, init_params, touched_rows


def _contributions(rng, base, partitions):
    out = []
    for _ in range(partitions):
        rows = np.sort(rng.choice(base.shape[0], size=base.shape[0] // 2, replace=False))
        out.append((rows, base[rows] + rng.normal(size=(rows.size, base.shape[1])).astype(np.float32)))
    return out


@pytest.mark.parametrize("averaging", ["touched", "mean", "sum"])
def test_combine_matches_the_formula(averaging):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 6)).astype(np.float32)
    contributions = _contributions(rng, base, 3)
    rows, new = combine_rows(base, contributions, 3, averaging)
    total = np.zeros(base.shape)
    count = np.zeros(base.shape[0])
    for r, values in contributions:
        total[r] += values.astype(np.float64) - base[r]
        count[r] += 1
    assert np.array_equal(rows, np.flatnonzero(count))
    divisor = {"touched": count, "mean": np.full(base.shape[0], 3.0), "sum": np.ones(base.shape[0])}[averaging]
    expected = base.astype(np.float64) + total / np.maximum(divisor, 1)[:, None]
    np.testing.assert_allclose(new, expected[rows], rtol=1e-6, atol=1e-6)


def test_a_row_from_one_partition_is_taken_exactly():
    base = np.full((3, 2), 0.1, dtype=np.float32)
    values = np.array([[0.3000001, 1e-9]], dtype=np.float32)
    _, new = combine_rows(base, [(np.array([1]), values)], 4, "touched")
    assert np.array_equal(new, values)


def test_touched_rows_finds_exactly_the_changed_rows():
    base = np.zeros((5, 3), dtype=np.float32)
    local = base.copy()
    local[[1, 4], 2] = 1.0
    assert touched_rows(local, base).tolist() == [1, 4]
    assert touched_rows(np.zeros((0, 3)), np.zeros((0, 3))).size == 0


def test_partition_learning_rate_scaling():
    assert TrainConfig().alpha_factor(8) == 8.0
    assert TrainConfig().alpha_factor(1) == 1.0
    assert TrainConfig(scale_alpha=False).alpha_factor(8) == 1.0
    assert TrainConfig(averaging="sum").alpha_factor(8) == 1.0
    assert TrainConfig(loss="hs").alpha_factor(8) == 1.0
    assert TrainConfig(loss="hs", scale_alpha=True).alpha_factor(8) == 8.0


def test_init_is_seeded_and_in_range():
    config = TrainConfig(vector_size=10, loss="ns+hs")
    a, b = init_params(50, config), init_params(50, config)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.abs(a.syn0).max() < 0.5 / 10 and not a.syn1.any() and not a.syn1neg.any()
    assert a.syn1.shape == (49, 10) and a.syn1neg.shape == (50, 10)
