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
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from pyspark import RDD, StorageLevel
from pyspark.broadcast import Broadcast
from pyspark.sql import SparkSession

from . import shared_copy
from .checkpoint import CheckpointStore, check_compatible
from .config import TrainConfig
from .corpus import encode_chunks, read_corpus
from .kernels import train_slice
from .local import TrainResult, loss_text, round_record
from .params import Params, RoundUpdate, combined_values, global_model, init_params, mean_rows, touched_rows
from .training import (build_kernel_tables, interleave, kernel_settings, round_bounds, round_seed, schedule,
                       to_vocabulary_ids, vocabulary_lookup)
from .vocab import Vocabulary, vocabulary_from_chunks

log = logging.getLogger(__name__)

BLOCK_BYTES = 2**20   # the unit of the parameter combine: blocks of rows of about this size (pyspark buffers
                      # hundreds of a task's shuffle records before it hands them to the JVM)
COMBINE_BYTES = 64 * 2**20  # at most about this much of the model per combine partition: each travels whole
                            # through the JVMs to the driver (a 1.1 GB partition ran a 4 GB driver out of heap)
PIECE_BYTES = 64 * 2**20    # at most this much of the model per broadcast (see broadcast_pieces)
_STATS = -1            # key of the per-partition statistics record in the combine


class TrainingDivergedError(RuntimeError):
    """The parameters hold NaN or Inf after a sync."""


class MemoryBudgetError(ValueError):
    """The parameters would not fit in the configured driver or executor memory."""


class WorkerEnvironmentError(RuntimeError):
    """The Spark workers' Python cannot import what the training tasks need."""


_PROBED_APPLICATIONS: set[str] = set()


def check_workers(sc) -> None:
    """Run one task that imports numpy, numba, pyarrow and sparkw2v on a worker, once per application.

    Without it, a worker Python that lacks them fails deep in a task's traceback. Raises
    WorkerEnvironmentError with one line naming the worker's Python and the setting to change.
    """
    if sc.applicationId in _PROBED_APPLICATIONS:
        return

    def probe(_):  # nested, so that cloudpickle ships it by value: it must load where sparkw2v does not
        import sys
        try:
            import numba  # noqa: F401
            import numpy  # noqa: F401
            import pyarrow  # noqa: F401

            import sparkw2v.kernels  # noqa: F401
        except Exception as exc:  # noqa: BLE001 (any import failure is the answer)
            return [(sys.executable, f"{type(exc).__name__}: {exc}")]
        return [(sys.executable, None)]

    configured = (sc.getConf().get("spark.pyspark.python", None) or os.environ.get("PYSPARK_PYTHON")
                  or "python3")
    sc.setJobDescription("sparkw2v: check the workers' Python")
    try:
        [(executable, error)] = sc.parallelize([0], 1).mapPartitions(probe).collect()
    except Exception as exc:  # noqa: BLE001 (the worker's Python did not even start)
        text = str(exc)
        found = re.search(r"Cannot run program[^\n]*|\b\w+Error: [^\n]*", text)
        executable, error = configured, (found.group(0) if found else text.strip().splitlines()[0]).strip()
    if error is not None:
        raise WorkerEnvironmentError(
            f"the Spark workers' Python {executable} cannot run sparkw2v ({error}); point spark.pyspark.python "
            f"(or PYSPARK_PYTHON) at a Python that has it, or ship one with --archives (README, \"Training on "
            f"a cluster\")")
    _PROBED_APPLICATIONS.add(sc.applicationId)


@dataclass(frozen=True)
class InputSpec:
    paths: Sequence[str]
    input_format: str = "text"
    column: str | None = None


