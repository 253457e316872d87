"""Warm start: a run's initial parameters from an earlier run's output folder, and how far words moved.

A scheduled job retrains on new data every day; consumers hold yesterday's vectors. Starting from
random vectors lands every run in a new, rotated space. Starting the words both runs know from the
earlier run's parameters keeps the space where it was:

- the vocabulary comes from the new input as usual; a word in both starts from its earlier input
  vector (syn0) and output vector (syn1neg); a new word starts as in a fresh run; a dropped word is gone;
- hierarchical softmax: syn1 rows belong to inner nodes of the Huffman tree, which the new counts
  reshape, so by default syn1 starts at zero as in a fresh run (`syn1="zero"`); the words' input
  vectors carry the space, and syn1 relearns from them. `syn1="matched"` reuses the row of an earlier
  node that makes the same decision (`map_inner_nodes`). Measured on two halves of the first 6M tokens
  of wiki-aa (train_local, SG-HS, sample 0): 35% of the new inner nodes had an earlier node on whose
  branch 90% of their words agree, but low in the tree: 4.8% of the path steps, weighted by count
  (20% at 75% agreement). Warm-started runs scored the same either way: 1 epoch 14.04% analogies
  matched, 14.06% zero (alignment 0.864, 0.868); 3 epochs 14.93%, 14.87%. `benchmarks/bench_warmstart.py`
  measures both on the whole corpus.

The earlier folder must hold its output weights: `training-state/` (written with
`--save-training-state`), `.npy` files read with allow_pickle=False. Its input vectors are
`vectors.bin`, which keeps float32 values exactly. No Spark here: files go through a `HadoopFS` or a
`LocalFS` (storage.py).
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from dataclasses import dataclass

import numpy as np
from numba import njit

from .config import TrainConfig
from .huffman import build_huffman
from .kernels._cache import CACHE
from .params import Params, init_params
from .vectors import VectorFormatError, load_word2vec
from .vocab import Vocabulary

log = logging.getLogger(__name__)

STATE_DIR = "training-state"
STATE_FORMAT = 1
SYN1_POLICIES = ("zero", "matched")
SYN1_MIN_AGREEMENT = 0.9  # reuse an earlier syn1 row where this share of the words agree on its branch
ALIGNMENT_WORDS = 10_000  # the most frequent common words the alignment is measured over


class WarmStartError(ValueError):
    """The earlier model cannot seed this run: not a sparkw2v output, another vector size or
    architecture, or without the output weights this run's loss needs."""


@dataclass
class EarlierModel:
    location: str
    config: dict
    vocab: Vocabulary
    syn0: np.ndarray
    syn1: np.ndarray | None     # None where the earlier run had no hierarchical softmax
    syn1neg: np.ndarray | None  # None where it had no negative sampling


def save_training_state(folder: str, params: Params, config: TrainConfig) -> None:
    """Write the output weights a later warm start needs into `folder/training-state/` (local)."""
    target = os.path.join(folder, STATE_DIR)
    os.makedirs(target, exist_ok=True)
    saved = {}
    for name, matrix, used in (("syn1neg", params.syn1neg, config.use_ns), ("syn1", params.syn1, config.use_hs)):
        if used:
            np.save(os.path.join(target, f"{name}.npy"), matrix, allow_pickle=False)
            saved[name] = list(matrix.shape)
    with open(os.path.join(target, "state.json"), "w") as handle:
        json.dump({"format_version": STATE_FORMAT, "matrices": saved}, handle, indent=2)
        handle.write("\n")


