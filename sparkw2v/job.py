"""The training job behind `jobs/train_word2vec.py` and `sparkw2v train`.

    spark-submit --master spark://host:7077 jobs/train_word2vec.py \\
        --input 'hdfs:///corpora/wiki/*.txt.gz' --output hdfs:///models/wiki-sg --epochs 5
    python jobs/train_word2vec.py --input data/wiki-demo.txt.gz --output demo-output   # local[*]

A scheduled retraining (README, "Scheduled retraining"): start from yesterday's output, publish a table,
and refuse a model whose common words moved too far:

    spark-submit jobs/train_word2vec.py --input-table corpus.daily_text --input-column text \
        --init-from hdfs:///models/w2v/2024-06-01 --output hdfs:///models/w2v/2024-06-02 \
        --output-table features.word_vectors --max-drift 0.3 --overwrite

Exit codes: 0 done; 2 a bad parameter or a model too large for the configured memory; 3 unusable
input; 4 the output exists (folder or --output-table); 5 training diverged (NaN/Inf); 6 the checkpoint
to resume does not match; 7 the workers' Python lacks the dependencies; 8 the --init-from model cannot
seed this run; 9 the common words moved more than --max-drift (nothing written); 1 anything else (the
log has the traceback).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable

from .cli import HelpFormatter
from .config import ARCHITECTURES, AVERAGING, INPUT_FORMATS, KERNELS, LOCAL_COPIES, LOSSES, ConfigError, TrainConfig

log = logging.getLogger("sparkw2v")

# G1, the JVM's default collector, never moves an array of half a heap region or more, and a round's
# broadcast blocks (4 MiB) and the encoded corpus are such arrays: at 1M words x 300 dims on a 2-worker
# cluster the executors ran out of heap with 1g and with 2g while their heaps were far from full; with the
# parallel collector the same job ran through (benchmarks/results/scale.md). Used unless the user sets
# spark.executor.extraJavaOptions.
EXECUTOR_JAVA_OPTIONS = ("spark.executor.extraJavaOptions", "-XX:+UseParallelGC")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_OUTPUT_EXISTS, EXIT_DIVERGED, EXIT_CHECKPOINT = 0, 1, 2, 3, 4, 5, 6
EXIT_ENVIRONMENT = 7
EXIT_INIT_MODEL, EXIT_DRIFT = 8, 9
EXIT_CODES = ("exit codes: 0 done; 2 a bad parameter or a model too large for the configured memory; 3 unusable "
              "input; 4 the output exists (folder or --output-table); 5 training diverged (NaN/Inf); 6 the "
              "checkpoint to resume does not match; 7 the workers' Python lacks the dependencies; 8 the "
              "--init-from model cannot seed this run; 9 the common words moved more than --max-drift (nothing "
              "written); 1 anything else (the log has the traceback)")
_DEFAULTS = TrainConfig()


def build_parser(prog: str = "train_word2vec.py") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=HelpFormatter,
        epilog=EXIT_CODES,
        description="Train word2vec embeddings (skip-gram or CBOW; negative sampling and/or "
                    "hierarchical softmax) on Spark, and write word2vec binary, Parquet, vocabulary "
                    "and metrics to an output folder.")
    io = p.add_argument_group("input and output")
    source = io.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", nargs="+", metavar="PATH",
                        help="text files (plain, .gz, .bz2), folders or globs, on any Hadoop filesystem; "
                             "one sentence per line")
    source.add_argument("--input-table", default=None, metavar="NAME",
                        help="a table or view of the Spark catalog; --input-column holds the text")
    io.add_argument("--input-format", choices=INPUT_FORMATS, default="text",
                    help="'parquet' reads --input-column: a string (split on whitespace) or array<string>")
    io.add_argument("--input-column", default=None,
                    help="Parquet or table column holding the text: a string (split on whitespace) or "
                         "array<string>; needed where several columns hold text")
    io.add_argument("--lowercase", action="store_true", help="lowercase every token")
    io.add_argument("--max-sentence-length", type=int, default=_DEFAULTS.max_sentence_length,
                    help="longer lines are cut into pieces of this many tokens (>= 1)")
    io.add_argument("--output", required=True, metavar="DIR",
                    help="output folder (local path or hdfs://, s3a://, file:// URI)")
    io.add_argument("--output-table", default=None, metavar="NAME",
                    help="also publish the vectors as table NAME ([database.]table) of the Spark catalog: word "
                         "string, vector array<float>, count bigint; put in place after training succeeds, so a "
                         "failed run leaves the earlier table as it was")
    io.add_argument("--overwrite", action="store_true",
                    help="replace an existing output folder and --output-table")
    io.add_argument("--save-training-state", action=argparse.BooleanOptionalAction, default=None,
                    help="keep the output weights (syn1neg, syn1) in OUTPUT/training-state/ as .npy files, which a "
                         "later --init-from needs; as large again as vectors.bin per loss; default: on with "
                         "--init-from, off otherwise")

    warm = p.add_argument_group("warm start (scheduled retraining)")
    warm.add_argument("--init-from", default=None, metavar="DIR",
                      help="an earlier output folder written with --save-training-state: the words it shares with "
                           "this input start from its vectors and output weights, so the new vectors stay in its "
                           "space; new words start fresh, dropped words are dropped. Same --vector-size and "
                           "--architecture")
    warm.add_argument("--init-syn1", choices=("zero", "matched"), default="zero",
                      help="with hierarchical softmax: 'zero' starts the Huffman tree's inner nodes at zero (the "
                           "new counts build a new tree); 'matched' reuses the earlier node that makes the same "
                           "decision, where one does")
    warm.add_argument("--max-drift", type=float, default=None, metavar="D",
                      help="with --init-from: fail (exit 9) and write nothing when 1 - mean cosine between the "
                           "earlier and the new vectors of the 10,000 most frequent common words exceeds D (0-2; "
                           "the drift is in metrics.json either way)")

    model = p.add_argument_group("model")
    model.add_argument("--architecture", choices=ARCHITECTURES, default=_DEFAULTS.architecture)
    model.add_argument("--loss", choices=LOSSES, default=_DEFAULTS.loss,
                       help="negative sampling, hierarchical softmax, or both")
    model.add_argument("--negative", type=int, default=_DEFAULTS.negative,
                       help="negative samples per target (>= 1 with ns; 0-1000)")
    model.add_argument("--ns-exponent", type=float, default=_DEFAULTS.ns_exponent,
                       help="noise distribution: count ** ns_exponent ([-10, 10])")
    model.add_argument("--vector-size", type=int, default=_DEFAULTS.vector_size, help="dimensions (1-10000)")
    model.add_argument("--window", type=int, default=_DEFAULTS.window, help="max context distance (1-1000)")
    model.add_argument("--min-count", type=int, default=_DEFAULTS.min_count,
                       help="drop words seen fewer times (>= 1)")
    model.add_argument("--max-vocab-size", type=int, default=None, help="keep only the N most frequent words")
    model.add_argument("--sample", type=float, default=_DEFAULTS.sample,
                       help="subsampling threshold t of frequent words ([0, 1); 0 = off)")
    model.add_argument("--cbow-mean", action=argparse.BooleanOptionalAction, default=_DEFAULTS.cbow_mean,
                       help="CBOW input is the mean (else the sum) of the context vectors")

    opt = p.add_argument_group("optimisation")
    opt.add_argument("--alpha", type=float, default=None,
                     help="initial learning rate (> 0); default 0.025 for skipgram, 0.05 for cbow")
    opt.add_argument("--min-alpha", type=float, default=_DEFAULTS.min_alpha,
                     help="final learning rate ([0, alpha])")
    opt.add_argument("--epochs", type=int, default=_DEFAULTS.epochs, help="passes over the corpus (>= 1)")
    opt.add_argument("--interleave", type=int, default=_DEFAULTS.interleave, metavar="K",
                     help="each epoch visits a partition's data as K interleaved passes over blocks of "
                          "65,536 words (block b in pass b mod K), so every stretch of the learning-rate "
                          "schedule sees the whole corpus (1-1000; 1 keeps the input order)")
    opt.add_argument("--kernel", choices=KERNELS, default=_DEFAULTS.kernel,
                     help="'classic': word2vec.c's update, one context at a time; 'batched': skip-gram NS "
                          "only, all contexts of a centre word against one set of negatives (HogBatch, Ji et "
                          "al. 2016), faster and better on one copy, worse when many copies are averaged; "
                          "'auto': batched for skip-gram NS trained as one copy, else classic (README, 'Speed')")
    opt.add_argument("--shuffle-words", type=int, default=None, metavar="N",
                     help="train the windows of each block of N input words in a random order, so that an "
                          "article's windows are not trained one after another (0 keeps corpus order); "
                          "default 2,000,000 for --loss ns, 0 with hierarchical softmax, where shuffling "
                          "lost (README, 'Window order')")
    opt.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="random seed (>= 0)")

    dist = p.add_argument_group("distribution")
    dist.add_argument("--num-partitions", type=int, default=None,
                      help="partitions training in parallel, each on its own copy of the parameters "
                           "(>= 1); default: Spark's default parallelism")
    dist.add_argument("--syncs-per-epoch", type=int, default=_DEFAULTS.syncs_per_epoch,
                      help="parameter syncs per epoch (>= 1); default: 1 for one copy, 16 for more (copies "
                           "that drift apart between syncs lose quality)")
    dist.add_argument("--averaging", choices=AVERAGING, default=_DEFAULTS.averaging,
                      help="'scaled': each copy trains at alpha x copies (up to --max-copy-alpha) and a block "
                           "momentum makes up the rest, so that E copies keep more of one machine's pace "
                           "(README, 'Many copies'); 'touched': mean over the copies that changed each row; "
                           "'mean': over all; 'sum': apply every copy's update in full (can overshoot)")
    dist.add_argument("--max-copy-alpha", type=float, default=_DEFAULTS.max_copy_alpha,
                      help="with --averaging scaled: the highest learning rate a copy trains at (0 < x <= 10); "
                           "default: 0.2, and 0.1 with hs except skip-gram with --nesterov (faster copies fell "
                           "apart in our measurements); with hs and --nesterov a copy trains at alpha x copies / 4 "
                           "up to 16 copies and alpha x sqrt(copies) beyond, at least x2 and at most x5.66, up to it")
    dist.add_argument("--block-momentum", type=float, default=_DEFAULTS.block_momentum,
                      help="with --averaging scaled: momentum of the combined update across syncs "
                           "(0 <= x < 1); default: 1 - (copy rate factor / copies), at most 0.75 (0.5 with "
                           "hierarchical softmax and --nesterov)")
    dist.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=_DEFAULTS.nesterov,
                      help="with a block momentum: each round's copies start from the look-ahead global + "
                           "momentum x velocity, as in CNTK's BMUF (default: on; README, 'Many copies')")
    dist.add_argument("--full-pace", action=argparse.BooleanOptionalAction, default=_DEFAULTS.full_pace,
                      help="with --averaging scaled, skip-gram: an output row that more copies changed than the "
                           "rate and momentum make up moves as if those copies alone had, its step bounded by its "
                           "copies' mean step length, instead of by all copies' mean (default: on; README, "
                           "'Many copies')")
    dist.add_argument("--local-copy", choices=LOCAL_COPIES, default=_DEFAULTS.local_copy,
                      help="'executor' (default): the partitions of one executor train one shared copy in "
                           "place, as word2vec.c's threads do, and only the executors' copies are averaged "
                           "(quality holds as partitions grow; runs are not bit-identical); 'partition': every "
                           "partition trains its own copy of the parameters (runs are bit-identical)")
    dist.add_argument("--checkpoint-dir", default=None, metavar="DIR",
                      help="save parameters, vocabulary, config and metrics after every epoch (any "
                           "Hadoop filesystem path)")
    dist.add_argument("--keep-checkpoints", type=int, default=2, help="how many epoch checkpoints to keep (>= 1)")
    dist.add_argument("--resume", action="store_true",
                      help="continue after the last checkpoint in --checkpoint-dir (same flags and input)")
    dist.add_argument("--scale-alpha", action=argparse.BooleanOptionalAction, default=_DEFAULTS.scale_alpha,
                      help="with --averaging touched or mean: multiply each copy's learning rate by the number "
                           "of copies averaged (partitions, or executors with --local-copy executor); off is "
                           "Spark MLlib's behaviour, whose quality falls as partitions grow; default: on for "
                           "--loss ns, off otherwise")
    dist.add_argument("--master", default=None,
                      help="Spark master when run with python (default local[*]); spark-submit sets its own")
    dist.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                      help="extra Spark configuration, e.g. --conf spark.driver.memory=4g")

    report = p.add_argument_group("reporting")
    report.add_argument("--neighbors", default=None, metavar="WORD[,WORD...]",
                        help="after training, print the nearest neighbours of these words")
    report.add_argument("--eval-analogies", default=None, metavar="FILE",
                        help="after training, score these analogy questions (questions-words.txt format; a "
                             "local file) among the 30000 most frequent words; in metrics.json and report.html")
    report.add_argument("--eval-pairs", nargs="+", default=[], metavar="FILE",
                        help="after training, correlate cosine similarities with the human scores of these "
                             "word-pair files (word1<TAB>word2<TAB>score; local files)")
    report.add_argument("--compute-loss", action=argparse.BooleanOptionalAction, default=_DEFAULTS.compute_loss,
                        help="compute the training loss for the log and metrics.json; --no-compute-loss trains "
                             "faster (by 3-20%% of the batched kernel's training in our measurements; README, "
                             "'Training on a cluster')")
    report.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        architecture=args.architecture, loss=args.loss, vector_size=args.vector_size, window=args.window,
        min_count=args.min_count, max_vocab_size=args.max_vocab_size, sample=args.sample,
        negative=args.negative, ns_exponent=args.ns_exponent, alpha=args.alpha, min_alpha=args.min_alpha,
        epochs=args.epochs, cbow_mean=args.cbow_mean, max_sentence_length=args.max_sentence_length,
        lowercase=args.lowercase, num_partitions=args.num_partitions, interleave=args.interleave,
        shuffle_words=args.shuffle_words,
        syncs_per_epoch=args.syncs_per_epoch, averaging=args.averaging, local_copy=args.local_copy,
        scale_alpha=args.scale_alpha, max_copy_alpha=args.max_copy_alpha, block_momentum=args.block_momentum,
        nesterov=args.nesterov, full_pace=args.full_pace,
        seed=args.seed, compute_loss=args.compute_loss, kernel=args.kernel)


def spark_session(master: str | None, confs: list[str], app_name: str = "sparkw2v",
                  on_context: Callable | None = None):
    """The session: spark-submit's own, or an embedded local[*] one when run with python.

    With `on_context`, the SparkContext comes first, `on_context(context)` runs on it (its errors
    are left to whoever runs it again), and the SQL session is built on first use (SessionOnDemand).
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ
    if master is None and not under_submit:
        master = "local[*]"
    settings = session_settings(confs, _submitted_conf_has if under_submit else lambda key: False)
    if not under_submit and settings.get("spark.pyspark.python"):
        # pyspark reads the workers' Python from the environment; spark-submit sets it from this conf.
        os.environ["PYSPARK_PYTHON"] = settings["spark.pyspark.python"]
    if master is not None and master.startswith("local"):
        # Local workers must run this interpreter, the one with numba installed.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {"spark.app.name": app_name, **({"spark.master": master} if master is not None else {}),
                **({} if under_submit else {"spark.ui.showConsoleProgress": "false"}), **settings}
    builder = SparkSession.builder
    for key, value in settings.items():
        builder = builder.config(key, value)
    if on_context is None:
        return builder.getOrCreate()
    context = SparkContext.getOrCreate(SparkConf().setAll(list(settings.items())))
    try:
        on_context(context)
    except Exception:  # noqa: BLE001 (reported where it runs again, inside the job's error handling)
        pass
    return SessionOnDemand(context, builder)


