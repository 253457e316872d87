"""The driver loop: encode once, then per (epoch, round) broadcast, train partitions, combine.

    corpus -> vocabulary (Spark) -> tables on the driver -> broadcast once
    encode sentences to int32 chunks, spread over P partitions, persist
    for each epoch, for each of syncs_per_epoch rounds:
        broadcast the parameters
        mapPartitionsWithIndex: local copy -> Numba kernel on this round's slice -> touched rows
        combineByKey on (matrix, row block), on the executors -> one averaged copy to the driver
        destroy the broadcast, log progress

The local copy is the partition's own (local_copy="partition") or its executor's, shared in place by
the partitions that run there (local_copy="executor", see shared_copy.py).

Partition p of round r in epoch e is seeded with derive_seed(seed, e, r, p). With a copy per
partition, a retried task recomputes the same rows, and two runs with the same input and partitioning
are bit-identical; executor copies race like word2vec.c's threads and are not.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from pyspark import RDD, StorageLevel
from pyspark.broadcast import Broadcast
from pyspark.sql import SparkSession

from . import shared_copy
from .checkpoint import CheckpointStore, check_compatible
from .config import TrainConfig
from .corpus import read_corpus
from .kernels import train_slice
from .local import TrainResult, loss_text, round_record
from .params import Params, apply_block_momentum, combine_rows, init_params, touched_rows
from .training import (build_kernel_tables, encode_sentences, interleave, kernel_settings, round_bounds, round_seed,
                       schedule)
from .vocab import Vocabulary, build_vocabulary

log = logging.getLogger(__name__)

CHUNK_WORDS = 1 << 16  # encoded sentences travel in chunks of about this many ids
ROW_BLOCK = 4096       # the unit of the parameter combine: rows [b * ROW_BLOCK, (b + 1) * ROW_BLOCK)
_STATS = -1            # key of the per-partition statistics record in the combine


class TrainingDivergedError(RuntimeError):
    """The parameters hold NaN or Inf after a sync."""


class MemoryBudgetError(ValueError):
    """The parameters would not fit in the configured driver or executor memory."""


@dataclass(frozen=True)
class InputSpec:
    paths: Sequence[str]
    input_format: str = "text"
    column: str | None = None


def train(spark: SparkSession, inputs: InputSpec, config: TrainConfig,
          on_round: Callable[[dict], None] | None = None, checkpoints: CheckpointStore | None = None,
          resume: bool = False) -> TrainResult:
    """Count the vocabulary, then train; returns the vocabulary, parameters and per-round metrics.

    With `checkpoints`, the state is saved after every epoch; with `resume` too, training continues
    after the last saved epoch (refusing a checkpoint of another config or vocabulary).
    """
    config = config.validate()
    corpus = read_corpus(spark, inputs.paths, input_format=inputs.input_format, column=inputs.column,
                         lowercase=config.lowercase, max_sentence_length=config.max_sentence_length)
    return train_sentences(spark, corpus.sentences, config, on_round, checkpoints, resume,
                           after_vocabulary=corpus.log_replacements)


def train_sentences(spark: SparkSession, sentences: RDD, config: TrainConfig,
                    on_round: Callable[[dict], None] | None = None,
                    checkpoints: CheckpointStore | None = None, resume: bool = False,
                    after_vocabulary: Callable[[], None] | None = None) -> TrainResult:
    """`train` on an RDD of token lists."""
    config = config.validate()
    spark.sparkContext.setJobDescription("sparkw2v: vocabulary")
    started = time.perf_counter()
    vocab = build_vocabulary(sentences, config.min_count, config.max_vocab_size)
    if after_vocabulary is not None:
        after_vocabulary()
    timings = {"vocabulary_seconds": time.perf_counter() - started}
    log.info("vocabulary job: %.1f s", timings["vocabulary_seconds"])
    config = config.replace(num_partitions=config.num_partitions or spark.sparkContext.defaultParallelism)
    copies = _copies(spark.sparkContext, config, config.num_partitions)
    config = config.replace(syncs_per_epoch=config.syncs_for(copies))
    check_memory(spark, config, len(vocab), copies)

    params, velocity, first_epoch, prior_metrics = None, None, 0, []
    if resume and checkpoints is not None:
        checkpoint = checkpoints.latest()
        if checkpoint is None:
            log.info("no checkpoint in %s: starting from epoch 1", checkpoints.directory)
        else:
            check_compatible(checkpoint, config, vocab, f"{checkpoints.directory} epoch {checkpoint.epoch}")
            params, velocity = checkpoint.params, checkpoint.velocity
            first_epoch, prior_metrics = checkpoint.epoch, checkpoint.metrics
            log.info("resuming after epoch %d of %d from %s", first_epoch, config.epochs, checkpoints.directory)

    def on_epoch(epoch: int, epoch_params: Params, epoch_velocity: Params | None, metrics: list[dict]) -> None:
        if checkpoints is not None:
            checkpoints.save(epoch, epoch_params, vocab, config, prior_metrics + metrics, epoch_velocity)

    started = time.perf_counter()
    encoded = encode_corpus(sentences, vocab, config.num_partitions, config.interleave)
    timings["encode_seconds"] = time.perf_counter() - started
    try:
        started = time.perf_counter()
        result = train_on_encoded(spark, encoded, vocab, config, on_round, params, first_epoch, on_epoch,
                                  velocity)
        timings["train_seconds"] = time.perf_counter() - started
        result.metrics[:0] = prior_metrics
        result.timings.update(timings)
        return result
    finally:
        encoded.release()


def check_memory(spark: SparkSession, config: TrainConfig, vocab_size: int, copies: int = 1) -> None:
    """Refuse a model that cannot fit, with both numbers, before any parameter is allocated.

    Driver: the global copy, the next one being assembled, and the broadcast's serialised copy (and the
    block momentum's velocity where it is on).
    Executor: per concurrent task, the broadcast copy, the local copy and the rows it sends back.
    """
    conf = spark.sparkContext.getConf()
    one_copy = config.parameter_bytes(vocab_size)
    tasks = int(conf.get("spark.executor.cores", "1")) if not spark.sparkContext.master.startswith("local") \
        else spark.sparkContext.defaultParallelism
    driver_copies = 3 + (config.block_momentum_for(copies) > 0)
    needs = {"driver": driver_copies * one_copy, "executor": 3 * one_copy * max(tasks, 1)}
    budgets = {"driver": ("spark.driver.memory", "1g"),
               "executor": ("spark.executor.pyspark.memory", conf.get("spark.executor.memory", "1g"))}
    if spark.sparkContext.master.startswith("local"):
        budgets.pop("executor")  # executors are the driver process's Python workers
        needs["driver"] += 3 * one_copy * max(tasks, 1)
    for role, (key, default) in budgets.items():
        budget = _parse_bytes(conf.get(key, default))
        if needs[role] > budget:
            raise MemoryBudgetError(
                f"the model needs about {needs[role] / 2**20:,.0f} MiB on the {role} ({vocab_size:,} words x "
                f"{config.vector_size} dims, {one_copy / 2**20:,.0f} MiB per copy) but {key} is "
                f"{budget / 2**20:,.0f} MiB; raise {key}, or lower --vector-size / --max-vocab-size")


def _parse_bytes(text: str) -> int:
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    text = text.strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text)) * 2**20  # Spark reads a bare number of memory as MiB


def encode_corpus(sentences: RDD, vocab: Vocabulary, partitions: int, sweeps: int = 1) -> "EncodedCorpus":
    """Sentences -> one (ids, offsets) record per partition, persisted.

    Chunks are keyed by (input split, chunk number) and dealt round-robin to the partitions, then each
    partition concatenates its chunks in key order (deterministic, independent of shuffle order) and
    reorders them into `sweeps` interleaved passes (training.interleave), as the local trainer does.
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
        yield interleave(np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32), np.concatenate(offsets),
                         sweeps)

    sc.setJobDescription("sparkw2v: encode the corpus")
    encoded = (sentences.mapPartitionsWithIndex(to_chunks)
               .partitionBy(partitions, lambda key: key[0] * 7919 + key[1])
               .mapPartitions(concatenate, preservesPartitioning=True)
               .persist(StorageLevel.MEMORY_AND_DISK))
    sizes = encoded.map(lambda rec: len(rec[0])).collect()
    log.info("encoded %d training words into %d partitions (smallest %d, largest %d)",
             sum(sizes), partitions, min(sizes), max(sizes))
    return EncodedCorpus(encoded, index, sum(sizes))


