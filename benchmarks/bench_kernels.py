#!/usr/bin/env python
"""Single-thread kernel benchmark: sparkw2v's single-process trainer against gensim and word2vec.c.

All peers run in one invocation, on the same plain-text file, with the same settings
(shared/docs/BENCHMARKING.md): vector size 100, window 5, sample 1e-4, min_count 5, 3 epochs,
negative 5 (NS models) or hs=1 with negative 0 (HS models), alpha 0.025 for skip-gram and 0.05 for
CBOW (CBOW takes the mean of its context), one thread everywhere.

Throughput is input words per second in word2vec.c's convention: every whitespace token of the
corpus file counts (out-of-vocabulary and subsampled ones too), so it is
`corpus_tokens * epochs / training seconds`, the same numerator for every peer. The same numerator over
the training's CPU seconds gives words per CPU-second: every peer runs on one thread, so on a shared
machine its CPU time is close to what it would take on an idle core, where wall time also counts the
time spent waiting for a CPU. Both are reported.

Every repeat runs each model's peers in turn (A B C, then the next model; with --repeats > 1 the
whole sequence again), and the report quotes medians. Quality: Google analogies (30,000 most frequent
words, case-insensitive), Spearman on WordSim-353 and SimLex-999, all scored by gensim's KeyedVectors.

    python benchmarks/bench_kernels.py                                   # the full benchmark
    python benchmarks/bench_kernels.py --max-tokens 300000 --epochs 1    # a smoke test
    python benchmarks/bench_kernels.py --render-only                     # redo .md/.png from kernels.json

Writes benchmarks/results/kernels.{json,md,png} (kernels-smoke.* when --max-tokens is given).
"""
# One thread everywhere: these must be set before numpy, numba or gensim are imported. The
# word2vec.c subprocess inherits them too (it only uses -threads, but no harm).
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import bz2  # noqa: E402
import datetime  # noqa: E402
import gzip  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

DEFAULT_CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "corpus", "wiki-aa.txt.gz"))
DEFAULT_EVAL = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "eval"))
WORK = os.path.join(HERE, "work")  # gitignored

PEERS = ("sparkw2v", "gensim", "word2vec.c")

# The standard settings; per-model differences below.
COMMON = dict(vector_size=100, window=5, sample=1e-4, min_count=5, min_alpha=1e-4, cbow_mean=True,
              max_sentence_length=10_000)
MODELS = {
    "sgns":   dict(architecture="skipgram", loss="ns", negative=5, hs=0, alpha=0.025),
    "cbowns": dict(architecture="cbow",     loss="ns", negative=5, hs=0, alpha=0.05),
    "sghs":   dict(architecture="skipgram", loss="hs", negative=0, hs=1, alpha=0.025),
    "cbowhs": dict(architecture="cbow",     loss="hs", negative=0, hs=1, alpha=0.05),
    # sparkw2v's batched kernel (--kernel batched); the peers have no such variant and are compared as sgns
    "sgns-batched": dict(architecture="skipgram", loss="ns", negative=5, hs=0, alpha=0.025, kernel="batched",
                         peers_as="sgns"),
    # sparkw2v with its training loss on (the job's default; every other row trains without it, as the peers do)
    "sgns-loss": dict(architecture="skipgram", loss="ns", negative=5, hs=0, alpha=0.025, compute_loss=True,
                      peers_as="sgns"),
    # the batched kernel with its windows in corpus order (--shuffle-words 0): what the shuffle costs
    "sgns-batched-ordered": dict(architecture="skipgram", loss="ns", negative=5, hs=0, alpha=0.025,
                                 kernel="batched", shuffle_words=0, peers_as="sgns"),
    # the job's default for one skip-gram NS copy: the batched kernel with the loss on
    "sgns-batched-loss": dict(architecture="skipgram", loss="ns", negative=5, hs=0, alpha=0.025, kernel="batched",
                              compute_loss=True, peers_as="sgns", loss_off="sgns-batched"),
}
WARMUP_TOKENS = 20_000
ANALOGY_RESTRICT = 30_000


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


# ------------------------------------------------------------------------------------------------
# Corpus preparation (untimed)
# ------------------------------------------------------------------------------------------------

def open_binary(path: str):
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    return open(path, "rb")