class SessionOnDemand:
    """A SparkSession built on first use of anything but its SparkContext.

    Text input and output need only the SparkContext, and building the SQL session costs about 2 s of JVM
    class loading: on local[1] the job's start took 6.4 s with it and 4.8-5.4 s without. Parquet or table
    input and --output-table build it when they first touch it.
    """

    def __init__(self, context, builder) -> None:
        self.sparkContext = context
        self._builder = builder
        self._session = None

    def __getattr__(self, name: str):
        if self._session is None:
            self._session = self._builder.getOrCreate()
        return getattr(self._session, name)

    def stop(self) -> None:
        (self._session or self.sparkContext).stop()


def session_settings(confs: list[str], already_set) -> dict[str, str]:
    """--conf KEY=VALUE items (the last of a repeated key wins, as in spark-submit), plus the executors'
    JVM options unless set there or where already_set(key) says spark-submit set them."""
    settings = {}
    for item in confs:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--conf {item!r}: expected KEY=VALUE")
        settings[key] = value
    key, value = EXECUTOR_JAVA_OPTIONS
    if key not in settings and not already_set(key):
        settings[key] = value
    return settings


def _submitted_conf_has(key: str) -> bool:
    """Whether spark-submit (its --conf or spark-defaults.conf) set this key."""
    from pyspark import SparkConf

    return SparkConf().contains(key)


