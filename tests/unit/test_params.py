"""The combine of partition copies, and the learning-rate scaling that goes with it."""
import numpy as np
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.params import Params, RoundUpdate, combine_rows, global_model, init_params, touched_rows


def _contributions(rng, base, partitions):
    out = []
    for _ in range(partitions):
        rows = np.sort(rng.choice(base.shape[0], size=base.shape[0] // 2, replace=False))
        out.append((rows, base[rows] + rng.normal(size=(rows.size, base.shape[1])).astype(np.float32)))
    return out


@pytest.mark.parametrize("averaging", ["touched", "mean", "sum", "scaled"])
def test_combine_matches_the_formula(averaging):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 6)).astype(np.float32)
    contributions = _contributions(rng, base, 3)
    rows, new = combine_rows(base, contributions, 3, averaging, least_divisor=2.0)
    total = np.zeros(base.shape)
    count = np.zeros(base.shape[0])
    for r, values in contributions:
        total[r] += values.astype(np.float64) - base[r]
        count[r] += 1
    assert np.array_equal(rows, np.flatnonzero(count))
    divisor = {"touched": count, "mean": np.full(base.shape[0], 3.0), "sum": np.ones(base.shape[0]),
               "scaled": np.maximum(count, 2.0)}[averaging]
    expected = base.astype(np.float64) + total / np.maximum(divisor, 1)[:, None]
    np.testing.assert_allclose(new, expected[rows], rtol=1e-6, atol=1e-6)


def test_the_most_divisor_speeds_up_shared_rows_within_their_copies_steps():
    """Rows more copies changed than the most divisor are divided by it, their step bounded by the mean length
    of the copies' steps: where the copies agree the bound keeps the mean, where they disagree it does not bind."""
    base = np.zeros((4, 2), dtype=np.float32)
    agree = [(np.array([0, 1, 3]), np.array([[1, 0], [1, 0], [1, 0]], np.float32)) for _ in range(4)]
    disagree = [(np.array([2]), np.array([[1, 0]], np.float32)), (np.array([2]), np.array([[0, 1]], np.float32))] * 2
    rows, new = combine_rows(base, agree[:3] + [(np.array([0, 1]), agree[3][1][:2])] + disagree, 4, "scaled",
                             least_divisor=1.0, most_divisor=2.0)
    assert rows.tolist() == [0, 1, 2, 3]
    np.testing.assert_allclose(new[:2], [[1, 0], [1, 0]])  # sum / 2 = (2, 0), bounded to the steps' length 1
    np.testing.assert_allclose(new[2], [0.5 ** 0.5, 0.5 ** 0.5], rtol=1e-6)  # sum / 2 = (1, 1), bounded to 1
    np.testing.assert_allclose(new[3], [1, 0])  # 3 copies: sum / 2 = (1.5, 0), bounded to 1
    _, unbounded = combine_rows(base, disagree, 4, "scaled", most_divisor=4.0)
    np.testing.assert_allclose(unbounded[0], [0.5, 0.5])  # the plain mean: the bound never binds there
    loose = [(np.array([0]), np.array([[2, 0]], np.float32)), (np.array([0]), np.array([[0, 1]], np.float32))]
    _, new = combine_rows(base, loose, 2, "scaled", most_divisor=1.0)
    np.testing.assert_allclose(new[0], np.array([2, 1]) * 1.5 / 5 ** 0.5, rtol=1e-6)  # the sum, bounded to 1.5

    base = np.full((3, 2), 0.1, dtype=np.float32)
    values = np.array([[0.3000001, 1e-9]], dtype=np.float32)
    _, new = combine_rows(base, [(np.array([1]), values)], 4, "touched")
    assert np.array_equal(new, values)


def test_without_momentum_the_rows_are_written_in_place_and_nothing_else_moves():
    params = Params(np.zeros((3, 2), np.float32), np.zeros((0, 2), np.float32), np.ones((3, 2), np.float32))
    update = RoundUpdate(params, None, 0.0)
    update.rows(2, np.array([1]), np.full((1, 2), 5.0, np.float32))
    assert update.finish() is None
    assert params.syn1neg[:, 0].tolist() == [1.0, 5.0, 1.0] and not params.syn0.any()


def test_touched_rows_finds_exactly_the_changed_rows():
    base = np.zeros((5, 3), dtype=np.float32)
    local = base.copy()
    local[[1, 4], 2] = 1.0
    assert touched_rows(local, base).tolist() == [1, 4]
    assert touched_rows(np.zeros((0, 3)), np.zeros((0, 3))).size == 0


def test_partition_learning_rate_scaling():
    touched = TrainConfig(averaging="touched")
    assert touched.alpha_factor(8) == 8.0
    assert touched.alpha_factor(1) == 1.0
    assert touched.replace(scale_alpha=False).alpha_factor(8) == 1.0
    assert TrainConfig(averaging="sum").alpha_factor(8) == 1.0
    assert touched.replace(loss="hs").alpha_factor(8) == 1.0
    assert touched.replace(loss="hs", scale_alpha=True).alpha_factor(8) == 8.0
    assert touched.block_momentum_for(8) == 0.0


@pytest.mark.parametrize("loss, copies, factor, momentum, divisor", [
    ("ns", 1, 1.0, 0.0, 1.0), ("ns", 8, 8.0, 0.0, 1.0), ("ns", 32, 8.0, 0.75, 4.0), ("ns", 64, 8.0, 0.75, 4.0),
    ("hs", 1, 1.0, 0.0, 1.0), ("hs", 2, 2.0, 0.0, 2.0), ("hs", 4, 2.0, 0.5, 4.0), ("hs", 8, 2.0, 0.5, 4.0),
    ("hs", 16, 4.0, 0.5, 8.0), ("hs", 32, 32 ** 0.5, 0.5, 2 * 32 ** 0.5), ("hs", 64, 32 ** 0.5, 0.5, 2 * 32 ** 0.5),
    ("hs", 256, 32 ** 0.5, 0.5, 2 * 32 ** 0.5)])
