"""The Spark-free half of training, shared by the local and the Spark trainers.

Building the kernel tables from a vocabulary, turning sentences into int32 ids, the learning-rate
schedule over (epoch, round), the order a partition's sentences are visited in, cutting a slice into
rounds, and the per-round seed. Keeping these here is what makes a 1-partition Spark run bit-identical to
the single-process trainer.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from .config import SHUFFLE_RUN, TrainConfig
from .huffman import build_huffman
from .kernels import KernelSettings, KernelTables, derive_seed
from .sampling import build_alias_table, keep_probabilities, noise_distribution


def build_kernel_tables(counts: np.ndarray, config: TrainConfig) -> KernelTables:
    """Subsampling, noise and Huffman tables for the given vocabulary counts."""
    keep = keep_probabilities(counts, config.sample)
    if config.use_ns:
        alias = build_alias_table(noise_distribution(counts, config.ns_exponent))
        noise_prob, noise_alias = alias.prob, alias.alias
    else:
        noise_prob, noise_alias = np.ones(1), np.zeros(1, dtype=np.int32)
    if config.use_hs:
        tree = build_huffman(counts)
        offsets, codes, points = tree.offsets, tree.codes, tree.points
    else:
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        codes, points = np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int32)
    return KernelTables(keep, noise_prob, noise_alias, offsets, codes, points)


def kernel_settings(config: TrainConfig, copies: int = 1) -> KernelSettings:
    """The kernels' switches for a round that combines `copies` copies (the kernel may depend on it)."""
    return KernelSettings(
        skipgram=int(config.architecture == "skipgram"), use_ns=int(config.use_ns),
        use_hs=int(config.use_hs), negative=config.negative, window=config.window,
        cbow_mean=int(config.cbow_mean), compute_loss=int(config.compute_loss),
        batched=int(config.kernel_for(copies) == "batched"), shuffle_words=config.shuffle_block,
        shuffle_run=SHUFFLE_RUN)


