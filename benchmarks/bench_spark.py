#!/usr/bin/env python
"""Spark benchmark: sparkw2v on Spark against gensim (one machine) and Spark MLlib's Word2Vec.

One invocation, one plain-text corpus, one SparkSession (default `local[2]`), the standard settings of
shared/docs/BENCHMARKING.md: vector size 100, window 5, min_count 5, alpha 0.025, 3 epochs.

Configurations (keys as used by --configs and in the results file):

    local-sgns-1thread        sparkw2v's single-process trainer (train_local), SGNS, 1 epoch: the
                              single-thread kernel throughput (compute_loss as in the default config)
    gensim-sgns-w2            gensim Word2Vec SGNS, corpus_file mode, workers=2 (--gensim-workers)
    sparkw2v-sgns-P{p}-s{s}   sparkw2v skip-gram NS, sample 1e-4, negative 5, num_partitions p,
                              syncs_per_epoch s (--partitions 1,2,4,8 x --syncs 1,4)
    sparkw2v-sghs-P{p}-s{s}   sparkw2v skip-gram HS, sample 0 (MLlib's work), --partitions x --hs-syncs 1
    mllib-sghs-P{p}           pyspark.ml.feature.Word2Vec (skip-gram + HS, never subsamples),
                              numPartitions p, maxIter = epochs, maxSentenceLength 10000

Throughput is input words per second (word2vec.c's convention, every token read counts):
`corpus tokens x epochs / training seconds`. For sparkw2v the training seconds are the trainer's
`train_seconds` (first broadcast to last averaged copy: kernels, shipping and combining); for gensim
`train()`; MLlib cannot be split, so its figure is over the whole `fit()`. Wall time is always the whole
fit, vocabulary pass included. Quality: Google analogies (30,000 most frequent words, case-insensitive),
Spearman on WordSim-353 (and SimLex-999), all scored with sparkw2v.evaluation (gensim's numbers exactly).

Each finished configuration is written to the results JSON at once, and the markdown table and plot are
redrawn, so a run can be split (--configs) or resumed: configurations already in the results file are
skipped unless --fresh. Numba is warmed up before anything is timed.

    python benchmarks/bench_spark.py                         # the full benchmark (1.5-2 h on 2 cores)
    python benchmarks/bench_spark.py --configs 'mllib-*'     # one part of it, merged into the same file
    python benchmarks/bench_spark.py --max-tokens 200000 --epochs 1 --partitions 1,2   # a smoke test

Writes benchmarks/results/spark.{json,md,png} (spark-smoke.* when --max-tokens is given).
"""
# Python workers inherit the driver's environment: no BLAS thread pools fighting the kernels for the cores.
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import datetime  # noqa: E402
import fnmatch  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import bench_kernels as bk  # noqa: E402  (corpus preparation, machine description, formatting)
from bench_kernels import clean_json, fmt, log, secs  # noqa: E402

DEFAULT_CORPUS = bk.DEFAULT_CORPUS
DEFAULT_EVAL = bk.DEFAULT_EVAL

COMMON = dict(vector_size=100, window=5, min_count=5, alpha=0.025, min_alpha=1e-4, max_sentence_length=10_000)
MODELS = {
    "sgns": dict(loss="ns", negative=5, sample=1e-4),
    "sghs": dict(loss="hs", negative=0, sample=0.0),  # MLlib's work: HS, no subsampling
}
ANALOGY_RESTRICT = 30_000
WARMUP_TOKENS = 20_000
HEARTBEAT_S = 60

# Targets of the issue
TARGET_PARTITIONS = 8          # analogy at this many partitions ...
TARGET_GAP_POINTS = 2.0        # ... no more than this many points below gensim
TARGET_THROUGHPUT_P = 2        # end-to-end throughput at this many partitions ...
TARGET_SCALING = 0.75          # ... at least this fraction of (P x single-thread kernel throughput)


# ------------------------------------------------------------------------------------------------
# The plan
# ------------------------------------------------------------------------------------------------

def local_key() -> str:
    return "local-sgns-1thread"


def gensim_key(workers: int) -> str:
    return f"gensim-sgns-w{workers}"


def sparkw2v_key(model: str, partitions: int, syncs: int) -> str:
    return f"sparkw2v-{model}-P{partitions}-s{syncs}"


def mllib_key(partitions: int) -> str:
    return f"mllib-sghs-P{partitions}"


def full_plan(args) -> list[dict]:
    """Every configuration in run order: gensim, then partition by partition (the local kernel run just
    before the P=2 runs it is compared with), sparkw2v SGNS, sparkw2v SG-HS and MLlib side by side."""
    local = {"key": local_key(), "kind": "local", "model": "sgns", "epochs": args.kernel_epochs}
    plan = [{"key": gensim_key(args.gensim_workers), "kind": "gensim", "model": "sgns", "workers": args.gensim_workers}]
    if TARGET_THROUGHPUT_P not in args.partitions:
        plan.insert(0, local)
    for p in args.partitions:
        if p == TARGET_THROUGHPUT_P:
            plan.append(local)
        plan += [{"key": sparkw2v_key("sgns", p, s), "kind": "sparkw2v", "model": "sgns", "partitions": p,
                  "syncs": s} for s in args.syncs]
        plan += [{"key": sparkw2v_key("sghs", p, s), "kind": "sparkw2v", "model": "sghs", "partitions": p,
                  "syncs": s} for s in args.hs_syncs]
        plan.append({"key": mllib_key(p), "kind": "mllib", "model": "sghs", "partitions": p})
    return plan


def selected(plan: list[dict], args) -> list[dict]:
    out = []
    for item in plan:
        if args.skip_mllib and item["kind"] == "mllib":
            continue
        if not any(fnmatch.fnmatchcase(item["key"], pattern) for pattern in args.configs):
            continue
        out.append(item)
    return out


# ------------------------------------------------------------------------------------------------
# Quality
# ------------------------------------------------------------------------------------------------

def evaluate(wv, eval_dir: str) -> dict:
    from sparkw2v.evaluation import evaluate_analogies, evaluate_word_pairs
    started = time.perf_counter()
    result: dict = {"vocab_size": len(wv)}
    analogies = evaluate_analogies(wv, os.path.join(eval_dir, "questions-words.txt"),
                                   restrict_vocab=ANALOGY_RESTRICT, case_insensitive=True)
    answered = analogies["correct"] + analogies["incorrect"]
    result.update(analogy=float(analogies["total"]) if answered else None, analogy_correct=analogies["correct"],
                  analogy_answered=answered, analogy_questions=analogies["questions"],
                  analogy_oov=analogies["oov"])
    for name, filename in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")):
        try:
            pairs = evaluate_word_pairs(wv, os.path.join(eval_dir, filename))
            value = float(pairs["spearman"][0])
            result[name] = value if math.isfinite(value) else None
            result[f"{name}_pairs"] = pairs["pairs"]
            result[f"{name}_oov_ratio"] = pairs["oov_ratio"]
        except Exception as exc:  # a tiny smoke vocabulary can leave too few pairs
            result[name] = None
            result[f"{name}_error"] = repr(exc)
    result["eval_seconds"] = time.perf_counter() - started
    return result