def write_output(fs, output: str, result, vectors, config: TrainConfig, overwrite: bool, summary: dict,
                 evaluation: dict | None = None, training_state: bool = False) -> str:
    from .report import write_report
    from .storage import atomic_output
    from .warmstart import save_training_state

    started = time.perf_counter()
    with atomic_output(fs, output, overwrite) as scratch:
        vectors.save_word2vec(os.path.join(scratch, "vectors.bin"), binary=True)
        os.makedirs(os.path.join(scratch, "vectors.parquet"))
        vectors.save_parquet(os.path.join(scratch, "vectors.parquet", "part-00000.parquet"))
        with open(os.path.join(scratch, "vocab.tsv"), "w", encoding="utf-8") as handle:
            handle.write(result.vocab.to_tsv())
        with open(os.path.join(scratch, "config.json"), "w") as handle:
            handle.write(config.to_json() + "\n")
        summary["write_seconds"] = time.perf_counter() - started  # the vectors and vocabulary, before the reports
        summary["total_seconds"] = summary.get("total_seconds", 0.0) + summary["write_seconds"]
        metrics = {**summary, "rounds": result.metrics, **({"evaluation": evaluation} if evaluation else {})}
        with open(os.path.join(scratch, "metrics.json"), "w") as handle:
            json.dump(metrics, handle, indent=2)
            handle.write("\n")
        write_report(scratch, metrics, config.to_dict(), evaluation)
        if training_state:
            save_training_state(scratch, result.params, config)
    return fs.qualify(output)


