"""read_corpus: text (plain, gzip, bzip2; folders and globs) and Parquet input, on a local SparkSession."""
from __future__ import annotations

import bz2
import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparkw2v.corpus import CorpusError, read_corpus
from sparkw2v.text import REPLACEMENT_CHAR, read_local_sentences

pytestmark = pytest.mark.spark

LINES = [
    "The Quick brown FOX",
    "",
    "jumps   over\tthe lazy DOG",
    "   ",
    "Ünïcödé Wörds stay ÜNÏCÖDÉ",
]


def tokens_of(lines, lowercase=False):
    return [t for line in lines for t in (line.lower() if lowercase else line).split()]


def as_multiset(sentences):
    return sorted(map(tuple, sentences))


@pytest.fixture
def text_folder(tmp_path):
    """Three files (plain, gzip, bzip2) with different lines, plus Hadoop-style hidden files."""
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "part-0.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    with gzip.open(folder / "part-1.txt.gz", "wt", encoding="utf-8") as f:
        f.write("gzip line one\ngzip Line TWO\n")
    with bz2.open(folder / "part-2.txt.bz2", "wt", encoding="utf-8") as f:
        f.write("bzip2 only line\n")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-0.txt.crc").write_text("not text\n")
    return folder


def test_text_input_keeps_or_lowercases(spark, tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    expected = [line.split() for line in LINES if line.strip()]
    assert read_corpus(spark, [str(path)]).sentences.collect() == expected
    lowered = read_corpus(spark, [str(path)], lowercase=True).sentences.collect()
    assert lowered == [[t.lower() for t in s] for s in expected]
    assert ["the", "quick", "brown", "fox"] in lowered and ["ünïcödé", "wörds", "stay", "ünïcödé"] in lowered


@pytest.mark.parametrize("max_length", [1, 7, 10, 1000])
def test_long_lines_are_cut_without_losing_tokens(spark, tmp_path, max_length):
    lines = [" ".join(f"w{i}_{j}" for j in range(n)) for i, n in enumerate([25, 3, 0, 10, 11, 1234])]
    path = tmp_path / "long.txt"
    path.write_text("\n".join(lines) + "\n")
    sentences = read_corpus(spark, [str(path)], max_sentence_length=max_length).sentences.collect()
    assert all(1 <= len(s) <= max_length for s in sentences)
    flat = [t for s in sentences for t in s]
    assert len(flat) == sum(len(line.split()) for line in lines)
    assert flat == tokens_of(lines)  # same tokens in the same order
    # a sentence never spans two lines
    assert all(len({t.split("_")[0] for t in s}) == 1 for s in sentences)
    expected_pieces = sum(-(-len(line.split()) // max_length) for line in lines)
    assert len(sentences) == expected_pieces


def test_folder_glob_and_file_list_give_the_same_sentences(spark, text_folder):
    files = [str(text_folder / n) for n in ("part-0.txt", "part-1.txt.gz", "part-2.txt.bz2")]
    expected = as_multiset(read_local_sentences(files))
    assert len(expected) == 6
    by_list = read_corpus(spark, files).sentences.collect()
    by_folder = read_corpus(spark, [str(text_folder)]).sentences.collect()
    by_glob = read_corpus(spark, [str(text_folder / "part-*")]).sentences.collect()
    assert as_multiset(by_list) == as_multiset(by_folder) == as_multiset(by_glob) == expected
    # hidden and _-prefixed files are skipped, like the local reader
    assert not any("not" in s and "text" in s for s in by_folder)
    only_gz = read_corpus(spark, [str(text_folder / "*.gz")]).sentences.collect()
    assert only_gz == [["gzip", "line", "one"], ["gzip", "Line", "TWO"]]


def test_spark_and_local_readers_agree_on_the_demo_corpus(spark, demo_corpus):
    spark_sentences = read_corpus(spark, [str(demo_corpus)], lowercase=True,
                                  max_sentence_length=1000).sentences.collect()
    local_sentences = list(read_local_sentences([str(demo_corpus)], lowercase=True, max_length=1000))
    assert len(spark_sentences) == len(local_sentences) > 1000
    assert spark_sentences == local_sentences  # one gzip file: one partition, order kept


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ""])
def test_undecodable_bytes_are_replaced_and_counted(spark, tmp_path, suffix):
    data = b"caf\xe9 ok\n\xff\xfe x\ntrunc\xe2\x82 y\nclean line\n"
    path = tmp_path / f"bad.txt{suffix}"
    opener = {"": open, ".gz": gzip.open, ".bz2": bz2.open}[suffix]
    with opener(path, "wb") as f:
        f.write(data)
    corpus = read_corpus(spark, [str(path)])
    sentences = corpus.sentences.collect()
    assert sentences[-1] == ["clean", "line"]
    assert sentences[0][0].startswith("caf") and REPLACEMENT_CHAR in sentences[0][0]
    # the replacement characters Hadoop produced, counted once per character after one action
    seen = sum(t.count(REPLACEMENT_CHAR) for s in sentences for t in s)
    assert seen == 4
    assert corpus.replaced_chars.value == seen
    corpus.log_replacements()
    # the local reader decodes these bytes the same way
    assert list(read_local_sentences([str(path)])) == sentences


def test_byte_order_mark_is_handled_like_the_local_reader(spark, tmp_path):
    path = tmp_path / "bom.txt.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\xef\xbb\xbffirst word\nsecond\n")
    spark_sentences = read_corpus(spark, [str(path)]).sentences.collect()
    assert spark_sentences[0] == ["first", "word"]
    assert spark_sentences == list(read_local_sentences([str(path)]))