def quality_line(q: dict) -> str:
    analogy = None if q.get("analogy") is None else 100 * q["analogy"]
    return (f"analogy {fmt(analogy, '.2f')}% ({q.get('analogy_correct', 0)}/{q.get('analogy_answered', 0)}), "
            f"WS353 {fmt(q.get('ws353'), '.3f')}, SimLex {fmt(q.get('simlex'), '.3f')} "
            f"({q['eval_seconds']:.1f} s)")


# ------------------------------------------------------------------------------------------------
# Spark session, heartbeat
# ------------------------------------------------------------------------------------------------

def make_spark(args):
    # Workers must run this interpreter (the one with numba); set before the JVM starts.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    log(f"spark: starting {args.master} (driver memory {args.driver_memory}) ...")
    started = time.perf_counter()
    spark = (SparkSession.builder.master(args.master).appName("sparkw2v-bench-spark")
             .config("spark.driver.memory", args.driver_memory)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    sc = spark.sparkContext
    info = {"master": sc.master, "spark_version": spark.version, "default_parallelism": sc.defaultParallelism,
            "driver_memory_conf": sc.getConf().get("spark.driver.memory", None),
            "jvm_max_heap_bytes": int(sc._jvm.java.lang.Runtime.getRuntime().maxMemory()),
            "python_worker_reuse": sc.getConf().get("spark.python.worker.reuse", "true (default)"),
            "startup_seconds": time.perf_counter() - started}
    try:  # which BLAS MLlib's Word2Vec gets: native (netlib JNI) or Spark's Java fallbacks
        info["mllib_blas"] = sc._jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getName()
    except Exception:
        info["mllib_blas"] = None
    log(f"spark: {info['spark_version']} {info['master']}, default parallelism {info['default_parallelism']}, "
        f"JVM heap {info['jvm_max_heap_bytes'] / 2**30:.1f} GiB ({info['startup_seconds']:.1f} s)")
    return spark, info


class Heartbeat:
    """A progress line every HEARTBEAT_S seconds while a long call runs (MLlib prints nothing)."""

    def __init__(self, label: str, spark=None, every: float = HEARTBEAT_S):
        self.label, self.spark, self.every = label, spark, every
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def __enter__(self):
        self.started = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)

    def run(self):
        while not self.stop.wait(self.every):
            detail = ""
            if self.spark is not None:
                try:
                    tracker = self.spark.sparkContext.statusTracker()
                    stages = [tracker.getStageInfo(s) for s in tracker.getActiveStageIds()]
                    detail = "; " + ", ".join(f"stage {s.stageId}: {s.numCompletedTasks}/{s.numTasks} tasks"
                                              for s in stages if s is not None) if stages else ""
                except Exception:  # only a progress line
                    detail = ""
            log(f"{self.label}: still running, {time.perf_counter() - self.started:.0f} s{detail}")


# ------------------------------------------------------------------------------------------------
# Runners. Each returns a record (plain numbers) and the vectors to evaluate.
# ------------------------------------------------------------------------------------------------

def sparkw2v_config(model: str, epochs: int, seed: int, partitions: int | None = None, syncs: int = 1,
                    averaging: str = "touched", scale_alpha: bool | None = None,
                    local_copy: str = "partition", *, interleave: int):
    from sparkw2v.config import TrainConfig
    spec = MODELS[model]
    return TrainConfig(architecture="skipgram", loss=spec["loss"], vector_size=COMMON["vector_size"],
                       window=COMMON["window"], min_count=COMMON["min_count"], sample=spec["sample"],
                       negative=spec["negative"], alpha=COMMON["alpha"], min_alpha=COMMON["min_alpha"],
                       epochs=epochs, max_sentence_length=COMMON["max_sentence_length"],
                       num_partitions=partitions, syncs_per_epoch=syncs, averaging=averaging,
                       scale_alpha=scale_alpha, local_copy=local_copy,
                       interleave=interleave,
                       seed=seed).validate()  # compute_loss as in the default config (on)