def load_earlier(fs, location: str) -> EarlierModel:
    """Read an earlier output folder: config, vocabulary, input vectors and the saved output weights."""
    where = location.rstrip("/")
    for name in ("_SUCCESS", "config.json", "vocab.tsv", "vectors.bin"):
        if not fs.exists(f"{where}/{name}"):
            raise WarmStartError(f"--init-from {location}: no {name} there; expected the output folder of a "
                                 "finished sparkw2v run")
    if not fs.exists(f"{where}/{STATE_DIR}/state.json"):
        raise WarmStartError(f"--init-from {location}: no {STATE_DIR}/ there, so no output weights to start "
                             "from; the earlier run needs --save-training-state")
    config = json.loads(fs.read_bytes(f"{where}/config.json"))
    state = json.loads(fs.read_bytes(f"{where}/{STATE_DIR}/state.json"))
    if state.get("format_version") != STATE_FORMAT:
        raise WarmStartError(f"--init-from {location}: training state format {state.get('format_version')!r} is "
                             f"not the supported {STATE_FORMAT}")
    vocab = Vocabulary.from_tsv(fs.read_bytes(f"{where}/vocab.tsv").decode("utf-8"))
    try:
        vectors = load_word2vec(io.BytesIO(fs.read_bytes(f"{where}/vectors.bin")), binary=True)
    except VectorFormatError as err:
        raise WarmStartError(f"--init-from {location}: vectors.bin: {err}") from None
    if list(vectors.words) != list(vocab.words):
        raise WarmStartError(f"--init-from {location}: vectors.bin and vocab.tsv list different words")
    matrices = {}
    for name, shape in state.get("matrices", {}).items():
        matrix = np.load(io.BytesIO(fs.read_bytes(f"{where}/{STATE_DIR}/{name}.npy")), allow_pickle=False)
        if list(matrix.shape) != list(shape) or matrix.dtype != np.float32:
            raise WarmStartError(f"--init-from {location}: {STATE_DIR}/{name}.npy holds {matrix.dtype} "
                                 f"{list(matrix.shape)}, state.json says float32 {shape}")
        matrices[name] = matrix
    return EarlierModel(location, config, vocab, np.array(vectors.vectors), matrices.get("syn1"),
                        matrices.get("syn1neg"))


def check_earlier(earlier: EarlierModel, config: TrainConfig, syn1: str = "zero") -> None:
    """Refuse an earlier model whose parameters cannot seed this config's."""
    theirs = earlier.config
    for key, ours in (("vector_size", config.vector_size), ("architecture", config.architecture)):
        if theirs.get(key) != ours:
            raise WarmStartError(f"--init-from {earlier.location}: {key} {theirs.get(key)!r}, this run "
                                 f"{ours!r}; a warm start needs the same {key}")
    uses = (("syn1neg", "ns", config.use_ns), ("syn1", "hs", config.use_hs and syn1 == "matched"))
    needed = [(name, flag) for name, flag, used in uses if used and getattr(earlier, name) is None]
    if needed:
        missing = ", ".join(f"{name} (for --loss {flag})" for name, flag in needed)
        raise WarmStartError(f"--init-from {earlier.location}: trained with --loss {theirs.get('loss')}, so it "
                             f"holds no {missing}; this run has --loss {config.loss}")
    if earlier.syn0.shape[1] != config.vector_size:
        raise WarmStartError(f"--init-from {earlier.location}: vectors.bin has {earlier.syn0.shape[1]} dimensions, "
                             f"this run {config.vector_size}")


def warm_params(vocab: Vocabulary, config: TrainConfig, earlier: EarlierModel, syn1: str = "zero",
                min_agreement: float = SYN1_MIN_AGREEMENT) -> tuple[Params, dict]:
    """This run's initial parameters: a fresh draw, with the shared words' rows taken from `earlier`.

    `syn1`: "zero" starts every inner node at zero, as a fresh run does; "matched" reuses the rows of
    the earlier inner nodes that make the same decision (map_inner_nodes). Returns the parameters and
    counts for the log and metrics.json.
    """
    if syn1 not in SYN1_POLICIES:
        raise ValueError(f"syn1={syn1!r}: must be one of {', '.join(SYN1_POLICIES)}")
    check_earlier(earlier, config, syn1)
    params = init_params(len(vocab), config)
    new_rows, old_rows = shared_rows(vocab.words, earlier.vocab.index)
    params.syn0[new_rows] = earlier.syn0[old_rows]
    if config.use_ns:
        params.syn1neg[new_rows] = earlier.syn1neg[old_rows]
    stats = {"init_from": earlier.location, "shared_words": int(new_rows.size),
             "new_words": len(vocab) - int(new_rows.size), "dropped_words": len(earlier.vocab) - int(new_rows.size)}
    if config.use_hs:
        stats["syn1"] = syn1
        if syn1 == "matched" and len(vocab) > 1 and len(earlier.vocab) > 1:
            source, sign, summary = map_inner_nodes(earlier.vocab.counts, vocab.counts, old_rows, new_rows,
                                                    min_agreement)
            reused = source >= 0
            params.syn1[reused] = earlier.syn1[source[reused]] * sign[reused, None].astype(np.float32)
            stats.update(summary)
    return params, stats


