"""The driver loop: encode once, then per (epoch, round) broadcast, train partitions, combine.

    corpus -> vocabulary (Spark) -> tables on the driver -> broadcast once
    encode sentences to int32 chunks, spread over P partitions, persist
    for each epoch, for each of syncs_per_epoch rounds:
        broadcast the parameters
        mapPartitionsWithIndex: local copy -> Numba kernel on this round's slice -> touched rows
        combineByKey on (matrix, row block), on the executors -> one averaged copy to the driver
        destroy the broadcast, log progress

Partition p of round r in epoch e is seeded with derive_seed(seed, e, r, p), so a retried task
recomputes the same rows, and two runs with the same input and partitioning are bit-identical.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pyspark import RDD, StorageLevel
from pyspark.sql import SparkSession

from .config import TrainConfig
from .corpus import read_corpus
from .kernels import train_slice
from .local import TrainResult, round_record
from .params import Params, combine_rows, init_params, touched_rows
from .training import build_kernel_tables, encode_sentences, kernel_settings, round_bounds, round_seed, schedule
from .vocab import Vocabulary, build_vocabulary

log = logging.getLogger(__name__)

CHUNK_WORDS = 1 << 16  # encoded sentences travel in chunks of about this many ids
ROW_BLOCK = 4096       # the unit of the parameter combine: rows [b * ROW_BLOCK, (b + 1) * ROW_BLOCK)
_STATS = -1            # key of the per-partition statistics record in the combine


class TrainingDivergedError(RuntimeError):
    """The parameters hold NaN or Inf after a sync."""


@dataclass(frozen=True)
class InputSpec:
    paths: Sequence[str]
    input_format: str = "text"
    column: str | None = None


def train(spark: SparkSession, inputs: InputSpec, config: TrainConfig,
          on_round: Callable[[dict], None] | None = None) -> TrainResult:
    """Count the vocabulary, then train; returns the vocabulary, parameters and per-round metrics."""
    config = config.validate()
    corpus = read_corpus(spark, inputs.paths, input_format=inputs.input_format, column=inputs.column,
                         lowercase=config.lowercase, max_sentence_length=config.max_sentence_length)
    spark.sparkContext.setJobDescription("sparkw2v: vocabulary")
    started = time.perf_counter()
    vocab = build_vocabulary(corpus.sentences, config.min_count, config.max_vocab_size)
    corpus.log_replacements()
    timings = {"vocabulary_seconds": time.perf_counter() - started}
    log.info("vocabulary job: %.1f s", timings["vocabulary_seconds"])
    partitions = config.num_partitions or spark.sparkContext.defaultParallelism
    started = time.perf_counter()
    encoded = encode_corpus(corpus.sentences, vocab, partitions)
    timings["encode_seconds"] = time.perf_counter() - started
    try:
        started = time.perf_counter()
        result = train_on_encoded(spark, encoded, vocab, config.replace(num_partitions=partitions), on_round)
        timings["train_seconds"] = time.perf_counter() - started
        result.timings.update(timings)
        return result
    finally:
        encoded.unpersist()


def encode_corpus(sentences: RDD, vocab: Vocabulary, partitions: int) -> RDD:
    """Sentences -> one (ids, offsets) record per partition, in input order, persisted.

    Chunks are keyed by (input split, chunk number) and dealt round-robin to the partitions, then each
    partition concatenates its chunks in key order: deterministic, independent of shuffle order.
    """
    sc = sentences.context
    index = sc.broadcast(vocab.index)

    def to_chunks(split, part):
        lookup = index.value
        chunk_no = 0
        batch: list[list[str]] = []
        batch_words = 0
        for sentence in part:
            batch.append(sentence)
            batch_words += len(sentence)
            if batch_words >= CHUNK_WORDS:
                yield (split, chunk_no), encode_sentences(batch, lookup)
                chunk_no, batch, batch_words = chunk_no + 1, [], 0
        if batch:
            yield (split, chunk_no), encode_sentences(batch, lookup)

    def concatenate(part):
        chunks = sorted(part, key=lambda kv: kv[0])
        ids = [c[1][0] for c in chunks]
        offsets = [np.zeros(1, dtype=np.int64)]
        shift = 0
        for chunk_ids, chunk_offsets in (c[1] for c in chunks):
            offsets.append(chunk_offsets[1:] + shift)
            shift += len(chunk_ids)
        yield (np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)), np.concatenate(offsets)

    sc.setJobDescription("sparkw2v: encode the corpus")
    encoded = (sentences.mapPartitionsWithIndex(to_chunks)
               .partitionBy(partitions, lambda key: key[0] * 7919 + key[1])
               .mapPartitions(concatenate, preservesPartitioning=True)
               .persist(StorageLevel.MEMORY_AND_DISK))
    sizes = encoded.map(lambda rec: len(rec[0])).collect()
    index.destroy()
    log.info("encoded %d training words into %d partitions (smallest %d, largest %d)",
             sum(sizes), partitions, min(sizes), max(sizes))
    return encoded


def train_on_encoded(spark: SparkSession, encoded: RDD, vocab: Vocabulary, config: TrainConfig,
                     on_round: Callable[[dict], None] | None = None, params: Params | None = None,
                     first_epoch: int = 0) -> TrainResult:
    sc = spark.sparkContext
    partitions = encoded.getNumPartitions()
    tables = sc.broadcast(build_kernel_tables(vocab.counts, config))
    settings = kernel_settings(config)
    params = init_params(len(vocab), config) if params is None else params
    steps = schedule(config, first_epoch)
    metrics = []
    job_started = time.perf_counter()
    try:
        for done, step in enumerate(steps):
            sc.setJobDescription(f"sparkw2v: epoch {step.epoch + 1}/{config.epochs} "
                                 f"round {step.round + 1}/{config.syncs_per_epoch}")
            started = time.perf_counter()
            params, stats, driver_bytes = _sync_round(sc, encoded, params, tables, settings, step,
                                                      config, partitions)
            seconds = time.perf_counter() - started
            record = round_record(step, sum(s[1] for s in stats), sum(s[2] for s in stats),
                                  sum(s[3] for s in stats), seconds)
            record["driver_bytes_in"] = driver_bytes
            record["partitions"] = partitions
            metrics.append(record)
            if not params.all_finite():
                raise TrainingDivergedError(
                    f"parameters hold NaN or Inf after epoch {record['epoch']} round {record['round']} "
                    f"(alpha {step.alpha_start:.4g}); lower --alpha and resume from the last checkpoint")
            elapsed = time.perf_counter() - job_started
            eta = elapsed / (done + 1) * (len(steps) - done - 1)
            log.info("epoch %d/%d round %d/%d: %s words/s, loss %.4f, alpha %.5f -> %.5f, %.1f s, ETA %s",
                     record["epoch"], config.epochs, record["round"], config.syncs_per_epoch,
                     f"{record['words_per_sec']:,.0f}", record["loss"], step.alpha_start, step.alpha_end,
                     seconds, _duration(eta))
            if on_round is not None:
                on_round(record)
    finally:
        tables.destroy()
    return TrainResult(vocab, params, metrics)


def _sync_round(sc, encoded: RDD, params: Params, tables, settings, step, config: TrainConfig,
                partitions: int):
    """One broadcast -> train -> combine cycle. Returns new params, per-partition stats, driver bytes."""
    shared = sc.broadcast(params)
    rounds = config.syncs_per_epoch
    averaging = config.averaging
    seeds = [round_seed(config, step.epoch, step.round, p) for p in range(partitions)]

    def train_partition(p, records):
        base = shared.value
        local = base.copy()
        loss = words = examples = 0
        for ids, offsets in records:
            first, last = round_bounds(offsets, step.round, rounds)
            result = train_slice(ids, offsets[first:last + 1], *local, tables.value, settings,
                                 step.alpha_start, step.alpha_end, seeds[p])
            loss, words, examples = result
        yield (_STATS, 0), (p, loss, words, examples)
        for m, (new, old) in enumerate(zip(local, base)):
            rows = touched_rows(new, old)
            blocks = rows // ROW_BLOCK
            cuts = np.flatnonzero(np.diff(blocks)) + 1
            for block_rows in np.split(rows, cuts) if rows.size else []:
                yield (m, int(block_rows[0] // ROW_BLOCK)), (p, block_rows, new[block_rows])

    def combine(key, contributions):
        contributions = sorted(contributions, key=lambda c: c[0])
        if key[0] == _STATS:
            return key, contributions
        base = shared.value[key[0]]
        return key, combine_rows(base, [(rows, values) for _, rows, values in contributions],
                                 partitions, averaging)

    combined = (encoded.mapPartitionsWithIndex(train_partition)
                .combineByKey(lambda v: [v], lambda acc, v: acc + [v], lambda a, b: a + b,
                              numPartitions=partitions)
                .map(lambda kv: combine(*kv))
                .collect())
    new_params = params.copy()
    stats = []
    driver_bytes = 0
    for (matrix, _), value in combined:
        if matrix == _STATS:
            stats.extend(value)
            continue
        rows, values = value
        new_params[matrix][rows] = values
        driver_bytes += rows.nbytes + values.nbytes
    shared.destroy()
    return new_params, stats, driver_bytes


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