class Bench:
    def __init__(self, args, corpus: dict):
        self.args = args
        self.corpus = corpus
        self.path = corpus["path"]
        self.tokens = corpus["tokens"]
        self.warmup_path = bk.write_warmup_corpus(self.path, WARMUP_TOKENS)
        self.spark = None
        self.spark_info = None
        self.reference_vocab = None  # words and counts of the corpus at min_count 5 (MLlib's row order)
        self.local_warm = False
        self.mllib_warm = False
        self.mllib_input_tokens = None

    # -- shared state ------------------------------------------------------------------------------
    def get_spark(self):
        if self.spark is None:
            self.spark, self.spark_info = make_spark(self.args)
        return self.spark

    def stop(self):
        if self.spark is not None:
            self.spark.stop()
            self.spark = None

    def vocabulary(self):
        """The corpus vocabulary as sparkw2v counts it (untimed; reused from a sparkw2v run if one ran)."""
        if self.reference_vocab is None:
            from sparkw2v.corpus import read_corpus
            from sparkw2v.vocab import build_vocabulary
            log("reference vocabulary (untimed, to put MLlib's words in frequency order) ...")
            corpus = read_corpus(self.get_spark(), [self.path], max_sentence_length=COMMON["max_sentence_length"])
            self.reference_vocab = build_vocabulary(corpus.sentences, COMMON["min_count"])
        return self.reference_vocab

    # -- sparkw2v, one process ---------------------------------------------------------------------
    def run_local(self, item: dict) -> tuple[dict, object]:
        from sparkw2v.local import train_local
        config = sparkw2v_config("sgns", item["epochs"], self.args.seed, interleave=self.args.interleave)
        if not self.local_warm:
            t0 = time.perf_counter()
            train_local(config=config, paths=[self.warmup_path])
            log(f"{item['key']}: Numba warm-up on {WARMUP_TOKENS:,} tokens {time.perf_counter() - t0:.1f} s (untimed)")
            self.local_warm = True
        t0 = time.perf_counter()
        result = train_local(config=config, paths=[self.path])
        wall = time.perf_counter() - t0
        kernel_s = sum(m["seconds"] for m in result.metrics)
        record = {"wall_s": wall, "kernel_s": kernel_s, "epochs": item["epochs"],
                  "words_per_sec": self.tokens * item["epochs"] / kernel_s,
                  "fit_words_per_sec": self.tokens * item["epochs"] / wall,
                  "vocab_words": len(result.vocab), "train_words": int(result.vocab.train_words),
                  "corpus_words_counted": int(result.vocab.corpus_words), "rounds": result.metrics,
                  "compute_loss": config.compute_loss, "finite": bool(result.params.all_finite()),
                  "mode": "train_local(paths=[corpus]) in this process, one thread; words/s over the kernel "
                          "time (sum of the rounds' seconds), wall = the whole call"}
        log(f"{item['key']}: kernel {kernel_s:.1f} s -> {record['words_per_sec']:,.0f} words/s; whole call "
            f"{wall:.1f} s; {len(result.vocab):,} words")
        return record, None  # one epoch: its quality is not comparable, not evaluated

    # -- gensim ------------------------------------------------------------------------------------
    def run_gensim(self, item: dict) -> tuple[dict, object]:
        from gensim.models import Word2Vec

        from sparkw2v.vectors import WordVectors
        spec = MODELS[item["model"]]
        hs = int(spec["loss"] == "hs")
        epochs = self.args.epochs
        with Heartbeat(item["key"]):
            t0 = time.perf_counter()
            w2v = Word2Vec(vector_size=COMMON["vector_size"], window=COMMON["window"],
                           min_count=COMMON["min_count"], sample=spec["sample"], sg=1, hs=hs,
                           negative=spec["negative"], alpha=COMMON["alpha"], min_alpha=COMMON["min_alpha"],
                           epochs=epochs, workers=item["workers"], seed=self.args.seed, max_vocab_size=None,
                           compute_loss=False)
            w2v.build_vocab(corpus_file=self.path)
            t1 = time.perf_counter()
            w2v.train(corpus_file=self.path, total_words=w2v.corpus_total_words, epochs=epochs)
            t2 = time.perf_counter()
        record = {"wall_s": t2 - t0, "vocab_s": t1 - t0, "train_s": t2 - t1,
                  "words_per_sec": self.tokens * epochs / (t2 - t1),
                  "fit_words_per_sec": self.tokens * epochs / (t2 - t0),
                  "vocab_words": len(w2v.wv.index_to_key), "corpus_words_counted": int(w2v.corpus_total_words),
                  "workers": item["workers"], "finite": bool(np.isfinite(w2v.wv.vectors).all()),
                  "mode": f"Word2Vec(corpus_file=..., workers={item['workers']}, sg=1, hs={hs}, "
                          f"negative={spec['negative']}), "
                          "vocab = constructor + build_vocab, train = train()"}
        log(f"{item['key']}: vocab {record['vocab_s']:.1f} s, train {record['train_s']:.1f} s "
            f"({record['words_per_sec']:,.0f} words/s), wall {record['wall_s']:.1f} s; "
            f"{record['vocab_words']:,} words")
        return record, WordVectors(list(w2v.wv.index_to_key), w2v.wv.vectors)

    # -- sparkw2v on Spark -------------------------------------------------------------------------
    def run_sparkw2v(self, item: dict) -> tuple[dict, object]:
        from sparkw2v.trainer import InputSpec, train
        from sparkw2v.vectors import WordVectors
        spark = self.get_spark()
        epochs = self.args.epochs
        config = sparkw2v_config(item["model"], epochs, self.args.seed, item["partitions"], item["syncs"],
                                 self.args.averaging, self.args.scale_alpha, self.args.local_copy,
                                 interleave=self.args.interleave)
        # Untimed: every Python worker loads (or compiles) this loss's kernels before the timed fit.
        t0 = time.perf_counter()
        warm = spark.sparkContext.defaultParallelism
        train(spark, InputSpec([self.warmup_path]), config.replace(epochs=1, num_partitions=warm, syncs_per_epoch=1))
        log(f"{item['key']}: warm-up fit on {WARMUP_TOKENS:,} tokens, {warm} partitions: "
            f"{time.perf_counter() - t0:.1f} s (untimed)")

        total_rounds = epochs * item["syncs"]

        def on_round(rec: dict) -> None:
            log(f"{item['key']}: epoch {rec['epoch']}/{epochs} round {rec['round']}/{item['syncs']}: "
                f"{rec['seconds']:.1f} s, loss {rec['loss']:.4f}, driver in "
                f"{rec['driver_bytes_in'] / 2**20:.1f} MiB ({len(rounds) + 1}/{total_rounds})")
            rounds.append(rec)

        rounds: list[dict] = []
        t0 = time.perf_counter()
        result = train(spark, InputSpec([self.path]), config, on_round=on_round)
        wall = time.perf_counter() - t0
        timings = result.timings
        driver_bytes = [m["driver_bytes_in"] for m in result.metrics]
        record = {"wall_s": wall, "vocab_s": timings.get("vocabulary_seconds"),
                  "encode_s": timings.get("encode_seconds"), "train_s": timings.get("train_seconds"),
                  "words_per_sec": self.tokens * epochs / timings["train_seconds"],
                  "fit_words_per_sec": self.tokens * epochs / wall,
                  "driver_bytes_per_sync": statistics.mean(driver_bytes) if driver_bytes else None,
                  "driver_bytes_total": sum(driver_bytes), "syncs_total": len(driver_bytes),
                  "vocab_words": len(result.vocab), "train_words": int(result.vocab.train_words),
                  "corpus_words_counted": int(result.vocab.corpus_words), "rounds": result.metrics,
                  "timings": dict(timings), "config": config.to_dict(),
                  "finite": bool(result.params.all_finite())}
        if record["corpus_words_counted"] != self.tokens:
            log(f"{item['key']}: NOTE the trainer counted {record['corpus_words_counted']:,} tokens, the corpus "
                f"file has {self.tokens:,}")
        log(f"{item['key']}: vocab {record['vocab_s']:.1f} s, encode {record['encode_s']:.1f} s, train "
            f"{record['train_s']:.1f} s ({record['words_per_sec']:,.0f} words/s), wall {wall:.1f} s; "
            f"{len(result.vocab):,} words; driver {record['driver_bytes_per_sync'] / 2**20:.1f} MiB per sync")
        if self.reference_vocab is None:
            self.reference_vocab = result.vocab
        return record, WordVectors(list(result.vocab.words), result.params.syn0, result.vocab.counts)

    # -- Spark MLlib -------------------------------------------------------------------------------
    def mllib_frame(self, path: str):
        """One row per line: its whitespace tokens (Unicode whitespace, as Python's str.split), no empty rows."""
        from pyspark.sql import functions as F
        spark = self.get_spark()
        tokens = F.filter(F.split(F.col("value"), r"(?U)\s+"), lambda t: t != "")
        return spark.read.text(path).select(tokens.alias("tokens")).where(F.size("tokens") > 0)

    def mllib_estimator(self, partitions: int, epochs: int):
        from pyspark.ml.feature import Word2Vec
        return Word2Vec(vectorSize=COMMON["vector_size"], minCount=COMMON["min_count"], numPartitions=partitions,
                        stepSize=COMMON["alpha"], maxIter=epochs, seed=self.args.seed, inputCol="tokens",
                        outputCol="vector", windowSize=COMMON["window"],
                        maxSentenceLength=COMMON["max_sentence_length"])

    def run_mllib(self, item: dict) -> tuple[dict, object]:
        from pyspark.sql import functions as F

        from sparkw2v.vectors import WordVectors
        spark = self.get_spark()
        epochs = self.args.epochs
        if not self.mllib_warm:
            t0 = time.perf_counter()
            self.mllib_estimator(spark.sparkContext.defaultParallelism, 1).fit(self.mllib_frame(self.warmup_path))
            log(f"{item['key']}: JVM warm-up fit on {WARMUP_TOKENS:,} tokens {time.perf_counter() - t0:.1f} s (untimed)")
            self.mllib_warm = True
        if self.mllib_input_tokens is None:
            self.mllib_input_tokens = int(self.mllib_frame(self.path).select(F.sum(F.size("tokens"))).first()[0] or 0)
            same = "same as" if self.mllib_input_tokens == self.tokens else "DIFFERENT FROM"
            log(f"{item['key']}: MLlib input has {self.mllib_input_tokens:,} tokens ({same} the corpus file's "
                f"{self.tokens:,}; untimed check)")
        frame = self.mllib_frame(self.path)
        estimator = self.mllib_estimator(item["partitions"], epochs)
        with Heartbeat(item["key"], spark):
            t0 = time.perf_counter()
            model = estimator.fit(frame)
            fit_s = time.perf_counter() - t0
        log(f"{item['key']}: fit {fit_s:.1f} s; collecting the vectors (untimed) ...")
        t0 = time.perf_counter()
        rows = model.getVectors().collect()
        words = [row["word"] for row in rows]
        vectors = np.array([row["vector"].toArray() for row in rows], dtype=np.float32).reshape(len(rows), -1)
        collect_s = time.perf_counter() - t0
        del rows
        # getVectors() has no order; evaluation restricts to the most frequent words, so sort by count.
        vocab = self.vocabulary()
        counts = {w: int(c) for w, c in zip(vocab.words, vocab.counts)}
        order = sorted(range(len(words)), key=lambda i: (-counts.get(words[i], 0), words[i]))
        words = [words[i] for i in order]
        vectors = vectors[order]
        missing = sum(1 for w in words if w not in counts)
        not_in_mllib = len(counts) - (len(words) - missing)
        record = {"wall_s": fit_s, "fit_s": fit_s, "train_s": None, "collect_vectors_s": collect_s,
                  "words_per_sec": None, "fit_words_per_sec": self.tokens * epochs / fit_s,
                  "vocab_words": len(words), "words_not_in_sparkw2v_vocab": missing,
                  "sparkw2v_words_not_in_mllib": not_in_mllib, "input_tokens": self.mllib_input_tokens,
                  "params": {"vectorSize": COMMON["vector_size"], "minCount": COMMON["min_count"],
                             "numPartitions": item["partitions"], "stepSize": COMMON["alpha"], "maxIter": epochs,
                             "seed": self.args.seed, "windowSize": COMMON["window"],
                             "maxSentenceLength": COMMON["max_sentence_length"]},
                  "finite": bool(np.isfinite(vectors).all()),
                  "mode": "pyspark.ml.feature.Word2Vec.fit on spark.read.text(corpus) split on (?U)\\s+ "
                          "(skip-gram + HS, no subsampling); wall = fit(); vectors via getVectors(), "
                          "rows ordered by sparkw2v's corpus counts"}
        if missing or not_in_mllib:
            log(f"{item['key']}: NOTE vocabularies differ: {missing} MLlib words not in sparkw2v's, "
                f"{not_in_mllib} sparkw2v words not in MLlib's")
        log(f"{item['key']}: fit {fit_s:.1f} s ({record['fit_words_per_sec']:,.0f} words/s over the whole fit); "
            f"{len(words):,} words; vectors collected in {collect_s:.1f} s")
        return record, WordVectors(words, vectors)

    def run(self, item: dict) -> tuple[dict, object]:
        return {"local": self.run_local, "gensim": self.run_gensim, "sparkw2v": self.run_sparkw2v,
                "mllib": self.run_mllib}[item["kind"]](item)