def train(spark: SparkSession, inputs: InputSpec, config: TrainConfig,
          on_round: Callable[[dict], None] | None = None, checkpoints: CheckpointStore | None = None,
          resume: bool = False, initial: Callable[[Vocabulary, TrainConfig], Params] | None = None) -> TrainResult:
    """Count the vocabulary, then train; returns the vocabulary, parameters and per-round metrics.

    With `checkpoints`, the state is saved after every epoch; with `resume` too, training continues
    after the last saved epoch (refusing a checkpoint of another config or vocabulary). `initial` makes
    the starting parameters from the vocabulary (a warm start, warmstart.py) instead of a fresh draw;
    a resumed checkpoint takes precedence.
    """
    config = config.validate()
    corpus = read_corpus(spark, inputs.paths, input_format=inputs.input_format, column=inputs.column,
                         lowercase=config.lowercase, max_sentence_length=config.max_sentence_length)
    return train_sentences(spark, corpus.sentences, config, on_round, checkpoints, resume,
                           after_vocabulary=corpus.log_replacements, initial=initial)


def train_sentences(spark: SparkSession, sentences: RDD, config: TrainConfig,
                    on_round: Callable[[dict], None] | None = None,
                    checkpoints: CheckpointStore | None = None, resume: bool = False,
                    after_vocabulary: Callable[[], None] | None = None,
                    initial: Callable[[Vocabulary, TrainConfig], Params] | None = None) -> TrainResult:
    """`train` on an RDD of token lists."""
    config = config.validate()
    check_workers(spark.sparkContext)
    spark.sparkContext.setJobDescription("sparkw2v: vocabulary")
    started = time.perf_counter()
    # The text is read and split once: the vocabulary job fills this cache, the encoding reads it.
    chunks = encode_chunks(sentences).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        vocab = vocabulary_from_chunks(chunks, config.min_count, config.max_vocab_size)
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
                warn_rule_changed(prior_metrics, config, copies)
                log.info("resuming after epoch %d of %d from %s", first_epoch, config.epochs, checkpoints.directory)
        if params is None and initial is not None:
            params = initial(vocab, config)

        def on_epoch(epoch: int, epoch_params: Params, epoch_velocity: Params | None, metrics: list[dict]) -> None:
            if checkpoints is not None:
                checkpoints.save(epoch, epoch_params, vocab, config, prior_metrics + metrics, epoch_velocity)

        started = time.perf_counter()
        encoded = encode_corpus(chunks, vocab, config.num_partitions, config.interleave)
    finally:
        chunks.unpersist()
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


MACHINE = "this machine's available memory (MemAvailable)"
JVM_RESERVED = 300 * 2**20  # the heap Spark keeps for itself (spark.memory: "reserved memory")
PYTHON_WORKER_BUFFER = 512 * 2**20  # spark.python.worker.memory's default: a task's rows in flight spill beyond it