def evaluate_result(vectors, analogies: str | None, pairs: list[str]) -> dict:
    """Score the trained vectors on local evaluation files and log the scores; a bad file is
    recorded as an error there rather than failing the finished run."""
    from .report import evaluate_files, format_evaluation

    evaluation = evaluate_files(vectors, analogies, pairs, errors="record")
    log.info("evaluation:\n%s", format_evaluation(evaluation))
    return evaluation


def print_neighbors(vectors, words: list[str], topn: int = 8) -> None:
    for word in words:
        if word not in vectors:
            print(f"{word}: not in the vocabulary")
            continue
        shown = ", ".join(f"{w} {s:.2f}" for w, s in vectors.most_similar(positive=[word], topn=topn))
        print(f"{word}: {shown}")


def main(argv: list[str] | None = None, prog: str = "train_word2vec.py") -> int:
    args = build_parser(prog).parse_args(argv)
    _configure_logging(args.log_level)
    try:
        config = config_from_args(args).validate()
        if args.resume and not args.checkpoint_dir:
            raise ConfigError("--resume needs --checkpoint-dir")
        if args.keep_checkpoints < 1:
            raise ConfigError(f"keep_checkpoints={args.keep_checkpoints}: must be >= 1")
        check_job_options(args)
        eval_files = [("--eval-analogies", args.eval_analogies)] + [("--eval-pairs", p) for p in args.eval_pairs]
        for flag, path in eval_files:
            if path is not None and not os.path.isfile(path):
                raise ConfigError(f"{flag} {path}: no such local file")
    except ConfigError as err:
        log.error("bad parameter: %s", err)
        return EXIT_USAGE

    from .catalog import publish_vectors, table_exists
    from .checkpoint import CheckpointMismatchError, CheckpointStore
    from .corpus import CorpusError
    from .local import loss_text
    from .storage import HadoopFS, OutputExistsError, check_output
    from .trainer import (InputSpec, MemoryBudgetError, TrainingDivergedError, WorkerEnvironmentError, check_workers,
                          train)
    from .vectors import WordVectors
    from .vocab import EmptyVocabularyError
    from .warmstart import WarmStart, WarmStartError, check_earlier, load_earlier

    from pyspark.sql import SparkSession

    started = time.perf_counter()
    owns_session = SparkSession.getActiveSession() is None
    spark = spark_session(args.master, args.conf, on_context=check_workers)
    spark_start_seconds = time.perf_counter() - started
    try:
        fs = HadoopFS(spark)
        check_output(fs, args.output, args.overwrite)
        if args.output_table and table_exists(spark, args.output_table) and not args.overwrite:
            raise OutputExistsError(f"table {args.output_table} already exists; pass --overwrite to replace it")
        spark.sparkContext.setLogLevel("WARN")
        warm = None
        if args.init_from:
            earlier = load_earlier(fs, fs.qualify(args.init_from))
            check_earlier(earlier, config, args.init_syn1)  # before the vocabulary job: refuse in seconds
            warm = WarmStart(earlier, args.init_syn1)
        inputs = (InputSpec([args.input_table], "table", args.input_column) if args.input_table
                  else InputSpec(args.input, args.input_format, args.input_column))
        log.info("training %s/%s on %s with %s", config.architecture, config.loss,
                 f"table {args.input_table}" if args.input_table else " ".join(args.input), spark.sparkContext.master)
        checkpoints = (CheckpointStore(fs, args.checkpoint_dir, args.keep_checkpoints)
                       if args.checkpoint_dir else None)
        result = train(spark, inputs, config, checkpoints=checkpoints, resume=args.resume, initial=warm)
        summary = {
            "vocab_size": len(result.vocab), "parameter_bytes": config.parameter_bytes(len(result.vocab)),
            "corpus_words": result.vocab.corpus_words,
            "train_words": result.vocab.train_words, "spark_start_seconds": spark_start_seconds, **result.timings,
            "total_seconds": time.perf_counter() - started, "master": spark.sparkContext.master,
            "python": platform.python_version(),
        }
        vectors = WordVectors(list(result.vocab.words), result.params.syn0, result.vocab.counts)
        if warm is not None:
            summary["warm_start"] = warm_start_summary(warm, vectors, args.max_drift)
            moved = summary["warm_start"]
            if moved["drift_exceeded"]:
                log.error("the common words moved too far from %s: drift %s over %s words exceeds --max-drift %g; "
                          "nothing written", warm.earlier.location,
                          "n/a (no common word)" if moved["drift"] is None else
                          f"{moved['drift']:.4f} (1 - mean cosine {moved['mean_cosine']:.4f})", f"{moved['words']:,}",
                          args.max_drift)
                return EXIT_DRIFT
        evaluation = (evaluate_result(vectors, args.eval_analogies, args.eval_pairs)
                      if args.eval_analogies or args.eval_pairs else None)
        save_state = args.save_training_state if args.save_training_state is not None else warm is not None
        location = write_output(fs, args.output, result, vectors, result_config(result, config),
                                args.overwrite, summary, evaluation, training_state=save_state)
        if args.output_table:
            publish_vectors(spark, args.output_table, f"{location}/vectors.parquet")
        last = result.metrics[-1]
        log.info("done in %.1f s: %d words, final loss %s; wrote %s",
                 summary["total_seconds"], len(result.vocab), loss_text(last["loss"]), location)
        log.info("phases: %s", phases_text(summary))
        if args.neighbors:
            print_neighbors(vectors, [w for w in args.neighbors.split(",") if w])
        return EXIT_OK
    except OutputExistsError as err:
        log.error("%s", err)
        return EXIT_OUTPUT_EXISTS
    except WarmStartError as err:
        log.error("cannot warm-start: %s", err)
        return EXIT_INIT_MODEL
    except (CorpusError, EmptyVocabularyError) as err:
        log.error("bad input: %s", err)
        return EXIT_INPUT
    except TrainingDivergedError as err:
        log.error("%s", err)
        return EXIT_DIVERGED
    except MemoryBudgetError as err:
        log.error("%s", err)
        return EXIT_USAGE
    except CheckpointMismatchError as err:
        log.error("cannot resume: %s", err)
        return EXIT_CHECKPOINT
    except WorkerEnvironmentError as err:
        log.error("%s", err)
        return EXIT_ENVIRONMENT
    finally:
        if owns_session:
            spark.stop()