# ------------------------------------------------------------------------------------------------
# Results file: load, check, save
# ------------------------------------------------------------------------------------------------

def compatibility_key(args, corpus: dict) -> dict:
    """What must match for results of two invocations to sit in one table."""
    return {"corpus_source": os.path.abspath(args.corpus), "corpus_sha256": corpus["source_sha256"],
            "max_tokens": args.max_tokens, "tokens": corpus["tokens"], "epochs": args.epochs,
            "kernel_epochs": args.kernel_epochs, "master": args.master, "seed": args.seed,
            "averaging": args.averaging, "scale_alpha": args.scale_alpha,
            "local_copy": args.local_copy if args.local_copy != "partition" else None,
            "interleave": args.interleave, **COMMON, "models": MODELS}


def load_results(path: str, key: dict, fresh: bool) -> dict | None:
    if fresh or not os.path.exists(path):
        return None
    with open(path) as handle:
        results = json.load(handle)
    old = results.get("compatibility") or {}
    diff = sorted(k for k in set(old) | set(key) if old.get(k) != key.get(k))  # a missing key reads as None
    if diff:
        raise SystemExit(f"{path} holds results of other settings ({', '.join(diff)} differ); use --fresh to "
                         f"start over or --out/--name to write elsewhere")
    return results


def write_json(path: str, results: dict) -> None:
    tmp = path + ".part"
    with open(tmp, "w") as handle:
        json.dump(clean_json(results), handle, indent=2, allow_nan=False)
        handle.write("\n")
    os.replace(tmp, path)


def run_plan(bench, todo: list[dict], results: dict, stem: str, markdown, eval_dir: str, after_each=None) -> int:
    """Run the planned items in turn (bench.run(item) -> (record, word vectors)), scoring each and rewriting
    STEM.json and STEM.md after each, so an interrupted invocation keeps what it measured; a failed item is
    recorded with its traceback and the next one runs. Returns the number of failures."""
    failures = 0
    for number, item in enumerate(todo, 1):
        log(f"[{number}/{len(todo)}] {item['key']}")
        record = {k: v for k, v in item.items() if k != "key"}
        try:
            out, wv = bench.run(item)
            record.update(out, quality=evaluate(wv, eval_dir))
            log(f"{item['key']}: {quality_line(record['quality'])}")
        except Exception as exc:
            failures += 1
            record.update(error=repr(exc), traceback=traceback.format_exc())
            log(f"{item['key']}: FAILED {exc!r}")
        results["runs"][item["key"]] = record
        write_json(stem + ".json", results)
        with open(stem + ".md", "w") as handle:
            handle.write(markdown(results))
        if after_each is not None:
            after_each()
    return failures


def spark_versions() -> dict:
    out = {}
    try:
        import pyspark
        out["pyspark"] = pyspark.__version__
    except ImportError:
        out["pyspark"] = None
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True)
        out["java"] = (java.stderr or java.stdout).splitlines()[0].strip()
    except (OSError, IndexError):
        out["java"] = None
    return out


# ------------------------------------------------------------------------------------------------
# Summary and targets
# ------------------------------------------------------------------------------------------------

def ok(runs: dict, key: str) -> dict | None:
    record = runs.get(key)
    return record if record is not None and "error" not in record else None


def analogy_of(record: dict | None) -> float | None:
    if record is None or record.get("quality", {}).get("analogy") is None:
        return None
    return 100.0 * record["quality"]["analogy"]


def partitions_in(runs: dict, prefix: str) -> list[int]:
    found = set()
    for key in runs:
        if key.startswith(prefix):
            try:
                found.add(int(key[len(prefix):].split("-")[0]))
            except ValueError:
                pass
    return sorted(found)


def syncs_in(runs: dict, model: str) -> list[int]:
    found = set()
    for key in runs:
        if key.startswith(f"sparkw2v-{model}-P"):
            found.add(int(key.rsplit("-s", 1)[1]))
    return sorted(found)


