"""The negative-sampling alias table and the subsampling keep-probabilities."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from sparkw2v.kernels.steps import ns_step
from sparkw2v.sampling import build_alias_table, keep_probabilities, noise_distribution

DRAWS = 1_000_000


def zipf_counts(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = np.maximum(1, (200_000 / np.arange(1, size + 1) ** 1.1).astype(np.int64))
    return rng.permutation(counts)


def exact_alias_distribution(table) -> np.ndarray:
    """The distribution the alias rule draws from, exactly: slot i gives i with prob[i], else alias[i]."""
    prob, alias = np.asarray(table.prob, dtype=np.float64), np.asarray(table.alias)
    size = prob.size
    return (prob + np.bincount(alias, weights=1.0 - prob, minlength=size)) / size


def numpy_alias_draws(table, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    slot = rng.integers(0, table.prob.size, n)
    u = rng.random(n)
    return np.where(u < table.prob[slot], slot, table.alias[slot])


def target_distribution(counts, exponent) -> np.ndarray:
    weights = np.array([float(c) ** exponent for c in counts])  # computed here, not by the package
    return weights / weights.sum()


def test_table_shape_and_ranges():
    counts = zipf_counts(150)
    table = build_alias_table(noise_distribution(counts, 0.75))
    assert table.prob.shape == table.alias.shape == (150,)
    assert table.prob.dtype == np.float64 and table.alias.dtype == np.int32
    assert np.all((table.prob >= 0) & (table.prob <= 1))
    assert np.all((table.alias >= 0) & (table.alias < 150))


@pytest.mark.parametrize("size", [1, 2, 3, 50, 200, 5000])
@pytest.mark.parametrize("exponent", [0.0, 0.5, 0.75, 1.0])
def test_exact_table_distribution_matches_the_target(size, exponent):
    counts = zipf_counts(size, seed=size)
    table = build_alias_table(noise_distribution(counts, exponent))
    np.testing.assert_allclose(exact_alias_distribution(table), target_distribution(counts, exponent),
                               rtol=0, atol=1e-9)


def test_exponent_zero_is_uniform_and_one_is_proportional():
    counts = zipf_counts(100)
    uniform = build_alias_table(noise_distribution(counts, 0.0))
    np.testing.assert_allclose(exact_alias_distribution(uniform), np.full(100, 0.01), rtol=0, atol=1e-9)
    proportional = build_alias_table(noise_distribution(counts, 1.0))
    np.testing.assert_allclose(exact_alias_distribution(proportional), counts / counts.sum(),
                               rtol=0, atol=1e-9)


def test_noise_distribution_sums_to_one_and_rejects_degenerate_input():
    p = noise_distribution(zipf_counts(300), 0.75)
    assert p.dtype == np.float64 and p.sum() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ValueError):
        noise_distribution(np.zeros(4), 0.75)


def test_build_alias_table_normalises_and_rejects_bad_input():
    table = build_alias_table(np.array([2.0, 6.0, 0.0, 2.0]))  # not summing to 1; a zero entry
    np.testing.assert_allclose(exact_alias_distribution(table), [0.2, 0.6, 0.0, 0.2], atol=1e-12)
    with pytest.raises(ValueError):
        build_alias_table(np.array([]))
    with pytest.raises(ValueError):
        build_alias_table(np.ones((2, 2)))


@pytest.mark.parametrize("size", [50, 200])
def test_numpy_alias_draws_pass_chi_square(size):
    counts = zipf_counts(size, seed=3)
    table = build_alias_table(noise_distribution(counts, 0.75))
    drawn = np.bincount(numpy_alias_draws(table, DRAWS, seed=20240), minlength=size)
    expected = DRAWS * target_distribution(counts, 0.75)
    assert expected.min() > 50  # every cell is large enough for the chi-square approximation
    assert chisquare(drawn, expected).pvalue > 1e-3
    # the same draws are clearly not proportional to the raw counts: the test can tell them apart
    wrong = DRAWS * target_distribution(counts, 1.0)
    assert chisquare(drawn, wrong).pvalue < 1e-12


def kernel_negative_counts(table, target: int, negative: int, seed: int) -> np.ndarray:
    """Let ns_step draw `negative` noise words and read back how often it drew each one.

    syn1neg is the identity and x is zero: sigma(0) = 1/2, so with alpha = 2 each negative u adds
    exactly -1 * syn1neg[u] = -e_u to grad and leaves syn1neg unchanged; the target adds +e_target.
    A draw equal to the target is skipped, as in word2vec.c.
    """
    size = table.prob.size
    syn1neg = np.eye(size, dtype=np.float32)
    x = np.zeros(size, dtype=np.float32)
    grad = np.zeros(size, dtype=np.float32)
    loss, state = ns_step(x, target, syn1neg, grad, 2.0, negative, table.prob, table.alias,
                          np.uint64(seed), False)
    assert loss == 0.0 and state != np.uint64(seed)
    np.testing.assert_array_equal(syn1neg, np.eye(size, dtype=np.float32))
    assert grad[target] == 1.0
    drawn = -grad.astype(np.int64)
    drawn[target] = 0
    assert np.all(drawn >= 0)
    return drawn


def test_kernel_negative_draws_pass_chi_square():
    size = 100
    counts = zipf_counts(size, seed=4)
    table = build_alias_table(noise_distribution(counts, 0.75))
    target = int(np.argmax(counts))  # the most frequent word: the skipped draws are the most numerous
    drawn = kernel_negative_counts(table, target, DRAWS, seed=12345)
    p = target_distribution(counts, 0.75)
    skipped = DRAWS - drawn.sum()
    assert skipped == pytest.approx(DRAWS * p[target], rel=0.02)
    others = np.arange(size) != target
    expected = drawn.sum() * p[others] / p[others].sum()
    assert chisquare(drawn[others], expected).pvalue > 1e-3
    wrong = target_distribution(counts, 1.0)[others]
    assert chisquare(drawn[others], drawn.sum() * wrong / wrong.sum()).pvalue < 1e-12


def test_kernel_draws_are_reproducible_from_the_state():
    table = build_alias_table(noise_distribution(zipf_counts(60), 0.75))
    a = kernel_negative_counts(table, 0, 5000, seed=7)
    b = kernel_negative_counts(table, 0, 5000, seed=7)
    c = kernel_negative_counts(table, 0, 5000, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# -- subsampling ----------------------------------------------------------------------------------
def reference_keep(counts, sample, train_words=None):
    """MATH.md: f = count / train_words, keep = min(1, (sqrt(f/t) + 1) * t/f)."""
    total = sum(counts) if train_words is None else train_words
    out = []
    for c in counts:
        f = c / total
        out.append(min(1.0, ((f / sample) ** 0.5 + 1.0) * sample / f))
    return np.array(out)


@pytest.mark.parametrize("sample", [1e-3, 1e-4, 1e-5, 0.05])
def test_keep_probabilities_match_math_md(sample):
    counts = zipf_counts(2000, seed=5).tolist()
    keep = keep_probabilities(np.array(counts), sample)
    assert keep.shape == (2000,)
    np.testing.assert_allclose(keep, reference_keep(counts, sample), rtol=1e-6, atol=0)
    assert np.all((keep > 0) & (keep <= 1))
    # frequent words are dropped more: keep is non-increasing in the count
    order = np.argsort(counts, kind="stable")
    assert np.all(np.diff(keep[order].astype(np.float64)) <= 1e-7)


def test_keep_probabilities_with_explicit_train_words():
    counts = [5000, 800, 60, 5]
    np.testing.assert_allclose(keep_probabilities(np.array(counts), 1e-3, train_words=100_000),
                               reference_keep(counts, 1e-3, 100_000), rtol=1e-6)


def test_keep_probabilities_by_hand():
    # f = 0.1, t = 0.001: (sqrt(100) + 1) * 0.01 = 0.11; f = 0.0001 <= t gives 1.
    counts = np.array([1000, 1, 8999])
    keep = keep_probabilities(counts, 0.001, train_words=10_000)
    assert keep[0] == pytest.approx(0.11, rel=1e-6)
    assert keep[1] == 1.0


def test_sample_zero_keeps_everything():
    keep = keep_probabilities(zipf_counts(500), 0.0)
    assert keep.shape == (500,)
    np.testing.assert_array_equal(keep, np.ones(500))


def test_rare_words_are_always_kept():
    counts = np.array([10_000_000] + [1] * 50 + [100] * 20)
    keep = keep_probabilities(counts, 1e-3)
    assert keep[0] < 0.05
    np.testing.assert_array_equal(keep[1:], 1.0)