def test_scaled_rule_makes_up_the_copies(loss, copies, factor, momentum, divisor):
    """Skip-gram (alpha 0.025): the copies' rate reaches 0.2 with NS (x8); with HS and Nesterov's look-ahead
    it is raised by a quarter of the copies up to 16 and by their square root beyond, from x2 up to x5.66 (sqrt 32).
    CBOW (alpha 0.05) stays at x4 (NS) and x2 (HS: 0.1). The momentum's gain 1 / (1 - momentum),
    at most 4 (NS) or, with the look-ahead, 2 (HS), makes up the rest. HS divides a row by factor x gain (the
    plain mean where that reaches the copies), NS by the gain only (a per-row mean without momentum)."""
    config = TrainConfig(loss=loss)
    assert config.averaging == "scaled"
    assert config.alpha_factor(copies) == factor
    assert config.block_momentum_for(copies) == pytest.approx(momentum)
    assert config.combine_divisor(copies) == pytest.approx(divisor)
    made_up = min(copies, factor / (1 - momentum))  # the largest divisor at full pace: NS from 33 copies, HS from 5
    assert config.most_divisor(copies) == pytest.approx(made_up)
    assert config.most_divisor(copies, matrix=0) == copies  # the input vectors keep the copies' mean
    assert config.full_pace_bound() == (1.0 if loss == "hs" else 1.25)
    assert config.replace(full_pace=False).most_divisor(copies) == copies
    assert config.replace(architecture="cbow").most_divisor(copies) == copies
    assert config.syncs_for(copies) == (1 if copies == 1 else 16)
    assert TrainConfig(architecture="cbow", loss=loss).alpha_factor(copies) == min(copies, {"ns": 4, "hs": 2}[loss])
    old_rule = config.replace(nesterov=False)  # HS copies at x4 (0.1) from 4 copies on, momentum up to 0.75
    assert old_rule.alpha_factor(copies) == min(copies, {"ns": 8, "hs": 4}[loss])
    assert old_rule.block_momentum_for(copies) == pytest.approx(
        min(0.75, 1 - old_rule.alpha_factor(copies) / copies) if copies > 1 else 0.0)


def test_block_momentum_accumulates_a_steady_drift_and_damps_a_settled_row():
    momentum = 0.75
    params = Params(np.zeros((2, 1), np.float32), np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32))
    velocity = None
    for _ in range(60):  # row 0 drifts by 0.01 per sync; row 1 is pulled to 1.0 in each sync
        before = float(params.syn0[0, 0])
        combined = params.syn0 + np.array([[0.01], [0.0]], np.float32)
        combined[1] = 1.0
        update = RoundUpdate(params, velocity, momentum)
        update.rows(0, np.array([0, 1]), combined)
        velocity = update.finish()
    drift = float(params.syn0[0, 0]) - before
    assert drift == pytest.approx(0.01 / (1 - momentum), rel=1e-3)
    assert params.syn0[1, 0] == pytest.approx(1.0, abs=1e-4)


def test_nesterov_keeps_the_look_ahead_and_recovers_the_global_model():
    """Against BMUF written out with a separate global model W: v' = m v + (combined - P), W' = W + v',
    P' = W' + m v'. Row 2 is in no copy's block, so finish() moves it."""
    momentum = 0.5
    rng = np.random.default_rng(3)
    shape = (3, 2)
    look_ahead = Params(rng.random(shape, dtype=np.float32), np.zeros((0, 2), np.float32),
                        np.zeros((0, 2), np.float32))
    global_w, speed = look_ahead.syn0.astype(np.float64), np.zeros(shape)
    velocity = None
    for _ in range(5):
        combined = look_ahead.syn0[:2] + rng.normal(0, 0.1, (2, 2)).astype(np.float32)
        step = np.zeros(shape)
        step[:2] = combined - look_ahead.syn0[:2]
        update = RoundUpdate(look_ahead, velocity, momentum, nesterov=True)
        update.rows(0, np.array([0, 1]), combined)
        velocity = update.finish()
        speed = momentum * speed + step
        global_w = global_w + speed
        np.testing.assert_allclose(look_ahead.syn0, global_w + momentum * speed, atol=1e-5)
        np.testing.assert_allclose(velocity.syn0, speed, atol=1e-5)
    assert not np.allclose(look_ahead.syn0, global_w, atol=1e-3)
    np.testing.assert_allclose(global_model(look_ahead, velocity, momentum).syn0, global_w, atol=1e-5)


def test_nesterov_without_momentum_is_the_plain_update():
    params = Params(np.ones((2, 1), np.float32), np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32))
    update = RoundUpdate(params, None, 0.0, nesterov=True)
    update.rows(0, np.array([1]), np.array([[3.0]], np.float32))
    assert update.finish() is None
    assert params.syn0.tolist() == [[1.0], [3.0]]
    assert global_model(params, None, 0.0) is params


def test_init_is_seeded_and_in_range():
    config = TrainConfig(vector_size=10, loss="ns+hs")
    a, b = init_params(50, config), init_params(50, config)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert np.abs(a.syn0).max() < 0.5 / 10 and not a.syn1.any() and not a.syn1neg.any()
    assert a.syn1.shape == (49, 10) and a.syn1neg.shape == (50, 10)