def combine_partitions(one_copy: int, partitions: int) -> int:
    """Partitions of the combine: the training partitions, or more where those would be too large."""
    return max(partitions, -(-one_copy // COMBINE_BYTES))


def memory_needs(one_copy: int, *, local: bool, per_executor: bool, tasks: int, partitions: int,
                 momentum: bool) -> dict[str, int]:
    """Bytes each kind of process holds at its peak, for a model of `one_copy` bytes.

    driver Python:    the global copy, the block momentum's velocity, one partition of combined rows.
    driver JVM:       (a cluster only: local workers map the driver's copy) the broadcast piece being cut
                      into blocks, twice; Spark keeps the blocks in its storage memory where the heap has
                      room and on disk otherwise, so they need no heap of their own (1M x 300 with a 1g heap:
                      README, "Large vocabularies"). One combine partition on its way to Python (three
                      times: the task's result, its serialised form, the buffer served to Python).
    executor JVM:     (a cluster) a broadcast piece, twice: its blocks and their join in the heap.
    executor Python:  the round's parameters (a cluster: one base file per executor; local: the driver's
                      file, mapped), its own copy per task (local_copy="partition") or one shared copy per
                      executor (local_copy="executor"), and per task the rows in flight to the combine.
    In local mode every one of them is a process of this machine.
    """
    in_flight = tasks * min(one_copy, PYTHON_WORKER_BUFFER)
    received = 3 * one_copy // combine_partitions(one_copy, partitions)
    copies = (1 if per_executor else tasks) + (0 if local else 1)
    piece_heap = 2 * min(one_copy, PIECE_BYTES) + JVM_RESERVED  # either JVM, on a cluster
    needs = {"driver Python": one_copy * (1 + momentum) + received // 3,
             "driver JVM": (0 if local else piece_heap) + received,
             "executor Python": copies * one_copy + in_flight}
    if local:
        needs["machine"] = needs["driver Python"] + needs["driver JVM"] + needs["executor Python"]
    else:
        needs["executor JVM"] = piece_heap
    return needs


def available_memory() -> int:
    """This machine's MemAvailable (bytes), or 0 where /proc/meminfo cannot tell."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def check_memory(spark: SparkSession, config: TrainConfig, vocab_size: int, copies: int = 1) -> dict[str, int]:
    """Refuse a model that cannot fit, with both numbers, before any parameter is allocated; returns the needs.

    Local mode: all processes together against the machine's available memory. A cluster: the driver's
    JVM against spark.driver.memory, each executor's JVM against spark.executor.memory, its Python
    workers against spark.executor.pyspark.memory (or spark.executor.memoryOverhead, where Python's
    memory is counted when pyspark.memory is unset), and the driver's Python against this machine's
    available memory.
    """
    sc = spark.sparkContext
    conf = sc.getConf()
    local = sc.master.startswith("local")
    tasks = max(sc.defaultParallelism if local else int(conf.get("spark.executor.cores", "1")), 1)
    one_copy = config.parameter_bytes(vocab_size)
    needs = memory_needs(one_copy, local=local, per_executor=config.local_copy == "executor", tasks=tasks,
                         partitions=config.num_partitions or sc.defaultParallelism,
                         momentum=config.block_momentum_for(copies) > 0)
    budgets = {"driver JVM": ("spark.driver.memory", _parse_bytes(conf.get("spark.driver.memory", "1g")))}
    room = available_memory()
    if local:
        budgets["machine"] = (MACHINE, room)
    else:
        budgets["driver Python"] = (MACHINE, room)
        budgets["executor JVM"] = ("spark.executor.memory", _parse_bytes(conf.get("spark.executor.memory", "1g")))
        for key in ("spark.executor.pyspark.memory", "spark.executor.memoryOverhead"):
            if conf.contains(key):
                budgets["executor Python"] = (key, _parse_bytes(conf.get(key)))
                break
    log.info("memory: one parameter copy %s (%s words x %d dims); at the peak %s", _mib(one_copy),
             f"{vocab_size:,}", config.vector_size, ", ".join(f"{role} {_mib(n)}" for role, n in needs.items()))
    for role, (setting, budget) in budgets.items():
        if budget and needs[role] > budget:
            raise MemoryBudgetError(
                f"the model needs about {_mib(needs[role])} in the {role} ({vocab_size:,} words x "
                f"{config.vector_size} dims, {_mib(one_copy)} per copy) but {setting} is {_mib(budget)}; "
                + ("free memory or use a larger machine" if setting == MACHINE else f"raise {setting}")
                + ", or lower --vector-size / --max-vocab-size"
                + ("" if config.local_copy == "executor" else ", or use --local-copy executor (one copy per "
                                                              "executor instead of one per task)"))
    return needs


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def _parse_bytes(text: str) -> int:
    units = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    text = text.strip().lower().rstrip("b")
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text)) * 2**20  # Spark reads a bare number of memory as MiB


def encode_corpus(chunks: RDD, vocab: Vocabulary, partitions: int, sweeps: int = 1) -> "EncodedCorpus":
    """corpus.encode_chunks records -> one (ids, offsets) record per partition, persisted.

    Chunks are keyed by (input split, chunk number) and dealt round-robin to the partitions, then each
    partition concatenates its chunks in key order (deterministic, independent of shuffle order) and
    reorders them into `sweeps` interleaved passes (training.interleave), as the local trainer does.
    """
    sc = chunks.context
    index = sc.broadcast(vocab.index)

    def to_vocabulary(part):
        records = list(part)
        if not records:
            return
        # Chunks repeat most of their words: a partition looks each distinct word up once.
        lookup = vocabulary_lookup(pa.concat_arrays([words for _, (words, _, _) in records]), index.value)
        start = 0
        for key, (words, ids, offsets) in records:
            yield key, to_vocabulary_ids(lookup[start:start + len(words)], ids, offsets)
            start += len(words)

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
    mapped = chunks.mapPartitions(to_vocabulary)
    # One partition takes every chunk: gathering them needs no shuffle, which would serialise the ids twice.
    dealt = (mapped.coalesce(1) if partitions == 1
             else mapped.partitionBy(partitions, lambda key: key[0] * 7919 + key[1]))
    encoded = dealt.mapPartitions(concatenate).persist(StorageLevel.MEMORY_AND_DISK)
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
    params = init_params(len(vocab), config) if params is None else params
    steps = schedule(config, first_epoch)
    metrics = []
    run_id = uuid.uuid4().hex[:16]
    params_file = None
    if sc.master.startswith("local"):
        # The Python workers share the driver's host: they map its copy instead of unpickling a broadcast.
        params, params_file = shared_copy.create_params_file(
            shared_copy.scratch_directory(config.parameter_bytes(len(vocab))), run_id, params)
    # Local mode has one executor, on the driver's host: with --local-copy executor its copy is the round's
    # result, which the driver takes straight from shared memory instead of through a shuffle and a collect.
    adopt_copy = (params_file is not None and config.local_copy == "executor"
                  and params_file.startswith(shared_copy.MEMORY_DIRECTORY)
                  and shared_copy.memory_room() >= config.parameter_bytes(len(vocab)))
    copies = _copies(sc, config, partitions)
    warn_known_losses(config, copies)
    momentum = config.block_momentum_for(copies)  # for a resumed job with no rounds left; each round sets its own
    job_started = time.perf_counter()
    try:
        for done, step in enumerate(steps):
            sc.setJobDescription(f"sparkw2v: epoch {step.epoch + 1}/{config.epochs} "
                                 f"round {step.round + 1}/{config.syncs_per_epoch}")
            started = time.perf_counter()
            copies = _copies(sc, config, partitions)
            momentum = config.block_momentum_for(copies)
            settings = kernel_settings(config, copies)
            stats, phases, driver_bytes, velocity = _sync_round(
                sc, encoded.rdd, params, velocity, momentum, params_file, adopt_copy, tables, settings, step, config,
                partitions, run_id, encoded.words, copies)
            seconds = time.perf_counter() - started
            record = round_record(step, sum(s[1] for s in stats), sum(s[2] for s in stats),
                                  sum(s[3] for s in stats), seconds, config.compute_loss)
            record.update(phases)
            record["driver_bytes_in"] = driver_bytes
            record["executor_bytes_out"] = sum(s[5] for s in stats)  # rows the copies sent to the combine
            record["partitions"] = partitions
            record["copies"] = len({s[4] for s in stats})  # parameter copies averaged in this round
            record["alpha_factor"] = config.alpha_factor(copies)
            record["block_momentum"] = momentum
            record["nesterov"] = config.nesterov and momentum > 0
            record["most_divisor"] = config.most_divisor(copies)
            record["kernel"] = "batched" if settings.batched else "classic"
            record["shuffle_words"] = settings.shuffle_words
            record["executors"] = _executor_count(sc)
            metrics.append(record)
            if not params.all_finite():
                raise TrainingDivergedError(
                    f"parameters hold NaN or Inf after epoch {record['epoch']} round {record['round']} "
                    f"(alpha {step.alpha_start:.4g}); lower --alpha and resume from the last checkpoint")
            elapsed = time.perf_counter() - job_started
            eta = elapsed / (done + 1) * (len(steps) - done - 1)
            log.info("epoch %d/%d round %d/%d: %s words/s, loss %s, alpha %.5f -> %.5f, %s%s, "
                     "%.1f s (sync %.0f%%), ETA %s", record["epoch"], config.epochs, record["round"],
                     config.syncs_per_epoch, f"{record['words_per_sec']:,.0f}", loss_text(record["loss"]),
                     step.alpha_start, step.alpha_end,
                     "one copy" if record["copies"] == 1 else f"{record['copies']} copies averaged",
                     _rule_text(record), seconds,
                     100 * (1 - record["kernel_seconds"] / seconds) if seconds else 0, _duration(eta))
            if done == 0:
                warn_slow_syncs(config, record)
            if on_round is not None:
                on_round(record)
            if on_epoch is not None and step.round == config.syncs_per_epoch - 1:
                on_epoch(step.epoch + 1, params, velocity, metrics)
    finally:
        tables.destroy()
        if params_file is not None:
            os.unlink(params_file)  # the mapping, and so `params`, stays valid until it is dropped
        if config.local_copy == "executor" or params_file is None:
            _remove_shared_copies(sc, run_id)
    if config.nesterov:  # the rounds kept the look-ahead, which the checkpoints store with the velocity
        params = global_model(params, velocity, momentum)
    return TrainResult(vocab, params, metrics)


def warn_slow_syncs(config: TrainConfig, record: dict) -> None:
    """After the first round of several copies: warn where syncing took most of it, with the number of syncs
    per epoch that would have kept it near a quarter (a large model on a small corpus: README, "Large
    vocabularies")."""
    syncing = record["seconds"] - record["kernel_seconds"]
    if record["copies"] <= 1 or config.syncs_per_epoch <= 1 or syncing <= record["kernel_seconds"]:
        return
    advised = max(1, int(record["kernel_seconds"] * config.syncs_per_epoch / (3 * syncing)))
    log.warning("syncing the %d copies took %.0f s of the first round's %.0f s; --syncs-per-epoch %d (now %d) would "
                "keep it near a quarter of the job, at some cost in quality where the copies are many (README, "
                "\"Many copies\")", record["copies"], syncing, record["seconds"], advised, config.syncs_per_epoch)


def warn_rule_changed(prior_metrics: list[dict], config: TrainConfig, copies: int) -> None:
    """Log a warning where a checkpoint's last round combined as many copies under another automatic rate or
    momentum than this version picks (its flags match, or check_compatible would have refused it): the
    resumed rounds train under the new rule, so the run is no longer what one version would give."""
    last = next((r for r in reversed(prior_metrics) if "alpha_factor" in r), None)
    if last is None or last.get("copies") != copies:
        return
    then = (last["alpha_factor"], last.get("block_momentum", 0.0))
    now = (config.alpha_factor(copies), config.block_momentum_for(copies))
    if then != now:
        log.warning("the checkpoint's rounds trained %d copies at rate x%g with momentum %g; this version "
                    "trains them at x%g with momentum %g from here on (README, \"Many copies\")",
                    copies, *then, *now)


def warn_known_losses(config: TrainConfig, copies: int) -> None:
    """Log a warning, with what we measured, for settings known to lose much quality at this many copies.

    The figures: E partition copies of the kernel in one process (benchmarks/sim_copies.py), or on Spark
    where the message says so (benchmarks/bench_copies.py); skip-gram, 3 epochs (README, "Many copies").
    """
    fewer_executors = "fewer, larger executors (spark.executor.cores 4-16) keep quality (README, \"Many copies\")"
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
        # HS does best with only part of its copies made up (scale-out.md); at full pace the shared rows keep pace.
        if made_up < copies and not config.use_hs and config.most_divisor(copies) == copies:
            log.warning("%d copies: the scaled averaging makes up a factor of %g (copy rate x%g, momentum %.3g), "
                        "so shared rows learn at about %.0f%% of one machine's pace; fewer partitions, or "
                        "--local-copy executor with several cores per executor, keep quality (README, \"Many "
                        "copies\")", copies, made_up, config.alpha_factor(copies), momentum, 100 * made_up / copies)
        if momentum > 0 and not config.nesterov:
            log.warning("--no-nesterov at %d copies: without the look-ahead 32 SGNS copies scored 31.02%% analogies "
                        "against 32.50%% with it, 8 SG-HS copies 33.31%% against 35.47%% (wiki-aa, 3 epochs, Spark "
                        "partition copies)", copies)
        if config.use_hs and copies > 64:
            log.warning("hierarchical softmax at %d copies: SG-HS (sample 0, wiki-aa, 3 epochs, Spark partition "
                        "copies) scored 36.92%% analogies at 8 copies, 35.90%% at 16, 34.72%% at 32 and 35.59%% at 64 "
                        "against 36.48%% for one, and was not measured beyond; %s", copies, fewer_executors)
        elif config.loss == "ns" and copies > 64:
            log.warning("%d copies: skip-gram NS (wiki-aa, 3 epochs, Spark partition copies) scored 32.50%% analogies "
                        "at 32 copies and 32.41%% at 64 against 33.66%% for one, and was not measured beyond; %s",
                        copies, fewer_executors)
        if config.kernel == "batched" and copies >= 8:
            log.warning("kernel=batched at %d copies: 8 copies of it scored 27.98%% analogies against 32.70%% for "
                        "one (SGNS, wiki-aa, 3 epochs); the classic kernel lost 1.7 points there; the batched "
                        "kernel suits one machine or a few executors", copies)
        if config.loss == "ns" and config.shuffle_block == 0 and copies >= 8:
            log.warning("shuffle_words=0 at %d copies: 8 SGNS copies trained in corpus order scored 25.6-30.6%% "
                        "analogies (seeds 1-3) against 33.6%% with the default 2,000,000 (one copy 33.8%%)",
                        copies)
        if config.syncs_per_epoch < 16 and copies >= 8:
            log.warning("%d syncs per epoch at %d copies: 8 SGNS copies on wiki-aa scored 23.0%% analogies with 4 "
                        "syncs per epoch, 25.8%% with 16 (one copy 30.6%%); the default is 16",
                        config.syncs_per_epoch, copies)


def _sync_round(sc, encoded: RDD, params: Params, velocity: Params | None, momentum: float,
                params_file: str | None, adopt_copy: bool, tables, settings, step, config: TrainConfig,
                partitions: int, run_id: str, total_words: int, copies: int):
    """One broadcast -> train -> combine cycle, applied to `params` in place.

    Returns per-partition stats, phase times, the bytes the driver received and the block momentum's
    velocity. The round's parameters reach the tasks as broadcast pieces that each executor writes once
    into a shared base file, or, in local mode, as the driver's own mapped file (`params_file`); the
    driver updates them only after every task of the round ended.

    local_copy="partition": each task trains its own copy of the round's parameters.
    local_copy="executor": the tasks of one executor train one shared copy (shared_copy.py); each row
    of each executor's copy is recovered from its newest snapshot.
    Each (matrix, row block) is reduced on the executors to the copies' mean (params.mean_rows); the driver
    streams the blocks in one partition at a time and finishes the combine rule on its own copy.
    """
    started = time.perf_counter()
    shapes = [m.shape for m in params]
    rounds = config.syncs_per_epoch
    sequence = step.epoch * rounds + step.round
    copy_bytes = shared_copy.file_bytes(shapes)
    pieces = [] if params_file is not None else broadcast_pieces(sc, params)

    def round_params():
        if params_file is not None:
            return shared_copy.open_params_file(params_file, shapes)
        return shared_copy.attach_base(shared_copy.scratch_directory(copy_bytes), run_id, sequence, shapes,
                                       lambda: load_pieces(pieces))

    broadcast_seconds = time.perf_counter() - started
    averaging = config.averaging
    per_executor = config.local_copy == "executor"
    executors = copies if per_executor else 0
    scale = config.alpha_factor(copies)
    least_divisor = config.combine_divisor(copies)
    most_divisors = [config.most_divisor(copies, matrix) for matrix in range(len(params))]
    # A faster step than the copies' mean is bounded by their steps' lengths, which need the round's base.
    bounded = [averaging == "scaled" and most < copies for most in most_divisors]
    step_bound = config.full_pace_bound()
    block_size = max(1, BLOCK_BYTES // (4 * shapes[0][1]))
    executor_words = max(total_words / rounds / max(executors, 1), 1.0)  # one executor's share of the round
    seeds = [round_seed(config, step.epoch, step.round, p) for p in range(partitions)]

    def train_partition(p, records):
        task_started = time.perf_counter()
        if per_executor or pieces:
            for earlier in shared_copy.directories():  # the last round's files no longer take room
                shared_copy.remove_files(earlier, run_id, before=sequence)
        base = round_params()
        slices = []
        for ids, offsets in records:
            first, last = round_bounds(offsets, step.round, rounds)
            slices.append((ids, offsets[first:last + 1]))
        if per_executor:
            directory = shared_copy.scratch_directory(copy_bytes)
            local, header = shared_copy.attach(directory, run_id, sequence, shapes, lambda: base)
            progress, owner = header[:1], shared_copy.copy_group()
            shared_copy.join(directory, header)
        else:
            local, progress, owner = base.copy(), None, p
        kernel_started = time.perf_counter()
        loss = words = examples = 0
        try:
            for ids, offsets in slices:
                loss, words, examples = train_slice(ids, offsets, *local, tables.value, settings,
                                                    step.alpha_start * scale, step.alpha_end * scale, seeds[p],
                                                    progress, executor_words)
        except BaseException:
            if per_executor:
                shared_copy.leave(directory, header)
            raise
        kernel_seconds = time.perf_counter() - kernel_started
        # With a shared copy, only the last of the executor's tasks to end reports its rows.
        reports = (not per_executor or shared_copy.leave(directory, header)) and not adopt_copy
        taken = shared_copy.snapshot_time()
        changed = [touched_rows(new, old) if reports else np.zeros(0, np.int64) for new, old in zip(local, base)]
        sent = sum(rows.size * (rows.itemsize + new.shape[1] * new.itemsize) for rows, new in zip(changed, local))
        yield (_STATS, 0), (p, loss, words, examples, owner, sent, kernel_seconds,
                            time.perf_counter() - task_started - kernel_seconds)
        for m, (new, rows) in enumerate(zip(local, changed)):
            blocks = rows // block_size
            cuts = np.flatnonzero(np.diff(blocks)) + 1
            for block_rows in np.split(rows, cuts) if rows.size else []:
                yield (m, int(block_rows[0] // block_size)), (owner, taken, block_rows, new[block_rows])

    def combine_partition(items):
        grouped: dict[tuple, list] = {}
        for key, value in items:
            grouped.setdefault(key, []).append(value)
        base = round_params() if any(bounded) else None
        for key in sorted(grouped):
            yield combine(key, grouped.pop(key), base)

    def combine(key, contributions, base):
        contributions = sorted(contributions, key=lambda c: c[0])
        if key[0] == _STATS:
            return key, contributions
        if per_executor:
            snapshots: dict[str, list] = {}
            for owner, taken, rows, values in contributions:
                snapshots.setdefault(owner, []).append((taken, rows, values))
            changes = [shared_copy.latest_rows(snapshots[owner]) for owner in sorted(snapshots)]
        else:
            changes = [(rows, values) for _, _, rows, values in contributions]
        return key, mean_rows(changes, base[key[0]] if bounded[key[0]] else None)

    trained = encoded.mapPartitionsWithIndex(train_partition)
    update = RoundUpdate(params, velocity, momentum, config.nesterov)
    stats = []
    driver_bytes = 0
    apply_seconds = 0.0
    if adopt_copy:
        # The round's result is the local executor's copy: the tasks send their statistics alone, so
        # the shuffle and the combine would only schedule empty tasks (34 of them for a 2 GiB model).
        stats = sorted(value for _, value in trained.collect())
        combined_at = time.perf_counter()
        found = shared_copy.round_files(run_id, sequence)
        if len(found) != 1:
            raise RuntimeError(f"expected the local executor's copy of round {sequence} in shared memory, "
                               f"found {found}")
        [copy_file] = found
        for matrix, values in enumerate(shared_copy.open_params_file(copy_file, shapes)):
            update.rows(matrix, slice(None), values)
        apply_seconds = time.perf_counter() - combined_at
    else:
        # Each task sends each block once: no map-side combine, which would only hold the rows in memory.
        combined = (trained.partitionBy(combine_partitions(sum(m.nbytes for m in params), partitions),
                                        _block_partition)
                    .mapPartitions(combine_partition)
                    .persist(StorageLevel.DISK_ONLY))
        combined.count()  # the combine tasks run in parallel; the driver then reads their results one by one
        combined_at = time.perf_counter()
        # One partition at a time: the driver never holds the round's rows all at once. In local mode the
        # tasks map `params` itself, which is safe to update now: every map task of the round has ended.
        for (matrix, _), value in combined.toLocalIterator():
            if matrix == _STATS:
                stats.extend(value)
                continue
            applying = time.perf_counter()
            rows, counts, means, lengths = value
            bounds = None if lengths is None else lengths * step_bound
            update.rows(matrix, rows, combined_values(params[matrix][rows], counts, means, partitions, averaging,
                                                      least_divisor, most_divisors[matrix], bounds))
            apply_seconds += time.perf_counter() - applying
            driver_bytes += rows.nbytes + counts.nbytes + means.nbytes + (0 if lengths is None else lengths.nbytes)
        combined.unpersist()
    velocity = update.finish()
    for piece in pieces:
        piece.destroy()
    ended = time.perf_counter()
    phases = {"broadcast_seconds": broadcast_seconds, "kernel_seconds": max((s[6] for s in stats), default=0.0),
              "task_overhead_seconds": max((s[7] for s in stats), default=0.0),
              "train_and_combine_seconds": combined_at - started - broadcast_seconds,
              "collect_seconds": ended - combined_at - apply_seconds, "apply_seconds": apply_seconds}
    return stats, phases, driver_bytes, velocity


def broadcast_pieces(sc, params: Params) -> list[Broadcast]:
    """The parameters as broadcasts of at most PIECE_BYTES each, in file order (see load_pieces).

    An executor JVM joins each broadcast whole in its heap before its Python workers can read it, so one
    broadcast of a 2 GB model needs more than 2 GB of executor heap; pieces need one piece of it."""
    pieces = []
    for matrix in params:
        rows = max(1, PIECE_BYTES // (matrix.shape[1] * matrix.itemsize))
        for start in range(0, len(matrix), rows):
            pieces.append(sc.broadcast(matrix[start:start + rows]))
    return pieces


def load_pieces(pieces: list[Broadcast]):
    """On an executor: each piece's rows in turn, each dropped from the worker's broadcast cache once read
    (pyspark keeps a value it has loaded for the life of the worker: the whole model, piece by piece)."""
    for piece in pieces:
        yield piece.value
        vars(piece).pop("_value", None)


def _rule_text(record: dict) -> str:
    parts = []
    if record["alpha_factor"] != 1.0:
        parts.append(f"copy rate x{record['alpha_factor']:g}")
    if record["block_momentum"] > 0:
        parts.append(f"{'Nesterov ' if record['nesterov'] else ''}momentum {record['block_momentum']:.3g}")
    if record["most_divisor"] < record["copies"]:
        parts.append(f"shared output rows divided by at most {record['most_divisor']:.3g}, within their copies' steps")
    if record["kernel"] == "batched":
        parts.append("batched kernel")
    if record["shuffle_words"]:
        parts.append(f"windows shuffled per {record['shuffle_words']:,} words")
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
            lambda _: [shared_copy.remove_files(directory, run_id) for directory in shared_copy.directories()])
    except Exception as exc:  # never fail a finished training over scratch files
        log.warning("could not remove the shared copies of run %s: %s", run_id, exc)


def _block_partition(key: tuple[int, int]) -> int:
    """Spreads a matrix's consecutive blocks over consecutive combine partitions."""
    return key[0] * 7919 + key[1]


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
