"""The single-process trainer: the same kernels and schedule as the Spark trainer, without Spark.

For tests, the kernel benchmark and small corpora. With the same seed it is bit-identical to a Spark
run with `num_partitions=1`.
"""
from __future__ import annotations

import heapq
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from .config import TrainConfig
from .kernels import train_slice
from .params import Params, init_params
from .text import read_local_sentences
from .training import (build_kernel_tables, encode_sentences, interleave, kernel_settings, round_bounds, round_seed,
                       schedule)
from .vocab import EmptyVocabularyError, Vocabulary, vocabulary_order

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    vocab: Vocabulary
    params: Params
    metrics: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def vocabulary_from_sentences(sentences: Iterable[list[str]], min_count: int = 5,
                              max_vocab_size: int | None = None) -> Vocabulary:
    counter: Counter = Counter()
    for sentence in sentences:
        counter.update(sentence)
    corpus_words = sum(counter.values())
    if corpus_words == 0:
        raise EmptyVocabularyError.no_tokens()
    kept = [(w, c) for w, c in counter.items() if c >= min_count]
    if max_vocab_size is not None:
        kept = heapq.nsmallest(max_vocab_size, kept, key=vocabulary_order)
    if not kept:
        raise EmptyVocabularyError.below_min_count(min_count, heapq.nsmallest(5, counter.items(),
                                                                              key=vocabulary_order))
    return Vocabulary.from_counts(kept, corpus_words)


def train_encoded(ids: np.ndarray, offsets: np.ndarray, vocab: Vocabulary, config: TrainConfig,
                  params: Params | None = None, first_epoch: int = 0,
                  on_round: Callable[[dict], None] | None = None) -> TrainResult:
    """Train on already-encoded sentences (in input order) as partition 0 of 1."""
    config = config.replace(syncs_per_epoch=config.syncs_for(1))
    ids, offsets = interleave(ids, offsets, config.interleave)
    tables = build_kernel_tables(vocab.counts, config)
    settings = kernel_settings(config)
    params = init_params(len(vocab), config) if params is None else params
    metrics = []
    for step in schedule(config, first_epoch):
        first, last = round_bounds(offsets, step.round, config.syncs_per_epoch)
        started = time.perf_counter()
        result = train_slice(ids, offsets[first:last + 1], *params, tables, settings,
                             step.alpha_start, step.alpha_end,
                             round_seed(config, step.epoch, step.round, 0))
        seconds = time.perf_counter() - started
        record = round_record(step, result.loss, result.words, result.examples, seconds, config.compute_loss)
        metrics.append(record)
        if on_round is not None:
            on_round(record)
    return TrainResult(vocab, params, metrics)


def train_local(sentences: Iterable[list[str]] | None = None, config: TrainConfig | None = None, *,
                paths: list[str] | None = None, on_round: Callable[[dict], None] | None = None,
                initial: Callable[[Vocabulary, TrainConfig], Params] | None = None) -> TrainResult:
    """Build the vocabulary and train, from token lists or from local text files (`paths`); `initial`
    makes the starting parameters from the vocabulary (a warm start, warmstart.py)."""
    config = (config or TrainConfig()).validate()
    if (sentences is None) == (paths is None):
        raise ValueError("give either sentences or paths")

    def corpus():
        if paths is not None:
            return read_local_sentences(paths, config.lowercase, config.max_sentence_length)
        return sentences

    if paths is None and not isinstance(sentences, (list, tuple)):
        sentences = list(sentences)  # iterated twice: once to count, once to encode
    vocab = vocabulary_from_sentences(corpus(), config.min_count, config.max_vocab_size)
    ids, offsets = encode_sentences(corpus(), vocab.index)
    params = None if initial is None else initial(vocab, config)
    return train_encoded(ids, offsets, vocab, config, params=params, on_round=on_round)


def loss_text(loss: float | None) -> str:
    return "off" if loss is None else f"{loss:.4f}"


def round_record(step, loss: float, words: int, examples: int, seconds: float, compute_loss: bool = True) -> dict:
    """One line of metrics.json: the same keys from the local and the Spark trainer (loss None when off)."""
    mean_loss = loss / examples if examples else float("nan")
    return {
        "epoch": step.epoch + 1, "round": step.round + 1,
        "loss": mean_loss if compute_loss else None, "loss_sum": loss if compute_loss else None,
        "examples": examples, "words": words, "seconds": seconds,
        "words_per_sec": words / seconds if seconds > 0 else float("nan"),
        "alpha_start": step.alpha_start, "alpha_end": step.alpha_end,
    }