class WarmStart:
    """The trainer's `initial` callable for a warm start; keeps what it did for the log and metrics.json."""

    def __init__(self, earlier: EarlierModel, syn1: str = "zero"):
        self.earlier, self.syn1 = earlier, syn1
        self.stats: dict | None = None  # stays None where a checkpoint was resumed instead

    def __call__(self, vocab: Vocabulary, config: TrainConfig) -> Params:
        params, self.stats = warm_params(vocab, config, self.earlier, self.syn1)
        # Only the earlier syn0 is needed from here on (the alignment): let go of the output weights.
        self.earlier = dataclasses.replace(self.earlier, syn1=None, syn1neg=None)
        log.info("warm start from %s: %s shared words start from it, %s new words start fresh, %s of its "
                 "words dropped", self.earlier.location, f"{self.stats['shared_words']:,}",
                 f"{self.stats['new_words']:,}", f"{self.stats['dropped_words']:,}")
        if "syn1_reused" in self.stats:
            log.info("hierarchical softmax: %s of %s inner nodes start from the earlier tree's (%.1f%% of the path "
                     "steps), the rest at zero", f"{self.stats['syn1_reused']:,}",
                     f"{self.stats['syn1_inner_nodes']:,}", 100 * self.stats["syn1_reused_path_share"])
        return params


def shared_rows(words, earlier_index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows in this vocabulary, rows in the earlier one) of the words in both, in this vocabulary's order."""
    pairs = [(new, earlier_index[w]) for new, w in enumerate(words) if w in earlier_index]
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new, old = zip(*pairs)
    return np.asarray(new, dtype=np.int64), np.asarray(old, dtype=np.int64)


def map_inner_nodes(old_counts: np.ndarray, new_counts: np.ndarray, old_rows: np.ndarray, new_rows: np.ndarray,
                    min_agreement: float = SYN1_MIN_AGREEMENT) -> tuple[np.ndarray, np.ndarray, dict]:
    """For every inner node of the new Huffman tree, the earlier inner node whose syn1 row it starts from.

    A new node decides between the words under its two children. Its earlier counterpart is the lowest
    node of the earlier tree above all the shared words under it. That node's row predicts the same
    branch for a word where the word takes the same side there (or the opposite side throughout: the row
    is then negated, as the branch label is 1 - code and sigmoid(-x) = 1 - sigmoid(x)). The row is reused
    where at least `min_agreement` of the shared words, weighted by their new counts, agree; other nodes
    start at zero (source -1), as in a fresh run.

    Returns (source int64[new V - 1], sign int8[new V - 1], summary): the summary counts the reused
    nodes and the share of all path steps, weighted by the new counts, that start from a reused row.
    """
    old_vocab, new_vocab = len(old_counts), len(new_counts)
    old_tree, new_tree = build_huffman(old_counts), build_huffman(new_counts)
    old_parent, _ = _parents(old_tree, old_vocab)
    new_parent, new_side = _parents(new_tree, new_vocab)
    new_children = np.full((new_vocab - 1, 2), -1, dtype=np.int64)
    has_parent = new_parent >= 0
    new_children[new_parent[has_parent], new_side[has_parent]] = np.flatnonzero(has_parent)
    leaf_to_old = np.full(new_vocab, -1, dtype=np.int64)
    leaf_to_old[new_rows] = old_rows
    old_depth = _node_depths(old_parent, old_vocab)
    lca = _lowest_common_ancestors(old_parent, old_depth, new_children, leaf_to_old, old_vocab - 1, new_vocab - 1)
    weights = np.asarray(new_counts, dtype=np.float64)
    same, total = _agreement(lca, old_depth, old_tree.offsets, old_tree.codes, new_tree.offsets, new_tree.codes,
                             new_tree.points, leaf_to_old, weights, old_vocab - 1, new_vocab - 1)
    share = np.divide(same, total, out=np.zeros_like(same), where=total > 0)
    agreement = np.maximum(share, 1.0 - share)
    reused = (total > 0) & (agreement >= min_agreement)
    source = np.where(reused, lca[:new_vocab - 1], -1)
    sign = np.where(share >= 0.5, 1, -1).astype(np.int8)
    steps = np.diff(new_tree.offsets)
    reused_steps = np.add.reduceat(reused[new_tree.points].astype(np.int64), new_tree.offsets[:-1])
    summary = {"syn1_inner_nodes": int(source.size), "syn1_reused": int(reused.sum()),
               "syn1_reused_path_share": float((weights * reused_steps).sum() / (weights * steps).sum())}
    return source, sign, summary


