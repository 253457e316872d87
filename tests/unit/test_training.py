"""training: encoding sentences (read once, then mapped to vocabulary ids) and interleave, the order a
partition's sentences are visited in."""
from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pytest

from sparkw2v.config import TrainConfig
from sparkw2v.local import vocabulary_from_sentences
from sparkw2v.training import encode_locally, encode_sentences, interleave, to_vocabulary_ids, vocabulary_lookup


def _sentences(ids, offsets):
    return [tuple(ids[offsets[s]:offsets[s + 1]]) for s in range(len(offsets) - 1)]


def _random_corpus(seed, n_sentences=200, longest=40):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, longest, n_sentences)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = rng.integers(0, 1000, offsets[-1]).astype(np.int32)
    return ids, offsets


@pytest.mark.parametrize("sweeps", [2, 3, 7])
def test_sentences_are_visited_block_by_block_in_interleaved_sweeps(sweeps):
    ids, offsets = _random_corpus(sweeps)
    new_ids, new_offsets = interleave(ids, offsets, sweeps, block_words=100)

    block = offsets[:-1] // 100  # the block a sentence starts in
    expected = sorted(range(len(offsets) - 1), key=lambda s: (block[s] % sweeps, block[s], s))
    original = _sentences(ids, offsets)
    assert _sentences(new_ids, new_offsets) == [original[s] for s in expected]
    assert new_ids.dtype == ids.dtype and new_offsets[0] == 0 and new_offsets[-1] == offsets[-1]


def test_one_sweep_or_one_block_keeps_the_input_order():
    ids, offsets = _random_corpus(0)
    for sweeps, block_words in ((1, 100), (4, int(offsets[-1]))):
        new_ids, new_offsets = interleave(ids, offsets, sweeps, block_words=block_words)
        assert np.array_equal(new_ids, ids) and np.array_equal(new_offsets, offsets)


def test_a_sentence_longer_than_a_block_stays_whole():
    lengths = [5, 350, 5, 5, 120, 5]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    ids = np.arange(offsets[-1], dtype=np.int32)
    new_ids, new_offsets = interleave(ids, offsets, 2, block_words=100)
    assert sorted(np.diff(new_offsets).tolist()) == sorted(lengths)
    assert sorted(_sentences(new_ids, new_offsets)) == sorted(_sentences(ids, offsets))


def test_the_default_reorders_real_text_of_more_than_one_block(demo_corpus):
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as f:
        sentences = [line.split() for _, line in zip(range(120), f)]
    vocab = vocabulary_from_sentences(sentences, min_count=5)
    ids, offsets = encode_sentences(sentences, vocab.index)
    assert offsets[-1] > 5 * 65536  # more blocks than sweeps: the order changes
    new_ids, new_offsets = interleave(ids, offsets, TrainConfig().interleave)
    assert not np.array_equal(new_ids, ids)
    assert sorted(_sentences(new_ids, new_offsets)) == sorted(_sentences(ids, offsets))


def test_encoding_once_then_mapping_gives_what_encode_sentences_gives(demo_corpus):
    with gzip.open(demo_corpus, "rt", encoding="utf-8") as f:
        sentences = [line.split() for _, line in zip(range(60), f)]
    sentences += [["zz-unknown"], ["zz-unknown", "the", "zz-unknown"], ["é", "日本"]]  # dropped; cut to one word
    vocab = vocabulary_from_sentences(sentences, min_count=3)

    words, local_ids, offsets = encode_locally(sentences)
    names = words.to_pylist()
    assert [names[i] for i in local_ids[offsets[-4]:offsets[-1]]] == [w for s in sentences[-3:] for w in s]
    counts = dict(zip(names, np.bincount(local_ids, minlength=len(names))))
    assert counts["the"] == sum(s.count("the") for s in sentences) and len(names) == len(set(names))

    lookup = vocabulary_lookup(words, vocab.index)
    assert lookup.tolist() == [vocab.index.get(w, -1) for w in names]
    twice = vocabulary_lookup(pa.concat_arrays([words, words.slice(2)]), vocab.index)  # a partition's chunks repeat words
    assert twice.tolist() == lookup.tolist() + lookup.tolist()[2:]
    ids, new_offsets = to_vocabulary_ids(lookup, local_ids, offsets)
    expected_ids, expected_offsets = encode_sentences(sentences, vocab.index)
    assert np.array_equal(ids, expected_ids) and ids.dtype == np.int32
    assert np.array_equal(new_offsets, expected_offsets) and new_offsets.dtype == np.int64


def test_encoding_nothing():
    words, local_ids, offsets = encode_locally([])
    assert len(words) == 0 and local_ids.size == 0 and offsets.tolist() == [0]
    ids, new_offsets = to_vocabulary_ids(vocabulary_lookup(words, {"a": 0}), local_ids, offsets)
    assert ids.size == 0 and new_offsets.tolist() == [0]