# -- Parquet --------------------------------------------------------------------------------------
@pytest.fixture
def parquet_dir(tmp_path):
    """The same sentences as a string column and as an array<string> column, plus an int column."""
    text = [line for line in LINES] + [None, "a b c d e f g h i j k l"]
    arrays = [line.split() if line is not None else None for line in text]
    table = pa.table({
        "doc_id": pa.array(range(len(text)), type=pa.int64()),
        "text": pa.array(text, type=pa.string()),
        "tokens": pa.array(arrays, type=pa.list_(pa.string())),
    })
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(table.slice(0, 3), folder / "part-0.parquet")
    pq.write_table(table.slice(3), folder / "part-1.parquet")
    return folder, text


@pytest.mark.parametrize("lowercase", [False, True])
def test_parquet_string_and_array_columns_give_the_same_sentences(spark, parquet_dir, lowercase):
    folder, text = parquet_dir
    read = lambda column: read_corpus(spark, [str(folder)], input_format="parquet",  # noqa: E731
                                      column=column, lowercase=lowercase,
                                      max_sentence_length=5).sentences.collect()
    from_strings, from_arrays = read("text"), read("tokens")
    assert as_multiset(from_strings) == as_multiset(from_arrays)
    assert sorted(t for s in from_strings for t in s) == sorted(tokens_of([t for t in text if t], lowercase))
    assert all(1 <= len(s) <= 5 for s in from_strings)
    assert (["the", "quick", "brown", "fox"] in from_strings) == lowercase
    assert ["a", "b", "c", "d", "e"] in from_arrays and ["k", "l"] in from_arrays


def test_parquet_array_column_skips_empty_tokens(spark, tmp_path):
    path = tmp_path / "arrays.parquet"
    pq.write_table(pa.table({"tokens": pa.array([["x", "", "Y"], [], ["", ""], None, ["z"]],
                                                type=pa.list_(pa.string()))}), path)
    sentences = read_corpus(spark, [str(path)], input_format="parquet", column="tokens").sentences.collect()
    assert as_multiset(sentences) == [("x", "Y"), ("z",)]


def test_parquet_column_is_found_when_only_one_holds_text(spark, tmp_path):
    path = tmp_path / "one.parquet"
    pq.write_table(pa.table({"id": [1, 2], "body": ["hello world", "again"]}), path)
    sentences = read_corpus(spark, [str(path)], input_format="parquet").sentences.collect()
    assert as_multiset(sentences) == [("again",), ("hello", "world")]


def test_parquet_column_must_be_named_when_several_hold_text(spark, parquet_dir):
    folder, _ = parquet_dir
    with pytest.raises(CorpusError, match="text") as info:
        read_corpus(spark, [str(folder)], input_format="parquet")
    assert "tokens" in str(info.value)


def test_parquet_column_of_the_wrong_type_is_named(spark, parquet_dir):
    folder, _ = parquet_dir
    with pytest.raises(CorpusError) as info:
        read_corpus(spark, [str(folder)], input_format="parquet", column="doc_id")
    message = str(info.value)
    assert "doc_id" in message and "bigint" in message


def test_parquet_missing_column_is_named(spark, parquet_dir):
    folder, _ = parquet_dir
    with pytest.raises(CorpusError, match="no_such_column"):
        read_corpus(spark, [str(folder)], input_format="parquet", column="no_such_column")


# -- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("input_format", ["text", "parquet"])
def test_missing_path_is_named(spark, tmp_path, input_format):
    missing = str(tmp_path / "does-not-exist" / "corpus.txt")
    with pytest.raises(CorpusError) as info:
        read_corpus(spark, [missing], input_format=input_format)
    assert missing in str(info.value)


def test_one_missing_path_among_good_ones_is_named(spark, text_folder, tmp_path):
    missing = str(tmp_path / "nothing-*.gz")
    with pytest.raises(CorpusError, match="nothing-"):
        read_corpus(spark, [str(text_folder), missing])


def test_bad_arguments(spark, text_folder):
    with pytest.raises(CorpusError):
        read_corpus(spark, [])
    with pytest.raises(CorpusError, match="csv"):
        read_corpus(spark, [str(text_folder)], input_format="csv")


def test_parquet_input_splits_alike_on_any_number_of_cores(spark, tmp_path):
    """encode_chunks keys the chunks each partition copy trains by input split, so the same Parquet input
    must split alike however many cores the cluster has; Spark's own planning gives each core a split."""
    import numpy as np

    rng = np.random.default_rng(0)
    lines = [" ".join(row) for row in np.char.add("w", rng.integers(0, 100_000, size=(40_000, 100)).astype(str))]
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"text": lines}), path, row_group_size=1_000)  # ~15 MB: above 2 x Spark's 4 MB floor
    cores_setting = "spark.sql.leafNodeDefaultParallelism"  # what the scan takes for the cores
    splits = {}
    try:
        for cores in ("2", "8"):
            spark.conf.set(cores_setting, cores)
            splits[cores] = (read_corpus(spark, [str(path)], input_format="parquet").sentences.getNumPartitions(),
                             spark.read.parquet(str(path)).rdd.getNumPartitions())
    finally:
        spark.conf.unset(cores_setting)
    assert splits["2"][0] == splits["8"][0] == 2
    assert splits["2"][1] != splits["8"][1]  # without the fixed minimum, the splits follow the cores
    assert spark.conf.get("spark.sql.files.minPartitionNum", None) is None  # the session is left as it was