def targets(results: dict) -> dict:
    runs = results["runs"]
    out: dict = {}
    # 1. analogy at P=8 within 2 points of gensim (not more than 2 points below it)
    gensim = next((r for k, r in runs.items() if k.startswith("gensim-") and "error" not in r), None)
    rows = []
    for s in syncs_in(runs, "sgns"):
        mine = ok(runs, sparkw2v_key("sgns", TARGET_PARTITIONS, s))
        a, g = analogy_of(mine), analogy_of(gensim)
        if a is None or g is None:
            continue
        rows.append({"syncs": s, "sparkw2v": a, "gensim": g, "diff_points": a - g,
                     "pass": a >= g - TARGET_GAP_POINTS})
    out["analogy_at_p8"] = {"rows": rows, "measured": bool(rows),
                            "met_by_syncs": [r["syncs"] for r in rows if r["pass"]]}
    # 2. sparkw2v SG+HS (sample 0) beats MLlib in accuracy and wall time at every partition count
    rows = []
    hs_syncs = syncs_in(runs, "sghs")
    matched = 1 if 1 in hs_syncs else (hs_syncs[0] if hs_syncs else None)
    for p in partitions_in(runs, "mllib-sghs-P"):
        mllib = ok(runs, mllib_key(p))
        mine = ok(runs, sparkw2v_key("sghs", p, matched)) if matched is not None else None
        if mllib is None or mine is None or analogy_of(mine) is None or analogy_of(mllib) is None:
            rows.append({"partitions": p, "measured": False})
            continue
        better_quality = analogy_of(mine) > analogy_of(mllib)
        faster = mine["wall_s"] < mllib["wall_s"]
        rows.append({"partitions": p, "measured": True, "syncs": matched, "sparkw2v_analogy": analogy_of(mine),
                     "mllib_analogy": analogy_of(mllib), "sparkw2v_wall_s": mine["wall_s"],
                     "mllib_wall_s": mllib["wall_s"], "mllib_time_ratio": mllib["wall_s"] / mine["wall_s"],
                     "better_quality": better_quality, "faster": faster, "pass": better_quality and faster,
                     "same_invocation": mine.get("invocation") == mllib.get("invocation")})
    measured = [r for r in rows if r["measured"]]
    out["beats_mllib"] = {"rows": rows, "measured": bool(measured),
                          "pass": bool(measured) and len(measured) == len(rows) and all(r["pass"] for r in measured)}
    # 3. end-to-end throughput at P=2 >= 75% of 2 x single-thread kernel throughput
    local = ok(runs, local_key())
    rows = []
    for s in syncs_in(runs, "sgns"):
        mine = ok(runs, sparkw2v_key("sgns", TARGET_THROUGHPUT_P, s))
        if mine is None or local is None:
            continue
        ideal = TARGET_THROUGHPUT_P * local["words_per_sec"]
        rows.append({"syncs": s, "spark_words_per_sec": mine["words_per_sec"],
                     "kernel_words_per_sec": local["words_per_sec"], "ratio": mine["words_per_sec"] / ideal,
                     "ratio_whole_fit": mine["fit_words_per_sec"] / ideal,
                     "same_invocation": mine.get("invocation") == local.get("invocation"),
                     "pass": mine["words_per_sec"] / ideal >= TARGET_SCALING})
    primary = next((r for r in rows if r["syncs"] == 1), rows[0] if rows else None)
    out["throughput_p2"] = {"rows": rows, "measured": primary is not None,
                            "primary_syncs": primary["syncs"] if primary else None,
                            "pass": bool(primary and primary["pass"])}
    return out


# ------------------------------------------------------------------------------------------------
# Markdown and plot
# ------------------------------------------------------------------------------------------------

def verdict(flag) -> str:
    return "**PASS**" if flag else "**FAIL**"


def pct(value, spec=".1f") -> str:
    return fmt(value, spec)


def mib(value) -> str:
    return fmt(None if value is None else value / 2**20, ".1f")