@dataclass
class EncodedCorpus:
    """The persisted encoded RDD and the broadcast its lineage needs.

    A lost executor's cached partitions are recomputed from the lineage, which reads the word index:
    that broadcast must live exactly as long as the RDD.
    """

    rdd: RDD
    index: Broadcast
    words: int  # training words (in-vocabulary tokens) over all partitions

    def release(self) -> None:
        self.rdd.unpersist()
        self.index.destroy()


def train_on_encoded(spark: SparkSession, encoded: EncodedCorpus, vocab: Vocabulary, config: TrainConfig,
                     on_round: Callable[[dict], None] | None = None, params: Params | None = None,
                     first_epoch: int = 0,
                     on_epoch: Callable[[int, Params, Params | None, list[dict]], None] | None = None,
                     velocity: Params | None = None) -> TrainResult:
    sc = spark.sparkContext
    partitions = encoded.rdd.getNumPartitions()
    tables = sc.broadcast(build_kernel_tables(vocab.counts, config))
    settings = kernel_settings(config)
    params = init_params(len(vocab), config) if params is None else params
    steps = schedule(config, first_epoch)
    metrics = []
    run_id = uuid.uuid4().hex[:16]
    warn_known_losses(config, _copies(sc, config, partitions))
    job_started = time.perf_counter()
    try:
        for done, step in enumerate(steps):
            sc.setJobDescription(f"sparkw2v: epoch {step.epoch + 1}/{config.epochs} "
                                 f"round {step.round + 1}/{config.syncs_per_epoch}")
            started = time.perf_counter()
            previous = params
            params, stats, driver_bytes, copies = _sync_round(sc, encoded.rdd, params, tables, settings, step,
                                                              config, partitions, run_id, encoded.words)
            momentum = config.block_momentum_for(copies)
            if momentum > 0:
                params, velocity = apply_block_momentum(previous, params, velocity, momentum)
            seconds = time.perf_counter() - started
            record = round_record(step, sum(s[1] for s in stats), sum(s[2] for s in stats),
                                  sum(s[3] for s in stats), seconds, config.compute_loss)
            record["driver_bytes_in"] = driver_bytes
            record["executor_bytes_out"] = sum(s[5] for s in stats)  # rows the copies sent to the combine
            record["partitions"] = partitions
            record["copies"] = len({s[4] for s in stats})  # parameter copies averaged in this round
            record["alpha_factor"] = config.alpha_factor(copies)
            record["block_momentum"] = momentum
            record["executors"] = _executor_count(sc)
            metrics.append(record)
            if not params.all_finite():
                raise TrainingDivergedError(
                    f"parameters hold NaN or Inf after epoch {record['epoch']} round {record['round']} "
                    f"(alpha {step.alpha_start:.4g}); lower --alpha and resume from the last checkpoint")
            elapsed = time.perf_counter() - job_started
            eta = elapsed / (done + 1) * (len(steps) - done - 1)
            log.info("epoch %d/%d round %d/%d: %s words/s, loss %s, alpha %.5f -> %.5f, %d copies averaged%s, "
                     "%.1f s, ETA %s", record["epoch"], config.epochs, record["round"], config.syncs_per_epoch,
                     f"{record['words_per_sec']:,.0f}", loss_text(record["loss"]), step.alpha_start, step.alpha_end,
                     record["copies"], _rule_text(record), seconds, _duration(eta))
            if on_round is not None:
                on_round(record)
            if on_epoch is not None and step.round == config.syncs_per_epoch - 1:
                on_epoch(step.epoch + 1, params, velocity, metrics)
    finally:
        tables.destroy()
        if config.local_copy == "executor":
            _remove_shared_copies(sc, run_id)
    return TrainResult(vocab, params, metrics)