def sha256_file(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_corpus(source: str, max_tokens: int | None) -> dict:
    """A plain-text copy every peer reads (word2vec.c cannot read .gz), with its token count.

    Without --max-tokens a plain source is used in place and a compressed one is decompressed once
    into benchmarks/work/. With --max-tokens the first N tokens are written there (the last line cut
    at the N-th token; whitespace inside a line normalised to single spaces). Cached by a .meta.json.
    """
    os.makedirs(WORK, exist_ok=True)
    stat = os.stat(source)
    stem = os.path.basename(source)
    for suffix in (".gz", ".bz2"):
        if stem.endswith(suffix):
            stem = stem[:-len(suffix)]
    stem = stem[:-4] if stem.endswith(".txt") else stem
    compressed = source.endswith((".gz", ".bz2"))
    if max_tokens is None and not compressed:
        target = source
    elif max_tokens is None:
        target = os.path.join(WORK, f"{stem}.txt")
    else:
        target = os.path.join(WORK, f"{stem}.first{max_tokens}.txt")
    meta_path = (target if target != source else os.path.join(WORK, f"{stem}.inplace")) + ".meta.json"
    key = {"source": os.path.abspath(source), "source_bytes": stat.st_size, "source_mtime": stat.st_mtime,
           "max_tokens": max_tokens}
    if os.path.exists(meta_path) and os.path.exists(target):
        with open(meta_path) as handle:
            meta = json.load(handle)
        if meta.get("key") == key and meta.get("bytes") == os.path.getsize(target):
            log(f"corpus: reusing {os.path.relpath(target, REPO)} ({meta['tokens']:,} tokens, {meta['lines']:,} lines)")
            return meta
    log(f"corpus: preparing {os.path.relpath(target, REPO)} from {source}")
    started = time.perf_counter()
    tokens = lines = 0
    if max_tokens is None:
        # exact bytes of the source, counting as we go
        tmp = target + ".part"
        with open_binary(source) as src, (open(tmp, "wb") if target != source else open(os.devnull, "wb")) as dst:
            for line in src:
                tokens += len(line.split())
                lines += 1
                dst.write(line)
        if target != source:
            os.replace(tmp, target)
    else:
        tmp = target + ".part"
        with open_binary(source) as src, open(tmp, "wb") as dst:
            for line in src:
                words = line.split()
                if not words:
                    continue
                words = words[:max_tokens - tokens]
                dst.write(b" ".join(words) + b"\n")
                tokens += len(words)
                lines += 1
                if tokens >= max_tokens:
                    break
        os.replace(tmp, target)
    meta = {"key": key, "path": target, "bytes": os.path.getsize(target), "tokens": tokens, "lines": lines,
            "source_sha256": sha256_file(source)}
    with open(meta_path, "w") as handle:
        json.dump(meta, handle, indent=2)
    log(f"corpus: {tokens:,} tokens, {lines:,} lines, {meta['bytes']:,} bytes ({time.perf_counter() - started:.1f} s)")
    return meta


def write_warmup_corpus(path: str, n_tokens: int) -> str:
    target = os.path.join(WORK, f"warmup.{n_tokens}.txt")
    tokens = 0
    with open(path, "rb") as src, open(target, "wb") as dst:
        for line in src:
            words = line.split()[:n_tokens - tokens]
            if words:
                dst.write(b" ".join(words) + b"\n")
                tokens += len(words)
            if tokens >= n_tokens:
                break
    return target


# ------------------------------------------------------------------------------------------------
# Quality
# ------------------------------------------------------------------------------------------------

def without_key(kv, key: str):
    """The same vectors without `key` (word2vec.c's '</s>' row), order kept."""
    from gensim.models import KeyedVectors
    if key not in kv.key_to_index:
        return kv
    keep = [i for i, k in enumerate(kv.index_to_key) if k != key]
    out = KeyedVectors(kv.vector_size, dtype=np.float32)
    out.add_vectors([kv.index_to_key[i] for i in keep], kv.vectors[keep])
    return out


def evaluate(kv, eval_dir: str) -> dict:
    started = time.perf_counter()
    result: dict = {"vocab_size": len(kv.index_to_key)}
    try:
        score, sections = kv.evaluate_word_analogies(os.path.join(eval_dir, "questions-words.txt"),
                                                     restrict_vocab=ANALOGY_RESTRICT, case_insensitive=True)
        total = sections[-1]
        counted = len(total["correct"]) + len(total["incorrect"])
        result["analogy"] = float(score) if counted else None
        result["analogy_questions"] = counted
        result["analogy_correct"] = len(total["correct"])
    except Exception as exc:  # a tiny smoke vocabulary can leave nothing to score
        result["analogy"] = None
        result["analogy_error"] = repr(exc)
    for name, filename in (("ws353", "wordsim353.tsv"), ("simlex", "simlex999.txt")):
        try:
            _pearson, spearman, oov = kv.evaluate_word_pairs(os.path.join(eval_dir, filename))
            value = float(spearman[0])
            result[name] = value if math.isfinite(value) else None
            result[f"{name}_oov_percent"] = float(oov)
        except Exception as exc:
            result[name] = None
            result[f"{name}_error"] = repr(exc)
    result["eval_seconds"] = time.perf_counter() - started
    return result


# ------------------------------------------------------------------------------------------------
# The peers. Each returns a dict with vocab_s / train_s / job_s (wall), cpu seconds and the vectors.
# ------------------------------------------------------------------------------------------------

def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sparkw2v_config(model: str, epochs: int, seed: int):
    from sparkw2v.config import TrainConfig
    spec = MODELS[model]
    return TrainConfig(architecture=spec["architecture"], loss=spec["loss"], vector_size=COMMON["vector_size"],
                       window=COMMON["window"], min_count=COMMON["min_count"], sample=COMMON["sample"],
                       negative=spec["negative"], alpha=spec["alpha"], min_alpha=COMMON["min_alpha"],
                       epochs=epochs, cbow_mean=COMMON["cbow_mean"],
                       max_sentence_length=COMMON["max_sentence_length"], seed=seed,
                       compute_loss=spec.get("compute_loss", False), kernel=spec.get("kernel", "classic"),
                       shuffle_words=spec.get("shuffle_words")).validate()


def sparkw2v_steps(path: str, config) -> tuple[dict, object]:
    """train_local(paths=[path]) step by step, timing each step (the same calls in the same order)."""
    from sparkw2v.local import train_encoded, vocabulary_from_sentences
    from sparkw2v.text import read_local_sentences
    from sparkw2v.training import encode_sentences

    def corpus():
        return read_local_sentences([path], config.lowercase, config.max_sentence_length)

    t0, c0 = time.perf_counter(), cpu_self()
    vocab = vocabulary_from_sentences(corpus(), config.min_count, config.max_vocab_size)
    t1 = time.perf_counter()
    ids, offsets = encode_sentences(corpus(), vocab.index)
    t2, c2 = time.perf_counter(), cpu_self()
    result = train_encoded(ids, offsets, vocab, config)
    t3, c3 = time.perf_counter(), cpu_self()
    timing = {"vocab_s": t1 - t0, "encode_s": t2 - t1, "train_s": t3 - t2, "job_s": t3 - t0,
              "train_cpu_s": c3 - c2, "job_cpu_s": c3 - c0,
              "kernel_s": sum(m["seconds"] for m in result.metrics),
              "vocab_words": len(vocab), "corpus_words_counted": int(vocab.corpus_words),
              "train_words": int(vocab.train_words), "rounds": result.metrics}
    return timing, result


def run_sparkw2v(path: str, model: str, epochs: int, seed: int) -> dict:
    from gensim.models import KeyedVectors
    timing, result = sparkw2v_steps(path, sparkw2v_config(model, epochs, seed))
    timing["mode"] = "train_local's steps: vocabulary_from_sentences, encode_sentences, train_encoded"
    kv = KeyedVectors(COMMON["vector_size"], dtype=np.float32)
    kv.add_vectors(list(result.vocab.words), result.params.syn0)
    timing["finite"] = bool(result.params.all_finite())
    return {**timing, "kv": kv}


def warm_up_sparkw2v(path: str, models: list[str], seed: int) -> dict:
    """Compile the Numba code before any timed run; report the compile time.

    NUMBA_CACHE_DIR points at an empty folder (set in main), so the first call is a cold compile.
    For each model: first call minus a second identical call on the same tiny corpus. Also checks
    that the timed step-by-step path gives the same vectors as train_local itself.
    """
    from sparkw2v.local import train_local
    report: dict = {"warmup_tokens": WARMUP_TOKENS, "numba_cache_dir": "fresh empty folder (cold compile)",
                    "per_model": {}}
    for model in models:
        config = sparkw2v_config(model, 1, seed)
        t0 = time.perf_counter()
        sparkw2v_steps(path, config)
        t1 = time.perf_counter()
        sparkw2v_steps(path, config)
        t2 = time.perf_counter()
        first, second = t1 - t0, t2 - t1
        report["per_model"][model] = {"first_call_s": first, "second_call_s": second, "compile_s": first - second}
        log(f"warm-up sparkw2v {model}: first call {first:.2f} s, second {second:.2f} s "
            f"-> compile {first - second:.2f} s")
    report["compile_s"] = sum(m["compile_s"] for m in report["per_model"].values())
    # the benchmark times train_local's steps one by one: check they still are train_local
    config = sparkw2v_config(models[0], 1, seed)
    reference = train_local(config=config, paths=[path])
    _, mine = sparkw2v_steps(path, config)
    same = all(np.array_equal(a, b) for a, b in zip(reference.params, mine.params)) and \
        list(reference.vocab.words) == list(mine.vocab.words)
    report["steps_match_train_local"] = bool(same)
    if not same:
        log("WARNING: the timed steps no longer reproduce train_local bit for bit; update sparkw2v_steps")
    return report


def run_gensim(path: str, model: str, epochs: int, seed: int) -> dict:
    from gensim.models import Word2Vec
    spec = MODELS[model]
    t0, c0 = time.perf_counter(), cpu_self()
    w2v = Word2Vec(vector_size=COMMON["vector_size"], window=COMMON["window"], min_count=COMMON["min_count"],
                   sample=COMMON["sample"], sg=int(spec["architecture"] == "skipgram"), hs=spec["hs"],
                   negative=spec["negative"], cbow_mean=int(COMMON["cbow_mean"]), alpha=spec["alpha"],
                   min_alpha=COMMON["min_alpha"], epochs=epochs, workers=1, seed=seed,
                   max_vocab_size=None, compute_loss=False)
    w2v.build_vocab(corpus_file=path)
    t1, c1 = time.perf_counter(), cpu_self()
    w2v.train(corpus_file=path, total_words=w2v.corpus_total_words, epochs=epochs)
    t2, c2 = time.perf_counter(), cpu_self()
    return {"vocab_s": t1 - t0, "train_s": t2 - t1, "job_s": t2 - t0, "train_cpu_s": c2 - c1,
            "job_cpu_s": c2 - c0, "vocab_words": len(w2v.wv.index_to_key),
            "corpus_words_counted": int(w2v.corpus_total_words),
            "mode": "corpus_file, workers=1 (vocab = constructor + build_vocab, train = train())",
            "finite": bool(np.isfinite(w2v.wv.vectors).all()), "kv": w2v.wv}


def word2vec_c_binary() -> str | None:
    candidates = [os.path.join(os.path.dirname(sys.executable), "word2vec"), shutil.which("word2vec")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            with open(candidate, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    return candidate
    return None


def run_word2vec_c(path: str, model: str, epochs: int, seed: int) -> dict:
    """Two processes: a vocabulary-only run (-save-vocab, no -output: word2vec.c returns right after
    the vocabulary), then training from that vocabulary (-read-vocab). job_s is their sum. The
    training run still includes process start, InitNet, the 1e8-entry unigram table (NS) and
    writing the vectors. word2vec.c has no seed option: with one thread its runs are identical."""
    from gensim.models import KeyedVectors
    binary = word2vec_c_binary()
    if binary is None:
        raise FileNotFoundError("the word2vec.c binary (PyPI 'word2vec' package) was not found next to python")
    spec = MODELS[model]
    vocab_file = os.path.join(WORK, f"w2vc-{model}.vocab.txt")
    out_file = os.path.join(WORK, f"w2vc-{model}.bin")
    common = ["-train", path, "-min-count", str(COMMON["min_count"]), "-threads", "1"]
    vocab_cmd = [binary, *common, "-save-vocab", vocab_file]
    train_cmd = [binary, *common, "-read-vocab", vocab_file, "-output", out_file, "-binary", "1",
                 "-size", str(COMMON["vector_size"]), "-window", str(COMMON["window"]),
                 "-sample", "1e-4", "-negative", str(spec["negative"]), "-hs", str(spec["hs"]),
                 "-cbow", str(int(spec["architecture"] == "cbow")), "-iter", str(epochs),
                 "-alpha", str(spec["alpha"])]
    t0, c0 = time.perf_counter(), cpu_children()
    vocab_run = subprocess.run(vocab_cmd, capture_output=True, text=True, errors="replace")
    t1, c1 = time.perf_counter(), cpu_children()
    if vocab_run.returncode != 0:
        raise RuntimeError(f"word2vec.c vocabulary run failed ({vocab_run.returncode}): {vocab_run.stderr[-2000:]}")
    train_run = subprocess.run(train_cmd, capture_output=True, text=True, errors="replace")
    t2, c2 = time.perf_counter(), cpu_children()
    if train_run.returncode != 0:
        raise RuntimeError(f"word2vec.c training run failed ({train_run.returncode}): {train_run.stderr[-2000:]}")
    with open(os.path.join(WORK, f"w2vc-{model}.log"), "w") as handle:
        handle.write(" ".join(vocab_cmd) + "\n" + vocab_run.stdout + "\n" + " ".join(train_cmd) + "\n" + train_run.stdout)
    reported = re.findall(r"Words/thread/sec:\s*([0-9.]+)k", train_run.stdout)
    words_in_file = re.search(r"Words in train file:\s*(\d+)", vocab_run.stdout)
    kv = without_key(KeyedVectors.load_word2vec_format(out_file, binary=True), "</s>")
    os.remove(out_file)  # 28 MB per model on the full corpus; the vectors live on in `kv`
    return {"vocab_s": t1 - t0, "train_s": t2 - t1, "job_s": t2 - t0, "vocab_cpu_s": c1 - c0,
            "train_cpu_s": c2 - c1, "job_cpu_s": c2 - c0, "vocab_words": len(kv.index_to_key),
            "words_in_train_file_incl_eos": int(words_in_file.group(1)) if words_in_file else None,
            "reported_words_per_thread_sec": float(reported[-1]) * 1000 if reported else None,
            "mode": "-threads 1; vocab = -save-vocab run, train = -read-vocab run (both whole processes)",
            "command": " ".join(train_cmd), "finite": bool(np.isfinite(kv.vectors).all()), "kv": kv}


RUNNERS = {"sparkw2v": run_sparkw2v, "gensim": run_gensim, "word2vec.c": run_word2vec_c}


# ------------------------------------------------------------------------------------------------
# Machine description
# ------------------------------------------------------------------------------------------------

def machine() -> dict:
    info: dict = {"platform": platform.platform(), "python": sys.version.split()[0],
                  "nproc": os.cpu_count(), "affinity_cpus": len(os.sched_getaffinity(0))}
    try:
        with open("/proc/cpuinfo") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu_model"] = models[0] if models else platform.processor()
        info["cpu_logical"] = len(models)
        with open("/proc/meminfo") as handle:
            info["mem_total"] = handle.readline().split(":", 1)[1].strip()
    except OSError:
        info["cpu_model"] = platform.processor()
    info["loadavg_start"] = os.getloadavg()
    return info


def versions() -> dict:
    import numba
    import scipy
    out = {"numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__}
    try:
        import gensim
        from gensim.models.word2vec import CORPUSFILE_VERSION, FAST_VERSION
        out.update(gensim=gensim.__version__, gensim_fast_version=FAST_VERSION,
                   gensim_corpusfile_version=CORPUSFILE_VERSION)
    except ImportError:
        out["gensim"] = None
    import sparkw2v
    out["sparkw2v"] = sparkw2v.__version__
    try:
        out["sparkw2v_git"] = subprocess.run(["git", "-C", REPO, "rev-parse", "HEAD"], capture_output=True,
                                             text=True).stdout.strip()
        out["sparkw2v_git_dirty"] = bool(subprocess.run(["git", "-C", REPO, "status", "--porcelain", "sparkw2v"],
                                                        capture_output=True, text=True).stdout.strip())
    except OSError:
        pass
    binary = word2vec_c_binary()
    if binary:
        out["word2vec_c_binary"] = binary
        out["word2vec_c_sha256"] = sha256_file(binary)
    return out


# ------------------------------------------------------------------------------------------------
# Summary, tables, plot
# ------------------------------------------------------------------------------------------------

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cpu_words_per_sec(record: dict, tokens: int, epochs: int) -> float | None:
    """corpus tokens × epochs / train CPU seconds (None when the CPU time is missing or zero)."""
    cpu = record.get("train_cpu_s")
    return tokens * epochs / cpu if cpu else None


def ratio(a, b):
    return a / b if a is not None and b else None


def peer_model(model: str, peer: str) -> str:
    """The model whose runs stand for `model` with this peer (a sparkw2v-only variant: the peer's plain model)."""
    return model if peer == "sparkw2v" else MODELS[model].get("peers_as", model)


def summarise(runs: list[dict], models: list[str], peers: list[str]) -> dict:
    summary: dict = {}
    for model in models:
        summary[model] = {}
        for peer in peers:
            mine = [r for r in runs if r["model"] == peer_model(model, peer) and r["peer"] == peer and "error" not in r]
            if not mine:
                summary[model][peer] = {"runs": 0}
                continue
            row = {"runs": len(mine)}
            for key in ("words_per_sec", "cpu_words_per_sec", "train_s", "train_cpu_s", "vocab_s", "encode_s",
                        "job_s"):
                row[key] = median([r.get(key) for r in mine])
            for key in ("analogy", "ws353", "simlex"):
                row[key] = median([r["quality"].get(key) for r in mine])
            summary[model][peer] = row
        # sparkw2v against each peer: paired per-repeat ratios (runs of one repeat are adjacent)
        base = {r["repeat"]: r for r in runs if r["model"] == model and r["peer"] == "sparkw2v" and "error" not in r}
        for peer in peers:
            if peer == "sparkw2v" or summary[model][peer]["runs"] == 0 or not base:
                continue
            other = {r["repeat"]: r for r in runs if r["model"] == peer_model(model, peer) and r["peer"] == peer
                     and "error" not in r}
            pairs = [(base[k], other[k]) for k in sorted(set(base) & set(other))]
            comparison = {"speed_ratio": median([a["words_per_sec"] / b["words_per_sec"] for a, b in pairs]),
                          "cpu_speed_ratio": median([ratio(a.get("cpu_words_per_sec"), b.get("cpu_words_per_sec"))
                                                     for a, b in pairs]),
                          "job_speed_ratio": median([b["job_s"] / a["job_s"] for a, b in pairs])}
            for key in ("analogy", "ws353", "simlex"):
                diffs = [a["quality"][key] - b["quality"][key] for a, b in pairs
                         if a["quality"].get(key) is not None and b["quality"].get(key) is not None]
                scale = 100.0 if key == "analogy" else 1.0  # analogy in percentage points
                comparison[f"{key}_diff"] = median([d * scale for d in diffs])
            summary[model][peer]["sparkw2v_vs"] = comparison
    return summary


# sparkw2v's targets against gensim (quality: |sparkw2v − gensim| at most this; speed: words/CPU-s ratio at least)
TARGET_ANALOGY_POINTS = 1.0
TARGET_WS353 = 0.02
TARGET_CPU_SPEED = 1.0


# The batched kernel (issue 14): words/CPU-s at least this times gensim's, quality within these of the classic kernel
TARGET_BATCHED_CPU_SPEED = 2.0
TARGET_BATCHED_ANALOGY_POINTS = 0.5
TARGET_BATCHED_WS353 = 0.01


def batched_targets(summary: dict) -> dict:
    """The batched kernel against gensim's speed and the classic kernel's quality (medians over the
    repeats, each repeat one seed): it must not lose more than the tolerances (gaining is allowed)."""
    out: dict = {}
    for model, peers in summary.items():
        classic_model = MODELS[model].get("peers_as")
        if (MODELS[model].get("kernel") != "batched" or MODELS[model].get("compute_loss")
                or classic_model not in summary):
            continue
        mine, classic = peers.get("sparkw2v") or {}, summary[classic_model].get("sparkw2v") or {}
        cpu = ((peers.get("gensim") or {}).get("sparkw2v_vs") or {}).get("cpu_speed_ratio")
        analogy = (None if mine.get("analogy") is None or classic.get("analogy") is None
                   else 100.0 * (mine["analogy"] - classic["analogy"]))
        ws353 = None if mine.get("ws353") is None or classic.get("ws353") is None else mine["ws353"] - classic["ws353"]
        out[model] = {
            "classic": classic_model, "runs": mine.get("runs"),
            "cpu_speed_vs_gensim": {"ratio": cpu, "at_least": TARGET_BATCHED_CPU_SPEED,
                                    "pass": None if cpu is None else cpu >= TARGET_BATCHED_CPU_SPEED},
            "cpu_speed_vs_classic": ratio(mine.get("cpu_words_per_sec"), classic.get("cpu_words_per_sec")),
            "analogy_vs_classic": {"diff_points": analogy, "tolerance_points": TARGET_BATCHED_ANALOGY_POINTS,
                                   "pass": None if analogy is None else analogy >= -TARGET_BATCHED_ANALOGY_POINTS},
            "ws353_vs_classic": {"diff": ws353, "tolerance": TARGET_BATCHED_WS353,
                                 "pass": None if ws353 is None else ws353 >= -TARGET_BATCHED_WS353},
        }
    return out


def targets(summary: dict) -> dict:
    """Per model: sparkw2v's analogy accuracy within 1.0 point of gensim's and its WordSim-353 within 0.02
    (both ways: |Δ| ≤ tolerance, Δ = median of per-repeat differences), its words per CPU-second at least
    gensim's (median of per-repeat ratios), and, with no target, its speed ratios to word2vec.c.
    A check whose numbers are missing has "pass": None."""
    out: dict = {}
    for model, peers in summary.items():
        vs_gensim = (peers.get("gensim") or {}).get("sparkw2v_vs", {})
        vs_c = (peers.get("word2vec.c") or {}).get("sparkw2v_vs", {})
        analogy, ws353, cpu = (vs_gensim.get(k) for k in ("analogy_diff", "ws353_diff", "cpu_speed_ratio"))
        out[model] = {
            "analogy_vs_gensim": {"diff_points": analogy, "tolerance_points": TARGET_ANALOGY_POINTS,
                                  "pass": None if analogy is None else abs(analogy) <= TARGET_ANALOGY_POINTS},
            "ws353_vs_gensim": {"diff": ws353, "tolerance": TARGET_WS353,
                                "pass": None if ws353 is None else abs(ws353) <= TARGET_WS353},
            "cpu_speed_vs_gensim": {"ratio": cpu, "at_least": TARGET_CPU_SPEED,
                                    "pass": None if cpu is None else cpu >= TARGET_CPU_SPEED},
            "vs_word2vec_c": {"cpu_speed_ratio": vs_c.get("cpu_speed_ratio"), "speed_ratio": vs_c.get("speed_ratio"),
                              "analogy_diff_points": vs_c.get("analogy_diff"), "ws353_diff": vs_c.get("ws353_diff")},
        }
    return out


def fmt(value, spec: str, missing: str = "—") -> str:
    return missing if value is None else format(value, spec)


def secs(value) -> str:
    return fmt(value, ".2f" if value is not None and value < 10 else ".1f")


def markdown(results: dict) -> str:
    s = results["settings"]
    c = results["corpus"]
    m = results["machine"]
    v = results["versions"]
    smoke = c["max_tokens"] is not None
    first = f" (first {c['max_tokens']:,} tokens)" if smoke else ""
    lines = [f"# Kernel benchmark: sparkw2v vs gensim vs word2vec.c, one thread{' (SMOKE TEST)' if smoke else ''}", ""]
    if smoke:
        lines += [f"**Smoke test on the first {c['max_tokens']:,} tokens: the timings are not representative and "
                  "the quality numbers mean nothing.**", ""]
    lines += [
        f"- Date: {results['date']}; command: `{results['command']}`",
        f"- Machine: {m.get('cpu_model')}, nproc {m['nproc']}, {m.get('mem_total', '?')}; load average at "
        f"start {', '.join(f'{x:.2f}' for x in m['loadavg_start'])}, at end "
        f"{', '.join(f'{x:.2f}' for x in m.get('loadavg_end', []))}",
        f"- Versions: Python {m['python']}, numpy {v['numpy']}, numba {v['numba']}, gensim {v.get('gensim')} "
        f"(FAST_VERSION {v.get('gensim_fast_version')}), sparkw2v {v['sparkw2v']} @ {v.get('sparkw2v_git', '?')[:10]}"
        f"{' (sparkw2v/ has uncommitted changes)' if v.get('sparkw2v_git_dirty') else ''}",
        f"- Corpus: `{c['source']}`{first}: {c['tokens']:,} tokens, {c['lines']:,} lines",
        f"- Settings (all peers): size {s['vector_size']}, window {s['window']}, sample {s['sample']}, min_count "
        f"{s['min_count']}, {s['epochs']} epoch{'s' if s['epochs'] != 1 else ''}, negative 5 (NS) / hs=1 negative 0 (HS), alpha 0.025 SG / 0.05 "
        f"CBOW, CBOW mean; one thread ({', '.join(f'{k}=1' for k in s['thread_env'])}); {results['repeats']} "
        f"repeat(s) per peer, every model and peer run in turn once per repeat, medians quoted",
        "- Peers: sparkw2v = single-process trainer (train_local's steps, compute_loss off); gensim = "
        "`corpus_file`, `workers=1`; word2vec.c = `-threads 1`",
        "- **words/s = corpus tokens × epochs / train s** (word2vec.c's convention: every token read, "
        "out-of-vocabulary and subsampled ones included; the same numerator for every peer); "
        "**words/CPU-s** = the same numerator / the training's CPU seconds (user + system)",
        f"- sparkw2v Numba compile time (excluded from every timing, cold cache): "
        f"{results['sparkw2v_compile']['compile_s']:.1f} s" if results.get("sparkw2v_compile") else
        "- sparkw2v not run",
        "",
        "| model | peer | words/s | words/CPU-s | train s | train CPU s | vocab s | job s | analogy % | WS353 | "
        "SimLex | sparkw2v speed × | sparkw2v CPU speed × | sparkw2v Δ analogy (pts) | sparkw2v Δ WS353 | "
        "sparkw2v Δ SimLex |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model, peers in results["summary"].items():
        for peer, row in peers.items():
            if row["runs"] == 0:
                lines.append(f"| {model} | {peer} | error | | | | | | | | | | | | | |")
                continue
            vocab = row["vocab_s"] + (row.get("encode_s") or 0.0)
            vs = row.get("sparkw2v_vs", {})
            lines.append(
                f"| {model} | {peer} | {fmt(row['words_per_sec'], ',.0f')} | "
                f"{fmt(row.get('cpu_words_per_sec'), ',.0f')} | {secs(row['train_s'])} | "
                f"{secs(row.get('train_cpu_s'))} | {secs(vocab)} | {secs(row['job_s'])} | "
                f"{fmt(None if row['analogy'] is None else 100 * row['analogy'], '.1f')} | "
                f"{fmt(row['ws353'], '.3f')} | {fmt(row['simlex'], '.3f')} | "
                f"{fmt(vs.get('speed_ratio'), '.2f')} | {fmt(vs.get('cpu_speed_ratio'), '.2f')} | "
                f"{fmt(vs.get('analogy_diff'), '+.1f')} | "
                f"{fmt(vs.get('ws353_diff'), '+.3f')} | {fmt(vs.get('simlex_diff'), '+.3f')} |")
    lines += [
        "",
        "Columns: *train s* is training alone; *vocab s* the vocabulary pass (sparkw2v: vocabulary + encoding to "
        "int32 ids; gensim: constructor + `build_vocab`; word2vec.c: a separate `-save-vocab` process); *job s* "
        "the whole job (for word2vec.c the sum of its two processes, each including process start; its training "
        "process also builds the 400 MB unigram table for NS and writes the vectors). The *sparkw2v* columns "
        "compare sparkw2v with the peer of that row: speed = sparkw2v words/s ÷ peer words/s, CPU speed = the same "
        "with words/CPU-s (both medians of per-repeat ratios), Δ = sparkw2v − peer (analogy in percentage points).",
        "",
        "CPU time against wall time: *train CPU s* is the training's CPU time (user + system; sparkw2v and gensim: "
        "the benchmark process's own, word2vec.c: its training process's, from `getrusage(RUSAGE_CHILDREN)`). "
        "Every peer runs on one thread, so its CPU seconds are close to the time it would take on an idle core, "
        "while its wall time also counts the time it waited for a CPU on a shared machine; words/CPU-s is therefore "
        "the fairer single-thread figure when *train CPU s* is well below *train s*. It still feels contention "
        "for caches and memory bandwidth, which CPU time does not remove. The wall-clock columns are kept as "
        "measured.",
        "",
        "Quality: gensim `evaluate_word_analogies(restrict_vocab=30000, case_insensitive=True)` on "
        "questions-words.txt (questions with all four words in the 30,000 most frequent words; word2vec.c's "
        "`</s>` row removed first), Spearman from `evaluate_word_pairs` on WordSim-353 and SimLex-999. One seed "
        "per repeat (sparkw2v and gensim use seed+repeat; word2vec.c has no seed option). A single run varies by a "
        "few tenths of a point from seed to seed.",
        "",
        "Known differences between the peers at these settings: word2vec.c cuts lines at 1,000 words "
        "(sparkw2v and gensim at 10,000) and counts each newline as a `</s>` token; its learning rate falls "
        "linearly towards 0 with a floor of alpha × 1e-4, where sparkw2v's and gensim's fall linearly to "
        "min_alpha = 1e-4.",
    ]
    lines += targets_markdown(results.get("targets") or targets(results["summary"]), smoke)
    lines += batched_markdown(batched_targets(results["summary"]))
    lines += loss_markdown(results["summary"])
    if results.get("rendered"):
        r = results["rendered"]
        lines += ["", f"*Tables re-rendered from the results JSON on {r['date']} (`{r['command']}`); "
                      f"nothing was re-measured.*"]
    return "\n".join(lines) + "\n"


def verdict(passed, value: str) -> str:
    return "not measured" if passed is None else f"{'**pass**' if passed else '**FAIL**'} ({value})"


def times(value) -> str:
    return fmt(value, ".2f") + ("×" if value is not None else "")


def targets_markdown(checks: dict, smoke: bool) -> list[str]:
    lines = ["", "## Targets: sparkw2v against gensim", "",
             f"Per model: analogy accuracy within {TARGET_ANALOGY_POINTS:.1f} point of gensim's and WordSim-353 within "
             f"{TARGET_WS353:.2f} (either way: |sparkw2v − gensim| ≤ tolerance), and words/CPU-s at least gensim's. "
             "The ratio to word2vec.c is shown without a target.", "",
             "| model | analogy Δ vs gensim (≤ 1.0 pt) | WS353 Δ vs gensim (≤ 0.02) | words/CPU-s vs gensim (≥ 1.00×) "
             "| vs word2vec.c: words/CPU-s × (wall ×) |",
             "|---|---|---|---|---|"]
    passed = failed = missing = 0
    for model, c in checks.items():
        a, w, s, x = (c["analogy_vs_gensim"], c["ws353_vs_gensim"], c["cpu_speed_vs_gensim"], c["vs_word2vec_c"])
        for check in (a, w, s):
            if check["pass"] is None:
                missing += 1
            elif check["pass"]:
                passed += 1
            else:
                failed += 1
        w2vc = ("not measured" if x["cpu_speed_ratio"] is None and x["speed_ratio"] is None else
                f"{times(x['cpu_speed_ratio'])} ({times(x['speed_ratio'])})")
        lines.append(f"| {model} | {verdict(a['pass'], fmt(a['diff_points'], '+.1f') + ' pts')} | "
                     f"{verdict(w['pass'], fmt(w['diff'], '+.3f'))} | "
                     f"{verdict(s['pass'], times(s['ratio']))} | {w2vc} |")
    total = passed + failed + missing
    summary = f"{passed} of {total} checks pass, {failed} fail"
    if missing:
        summary += f", {missing} not measured (a peer was not run or failed)"
    lines += ["", summary + ". The differences and ratios are medians over the repeats (one seed each); a single "
              "run's analogy accuracy varies by a few tenths of a point from seed to seed, so a result close to its "
              "tolerance is not a firm pass or fail."]
    if smoke:
        lines += ["", "**Smoke test: these pass/fail results mean nothing.**"]
    return lines


def loss_markdown(summary: dict) -> list[str]:
    """What the training loss costs: sparkw2v's words/CPU-s with the loss on against the same model without."""
    lines = []
    for model, peers in summary.items():
        plain = MODELS[model].get("loss_off", MODELS[model].get("peers_as"))
        if not MODELS[model].get("compute_loss") or plain not in summary:
            continue
        on, off = (peers.get("sparkw2v") or {}), (summary[plain].get("sparkw2v") or {})
        speed = ratio(on.get("cpu_words_per_sec"), off.get("cpu_words_per_sec"))
        cost = None if speed is None else 100.0 * (1.0 / speed - 1.0)
        lines += ["", "## What the training loss costs", "",
                  f"{model} against {plain}: {fmt(on.get('cpu_words_per_sec'), ',.0f')} against "
                  f"{fmt(off.get('cpu_words_per_sec'), ',.0f')} words/CPU-s (medians of {on.get('runs')} and "
                  f"{off.get('runs')} runs): the loss adds {fmt(cost, '.1f')}% to the training's CPU time "
                  "(target: at most 3%)."]
    return lines


def batched_markdown(checks: dict) -> list[str]:
    if not checks:
        return []
    lines = ["", "## Targets: the batched kernel", "",
             f"Words/CPU-s at least {TARGET_BATCHED_CPU_SPEED:.1f}× gensim's; analogy no more than "
             f"{TARGET_BATCHED_ANALOGY_POINTS:.1f} point and WordSim-353 no more than {TARGET_BATCHED_WS353:.2f} below "
             "sparkw2v's classic kernel (medians over the repeats, one seed each).", "",
             "| model | runs | words/CPU-s vs gensim | vs the classic kernel | analogy Δ vs classic | WS353 Δ vs classic |",
             "|---|---:|---|---|---|---|"]
    for model, c in checks.items():
        s, a, w = c["cpu_speed_vs_gensim"], c["analogy_vs_classic"], c["ws353_vs_classic"]
        lines.append(f"| {model} | {c['runs']} | {verdict(s['pass'], times(s['ratio']))} | "
                     f"{times(c['cpu_speed_vs_classic'])} | {verdict(a['pass'], fmt(a['diff_points'], '+.2f') + ' pts')} | "
                     f"{verdict(w['pass'], fmt(w['diff'], '+.4f'))} |")
    return lines


def plot(results: dict, path: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    summary = results["summary"]
    models = list(summary)
    peers = [p for p in results["settings"]["peers"]]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    width = 0.8 / max(len(peers), 1)
    for i, peer in enumerate(peers):
        xs = [k + (i - (len(peers) - 1) / 2) * width for k in range(len(models))]
        speed = [(summary[m][peer].get("words_per_sec") or 0) / 1e3 for m in models]
        cpu_speed = [(summary[m][peer].get("cpu_words_per_sec") or 0) / 1e3 for m in models]
        analogy = [100 * (summary[m][peer].get("analogy") or 0) for m in models]
        axes[0].bar(xs, speed, width, label=peer)
        axes[1].bar(xs, cpu_speed, width, label=peer)
        axes[2].bar(xs, analogy, width, label=peer)
    for ax, title in zip(axes, ("throughput, 1 thread, wall clock (k words/s)",
                                "throughput, 1 thread, CPU time (k words/CPU-s)", "analogy accuracy (%)")):
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    note = " (smoke test)" if results["corpus"]["max_tokens"] else ""
    fig.suptitle(f"sparkw2v vs gensim vs word2vec.c, {results['corpus']['tokens']:,} tokens, "
                 f"{results['settings']['epochs']} epoch(s){note}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def clean_json(value):
    """NaN/inf -> null so the file is strict JSON; numpy scalars -> Python."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ------------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="text file, plain, .gz or .bz2 (default: %(default)s)")
    parser.add_argument("--eval-dir", default=DEFAULT_EVAL,
                        help="folder with questions-words.txt, wordsim353.tsv, simlex999.txt (default: %(default)s)")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of %(default)s")
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of %(default)s")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=None,
                        help="train on the first N tokens only (a smoke test; results go to kernels-smoke.*)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per peer and model, alternated (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of repeat 1 (sparkw2v, gensim); repeat r uses seed+r-1")
    parser.add_argument("--out", default=os.path.join(HERE, "results"), help="results folder (default: %(default)s)")
    parser.add_argument("--name", default=None,
                        help="results file name without extension (default: kernels, or kernels-smoke)")
    parser.add_argument("--render-only", nargs="?", const="", default=None, metavar="JSON",
                        help="train nothing: load a results JSON (default: kernels.json in --out, kernels-smoke.json "
                             "with --max-tokens), recompute the derived numbers (words/CPU-s, summary, targets) "
                             "and rewrite it with the .md and .png next to it in --out")
    args = parser.parse_args(argv)
    if args.render_only is not None:
        name = "kernels-smoke" if args.max_tokens is not None else "kernels"
        args.render_only = args.render_only or os.path.join(args.out, f"{name}.json")
        if not os.path.isfile(args.render_only):
            parser.error(f"--render-only: {args.render_only} not found")
        return args
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    args.peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    for m in args.models:
        if m not in MODELS:
            parser.error(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    for p in args.peers:
        if p not in PEERS:
            parser.error(f"unknown peer {p!r}; choose from {', '.join(PEERS)}")
    if args.epochs < 1 or args.repeats < 1 or (args.max_tokens is not None and args.max_tokens < 1000):
        parser.error("--epochs and --repeats must be >= 1, --max-tokens >= 1000")
    for name in ("questions-words.txt", "wordsim353.tsv", "simlex999.txt"):
        if not os.path.exists(os.path.join(args.eval_dir, name)):
            parser.error(f"{name} not found in --eval-dir {args.eval_dir}")
    if not os.path.exists(args.corpus):
        parser.error(f"corpus {args.corpus} not found")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.render_only is not None:
        return render_only(args.render_only, args.out)
    os.makedirs(WORK, exist_ok=True)
    # A fresh Numba cache, so the warm-up measures a cold compile; set before numba is imported.
    numba_cache = tempfile.mkdtemp(prefix="numba-cache-", dir=WORK)
    os.environ["NUMBA_CACHE_DIR"] = numba_cache
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("gensim").setLevel(logging.WARNING)
    try:
        return bench(args)
    finally:
        shutil.rmtree(numba_cache, ignore_errors=True)


def bench(args) -> int:
    started = time.perf_counter()
    corpus = prepare_corpus(args.corpus, args.max_tokens)
    path = corpus["path"]
    results: dict = {
        "benchmark": "bench_kernels", "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO)
                             else sys.executable, os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *sys.argv[1:]]),
        "machine": machine(), "versions": versions(),
        "settings": {**COMMON, "epochs": args.epochs, "models": {m: MODELS[m] for m in args.models},
                     "peers": args.peers, "seed": args.seed,
                     "thread_env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                               "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")},
                     "throughput": "corpus_tokens * epochs / train_s: every whitespace token of the file "
                                   "(word2vec.c's convention: out-of-vocabulary and subsampled tokens count)",
                     "sparkw2v": "single-process trainer, train_local's steps timed one by one, compute_loss=False",
                     "gensim": "Word2Vec(corpus_file=..., workers=1), compute_loss=False",
                     "word2vec.c": "-threads 1 -binary 1; separate -save-vocab and -read-vocab processes"},
        "corpus": {"source": args.corpus, "path": os.path.relpath(path, REPO), "max_tokens": args.max_tokens,
                   "tokens": corpus["tokens"], "lines": corpus["lines"], "bytes": corpus["bytes"],
                   "source_sha256": corpus["source_sha256"]},
        "repeats": args.repeats, "runs": [],
    }
    log(f"machine: {results['machine'].get('cpu_model')}, nproc {results['machine']['nproc']}, "
        f"load {results['machine']['loadavg_start'][0]:.2f}; models {','.join(args.models)}; peers "
        f"{','.join(args.peers)}; {args.epochs} epoch(s); {args.repeats} repeat(s)")

    if "sparkw2v" in args.peers:
        warmup = write_warmup_corpus(path, WARMUP_TOKENS)
        results["sparkw2v_compile"] = warm_up_sparkw2v(warmup, args.models, args.seed)
        log(f"sparkw2v compile total {results['sparkw2v_compile']['compile_s']:.1f} s (excluded from timings); "
            f"timed steps match train_local: {results['sparkw2v_compile']['steps_match_train_local']}")

    tokens = corpus["tokens"]
    for repeat in range(1, args.repeats + 1):  # models alternate as peers do, so drift biases no ratio
        for model in args.models:
            for peer in args.peers:
                if peer_model(model, peer) != model and peer_model(model, peer) in args.models:
                    continue  # the same training as the plain model's run, which stands for it
                seed = args.seed + repeat - 1
                label = f"{model:6s} {peer:10s} rep {repeat}/{args.repeats}"
                log(f"{label}: training ...")
                record = {"model": model, "peer": peer, "repeat": repeat, "seed": seed,
                          "loadavg_before": os.getloadavg()}
                try:
                    out = RUNNERS[peer](path, model, args.epochs, seed)
                    kv = out.pop("kv")
                    record.update(out)
                    record["words_per_sec"] = tokens * args.epochs / out["train_s"]
                    record["cpu_words_per_sec"] = cpu_words_per_sec(record, tokens, args.epochs)
                    vocab_total = out["vocab_s"] + out.get("encode_s", 0.0)
                    log(f"{label}: vocab {vocab_total:.1f} s, train {out['train_s']:.1f} s "
                        f"({record['words_per_sec']:,.0f} words/s, cpu {out['train_cpu_s']:.1f} s = "
                        f"{fmt(record['cpu_words_per_sec'], ',.0f')} words/CPU-s), "
                        f"job {out['job_s']:.1f} s; {out['vocab_words']:,} words; evaluating ...")
                    record["quality"] = evaluate(kv, args.eval_dir)
                    q = record["quality"]
                    log(f"{label}: analogy {fmt(None if q['analogy'] is None else 100 * q['analogy'], '.1f')}% "
                        f"({q.get('analogy_questions', 0)} questions), WS353 {fmt(q['ws353'], '.3f')}, "
                        f"SimLex {fmt(q['simlex'], '.3f')} ({q['eval_seconds']:.1f} s)")
                    del kv
                except Exception as exc:
                    record["error"] = repr(exc)
                    record["traceback"] = traceback.format_exc()
                    log(f"{label}: FAILED {exc!r}")
                results["runs"].append(record)

    results["summary"] = summarise(results["runs"], args.models, args.peers)
    results["targets"] = targets(results["summary"])
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["total_seconds"] = time.perf_counter() - started

    name = args.name or ("kernels-smoke" if args.max_tokens is not None else "kernels")
    wrote = write_results(results, args.out, name)
    log(f"wrote {', '.join(os.path.relpath(p, REPO) for p in wrote)} ({results['total_seconds']:.0f} s in all)")
    return 1 if any("error" in r for r in results["runs"]) else 0


def write_results(results: dict, out: str, name: str) -> list[str]:
    """{name}.json (written to a temporary file first, then renamed), {name}.md and {name}.png in `out`."""
    os.makedirs(out, exist_ok=True)
    json_path, md_path, png_path = (os.path.join(out, f"{name}.{ext}") for ext in ("json", "md", "png"))
    table = markdown(results)
    with open(json_path + ".tmp", "w") as handle:
        json.dump(clean_json(results), handle, indent=2, allow_nan=False)
        handle.write("\n")
    os.replace(json_path + ".tmp", json_path)
    with open(md_path, "w") as handle:
        handle.write(table)
    wrote = [json_path, md_path]
    if plot(results, png_path):
        wrote.append(png_path)
    print()
    print(table)
    return wrote


def render_only(json_path: str, out: str) -> int:
    """Re-derive everything that is not a measurement from a results JSON and redraw its tables and plot.

    Works on files written before words/CPU-s existed: each run's cpu_words_per_sec is computed from its
    train_cpu_s, and the summary and targets are recomputed from the runs. The measurements themselves
    (runs, machine, versions, settings, corpus) are kept as they are."""
    with open(json_path) as handle:
        results = json.load(handle)
    tokens, epochs = results["corpus"]["tokens"], results["settings"]["epochs"]
    for record in results["runs"]:
        if "error" not in record:
            record["cpu_words_per_sec"] = cpu_words_per_sec(record, tokens, epochs)
    models = list(results["settings"]["models"])
    peers = list(results["settings"]["peers"])
    results["summary"] = summarise(results["runs"], models, peers)
    results["targets"] = targets(results["summary"])
    results["rendered"] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *sys.argv[1:]]),
        "from": os.path.abspath(json_path)}
    name = os.path.splitext(os.path.basename(json_path))[0]
    wrote = write_results(results, out, name)
    log(f"re-rendered {json_path}: wrote {', '.join(wrote)}")
    return 1 if any("error" in r for r in results["runs"]) else 0


if __name__ == "__main__":
    sys.exit(main())
