"""The Huffman tree of hierarchical softmax, as flat arrays the kernels can walk.

Word `w`'s path is `points[offsets[w]:offsets[w+1]]` (inner-node rows of `syn1`, root first) with the
branch bits `codes[offsets[w]:offsets[w+1]]`. Flat arrays with offsets cost `V * mean_depth` entries,
where a padded `V x max_depth` matrix would cost `V * max_depth`.
No Spark here.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .config import MAX_CODE_LENGTH
from .kernels._cache import CACHE


class HuffmanTree(NamedTuple):
    offsets: np.ndarray  # int64[V + 1]
    codes: np.ndarray    # uint8[offsets[-1]]: branch taken at each inner node, 0 or 1
    points: np.ndarray   # int32[offsets[-1]]: inner-node index in [0, V-2], root = V-2

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


class CodeLengthError(ValueError):
    """The tree is deeper than the kernels support (MAX_CODE_LENGTH)."""


def build_huffman(counts: np.ndarray, max_code_length: int = MAX_CODE_LENGTH) -> HuffmanTree:
    """Build the tree from word counts in O(V) after an O(V log V) sort, as word2vec.c does.

    The two least frequent nodes are joined repeatedly; the second of them gets code bit 1.
    `counts` need not be sorted. A single word gets an empty code (it has probability 1).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError("build_huffman needs a non-empty 1-d array of counts")
    if np.any(counts <= 0):
        raise ValueError("build_huffman needs positive counts")
    order = np.argsort(-counts, kind="stable")  # word2vec.c's two pointers need descending counts
    parent, binary = _join_nodes(counts[order])
    depth = _depths(parent, counts.size)
    longest = int(depth.max()) if depth.size else 0
    if longest > max_code_length:
        raise CodeLengthError(
            f"the Huffman tree is {longest} levels deep, past the {max_code_length} the kernels "
            "support; raise min_count or set max_vocab_size to drop the rarest words")
    sorted_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(depth, out=sorted_offsets[1:])
    codes, points = _paths(parent, binary, sorted_offsets, counts.size)
    # Put the words back in the caller's order.
    lengths = np.empty(counts.size, dtype=np.int64)
    lengths[order] = depth
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    out_codes = np.empty_like(codes)
    out_points = np.empty_like(points)
    _scatter(order, sorted_offsets, offsets, codes, points, out_codes, out_points)
    return HuffmanTree(offsets, out_codes, out_points)


@njit(cache=CACHE)
def _join_nodes(sorted_counts):
    vocab_size = sorted_counts.size
    node_count = 2 * vocab_size - 1
    weight = np.empty(node_count, dtype=np.int64)
    weight[:vocab_size] = sorted_counts
    weight[vocab_size:] = np.iinfo(np.int64).max
    parent = np.full(node_count, -1, dtype=np.int64)
    binary = np.zeros(node_count, dtype=np.uint8)
    leaf = vocab_size - 1  # next unused leaf, walking from the rarest word up
    inner = vocab_size     # next unused inner node, in creation (= weight) order
    for new in range(vocab_size, node_count):
        picked = np.empty(2, dtype=np.int64)
        for k in range(2):
            if leaf >= 0 and weight[leaf] < weight[inner]:
                picked[k] = leaf
                leaf -= 1
            else:
                picked[k] = inner
                inner += 1
        weight[new] = weight[picked[0]] + weight[picked[1]]
        parent[picked[0]] = new
        parent[picked[1]] = new
        binary[picked[1]] = 1
    return parent, binary


@njit(cache=CACHE)
def _depths(parent, vocab_size):
    node_count = parent.size
    depth = np.zeros(node_count, dtype=np.int64)
    # A parent is always created after its children, so walking down from the root sees it first.
    for node in range(node_count - 2, -1, -1):
        depth[node] = depth[parent[node]] + 1
    return depth[:vocab_size]


@njit(cache=CACHE)
def _paths(parent, binary, offsets, vocab_size):
    total = offsets[vocab_size]
    codes = np.empty(total, dtype=np.uint8)
    points = np.empty(total, dtype=np.int32)
    for word in range(vocab_size):
        pos = offsets[word + 1] - 1
        node = word
        while pos >= offsets[word]:  # walk up, filling the path from its end
            codes[pos] = binary[node]
            node = parent[node]
            points[pos] = node - vocab_size
            pos -= 1
    return codes, points


@njit(cache=CACHE)
def _scatter(order, src_offsets, dst_offsets, codes, points, out_codes, out_points):
    for sorted_index in range(order.size):
        word = order[sorted_index]
        src = src_offsets[sorted_index]
        dst = dst_offsets[word]
        for k in range(src_offsets[sorted_index + 1] - src):
            out_codes[dst + k] = codes[src + k]
            out_points[dst + k] = points[src + k]