def _parents(tree, vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent and side (code bit) of every node: inner nodes 0..V-2, then leaf w as V-1+w; the root's is -1."""
    inner = max(vocab_size - 1, 0)
    parent = np.full(inner + vocab_size, -1, dtype=np.int64)
    side = np.zeros(inner + vocab_size, dtype=np.int8)
    points, codes, offsets = tree.points.astype(np.int64), tree.codes, tree.offsets
    if points.size == 0:
        return parent, side
    last = offsets[1:] - 1
    has_path = offsets[1:] > offsets[:-1]
    is_last = np.zeros(points.size, dtype=bool)
    is_last[last[has_path]] = True
    step = np.flatnonzero(~is_last)  # an inner node's child on the path is the next point
    parent[points[step + 1]] = points[step]
    side[points[step + 1]] = codes[step]
    words = np.flatnonzero(has_path)
    parent[inner + words] = points[last[words]]
    side[inner + words] = codes[last[words]]
    return parent, side


@njit(cache=CACHE)
def _node_depths(parent, vocab_size):
    depth = np.zeros(parent.size, dtype=np.int64)
    # Inner nodes are numbered in creation order, a parent after its children: walk down from the root.
    for node in range(vocab_size - 2, -1, -1):
        if parent[node] >= 0:
            depth[node] = depth[parent[node]] + 1
    for node in range(vocab_size - 1, parent.size):
        if parent[node] >= 0:
            depth[node] = depth[parent[node]] + 1
    return depth


@njit(cache=CACHE)
def _lowest_common_ancestors(old_parent, old_depth, new_children, leaf_to_old, old_inner, new_inner):
    """lca[n]: the earlier tree's node (old_parent's numbering) above all shared words under new node n, or -1."""
    lca = np.full(new_inner + leaf_to_old.size, -1, dtype=np.int64)
    for w in range(leaf_to_old.size):
        if leaf_to_old[w] >= 0:
            lca[new_inner + w] = old_inner + leaf_to_old[w]
    for node in range(new_inner):  # children first: a parent is numbered after them
        x, y = lca[new_children[node, 0]], lca[new_children[node, 1]]
        if x < 0 or y < 0:
            lca[node] = x if y < 0 else y
            continue
        while old_depth[x] > old_depth[y]:
            x = old_parent[x]
        while old_depth[y] > old_depth[x]:
            y = old_parent[y]
        while x != y:
            x, y = old_parent[x], old_parent[y]
        lca[node] = x
    return lca


@njit(cache=CACHE)
def _agreement(lca, old_depth, old_offsets, old_codes, new_offsets, new_codes, new_points, leaf_to_old, counts,
               old_inner, new_inner):
    """Per new inner node: the count-weighted shares of its shared words that take, at its earlier node,
    the same branch as in the new tree, and the total weight."""
    same = np.zeros(new_inner, dtype=np.float64)
    total = np.zeros(new_inner, dtype=np.float64)
    for w in range(leaf_to_old.size):
        old = leaf_to_old[w]
        if old < 0:
            continue
        for pos in range(new_offsets[w], new_offsets[w + 1]):
            node = new_points[pos]
            m = lca[node]
            if m < 0 or m >= old_inner:
                continue
            total[node] += counts[w]
            if old_codes[old_offsets[old] + old_depth[m]] == new_codes[pos]:
                same[node] += counts[w]
    return same, total


def alignment(earlier_words, earlier_vectors: np.ndarray, words, vectors: np.ndarray,
              top: int = ALIGNMENT_WORDS) -> dict:
    """Mean cosine between the earlier and the new vector of the `top` most frequent common words (in the
    new order, most frequent first), with no rotation applied: what a consumer holding the earlier
    vectors sees. A zero vector counts as cosine 0."""
    index = {w: i for i, w in enumerate(earlier_words)}
    new_rows, old_rows = shared_rows(words, index)
    new_rows, old_rows = new_rows[:top], old_rows[:top]
    if new_rows.size == 0:
        return {"mean_cosine": None, "words": 0, "top": top}
    a = np.asarray(vectors, dtype=np.float64)[new_rows]
    b = np.asarray(earlier_vectors, dtype=np.float64)[old_rows]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    cosines = np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), 0.0)
    return {"mean_cosine": float(cosines.mean()), "words": int(new_rows.size), "top": top}