def markdown(results: dict) -> str:
    runs = results["runs"]
    c = results["corpus"]
    smoke = c["max_tokens"] is not None
    s = results["settings"]
    lines = [f"# Spark benchmark: sparkw2v vs gensim vs Spark MLlib{' (SMOKE TEST)' if smoke else ''}", ""]
    if smoke:
        lines += [f"**Smoke test on the first {c['max_tokens']:,} tokens, {s['epochs']} epoch(s): the timings are "
                  "not representative and the quality numbers mean nothing; the targets below are evaluated "
                  "only to exercise the code.**", ""]
    first = f" (first {c['max_tokens']:,} tokens)" if smoke else ""
    lines += [f"- Corpus: `{c['source']}`{first}, read as the plain copy "
              f"`{c['path']}`: {c['tokens']:,} tokens, {c['lines']:,} lines, {c['bytes']:,} bytes"]
    for inv in results["invocations"]:
        m, v, sp = inv["machine"], inv["versions"], inv.get("spark") or {}
        lines.append(
            f"- Invocation {inv['id']}: {inv['date']}, `{inv['command']}`; ran {', '.join(inv.get('ran', [])) or 'nothing'}."
            f" Machine: {m.get('cpu_model')}, nproc {m['nproc']}, {m.get('mem_total', '?')}; load average at start "
            f"{', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
            f"{', '.join(f'{x:.2f}' for x in m.get('loadavg_end', [])) or '?'}. Versions: Python {m['python']}, "
            f"Spark {sp.get('spark_version', v.get('pyspark'))} ({v.get('java')}), numpy {v['numpy']}, numba "
            f"{v['numba']}, gensim {v.get('gensim')}, sparkw2v {v['sparkw2v']} @ {(v.get('sparkw2v_git') or '?')[:10]}"
            f"{' (uncommitted changes in sparkw2v/)' if v.get('sparkw2v_git_dirty') else ''}")
    lines += [
        f"- Spark: master `{s['master']}`, spark.driver.memory {s['driver_memory']}, UI off, one SparkSession for "
        f"every Spark run; Python workers run this interpreter (`PYSPARK_PYTHON`); OMP/OpenBLAS/MKL/Numba "
        f"threads = 1",
        f"- Settings: skip-gram, vector size {COMMON['vector_size']}, window {COMMON['window']}, min_count "
        f"{COMMON['min_count']}, alpha {COMMON['alpha']} → min_alpha {COMMON['min_alpha']}, {s['epochs']} epoch(s), "
        f"lines cut at {COMMON['max_sentence_length']:,} tokens, seed {s['seed']}. **SGNS**: negative 5, sample 1e-4 "
        f"(sparkw2v and gensim). **SG-HS**: hierarchical softmax, sample 0 (sparkw2v and MLlib: MLlib never "
        f"subsamples). sparkw2v local copy per `{s.get('local_copy') or 'partition'}`, averaging `{s['averaging']}`, "
        f"scale_alpha `{ {None: 'auto', True: 'on', False: 'off'}[s.get('scale_alpha')] }`, interleave "
        f"`{s.get('interleave', 'none (input order)')}`, compute_loss on (the default)",
        "- **words/s = corpus tokens × epochs ÷ training seconds** (input words, word2vec.c's convention). sparkw2v: "
        "the trainer's `train_seconds` (every sync round: broadcast, kernels, combine; not the vocabulary or "
        "encoding jobs); gensim: `train()`; single-thread kernel: the kernel time of `train_local`. MLlib's fit "
        "cannot be split, so for MLlib only the whole-fit figure exists. *fit words/s* divides by the wall time "
        "instead. *wall s* is the whole fit including the vocabulary pass (MLlib: `fit()`; gensim: constructor + "
        "`build_vocab` + `train`)",
        "- Quality: Google analogies restricted to the 30,000 most frequent words, case-insensitive (questions "
        "with all four words in that set); Spearman on WordSim-353 and SimLex-999 (sparkw2v.evaluation, which "
        "reproduces gensim's numbers). MLlib's vectors (`getVectors()`, unordered) are put in descending corpus "
        "frequency first. One run per configuration (one seed): differences under ~1 point are within seed noise",
        "- Numba is warmed up before anything is timed: the single-process trainer on a tiny corpus, and before "
        "every sparkw2v Spark configuration an untimed 1-epoch fit on that tiny corpus so that every Python worker "
        "has the kernels loaded; MLlib gets one untimed warm-up fit",
        "",
        "## sparkw2v skip-gram NS on Spark, and gensim",
        "",
        "| run | partitions | syncs/epoch | analogy % | Δ vs gensim (pts) | WS353 | SimLex | wall s | vocab s | "
        "encode s | train s | words/s | fit words/s | driver MiB/sync |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    gensim_key_found = next((k for k in runs if k.startswith("gensim-")), None)
    gensim = ok(runs, gensim_key_found) if gensim_key_found else None
    g = analogy_of(gensim)
    if gensim_key_found:
        if gensim is None:
            lines.append(f"| {gensim_key_found} | — | — | error | | | | | | | | | | |")
        else:
            q = gensim["quality"]
            lines.append(f"| gensim SGNS, workers={gensim['workers']} | — | — | {pct(g, '.2f')} | — | "
                         f"{fmt(q.get('ws353'), '.3f')} | {fmt(q.get('simlex'), '.3f')} | {secs(gensim['wall_s'])} | "
                         f"{secs(gensim['vocab_s'])} | — | {secs(gensim['train_s'])} | "
                         f"{fmt(gensim['words_per_sec'], ',.0f')} | {fmt(gensim['fit_words_per_sec'], ',.0f')} | — |")
    for p in partitions_in(runs, "sparkw2v-sgns-P"):
        for sy in syncs_in(runs, "sgns"):
            key = sparkw2v_key("sgns", p, sy)
            if key not in runs:
                continue
            r = ok(runs, key)
            if r is None:
                lines.append(f"| sparkw2v SGNS | {p} | {sy} | error: {runs[key]['error'][:60]} | | | | | | | | | | |")
                continue
            q = r["quality"]
            a = analogy_of(r)
            lines.append(f"| sparkw2v SGNS | {p} | {sy} | {pct(a, '.2f')} | "
                         f"{fmt(None if a is None or g is None else a - g, '+.2f')} | {fmt(q.get('ws353'), '.3f')} | "
                         f"{fmt(q.get('simlex'), '.3f')} | {secs(r['wall_s'])} | {secs(r['vocab_s'])} | "
                         f"{secs(r['encode_s'])} | {secs(r['train_s'])} | {fmt(r['words_per_sec'], ',.0f')} | "
                         f"{fmt(r['fit_words_per_sec'], ',.0f')} | {mib(r['driver_bytes_per_sync'])} |")
    lines += ["",
              "*driver MiB/sync*: mean over the sync rounds of the bytes of averaged parameter rows the driver "
              "collects (the trainer's `driver_bytes_in`).", ""]

    lines += ["## Skip-gram + HS without subsampling: sparkw2v vs Spark MLlib (the same work)", "",
              "| partitions | sparkw2v syncs/epoch | analogy % sparkw2v | analogy % MLlib | WS353 sparkw2v | WS353 MLlib | "
              "SimLex sparkw2v | SimLex MLlib | wall s sparkw2v | fit s MLlib | MLlib time ÷ sparkw2v | "
              "fit words/s sparkw2v | fit words/s MLlib |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(set(partitions_in(runs, "sparkw2v-sghs-P")) | set(partitions_in(runs, "mllib-sghs-P"))):
        mllib_raw = runs.get(mllib_key(p))
        mllib = ok(runs, mllib_key(p))
        hs_syncs = syncs_in(runs, "sghs") or [None]
        for sy in hs_syncs:
            mine_raw = runs.get(sparkw2v_key("sghs", p, sy)) if sy is not None else None
            mine = ok(runs, sparkw2v_key("sghs", p, sy)) if sy is not None else None
            if mine_raw is None and mllib_raw is None:
                continue

            def cell(r, raw, getter):
                if raw is None:
                    return "not run"
                if r is None:
                    return "error"
                return getter(r)
            mq = lambda r, k: fmt(r["quality"].get(k), ".3f")  # noqa: E731
            ratio = mllib["wall_s"] / mine["wall_s"] if mine and mllib else None
            lines.append(
                f"| {p} | {sy if sy is not None else '—'} | {cell(mine, mine_raw, lambda r: pct(analogy_of(r), '.2f'))} | "
                f"{cell(mllib, mllib_raw, lambda r: pct(analogy_of(r), '.2f'))} | "
                f"{cell(mine, mine_raw, lambda r: mq(r, 'ws353'))} | {cell(mllib, mllib_raw, lambda r: mq(r, 'ws353'))} | "
                f"{cell(mine, mine_raw, lambda r: mq(r, 'simlex'))} | {cell(mllib, mllib_raw, lambda r: mq(r, 'simlex'))} | "
                f"{cell(mine, mine_raw, lambda r: secs(r['wall_s']))} | {cell(mllib, mllib_raw, lambda r: secs(r['wall_s']))} | "
                f"{fmt(ratio, '.2f')} | {cell(mine, mine_raw, lambda r: fmt(r['fit_words_per_sec'], ',.0f'))} | "
                f"{cell(mllib, mllib_raw, lambda r: fmt(r['fit_words_per_sec'], ',.0f'))} |")
    lines += ["",
              "MLlib: `pyspark.ml.feature.Word2Vec(vectorSize=100, windowSize=5, minCount=5, stepSize=0.025, "
              f"maxIter={s['epochs']}, maxSentenceLength=10000, numPartitions=P, seed={s['seed']})` on a DataFrame "
              "of token arrays (`spark.read.text` of the same plain file, split on whitespace); MLlib averages the "
              "partitions' copies once per iteration, which corresponds to sparkw2v's syncs/epoch = 1."]
    blas = sorted({(inv.get("spark") or {}).get("mllib_blas") for inv in results["invocations"]} - {None})
    if blas:
        lines[-1] += (f" MLlib's BLAS: `{', '.join(blas)}`" + (" (Spark's Java fallback: no native BLAS found)"
                                                              if all("Native" not in b for b in blas) else "") + ".")
    lines.append("")

    local = ok(runs, local_key())
    lines += ["## Throughput scaling", ""]
    if local is not None:
        lines.append(f"Single-thread kernel (sparkw2v `train_local`, SGNS, {local['epochs']} epoch, compute_loss "
                     f"{'on' if local.get('compute_loss') else 'off'}, in the driver process): "
                     f"**{local['words_per_sec']:,.0f} words/s** (kernel {secs(local['kernel_s'])} s, whole call "
                     f"{secs(local['wall_s'])} s).")
    else:
        lines.append("Single-thread kernel throughput: not measured.")
    lines += ["", f"| partitions | syncs/epoch | words/s | ÷ ({TARGET_THROUGHPUT_P} × kernel words/s) | fit words/s ÷ "
              f"({TARGET_THROUGHPUT_P} × kernel) | measured side by side |", "|---:|---:|---:|---:|---:|---|"]
    t = results.get("targets") or targets(results)
    for row in t["throughput_p2"]["rows"]:
        lines.append(f"| {TARGET_THROUGHPUT_P} | {row['syncs']} | {row['spark_words_per_sec']:,.0f} | "
                     f"{row['ratio']:.2f} | {row['ratio_whole_fit']:.2f} | "
                     f"{'yes' if row['same_invocation'] else 'no (different invocations)'} |")
    lines += ["", "## Targets", ""]
    a8 = t["analogy_at_p8"]
    if a8["measured"]:
        parts = "; ".join(f"syncs={r['syncs']}: {r['sparkw2v']:.2f}% vs gensim {r['gensim']:.2f}% "
                          f"({r['diff_points']:+.2f} pts) {verdict(r['pass'])}" for r in a8["rows"])
        overall = (f"met with syncs/epoch = {', '.join(map(str, a8['met_by_syncs']))}" if a8["met_by_syncs"]
                   else "not met with any syncs/epoch measured")
        lines.append(f"1. At {TARGET_PARTITIONS} partitions, analogy accuracy no more than {TARGET_GAP_POINTS} points "
                     f"below gensim: {parts}. Overall: {overall}.")
    else:
        lines.append(f"1. At {TARGET_PARTITIONS} partitions, analogy within {TARGET_GAP_POINTS} points of gensim: "
                     f"**NOT MEASURED** (needs gensim and sparkw2v SGNS at P={TARGET_PARTITIONS}).")
    bm = t["beats_mllib"]
    if bm["measured"]:
        parts = "; ".join(
            (f"P={r['partitions']}: analogy {r['sparkw2v_analogy']:.2f}% vs {r['mllib_analogy']:.2f}% "
             f"({'better' if r['better_quality'] else 'NOT better'}), wall {secs(r['sparkw2v_wall_s'])} s vs "
             f"{secs(r['mllib_wall_s'])} s ({'faster' if r['faster'] else 'NOT faster'}"
             f"{'' if r['same_invocation'] else ', measured in different invocations'}) {verdict(r['pass'])}")
            if r["measured"] else f"P={r['partitions']}: not measured" for r in bm["rows"])
        lines.append(f"2. At every partition count, sparkw2v SG+HS (sample 0) beats MLlib in both analogy accuracy "
                     f"and wall time: {parts}. Overall: {verdict(bm['pass'])}"
                     f"{'' if all(r['measured'] for r in bm['rows']) else ' (not every partition count measured)'}.")
    else:
        lines.append("2. sparkw2v SG+HS beats MLlib at every partition count: **NOT MEASURED**.")
    tp = t["throughput_p2"]
    if tp["measured"]:
        primary = next(r for r in tp["rows"] if r["syncs"] == tp["primary_syncs"])
        others = [r for r in tp["rows"] if r is not primary]
        extra = "".join(f"; with syncs={r['syncs']}: {r['ratio']:.2f}" for r in others)
        lines.append(f"3. On `{s['master']}` with {TARGET_THROUGHPUT_P} partitions (syncs/epoch = {primary['syncs']}), "
                     f"training throughput at least {TARGET_SCALING:.0%} of {TARGET_THROUGHPUT_P} × the single-thread "
                     f"kernel throughput: {primary['spark_words_per_sec']:,.0f} ÷ ({TARGET_THROUGHPUT_P} × "
                     f"{primary['kernel_words_per_sec']:,.0f}) = **{primary['ratio']:.2f}** {verdict(primary['pass'])}"
                     f"{extra}. Over the whole fit (vocabulary and encoding jobs included) the ratio is "
                     f"{primary['ratio_whole_fit']:.2f}.")
    else:
        lines.append(f"3. Throughput at P={TARGET_THROUGHPUT_P} vs {TARGET_THROUGHPUT_P} × single-thread kernel: "
                     "**NOT MEASURED** (needs the local kernel run and sparkw2v SGNS at P=2).")
    errors = [k for k, r in runs.items() if "error" in r]
    if errors:
        lines += ["", f"Failed configurations (see the JSON for tracebacks): {', '.join(errors)}."]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    runs = results["runs"]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    series = []
    for sy in syncs_in(runs, "sgns"):
        series.append((f"sparkw2v SGNS, syncs={sy}", [(p, ok(runs, sparkw2v_key("sgns", p, sy)))
                                                     for p in partitions_in(runs, "sparkw2v-sgns-P")], "o-"))
    for sy in syncs_in(runs, "sghs"):
        series.append((f"sparkw2v SG-HS sample 0, syncs={sy}", [(p, ok(runs, sparkw2v_key("sghs", p, sy)))
                                                               for p in partitions_in(runs, "sparkw2v-sghs-P")], "s--"))
    series.append(("Spark MLlib SG-HS (no subsampling)", [(p, ok(runs, mllib_key(p)))
                                                          for p in partitions_in(runs, "mllib-sghs-P")], "^:"))
    all_p = set()
    for label, points, style in series:
        pts = [(p, r) for p, r in points if r is not None]
        if not pts:
            continue
        all_p.update(p for p, _ in pts)
        qp = [(p, analogy_of(r)) for p, r in pts if analogy_of(r) is not None]
        if qp:
            axes[0].plot([p for p, _ in qp], [a for _, a in qp], style, label=label)
        axes[1].plot([p for p, _ in pts], [r["wall_s"] for _, r in pts], style, label=label)
    gensim = next((r for k, r in runs.items() if k.startswith("gensim-") and "error" not in r), None)
    if gensim is not None and analogy_of(gensim) is not None:
        g = analogy_of(gensim)
        axes[0].axhline(g, color="gray", linestyle="-", label=f"gensim SGNS, workers={gensim['workers']}")
        axes[0].axhspan(g - TARGET_GAP_POINTS, g, color="gray", alpha=0.12, label=f"gensim − {TARGET_GAP_POINTS} pts")
        axes[1].axhline(gensim["wall_s"], color="gray", linestyle="-", label="gensim SGNS")
    for ax, title, ylabel in ((axes[0], "analogy accuracy vs partitions", "analogy accuracy (%)"),
                              (axes[1], "wall time of the whole fit vs partitions", "seconds")):
        ax.set_xscale("log", base=2)
        if all_p:
            ax.set_xticks(sorted(all_p))
            ax.set_xticklabels([str(p) for p in sorted(all_p)])
        ax.set_xlabel("partitions")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    axes[1].legend(fontsize=7)
    c = results["corpus"]
    note = " (smoke test)" if c["max_tokens"] else ""
    fig.suptitle(f"sparkw2v on Spark {results['settings']['master']} vs gensim vs MLlib: {c['tokens']:,} tokens, "
                 f"{results['settings']['epochs']} epoch(s){note}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------

def int_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a comma-separated list of positive integers")
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="text file, plain, .gz or .bz2 (default: %(default)s); "
                        "a compressed file is decompressed once into benchmarks/work/ so Spark can split it")
    parser.add_argument("--eval-dir", default=DEFAULT_EVAL,
                        help="folder with questions-words.txt, wordsim353.tsv, simlex999.txt (default: %(default)s)")
    parser.add_argument("--master", default="local[2]", help="Spark master (default: %(default)s)")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory (default: %(default)s)")
    parser.add_argument("--partitions", type=int_list, default=[1, 2, 4, 8], help="num_partitions list (default 1,2,4,8)")
    parser.add_argument("--syncs", type=int_list, default=[1, 4], help="syncs_per_epoch list for SGNS (default 1,4)")
    parser.add_argument("--hs-syncs", type=int_list, default=[1],
                        help="syncs_per_epoch list for sparkw2v SG-HS (default 1: MLlib averages once per iteration)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--kernel-epochs", type=int, default=1, help="epochs of the single-thread kernel run (default 1)")
    parser.add_argument("--gensim-workers", type=int, default=2, help="gensim worker threads (default 2: the cores)")
    parser.add_argument("--averaging", default="touched", choices=("touched", "mean", "sum"))
    parser.add_argument("--scale-alpha", default="auto", choices=("auto", "on", "off"),
                        help="sparkw2v scale_alpha (default auto: the library's default)")
    parser.add_argument("--local-copy", default="partition", choices=("partition", "executor"),
                        help="sparkw2v local_copy (default partition)")
    parser.add_argument("--interleave", type=int, default=None,
                        help="sparkw2v interleave: passes per epoch over 64k-word blocks (default: the library's, "
                             "4; 1 keeps the input order)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="train on the first N tokens only (a smoke test; results go to spark-smoke.*)")
    parser.add_argument("--configs", default="*",
                        help="comma-separated shell patterns of configuration keys to run (default all; see --list)")
    parser.add_argument("--skip-mllib", action="store_true", help="leave out the (slow) MLlib configurations")
    parser.add_argument("--fresh", action="store_true",
                        help="start a new results file instead of adding to it (configurations already in it are "
                             "otherwise skipped)")
    parser.add_argument("--list", action="store_true", help="print the selected configurations and exit")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="results folder (default: %(default)s)")
    parser.add_argument("--name", default=None, help="results file stem (default spark, or spark-smoke with --max-tokens)")
    args = parser.parse_args(argv)
    args.scale_alpha = {"auto": None, "on": True, "off": False}[args.scale_alpha]
    if args.interleave is None:
        from sparkw2v.config import TrainConfig
        args.interleave = TrainConfig.interleave
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    if args.epochs < 1 or args.kernel_epochs < 1 or args.gensim_workers < 1 or \
            (args.max_tokens is not None and args.max_tokens < 1000):
        parser.error("--epochs, --kernel-epochs, --gensim-workers must be >= 1, --max-tokens >= 1000")
    if args.name is None:
        args.name = "spark-smoke" if args.max_tokens is not None else "spark"
    if not args.list:
        for name in ("questions-words.txt", "wordsim353.tsv", "simlex999.txt"):
            if not os.path.exists(os.path.join(args.eval_dir, name)):
                parser.error(f"{name} not found in --eval-dir {args.eval_dir}")
        if not os.path.exists(args.corpus):
            parser.error(f"corpus {args.corpus} not found")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    plan = selected(full_plan(args), args)
    if args.list:
        for item in plan:
            print(item["key"])
        return 0
    logging.basicConfig(level=logging.WARNING)
    for name in ("gensim", "py4j", "sparkw2v"):
        logging.getLogger(name).setLevel(logging.WARNING)
    started = time.perf_counter()
    corpus = bk.prepare_corpus(args.corpus, args.max_tokens)
    os.makedirs(args.out, exist_ok=True)
    json_path, md_path, png_path = (os.path.join(args.out, f"{args.name}.{ext}") for ext in ("json", "md", "png"))
    key = compatibility_key(args, corpus)
    results = load_results(json_path, key, args.fresh)
    if results is None:
        results = {"benchmark": "bench_spark", "compatibility": key,
                   "settings": {**COMMON, "models": MODELS, "epochs": args.epochs, "kernel_epochs": args.kernel_epochs,
                                "master": args.master, "driver_memory": args.driver_memory, "seed": args.seed,
                                "averaging": args.averaging, "scale_alpha": args.scale_alpha, "local_copy": args.local_copy, "interleave": args.interleave, "gensim_workers": args.gensim_workers,
                                "analogy_restrict": ANALOGY_RESTRICT, "warmup_tokens": WARMUP_TOKENS,
                                "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                                          "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")},
                                "throughput": "corpus_tokens * epochs / train seconds (input words, every token "
                                              "counts); fit_words_per_sec divides by the whole fit's wall time"},
                   "corpus": {"source": args.corpus, "path": os.path.relpath(corpus["path"], REPO),
                              "max_tokens": args.max_tokens, "tokens": corpus["tokens"], "lines": corpus["lines"],
                              "bytes": corpus["bytes"], "source_sha256": corpus["source_sha256"]},
                   "invocations": [], "runs": {}}
    else:
        log(f"results: adding to {os.path.relpath(json_path, REPO)} ({len(results['runs'])} configuration(s) in it)")
    invocation = {"id": len(results["invocations"]) + 1,
                  "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                  "command": " ".join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO)
                                       else sys.executable, os.path.relpath(os.path.abspath(sys.argv[0]), REPO),
                                       *sys.argv[1:]]),
                  "machine": bk.machine(), "versions": {**bk.versions(), **spark_versions()},
                  "planned": [i["key"] for i in plan], "ran": []}
    results["invocations"].append(invocation)
    todo = [i for i in plan if i["key"] not in results["runs"] or "error" in results["runs"][i["key"]]]
    skipped = [i["key"] for i in plan if i not in todo]
    m = invocation["machine"]
    log(f"machine: {m.get('cpu_model')}, nproc {m['nproc']}, load {m['loadavg_start'][0]:.2f}; corpus "
        f"{corpus['tokens']:,} tokens; {args.epochs} epoch(s); {len(todo)} configuration(s) to run"
        f"{f', {len(skipped)} already in the results file' if skipped else ''}")

    def save() -> None:
        results["targets"] = targets(results)
        invocation["machine"]["loadavg_end"] = os.getloadavg()
        invocation["seconds"] = time.perf_counter() - started
        write_json(json_path, results)
        with open(md_path, "w") as handle:
            handle.write(markdown(results))
        plot(results, png_path)

    bench = Bench(args, corpus)
    failures = 0
    try:
        for number, item in enumerate(todo, 1):
            label = item["key"]
            log(f"[{number}/{len(todo)}] {label}: starting")
            record = {**{k: v for k, v in item.items() if k != "key"}, "invocation": invocation["id"],
                      "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                      "loadavg_before": os.getloadavg()}
            try:
                out, wv = bench.run(item)
                record.update(out)
                if wv is not None:
                    record["quality"] = evaluate(wv, args.eval_dir)
                    log(f"{label}: {quality_line(record['quality'])}")
                del wv
            except Exception as exc:
                failures += 1
                record["error"] = repr(exc)
                record["traceback"] = traceback.format_exc()
                log(f"{label}: FAILED {exc!r}")
            record["loadavg_after"] = os.getloadavg()
            if bench.spark_info is not None:
                invocation["spark"] = bench.spark_info
            results["runs"][label] = record
            invocation["ran"].append(label)
            save()
            gc.collect()
    finally:
        bench.stop()
    save()
    print()
    print(markdown(results))
    log(f"wrote {', '.join(os.path.relpath(p, REPO) for p in (json_path, md_path, png_path))} "
        f"({time.perf_counter() - started:.0f} s in all)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
