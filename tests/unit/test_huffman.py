"""The Huffman tree of hierarchical softmax, checked against properties and an independent heapq build."""
from __future__ import annotations

import heapq
import itertools

import numpy as np
import pytest

from sparkw2v.huffman import CodeLengthError, build_huffman


def reference_cost(counts) -> int:
    """sum(count * code length) of an optimal prefix code, by the textbook heapq construction."""
    counts = [int(c) for c in counts]
    if len(counts) == 1:
        return 0
    heap = list(counts)
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        joined = heapq.heappop(heap) + heapq.heappop(heap)
        cost += joined  # every merge adds one bit to every word below it
        heapq.heappush(heap, joined)
    return cost


def word_codes(tree) -> list[str]:
    return ["".join(map(str, tree.codes[tree.offsets[w]:tree.offsets[w + 1]]))
            for w in range(tree.offsets.size - 1)]


def word_points(tree) -> list[list[int]]:
    return [tree.points[tree.offsets[w]:tree.offsets[w + 1]].tolist()
            for w in range(tree.offsets.size - 1)]


def make_counts(kind: str, size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "uniform":
        return rng.integers(1, 1_000_000, size)
    if kind == "distinct":
        return rng.choice(10_000_000, size, replace=False) + 1
    if kind == "ties":  # few distinct values: many equal counts
        return rng.integers(1, 4, size)
    if kind == "equal":
        return np.full(size, 7)
    if kind == "zipf":  # count ~ C / rank, shuffled, with the long tail of ties a real corpus has
        counts = np.maximum(1, (5_000_000 / np.arange(1, size + 1)).astype(np.int64))
        return rng.permutation(counts)
    if kind == "powers":  # the deepest trees: each count about the sum of all smaller ones
        return rng.permutation(np.array([2 ** min(k, 40) for k in range(size)], dtype=np.int64))
    raise AssertionError(kind)


CASES = [(kind, size, seed)
         for size in (1, 2, 3, 10, 1000, 20000)
         for kind in ("uniform", "distinct", "ties", "zipf", "equal")
         for seed in ((0, 1, 2) if size <= 1000 else (0,))]
CASES += [("powers", size, 0) for size in (2, 3, 10, 40)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[0]}-{c[1]}-seed{c[2]}")
def built(request):
    kind, size, seed = request.param
    counts = make_counts(kind, size, seed)
    return counts, build_huffman(counts)


def test_array_shapes(built):
    counts, tree = built
    size = counts.size
    assert tree.offsets.shape == (size + 1,)
    assert tree.offsets[0] == 0
    assert np.all(np.diff(tree.offsets) >= 0)
    assert tree.codes.shape == tree.points.shape == (tree.offsets[-1],)
    assert set(np.unique(tree.codes).tolist()) <= {0, 1}
    np.testing.assert_array_equal(tree.lengths, np.diff(tree.offsets))
    if size >= 2:
        assert tree.lengths.min() >= 1


def test_codes_are_prefix_free(built):
    counts, tree = built
    codes = word_codes(tree)
    if counts.size == 1:
        assert codes == [""]
        return
    ordered = sorted(codes)
    for a, b in itertools.pairwise(ordered):
        assert not b.startswith(a), (a, b)  # also rules out duplicates


def test_kraft_equality(built):
    counts, tree = built
    if counts.size == 1:
        return
    lengths = [int(n) for n in tree.lengths]
    deepest = max(lengths)
    # sum 2^-len == 1, in exact integers: the tree is full (no unused branch)
    assert sum(1 << (deepest - n) for n in lengths) == 1 << deepest


def test_weighted_length_is_optimal(built):
    counts, tree = built
    cost = int(np.dot(counts.astype(object), tree.lengths.astype(object)))
    assert cost == reference_cost(counts)


def test_more_frequent_words_never_get_longer_codes(built):
    counts, tree = built
    order = np.argsort(counts, kind="stable")
    sorted_counts, sorted_lengths = counts[order], tree.lengths[order]
    # group by count: the longest code of a larger count must not exceed the shortest of a smaller one
    values, starts = np.unique(sorted_counts, return_index=True)
    bounds = list(starts) + [counts.size]
    shortest = [sorted_lengths[bounds[k]:bounds[k + 1]].min() for k in range(values.size)]
    longest = [sorted_lengths[bounds[k]:bounds[k + 1]].max() for k in range(values.size)]
    for k in range(values.size - 1):
        assert longest[k + 1] <= shortest[k]


def test_points_form_a_consistent_tree(built):
    counts, tree = built
    size = counts.size
    if size == 1:
        assert tree.points.size == 0
        return
    assert tree.points.min() >= 0 and tree.points.max() <= size - 2
    codes, points = word_codes(tree), word_points(tree)
    node_of_prefix: dict[str, int] = {}
    for code, path in zip(codes, points):
        assert path[0] == size - 2  # every path starts at the root
        for depth, point in enumerate(path):
            prefix = code[:depth]  # the branches taken before reaching this inner node
            assert node_of_prefix.setdefault(prefix, point) == point, (prefix, point)
    # one inner node per distinct prefix: V - 1 of them, each used, none shared by two prefixes
    assert len(node_of_prefix) == size - 1
    assert sorted(node_of_prefix.values()) == list(range(size - 1))
    # every inner node has both children, each either an inner node or a word
    leaves = set(codes)
    for prefix in node_of_prefix:
        for bit in "01":
            assert prefix + bit in node_of_prefix or prefix + bit in leaves


def test_branch_one_leads_to_the_heavier_subtree(built):
    """word2vec.c joins the two lightest nodes and gives code bit 1 to the second (the heavier)."""
    counts, tree = built
    if counts.size == 1:
        return
    weight: dict[str, int] = {}
    for code, count in zip(word_codes(tree), counts.tolist()):
        for depth in range(len(code) + 1):
            weight[code[:depth]] = weight.get(code[:depth], 0) + count
    assert weight[""] == int(counts.sum())
    for prefix in weight:
        if prefix + "0" in weight:
            assert weight[prefix + "1"] >= weight[prefix + "0"], prefix


@pytest.mark.parametrize("kind", ["distinct", "uniform", "zipf", "ties"])
@pytest.mark.parametrize("size", [3, 10, 1000, 20000])
def test_unsorted_input_gives_the_sorted_result_permuted_back(kind, size):
    counts = np.sort(make_counts(kind, size, 5))[::-1].copy()
    sorted_tree = build_huffman(counts)
    perm = np.random.default_rng(11).permutation(size)
    shuffled_tree = build_huffman(counts[perm])
    sorted_codes, shuffled_codes = word_codes(sorted_tree), word_codes(shuffled_tree)
    sorted_points, shuffled_points = word_points(sorted_tree), word_points(shuffled_tree)
    if np.unique(counts).size == size:  # no ties: each word has exactly the same path
        # word perm[i] of the sorted list is word i of the shuffled one
        np.testing.assert_array_equal(shuffled_tree.lengths, sorted_tree.lengths[perm])
        assert shuffled_codes == [sorted_codes[p] for p in perm]
        assert shuffled_points == [sorted_points[p] for p in perm]
    # with ties, equal-count words may trade places; the (count, code, path) multiset is the same
    as_set = lambda cs, codes, pts: sorted(zip(cs.tolist(), codes, map(tuple, pts)))  # noqa: E731
    assert as_set(counts[perm], shuffled_codes, shuffled_points) == as_set(counts, sorted_codes, sorted_points)


def test_accepts_lists_and_other_integer_types():
    expected = build_huffman(np.array([5, 3, 2, 2, 1], dtype=np.int64))
    for counts in ([5, 3, 2, 2, 1], np.array([5, 3, 2, 2, 1], dtype=np.int32)):
        tree = build_huffman(counts)
        for a, b in zip(tree, expected):
            np.testing.assert_array_equal(a, b)


def test_small_tree_by_hand():
    # counts 4, 2, 1, 1: join 1+1=2, then 2+2=4, then 4+4=8 -> lengths 1, 2, 3, 3
    tree = build_huffman([4, 2, 1, 1])
    assert tree.lengths.tolist() == [1, 2, 3, 3]
    codes = word_codes(tree)
    assert codes[2][:2] == codes[3][:2] and {codes[2][2], codes[3][2]} == {"0", "1"}


def test_single_word_has_an_empty_code():
    tree = build_huffman([42])
    assert tree.offsets.tolist() == [0, 0]
    assert tree.codes.size == 0 and tree.points.size == 0


def test_code_length_error_names_min_count():
    counts = np.arange(1, 101)
    with pytest.raises(CodeLengthError) as info:
        build_huffman(counts, max_code_length=3)
    assert "min_count" in str(info.value)
    assert isinstance(info.value, ValueError)
    # the bound is inclusive: the deepest code is allowed exactly
    deepest = int(build_huffman(counts).lengths.max())
    build_huffman(counts, max_code_length=deepest)
    with pytest.raises(CodeLengthError):
        build_huffman(counts, max_code_length=deepest - 1)


def test_default_bound_is_reached_only_by_extreme_counts():
    # counts like Fibonacci numbers give a chain: depth V-1. 70 words exceed the default of 64.
    fib = [1, 1]
    while len(fib) < 70:
        fib.append(fib[-1] + fib[-2])
    with pytest.raises(CodeLengthError):
        build_huffman(np.array(fib, dtype=np.int64))
    assert build_huffman(np.array(fib[:60], dtype=np.int64)).lengths.max() == 59


@pytest.mark.parametrize("counts", [[], [0], [3, 0, 2], [3, -1, 2], [[1, 2], [3, 4]]],
                         ids=["empty", "zero", "a-zero", "negative", "2-d"])
def test_bad_input_raises_value_error(counts):
    with pytest.raises(ValueError):
        build_huffman(np.array(counts, dtype=np.int64))