def encode_sentences(sentences: Iterable[list[str]], index: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Token lists -> (int32 ids, int64 offsets). Unknown words are dropped, then empty sentences."""
    ids: list[int] = []
    offsets = [0]
    for sentence in sentences:
        before = len(ids)
        ids.extend(i for i in map(index.get, sentence) if i is not None)
        if len(ids) > before:
            offsets.append(len(ids))
    return np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64)


def encode_locally(sentences: list[list[str]]) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Token lists -> (distinct words, int32 ids into them, int64 sentence offsets): the corpus as read once.

    The words are numbered in order of first appearance by Arrow's hash table (C++), so the vocabulary
    count and the encoding for training both come from this one pass over the text (to_vocabulary_ids).
    They stay an Arrow array: the vocabulary job sums their counts in Arrow, and a chunk pickles as a few
    buffers instead of one string object per distinct word.
    """
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    offsets = np.zeros(len(sentences) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    encoded = pa.array(list(itertools.chain.from_iterable(sentences)), type=pa.large_string()).dictionary_encode()
    ids = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return encoded.dictionary, ids, offsets


def vocabulary_lookup(words: pa.Array, index: Mapping[str, int]) -> np.ndarray:
    """Each of `words`' vocabulary id (int64), or -1 where `index` lacks it; each distinct word is looked
    up once. (A dict built once per worker beats Arrow's index_in, which hashes the whole vocabulary on
    every call: with 801k words and 100 input partitions it doubled the encoding's time.)"""
    encoded = words.dictionary_encode()
    distinct = np.fromiter((index.get(w, -1) for w in encoded.dictionary.to_pylist()), dtype=np.int64,
                           count=len(encoded.dictionary))
    return distinct[encoded.indices.to_numpy(zero_copy_only=False)]


def to_vocabulary_ids(lookup: np.ndarray, ids: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """encode_locally's ids and offsets, with `lookup` (its words' vocabulary ids, -1 for unknown ones)
    -> what encode_sentences gives for the same sentences: vocabulary ids, unknown words dropped, then
    sentences left empty."""
    global_ids = lookup[ids]
    known = global_ids >= 0
    kept_before = np.zeros(len(known) + 1, dtype=np.int64)
    np.cumsum(known, out=kept_before[1:])
    kept_per_sentence = kept_before[offsets[1:]] - kept_before[offsets[:-1]]
    new_offsets = np.zeros(int(np.count_nonzero(kept_per_sentence)) + 1, dtype=np.int64)
    np.cumsum(kept_per_sentence[kept_per_sentence > 0], out=new_offsets[1:])
    return global_ids[known].astype(np.int32), new_offsets


INTERLEAVE_BLOCK_WORDS = 1 << 16  # the unit `interleave` reorders: about 26 Wikipedia articles


def interleave(ids: np.ndarray, offsets: np.ndarray, sweeps: int,
               block_words: int = INTERLEAVE_BLOCK_WORDS) -> tuple[np.ndarray, np.ndarray]:
    """Reorder encoded sentences into `sweeps` interleaved passes over blocks of `block_words` words.

    Block b holds the sentences that start in words [b * block_words, (b + 1) * block_words); the
    blocks are visited as b = 0, k, 2k, ..., then 1, k + 1, ... (k = `sweeps`), each block's
    sentences in their order. Read front to back, the end of the learning-rate schedule only sees the
    end of the corpus; interleaved, every stretch of an epoch sees text from all of it, and neighbouring
    lines stay together. On wiki-aa this raised skip-gram's analogy score where random orders did not
    (README, "Visiting order"; benchmarks/bench_order.py). The order depends on the offsets alone.
    With `sweeps=1`, or no more blocks than sweeps, the input comes back unchanged; otherwise new
    (ids, offsets) with offsets from 0.
    """
    n_sentences = len(offsets) - 1
    if sweeps <= 1 or n_sentences == 0:
        return ids, offsets
    block = (offsets[:-1] - offsets[0]) // block_words
    n_blocks = int(block[-1]) + 1
    if n_blocks <= sweeps:
        return ids, offsets
    bounds = np.searchsorted(block, np.arange(n_blocks + 1))  # block b: sentences bounds[b]..bounds[b+1]
    visit = sorted(range(n_blocks), key=lambda b: (b % sweeps, b))
    new_ids = np.concatenate([ids[offsets[bounds[b]]:offsets[bounds[b + 1]]] for b in visit])
    lengths = np.concatenate([np.diff(offsets[bounds[b]:bounds[b + 1] + 1]) for b in visit])
    new_offsets = np.zeros(n_sentences + 1, dtype=np.int64)
    np.cumsum(lengths, out=new_offsets[1:])
    return new_ids, new_offsets


class Round(NamedTuple):
    epoch: int
    round: int
    alpha_start: float
    alpha_end: float


def schedule(config: TrainConfig, first_epoch: int = 0) -> list[Round]:
    """Every (epoch, round) from `first_epoch` on, with the global learning rate at its ends."""
    rounds = config.syncs_per_epoch
    total = config.epochs * rounds
    return [Round(e, r, config.alpha_at((e * rounds + r) / total), config.alpha_at((e * rounds + r + 1) / total))
            for e in range(first_epoch, config.epochs) for r in range(rounds)]


def round_bounds(offsets: np.ndarray, round_index: int, rounds: int) -> tuple[int, int]:
    """Sentences [first, last) of round `round_index`: cut where the running word count crosses k/rounds."""
    n_sentences = len(offsets) - 1
    if rounds == 1:
        return 0, n_sentences
    total = offsets[-1] - offsets[0]
    starts = offsets[:-1] - offsets[0]

    def cut(k: int) -> int:
        if k <= 0:
            return 0
        if k >= rounds:
            return n_sentences
        return int(np.searchsorted(starts, k * total / rounds, side="left"))

    return cut(round_index), cut(round_index + 1)


def round_seed(config: TrainConfig, epoch: int, round_index: int, partition: int) -> int:
    return derive_seed(config.seed, epoch, round_index, partition)
