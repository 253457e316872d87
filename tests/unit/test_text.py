"""Tokenising, sentence splitting and local file reading (the rules the Spark reader shares)."""
from __future__ import annotations

import bz2
import gzip

import pytest

from sparkw2v.text import (REPLACEMENT_CHAR, expand_local_paths, read_local_sentences,
                           sentences_from_lines, split_sentence, tokenize)

TEXT = "The cat sat\n\n   \nON the Mat  again\tand\u00a0again\nÉté Über\n"
EXPECTED = [["The", "cat", "sat"], ["ON", "the", "Mat", "again", "and", "again"], ["Été", "Über"]]


def test_tokenize_splits_on_any_whitespace():
    assert tokenize("  a\tb\nc  d\u3000e\u00a0f ") == ["a", "b", "c", "d", "e", "f"]
    assert tokenize("") == [] and tokenize(" \t ") == []


def test_tokenize_keeps_case_unless_asked():
    assert tokenize("The ÉTÉ Cat") == ["The", "ÉTÉ", "Cat"]
    assert tokenize("The ÉTÉ Cat", lowercase=True) == ["the", "été", "cat"]


def test_split_sentence_cuts_without_dropping():
    tokens = [f"w{i}" for i in range(25)]
    pieces = list(split_sentence(tokens, 10))
    assert [len(p) for p in pieces] == [10, 10, 5]
    assert [t for p in pieces for t in p] == tokens


@pytest.mark.parametrize("length", [0, 1, 9, 10, 11, 20, 21, 99])
@pytest.mark.parametrize("max_length", [1, 3, 10])
def test_split_sentence_lengths(length, max_length):
    tokens = [str(i) for i in range(length)]
    pieces = list(split_sentence(tokens, max_length))
    assert [t for p in pieces for t in p] == tokens
    assert all(1 <= len(p) <= max_length for p in pieces)
    assert len(pieces) == -(-length // max_length)  # ceil: no piece shorter than needed


def test_blank_lines_give_no_sentence():
    lines = ["", "   ", "\t\n", "a b", "\n", "c"]
    assert list(sentences_from_lines(lines, False, 10)) == [["a", "b"], ["c"]]


def test_sentences_from_lines_lowercases_and_splits():
    lines = ["A B C D E", "F"]
    assert list(sentences_from_lines(lines, True, 2)) == [["a", "b"], ["c", "d"], ["e"], ["f"]]


@pytest.fixture
def corpus_dir(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    data = TEXT.encode("utf-8")
    (folder / "a.txt").write_bytes(data)
    with gzip.open(folder / "b.txt.gz", "wb") as f:
        f.write(data)
    with bz2.open(folder / "c.txt.bz2", "wb") as f:
        f.write(data)
    return folder


@pytest.mark.parametrize("name", ["a.txt", "b.txt.gz", "c.txt.bz2"])
def test_reads_plain_gzip_and_bzip2_alike(corpus_dir, name):
    assert list(read_local_sentences([str(corpus_dir / name)])) == EXPECTED


def test_folder_glob_and_file_list_read_identically(corpus_dir):
    files = [str(corpus_dir / n) for n in ("a.txt", "b.txt.gz", "c.txt.bz2")]
    by_files = list(read_local_sentences(files))
    assert by_files == EXPECTED * 3
    assert list(read_local_sentences([str(corpus_dir)])) == by_files
    assert list(read_local_sentences([str(corpus_dir / "*")])) == by_files
    assert list(read_local_sentences(["file://" + str(corpus_dir)])) == by_files
    assert list(read_local_sentences([str(corpus_dir / "*.gz")])) == EXPECTED


def test_folder_recursion_skips_hidden_and_underscore_files(corpus_dir):
    (corpus_dir / "_SUCCESS").write_text("hidden marker\n")
    (corpus_dir / ".crc").write_text("hidden\n")
    sub = corpus_dir / "sub"
    sub.mkdir()
    (sub / "d.txt").write_text("deep words\n")
    found = expand_local_paths([str(corpus_dir)])
    names = [p.rsplit("/", 1)[1] for p in found]
    assert names == ["a.txt", "b.txt.gz", "c.txt.bz2", "d.txt"]
    assert list(read_local_sentences([str(corpus_dir)]))[-1] == ["deep", "words"]


def test_lowercase_and_max_length_reach_the_reader(corpus_dir):
    sentences = list(read_local_sentences([str(corpus_dir / "a.txt")], lowercase=True, max_length=4))
    assert sentences == [["the", "cat", "sat"], ["on", "the", "mat", "again"], ["and", "again"],
                         ["été", "über"]]


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_undecodable_bytes_become_replacement_characters(tmp_path, suffix):
    data = b"caf\xe9 ok\n\xff\xfe plain\n"
    path = tmp_path / f"latin1.txt{suffix}"
    opener = {"": open, ".gz": gzip.open, ".bz2": bz2.open}[suffix]
    with opener(path, "wb") as f:
        f.write(data)
    sentences = list(read_local_sentences([str(path)]))
    assert sentences[0][1] == "ok" and sentences[1][-1] == "plain"
    assert sentences[0][0].startswith("caf") and REPLACEMENT_CHAR in sentences[0][0]
    assert REPLACEMENT_CHAR in sentences[1][0]


def test_crlf_line_ends_are_line_ends(tmp_path):
    path = tmp_path / "dos.txt"
    path.write_bytes(b"a b\r\nc\r\n")
    assert list(read_local_sentences([str(path)])) == [["a", "b"], ["c"]]


def test_missing_path_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        list(read_local_sentences([str(tmp_path / "nope.txt")]))
    with pytest.raises(FileNotFoundError):
        list(read_local_sentences([str(tmp_path / "nothing-*.gz")]))


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
def test_leading_byte_order_mark_is_dropped_like_hadoop(tmp_path, suffix):
    # Hadoop's LineRecordReader drops a UTF-8 BOM at the start of a file (only there); so must we,
    # or the local trainer's first word would be '\ufeffword' where Spark's is 'word'.
    path = tmp_path / f"bom.txt{suffix}"
    opener = {"": open, ".gz": gzip.open, ".bz2": bz2.open}[suffix]
    with opener(path, "wb") as f:
        f.write(b"\xef\xbb\xbfword one\n\xef\xbb\xbfword two\n")
    assert list(read_local_sentences([str(path)])) == [["word", "one"], ["\ufeffword", "two"]]