def warn_known_losses(config: TrainConfig, copies: int) -> None:
    """Log a warning, with what we measured, for settings known to lose much quality at this many copies.

    The figures: E partition copies of the kernel in one process (benchmarks/sim_copies.py), skip-gram,
    3 epochs (README, "Many copies").
    """
    if copies <= 1:
        return
    if config.averaging in ("touched", "mean") and config.alpha_factor(copies) == 1.0:
        log.warning("averaging=%s without scale_alpha divides the learning by the %d copies: 8 copies scored "
                    "1.3%% analogies against 10.5%% for one (SGNS, 4M tokens of wiki-aa); use the default "
                    "averaging 'scaled'",
                    config.averaging, copies)
    elif config.averaging == "sum":
        log.warning("averaging=sum at %d copies overshoots the most frequent rows: 8 copies blew up (SGNS, 4M "
                    "tokens of wiki-aa); "
                    "use the default averaging 'scaled'", copies)
    elif config.averaging == "scaled":
        momentum = config.block_momentum_for(copies)
        made_up = config.copies_made_up(copies)
        if made_up < copies:
            log.warning("%d copies: the scaled averaging makes up a factor of %g (copy rate x%g, momentum %.3g), "
                        "so shared rows learn at about %.0f%% of one machine's pace; fewer partitions, or "
                        "--local-copy executor with several cores per executor, keep quality (README, \"Many "
                        "copies\")", copies, made_up, config.alpha_factor(copies), momentum, 100 * made_up / copies)
        if config.syncs_per_epoch < 16 and copies >= 8:
            log.warning("%d syncs per epoch at %d copies: 8 SGNS copies on wiki-aa scored 23.0%% analogies with 4 "
                        "syncs per epoch, 25.8%% with 16 (one copy 30.6%%); the default is 16",
                        config.syncs_per_epoch, copies)


