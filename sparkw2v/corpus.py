"""Reading a corpus with Spark: text files (plain, gzip, bz2; folders and globs), or a column of Parquet
files or of a table in the Spark catalog.

The result is an RDD of sentences, each a list of tokens. Lines are split on whitespace and cut into
pieces of at most `max_sentence_length` tokens. Hadoop decodes text as UTF-8 and replaces undecodable
bytes with U+FFFD; we count those characters in an accumulator and log them, and never crash on them.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark import RDD
from pyspark.sql import SparkSession
from pyspark.sql.types import ArrayType, StringType

from .text import REPLACEMENT_CHAR, sentences_from_lines, split_sentence
from .training import encode_locally

log = logging.getLogger(__name__)

CHUNK_WORDS = 1 << 16  # sentences are encoded, and later dealt to the partitions, in chunks of about this many words
# The input is read in at least this many splits, not in one per core: a chunk is keyed by its split, so
# splits that followed the cluster's cores would deal each partition copy other text, and the same job
# would train another model on a cluster of another size. Input larger than the most a split takes (text:
# the file system's block, HDFS 128 MiB; Parquet: spark.sql.files.maxPartitionBytes, 128 MiB) splits by
# that size anyway, so this costs no read parallelism where it matters. (Spark's defaults: min(cores, 2) for text, the cores
# for Parquet.)
READ_MIN_SPLITS = 2


class CorpusError(ValueError):
    """The input cannot be read as a corpus: no such file, wrong column type, nothing in it."""


@dataclass
class Corpus:
    """Sentences (RDD of token lists) plus the accumulator counting replaced undecodable bytes."""

    sentences: RDD
    replaced_chars: object  # pyspark Accumulator[int]; read its .value after an action

    def log_replacements(self) -> None:
        if self.replaced_chars.value:
            log.warning("input had undecodable bytes: %d replacement characters (U+FFFD) seen; "
                        "they stay inside their tokens", self.replaced_chars.value)


def read_corpus(spark: SparkSession, paths: Sequence[str], *, input_format: str = "text",
                column: str | None = None, lowercase: bool = False,
                max_sentence_length: int = 10_000) -> Corpus:
    if not paths:
        raise CorpusError("no input path given")
    sc = spark.sparkContext
    replaced = sc.accumulator(0)
    if input_format == "text":
        _check_paths_exist(spark, paths)
        lines = sc.textFile(",".join(paths), minPartitions=READ_MIN_SPLITS)

        def to_sentences(part):
            n_replaced = 0
            for line in part:
                if REPLACEMENT_CHAR in line:
                    n_replaced += line.count(REPLACEMENT_CHAR)
                yield from sentences_from_lines((line,), lowercase, max_sentence_length)
            if n_replaced:
                replaced.add(n_replaced)

        return Corpus(lines.mapPartitions(to_sentences), replaced)
    if input_format == "parquet":
        _check_paths_exist(spark, paths)
        with splits_independent_of_cores(spark):
            frame = spark.read.parquet(*paths)
            sentences = _frame_sentences(frame, "the Parquet input", column, lowercase, max_sentence_length)
        return Corpus(sentences, replaced)
    if input_format == "table":
        [name] = paths
        if not _table_exists(spark, name):
            raise CorpusError(f"no table or view {name!r} in the Spark catalog "
                              f"(spark.sql.catalogImplementation={spark.conf.get('spark.sql.catalogImplementation')})")
        with splits_independent_of_cores(spark):
            frame = spark.table(name)
            sentences = _frame_sentences(frame, f"table {name}", column, lowercase, max_sentence_length)
        return Corpus(sentences, replaced)
    raise CorpusError(f"input_format={input_format!r}: must be 'text', 'parquet' or 'table'")


def encode_chunks(sentences: RDD) -> RDD:
    """Sentences -> ((input split, chunk number), (words, local ids, offsets)) per chunk of CHUNK_WORDS.

    The one pass over the input: the vocabulary is counted from these chunks and the training ids
    are mapped from them (training.to_vocabulary_ids), so the text is read and split once. Persist the
    result when both use it; int32 ids are smaller than the text they replace.
    """
    def to_chunks(split, part):
        chunk_no, batch, batch_words = 0, [], 0
        for sentence in part:
            batch.append(sentence)
            batch_words += len(sentence)
            if batch_words >= CHUNK_WORDS:
                yield (split, chunk_no), encode_locally(batch)
                chunk_no, batch, batch_words = chunk_no + 1, [], 0
        if batch:
            yield (split, chunk_no), encode_locally(batch)

    return sentences.mapPartitionsWithIndex(to_chunks)


@contextmanager
def splits_independent_of_cores(spark: SparkSession):
    """Plan a file scan in READ_MIN_SPLITS splits or more, not in one per core (the default of
    spark.sql.files.minPartitionNum), unless the session sets that itself. The splits are fixed when the
    frame becomes an RDD (_frame_sentences), so the setting is needed only meanwhile."""
    key = "spark.sql.files.minPartitionNum"
    if spark.conf.get(key, None) is not None:
        yield
        return
    spark.conf.set(key, str(READ_MIN_SPLITS))
    try:
        yield
    finally:
        spark.conf.unset(key)


def _table_exists(spark: SparkSession, name: str) -> bool:
    try:
        return bool(spark.catalog.tableExists(name))
    except Exception:  # noqa: BLE001 (a name Spark cannot parse is as absent as a missing table)
        return False


def _frame_sentences(frame, what: str, column, lowercase, max_length) -> RDD:
    if column is None:
        string_columns = [f.name for f in frame.schema.fields
                          if isinstance(f.dataType, StringType)
                          or (isinstance(f.dataType, ArrayType) and isinstance(f.dataType.elementType, StringType))]
        if len(string_columns) != 1:
            raise CorpusError(f"--input-column is needed: {what} has columns "
                              f"{frame.columns}, of which {string_columns} hold text")
        column = string_columns[0]
    if column not in frame.columns:
        raise CorpusError(f"input column {column!r} not found; {what} has {frame.columns}")
    dtype = frame.schema[column].dataType
    rows = frame.select(column).rdd.map(lambda row: row[0])
    if isinstance(dtype, StringType):
        return rows.mapPartitions(
            lambda part: sentences_from_lines((s for s in part if s is not None), lowercase, max_length))
    if isinstance(dtype, ArrayType) and isinstance(dtype.elementType, StringType):
        def arrays(part):
            for tokens in part:
                if tokens is None:
                    continue
                tokens = [t.lower() if lowercase else t for t in tokens if t]
                yield from split_sentence(tokens, max_length)
        return rows.mapPartitions(arrays)
    raise CorpusError(f"input column {column!r} has type {dtype.simpleString()}; "
                      "expected string (a sentence) or array<string> (its tokens)")


def _check_paths_exist(spark: SparkSession, paths: Sequence[str]) -> None:
    """Fail with the path in the message, before Spark's own InvalidInputException deep in a job."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    for path in paths:
        hpath = jvm.org.apache.hadoop.fs.Path(path)
        fs = hpath.getFileSystem(conf)
        matches = fs.globStatus(hpath)
        if matches is None or len(matches) == 0:
            raise CorpusError(f"no input file matches {path!r}")
