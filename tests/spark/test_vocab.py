"""The distributed vocabulary against a plain Counter over the same files, read without Spark."""
from __future__ import annotations

import gzip
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sparkw2v.corpus import read_corpus
from sparkw2v.text import REPLACEMENT_CHAR
from sparkw2v.vocab import EmptyVocabularyError, Vocabulary, _word_buckets, build_vocabulary

pytestmark = pytest.mark.spark


def counter_of_gzip_files(paths) -> Counter:
    """Whitespace tokens of gzip text files, decoded like Hadoop (undecodable bytes -> U+FFFD)."""
    counter: Counter = Counter()
    for path in paths:
        with gzip.open(path, "rb") as f:
            counter.update(f.read().decode("utf-8", errors="replace").split())
    return counter


def expected_pairs(counter: Counter, min_count: int) -> list[tuple[str, int]]:
    return sorted(((w, c) for w, c in counter.items() if c >= min_count), key=lambda wc: (-wc[1], wc[0]))


def assert_matches_counter(vocab: Vocabulary, counter: Counter, min_count: int) -> None:
    expected = expected_pairs(counter, min_count)
    got = list(zip(vocab.words.tolist(), vocab.counts.tolist()))
    if got != expected:
        got_d, exp_d = dict(got), dict(expected)
        diff = sorted(set(got_d.items()) ^ set(exp_d.items()))[:20]
        fffd = [w for w, _ in diff if REPLACEMENT_CHAR in w]
        pytest.fail(f"{len(got)} words from Spark, {len(expected)} expected; first differences "
                    f"{diff}; {len(fffd)} of them hold U+FFFD")
    assert vocab.corpus_words == sum(counter.values())
    assert vocab.train_words == sum(c for _, c in expected)
    assert vocab.index == {w: i for i, (w, _) in enumerate(expected)}


@pytest.fixture(scope="module")
def demo_counter(demo_corpus) -> Counter:
    return counter_of_gzip_files([demo_corpus])


@pytest.fixture(scope="module")
def demo_sentences(spark, demo_corpus):
    sentences = read_corpus(spark, [str(demo_corpus)]).sentences.cache()
    yield sentences
    sentences.unpersist()


def test_demo_vocabulary_equals_a_counter(demo_sentences, demo_counter):
    vocab = build_vocabulary(demo_sentences, min_count=5)
    assert 900_000 < vocab.corpus_words < 1_100_000  # the demo corpus is ~970k tokens
    assert 1_000 < len(vocab) < vocab.corpus_words
    assert_matches_counter(vocab, demo_counter, 5)
    assert vocab.counts.dtype == np.int64
    assert vocab.counts.min() >= 5
    assert vocab.train_words < vocab.corpus_words  # something was below min_count
    for k, word in enumerate(vocab.words[:50]):
        assert vocab.index[word] == k


def test_max_vocab_size_keeps_the_top_words_in_order(demo_sentences, demo_counter):
    full = build_vocabulary(demo_sentences, min_count=5)
    top = build_vocabulary(demo_sentences, min_count=5, max_vocab_size=100)
    assert len(top) == 100
    assert top.words.tolist() == full.words[:100].tolist()
    assert top.counts.tolist() == full.counts[:100].tolist()
    assert top.words.tolist() == [w for w, _ in expected_pairs(demo_counter, 5)[:100]]
    assert top.corpus_words == full.corpus_words
    assert top.train_words == int(full.counts[:100].sum())


def test_min_count_one_keeps_every_word(demo_sentences, demo_counter):
    vocab = build_vocabulary(demo_sentences, min_count=1)
    assert len(vocab) == len(demo_counter)
    assert vocab.train_words == vocab.corpus_words


def test_min_count_too_high_names_min_count(demo_sentences, demo_counter):
    highest = max(demo_counter.values())
    with pytest.raises(EmptyVocabularyError) as info:
        build_vocabulary(demo_sentences, min_count=highest + 1)
    message = str(info.value)
    assert f"min_count={highest + 1}" in message
    assert str(highest) in message  # it shows the highest count, so the user can pick a value
    # exactly at the highest count, the most frequent word(s) survive
    assert build_vocabulary(demo_sentences, min_count=highest).counts.tolist()[0] == highest


@pytest.mark.parametrize("content", [b"", b"\n\n   \n\t\n"], ids=["empty", "blank-lines"])
def test_no_tokens_raises_empty_vocabulary(spark, tmp_path, content):
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    corpus = read_corpus(spark, [str(path)])
    with pytest.raises(EmptyVocabularyError, match="no tokens"):
        build_vocabulary(corpus.sentences, min_count=1)


def test_ties_are_broken_by_the_word(spark, tmp_path):
    path = tmp_path / "ties.txt"
    path.write_text("b a c\nc a b\nz z z y y y x\n")
    vocab = build_vocabulary(read_corpus(spark, [str(path)]).sentences, min_count=2)
    assert vocab.words.tolist() == ["y", "z", "a", "b", "c"]
    assert vocab.counts.tolist() == [3, 3, 2, 2, 2]
    assert vocab.corpus_words == 13 and vocab.train_words == 12


def test_vocabulary_tsv_round_trip(spark, tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("the cat the dog the\ncat\n")
    vocab = build_vocabulary(read_corpus(spark, [str(path)]).sentences, min_count=1)
    again = Vocabulary.from_tsv(vocab.to_tsv(), vocab.corpus_words)
    assert again.words.tolist() == vocab.words.tolist() == ["the", "cat", "dog"]
    assert again.counts.tolist() == vocab.counts.tolist() == [3, 2, 1]


@pytest.mark.slow
def test_wikiextractor_folder_vocabulary_equals_a_counter(spark, shared_data):
    folder = Path(shared_data) / "corpus" / "enwiki-wikiextractor" / "AA"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    files = sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_")))
    assert len(files) == 100
    started = time.perf_counter()
    counter = counter_of_gzip_files(files)
    corpus = read_corpus(spark, [str(folder)])
    vocab = build_vocabulary(corpus.sentences, min_count=1)
    print(f"AA folder: {vocab.corpus_words} tokens, {len(vocab)} words, "
          f"{time.perf_counter() - started:.1f}s")
    assert vocab.corpus_words > 10_000_000
    assert_matches_counter(vocab, counter, 1)
    # The folder's only U+FFFD are real characters in wiki_44 (valid UTF-8 EF BF BD), not bad bytes.
    assert corpus.replaced_chars.value == sum(w.count(REPLACEMENT_CHAR) * c for w, c in counter.items())


def test_word_buckets_are_fnv1a_of_the_utf8_bytes():
    """The count shuffle sends a word to the partition its bytes' FNV-1a picks, in every process alike
    (Python's str hash is salted per process); a sliced Arrow array gives each word's own bucket."""
    def fnv1a(word: str) -> int:
        h = 14695981039346656037
        for byte in word.encode("utf-8"):
            h = ((h ^ byte) * 1099511628211) % 2**64
        return h

    assert fnv1a("a") == 0xAF63DC4C8601EC8C  # the published FNV-1a 64 test vector
    words = ["the", "a", "日本", "é", "zz-unknown", "of"]
    arrays = [pa.array(words), pa.array(["x"] + words).slice(1), pa.array(words, type=pa.large_string())]
    for array in arrays:
        assert _word_buckets(array, 7).tolist() == [fnv1a(w) % 7 for w in words]
