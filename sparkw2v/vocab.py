"""The vocabulary: a distributed word count whose result (words and counts only) reaches the driver.

Order is deterministic: count descending, ties broken by the word itself, so the same corpus gives
the same word ids on every run and every cluster.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pyspark import RDD

from .corpus import encode_chunks

log = logging.getLogger(__name__)


class EmptyVocabularyError(ValueError):
    """No word survives min_count / max_vocab_size, or the corpus has no tokens at all."""

    @classmethod
    def no_tokens(cls) -> "EmptyVocabularyError":
        return cls("the corpus has no tokens: the input is empty or all its lines are blank")

    @classmethod
    def below_min_count(cls, min_count: int, top: list[tuple[str, int]]) -> "EmptyVocabularyError":
        """`top`: the most frequent (word, count) pairs, in vocabulary order."""
        shown = ", ".join(f"{w!r}: {c}" for w, c in top)
        return cls(f"no word occurs at least min_count={min_count} times; the highest counts are "
                   f"{shown}. Lower min_count or give a larger corpus.")


def vocabulary_order(word_count: tuple[str, int]) -> tuple[int, str]:
    """Sort key of the vocabulary: count descending, ties by the word."""
    return -word_count[1], word_count[0]


@dataclass(frozen=True)
class Vocabulary:
    """Words sorted by count (descending, then by word), their counts, and a word -> id map."""

    words: np.ndarray   # object array of str
    counts: np.ndarray  # int64
    corpus_words: int   # every token read, kept or not
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "index", {w: i for i, w in enumerate(self.words)})

    @classmethod
    def from_counts(cls, word_counts, corpus_words: int | None = None) -> "Vocabulary":
        pairs = sorted(word_counts, key=vocabulary_order)
        words = np.array([w for w, _ in pairs], dtype=object)
        counts = np.array([c for _, c in pairs], dtype=np.int64)
        total = int(counts.sum()) if corpus_words is None else int(corpus_words)
        return cls(words, counts, total)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def train_words(self) -> int:
        """Tokens that are in the vocabulary: word2vec.c's train_words, the LR schedule's denominator."""
        return int(self.counts.sum())

    def to_tsv(self) -> str:
        return "".join(f"{w}\t{c}\n" for w, c in zip(self.words, self.counts))

    @classmethod
    def from_tsv(cls, text: str, corpus_words: int | None = None) -> "Vocabulary":
        pairs = []
        for number, line in enumerate(text.splitlines(), 1):
            word, sep, count = line.rpartition("\t")
            if not sep or not count.isdigit():
                raise ValueError(f"vocabulary line {number}: expected 'word<TAB>count', got {line!r}")
            pairs.append((word, int(count)))
        return cls.from_counts(pairs, corpus_words)


def count_words(chunks: RDD) -> RDD:
    """(word, count) pairs from corpus.encode_chunks records; each partition pre-aggregates before the shuffle."""
    def partition_counts(part):
        counter: Counter = Counter()
        for _, (words, ids, _offsets) in part:
            counter.update(dict(zip(words, np.bincount(ids, minlength=len(words)).tolist())))
        return iter(counter.items())

    return chunks.mapPartitions(partition_counts).reduceByKey(lambda a, b: a + b)


def build_vocabulary(sentences: RDD, min_count: int = 5, max_vocab_size: int | None = None) -> Vocabulary:
    """The vocabulary of an RDD of token lists."""
    return vocabulary_from_chunks(encode_chunks(sentences), min_count, max_vocab_size)


def vocabulary_from_chunks(chunks: RDD, min_count: int = 5, max_vocab_size: int | None = None) -> Vocabulary:
    """Count corpus.encode_chunks records on the executors; bring only the kept words to the driver."""
    counts = count_words(chunks).persist()
    try:
        corpus_words = counts.map(lambda wc: wc[1]).sum()
        if corpus_words == 0:
            raise EmptyVocabularyError.no_tokens()
        kept = counts.filter(lambda wc: wc[1] >= min_count)
        if max_vocab_size is not None:
            pairs = kept.takeOrdered(max_vocab_size, key=vocabulary_order)
        else:
            pairs = kept.collect()
        if not pairs:
            raise EmptyVocabularyError.below_min_count(min_count, counts.takeOrdered(5, key=vocabulary_order))
        vocab = Vocabulary.from_counts(pairs, corpus_words)
    finally:
        counts.unpersist()
    log.info("vocabulary: %d words kept of %d tokens read; %d training words (%.1f%%)",
             len(vocab), corpus_words, vocab.train_words, 100.0 * vocab.train_words / corpus_words)
    return vocab