def _sync_round(sc, encoded: RDD, params: Params, tables, settings, step, config: TrainConfig,
                partitions: int, run_id: str, total_words: int):
    """One broadcast -> train -> combine cycle. Returns the combined params, per-partition stats, driver
    bytes and the number of copies the learning-rate rule counts (partitions, or executors).

    local_copy="partition": each task trains its own copy of the broadcast; the copies are averaged.
    local_copy="executor": the tasks of one executor train one shared copy (shared_copy.py); each row
    of each executor's copy is recovered from its newest snapshot, and the executors' copies averaged.
    """
    shared = sc.broadcast(params)
    rounds = config.syncs_per_epoch
    averaging = config.averaging
    per_executor = config.local_copy == "executor"
    copies = _copies(sc, config, partitions)
    executors = copies if per_executor else 0
    scale = config.alpha_factor(copies)
    least_divisor = config.combine_divisor(copies)
    executor_words = max(total_words / rounds / max(executors, 1), 1.0)  # one executor's share of the round
    sequence = step.epoch * rounds + step.round
    seeds = [round_seed(config, step.epoch, step.round, p) for p in range(partitions)]

    def train_partition(p, records):
        base = shared.value
        slices = []
        for ids, offsets in records:
            first, last = round_bounds(offsets, step.round, rounds)
            slices.append((ids, offsets[first:last + 1]))
        if per_executor:
            directory = shared_copy.local_directory()
            local, progress = shared_copy.attach(directory, run_id, sequence, base)
            owner = shared_copy.copy_group(directory)
        else:
            local, progress, owner = base.copy(), None, p
        loss = words = examples = 0
        for ids, offsets in slices:
            loss, words, examples = train_slice(ids, offsets, *local, tables.value, settings, step.alpha_start * scale,
                                                step.alpha_end * scale, seeds[p], progress, executor_words)
        taken = shared_copy.snapshot_time()
        changed = [touched_rows(new, old) for new, old in zip(local, base)]
        sent = sum(rows.size * (rows.itemsize + new.shape[1] * new.itemsize) for rows, new in zip(changed, local))
        yield (_STATS, 0), (p, loss, words, examples, owner, sent)
        for m, (new, rows) in enumerate(zip(local, changed)):
            blocks = rows // ROW_BLOCK
            cuts = np.flatnonzero(np.diff(blocks)) + 1
            for block_rows in np.split(rows, cuts) if rows.size else []:
                yield (m, int(block_rows[0] // ROW_BLOCK)), (owner, taken, block_rows, new[block_rows])

    def combine(key, contributions):
        contributions = sorted(contributions, key=lambda c: c[0])
        if key[0] == _STATS:
            return key, contributions
        if per_executor:
            snapshots: dict[str, list] = {}
            for owner, taken, rows, values in contributions:
                snapshots.setdefault(owner, []).append((taken, rows, values))
            copies = [shared_copy.latest_rows(snapshots[owner]) for owner in sorted(snapshots)]
        else:
            copies = [(rows, values) for _, _, rows, values in contributions]
        return key, combine_rows(shared.value[key[0]], copies, partitions, averaging, least_divisor)

    combined = (encoded.mapPartitionsWithIndex(train_partition)
                .combineByKey(lambda v: [v], _append, _extend, numPartitions=partitions)
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
    return new_params, stats, driver_bytes, copies


def _rule_text(record: dict) -> str:
    parts = []
    if record["alpha_factor"] != 1.0:
        parts.append(f"copy rate x{record['alpha_factor']:g}")
    if record["block_momentum"] > 0:
        parts.append(f"momentum {record['block_momentum']:.3g}")
    return f" ({', '.join(parts)})" if parts else ""


def _copies(sc, config: TrainConfig, partitions: int) -> int:
    """The parameter copies a round combines: the partitions, or the executors with local_copy="executor"."""
    return _executor_count(sc) if config.local_copy == "executor" else partitions


def _executor_count(sc) -> int:
    """Executors now registered; the status tracker lists the driver too (alone in local mode)."""
    return max(1, len(sc._jsc.sc().statusTracker().getExecutorInfos()) - 1)


def _remove_shared_copies(sc, run_id: str) -> None:
    """Best effort: delete the last round's shared files on the executors (Spark also deletes their
    local directories when they stop). Spreads a few tasks per core so that every executor likely runs one."""
    tasks = 4 * max(sc.defaultParallelism, 1)
    sc.setJobDescription("sparkw2v: remove the executors' shared copies")
    try:
        sc.parallelize(range(tasks), tasks).foreach(
            lambda _: shared_copy.remove_files(shared_copy.local_directory(), run_id))
    except Exception as exc:  # never fail a finished training over scratch files
        log.warning("could not remove the shared copies of run %s: %s", run_id, exc)


def _append(items: list, item) -> list:
    items.append(item)
    return items


def _extend(items: list, more: list) -> list:
    items.extend(more)
    return items


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