PHASES = (("spark start", "spark_start_seconds"), ("vocabulary", "vocabulary_seconds"),
          ("encode", "encode_seconds"), ("train", "train_seconds"), ("write", "write_seconds"))


def phases_text(summary: dict) -> str:
    """'spark start 4.8 s, vocabulary 6.1 s, ...' and the share of the job outside training."""
    total = summary["total_seconds"]
    shown = ", ".join(f"{name} {summary[key]:.1f} s" for name, key in PHASES if key in summary)
    outside = 100.0 * (total - summary.get("train_seconds", 0.0)) / total if total > 0 else 0.0
    return f"{shown}; {outside:.0f}% of the job outside training"


class _StderrHandler(logging.StreamHandler):
    """Writes each record to sys.stderr as it is then: a process that runs main() more than once (tests,
    notebooks) may have replaced or closed the stderr of the first run."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _configure_logging(level: str) -> None:
    """Our own handler on the 'sparkw2v' logger: under spark-submit, pyspark may own the root logger."""
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def check_job_options(args: argparse.Namespace) -> None:
    """The job's own options (not hyperparameters), checked with them before Spark starts."""
    from .catalog import TableNameError, table_parts

    if args.output_table is not None:
        try:
            table_parts(args.output_table)
        except TableNameError as err:
            raise ConfigError(f"--output-table: {err}") from None
    if args.input_table is not None and args.input_format != "text":
        raise ConfigError("--input-format applies to --input files; --input-table reads the table's column")
    if args.max_drift is not None:
        if not args.init_from:
            raise ConfigError("--max-drift needs --init-from: the drift is measured against the earlier model")
        if not 0.0 <= args.max_drift <= 2.0:
            raise ConfigError(f"max_drift={args.max_drift}: must be in [0, 2] (1 - mean cosine)")
    if args.init_from and args.save_training_state is False:
        log.warning("--no-save-training-state: this run's output cannot be the next run's --init-from")


def warm_start_summary(warm, vectors, max_drift: float | None) -> dict:
    """What metrics.json records of a warm start: the word counts, and how far the common words moved."""
    from .warmstart import alignment

    earlier = warm.earlier
    moved = alignment(earlier.vocab.words, earlier.syn0, vectors.words, vectors.vectors)
    drift = None if moved["mean_cosine"] is None else 1.0 - moved["mean_cosine"]
    log.info("alignment with %s: mean cosine %s over %s common words (the most frequent, at most %s): drift %s",
             earlier.location, "n/a" if drift is None else f"{moved['mean_cosine']:.4f}", f"{moved['words']:,}",
             f"{moved['top']:,}", "n/a" if drift is None else f"{drift:.4f}")
    return {**(warm.stats or {"init_from": earlier.location, "resumed_from_checkpoint": True}), **moved,
            "drift": drift, "max_drift": max_drift,
            "drift_exceeded": max_drift is not None and (drift is None or drift > max_drift)}


def result_config(result, config: TrainConfig) -> TrainConfig:
    """The config as run: the partition count Spark chose is recorded, not left as None."""
    partitions = result.metrics[0].get("partitions") if result.metrics else None
    return config.replace(num_partitions=partitions or config.num_partitions)
