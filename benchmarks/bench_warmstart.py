#!/usr/bin/env python
"""Warm start across two "days": does `--init-from` keep the vector space, and at what quality and cost?

The corpus is split into two halves by lines, at half its tokens: day 1 and day 2. Every run is the
training job itself (`sparkw2v.job.main`, in this process, on one SparkSession), as a scheduler runs it:

    {model}-day1                      day 1, fresh, --epochs 3, --save-training-state
    {model}-day2-fresh                day 2, fresh, --epochs 3
    {model}-day2-warm-e{1,3}          day 2, --init-from the day-1 output, --epochs 1 and 3
    sghs-day2-warm-e{1,3}-matched     the same with --init-syn1 matched (HS inner nodes reused where the
                                      earlier tree makes the same decision; default: zero)

    model: sgns (skip-gram NS, negative 5, sample 1e-4) or sghs (skip-gram HS, sample 0), with the
    settings of bench_spark.py (vector size 100, window 5, min_count 5, alpha 0.025)

Per run: analogy (questions-words, 30,000 most frequent words), WordSim-353 and SimLex-999 Spearman, the
alignment against day 1 (mean cosine of the day-1 and day-2 vectors of the 10,000 most frequent common
words, no rotation; the number metrics.json reports), the warm start's shared/new/dropped words and, for
HS, the inner nodes reused, and the wall time of the job (vocabulary, encoding, training, writing).
Targets (the issue's): warm-started day 2 after 1 epoch within 0.5 points of fresh day 2 after 3 epochs
in analogy, or better; warm-started alignment >= 0.7, where fresh day 2 gives about 0.

    python benchmarks/bench_warmstart.py                # both models, 10 runs (estimated 12-20 min on 2 cores)
    python benchmarks/bench_warmstart.py --models sgns
    python benchmarks/bench_warmstart.py --max-tokens 200000 --epochs 1 --warm-epochs 1   # a smoke test

Writes benchmarks/results/warmstart.{json,md} (warmstart-smoke.* with --max-tokens). Outputs of the
runs go to benchmarks/work/warmstart/ (gitignored). A later invocation adds to the same results file and
skips the runs already in it (failed ones are rerun); --fresh starts over.
"""
import argparse
import datetime
import fnmatch
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import bench_spark as bs  # noqa: E402  (first: it pins the BLAS and Numba threads to 1 before numpy loads)
import bench_kernels as bk  # noqa: E402
from bench_kernels import fmt, log  # noqa: E402

MODELS = {"sgns": "skip-gram NS, negative 5, sample 1e-4", "sghs": "skip-gram HS, sample 0"}
TARGET_ANALOGY_POINTS = 0.5  # warm 1 epoch no more than this below fresh 3 epochs
TARGET_ALIGNMENT = 0.7       # warm alignment at least this


def plan(args) -> list[dict]:
    items = []
    for model in args.models:
        items.append({"key": f"{model}-day1", "model": model, "day": 1, "epochs": args.epochs, "init": None})
        items.append({"key": f"{model}-day2-fresh", "model": model, "day": 2, "epochs": args.epochs, "init": None})
        for e in args.warm_epochs:
            items.append({"key": f"{model}-day2-warm-e{e}", "model": model, "day": 2, "epochs": e, "init": "zero"})
        if model == "sghs":
            for e in args.warm_epochs:
                items.append({"key": f"{model}-day2-warm-e{e}-matched", "model": model, "day": 2, "epochs": e,
                              "init": "matched"})
    return [i for i in items if any(fnmatch.fnmatchcase(i["key"], p) for p in args.configs)]


def split_days(corpus: dict) -> tuple[str, str, dict]:
    """Day 1: the lines up to half the tokens; day 2: the rest. Cached next to the corpus copy."""
    stem = os.path.join(bk.WORK, "warmstart", os.path.basename(corpus["path"]).rsplit(".", 1)[0])
    meta_path = stem + ".days.json"
    key = {"path": corpus["path"], "bytes": os.path.getsize(corpus["path"]), "tokens": corpus["tokens"]}
    if os.path.exists(meta_path):
        with open(meta_path) as handle:
            meta = json.load(handle)
        if meta["key"] == key and all(os.path.exists(p) for p in (meta["day1"], meta["day2"])):
            return meta["day1"], meta["day2"], meta
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    half = corpus["tokens"] / 2
    seen, counts = 0, [0, 0]
    lines = [0, 0]
    with open(corpus["path"], "rb") as src, open(stem + ".day1.txt", "wb") as one, \
            open(stem + ".day2.txt", "wb") as two:
        for line in src:
            day = 0 if seen < half else 1
            n = len(line.split())
            seen += n
            counts[day] += n
            lines[day] += 1
            (one if day == 0 else two).write(line)
    meta = {"key": key, "day1": stem + ".day1.txt", "day2": stem + ".day2.txt", "day1_tokens": counts[0],
            "day2_tokens": counts[1], "day1_lines": lines[0], "day2_lines": lines[1]}
    with open(meta_path, "w") as handle:
        json.dump(meta, handle, indent=2)
    log(f"days: {counts[0]:,} tokens ({lines[0]:,} lines) and {counts[1]:,} tokens ({lines[1]:,} lines)")
    return meta["day1"], meta["day2"], meta


def job_args(args, item: dict, source: str, output: str, init_from: str | None) -> list[str]:
    spec = bs.MODELS[item["model"]]
    common = bs.COMMON
    out = ["--input", source, "--output", output, "--overwrite", "--architecture", "skipgram",
           "--loss", spec["loss"], "--negative", str(spec["negative"]), "--sample", str(spec["sample"]),
           "--vector-size", str(common["vector_size"]), "--window", str(common["window"]),
           "--min-count", str(common["min_count"]), "--alpha", str(common["alpha"]),
           "--min-alpha", str(common["min_alpha"]), "--max-sentence-length", str(common["max_sentence_length"]),
           "--epochs", str(item["epochs"]), "--num-partitions", str(args.partitions),
           "--local-copy", args.local_copy, "--seed", str(args.seed), "--log-level", "WARNING"]
    if item["day"] == 1:
        out.append("--save-training-state")
    if init_from is not None:
        out += ["--init-from", init_from, "--init-syn1", item["init"]]
    return out


class WarmStartBench:
    def __init__(self, args, corpus: dict, day1: str, day2: str):
        self.args, self.corpus, self.days = args, corpus, {1: day1, 2: day2}
        self.spark = None
        self.warm_models: set[str] = set()
        self.warmup_path = bk.write_warmup_corpus(corpus["path"], bs.WARMUP_TOKENS)

    def get_spark(self):
        if self.spark is None:
            self.spark, _ = bs.make_spark(self.args)
        return self.spark

    def stop(self):
        if self.spark is not None:
            self.spark.stop()

    def output(self, key: str) -> str:
        return os.path.join(bk.WORK, "warmstart", self.args.name, key)

    def run(self, item: dict) -> tuple[dict, object]:
        from sparkw2v.job import main
        from sparkw2v.vectors import WordVectors
        self.get_spark()
        if item["model"] not in self.warm_models:  # untimed: the workers load (or compile) this loss's kernels
            warm_item = {**item, "epochs": 1, "day": 2, "init": None}
            t0 = time.perf_counter()
            rc = main(job_args(self.args, warm_item, self.warmup_path, self.output("warmup"), None))
            log(f"{item['key']}: warm-up job on {bs.WARMUP_TOKENS:,} tokens: rc {rc}, {time.perf_counter() - t0:.1f} s "
                "(untimed)")
            self.warm_models.add(item["model"])
        init_from = None
        if item["init"] is not None:
            init_from = self.output(f"{item['model']}-day1")
            if not os.path.exists(os.path.join(init_from, "_SUCCESS")):
                raise RuntimeError(f"{init_from} is missing: rerun {item['model']}-day1 (--configs, or --fresh)")
        output = self.output(item["key"])
        argv = job_args(self.args, item, self.days[item["day"]], output, init_from)
        t0 = time.perf_counter()
        rc = main(argv)
        wall = time.perf_counter() - t0
        if rc != 0:
            raise RuntimeError(f"the job exited {rc}: sparkw2v train {' '.join(argv)}")
        with open(os.path.join(output, "metrics.json")) as handle:
            metrics = json.load(handle)
        record = {"wall_s": wall, "job_total_s": metrics["total_seconds"], "train_s": metrics["train_seconds"],
                  "vocab_s": metrics["vocabulary_seconds"], "encode_s": metrics["encode_seconds"],
                  "vocab_words": metrics["vocab_size"], "train_words": metrics["train_words"],
                  "final_loss": metrics["rounds"][-1]["loss"], "argv": argv,
                  "warm_start": metrics.get("warm_start"),
                  "output_bytes": sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(output)
                                      for f in files)}
        wv = WordVectors.load_word2vec(os.path.join(output, "vectors.bin"), binary=True)
        if item["day"] == 2:
            from sparkw2v.warmstart import alignment
            day1 = WordVectors.load_word2vec(os.path.join(self.output(f"{item['model']}-day1"), "vectors.bin"),
                                             binary=True)
            record["alignment"] = alignment(day1.words, day1.vectors, wv.words, wv.vectors)
        log(f"{item['key']}: wall {wall:.1f} s (train {record['train_s']:.1f} s), {record['vocab_words']:,} words"
            + (f", alignment vs day 1 {record['alignment']['mean_cosine']:.4f}" if "alignment" in record else ""))
        return record, wv


def ok(runs: dict, key: str) -> dict | None:
    record = runs.get(key)
    return record if record and "error" not in record else None


def analogy(record: dict | None):
    if not record or record.get("quality", {}).get("analogy") is None:
        return None
    return 100.0 * record["quality"]["analogy"]


def cosine(record: dict | None):
    return None if not record or "alignment" not in record else record["alignment"]["mean_cosine"]


def targets(results: dict) -> list[str]:
    runs, lines = results["runs"], []
    epochs = results["epochs"]
    for model in MODELS:
        fresh = ok(runs, f"{model}-day2-fresh")
        warm1 = ok(runs, f"{model}-day2-warm-e1")
        if fresh and warm1 and analogy(fresh) is not None and analogy(warm1) is not None:
            gap = analogy(warm1) - analogy(fresh)
            verdict = "PASS" if gap >= -TARGET_ANALOGY_POINTS else "FAIL"
            lines.append(f"{model}: warm 1 epoch {analogy(warm1):.2f}% vs fresh {epochs} epochs "
                         f"{analogy(fresh):.2f}% ({gap:+.2f} pts, bound -{TARGET_ANALOGY_POINTS}) **{verdict}**")
        for key in (f"{model}-day2-warm-e1", f"{model}-day2-warm-e{epochs}"):
            if ok(runs, key) and cosine(runs[key]) is not None:
                verdict = "PASS" if cosine(runs[key]) >= TARGET_ALIGNMENT else "FAIL"
                lines.append(f"{key}: alignment vs day 1 {cosine(runs[key]):.3f} (bound {TARGET_ALIGNMENT}; fresh "
                             f"{fmt(cosine(fresh), '.3f')}) **{verdict}**")
    return list(dict.fromkeys(lines))


def markdown(results: dict) -> str:
    runs = results["runs"]
    days = results["days"]
    out = ["# Warm start across two days", "",
           f"- Corpus: `{results['corpus']['source']}`, {results['corpus']['tokens']:,} tokens, split by lines: day 1 "
           f"{days['day1_tokens']:,} tokens, day 2 {days['day2_tokens']:,}",
           f"- The training job (`sparkw2v.job.main`), master `{results['master']}`, {results['partitions']} "
           f"partitions, `--local-copy {results['local_copy']}`, seed {results['seed']}; vector size 100, window 5, "
           "min_count 5, alpha 0.025",
           "- Alignment: mean cosine between the day-1 and the day-2 vector of the 10,000 most frequent common words "
           "(day-2 order), no rotation",
           "- Wall: the whole job (vocabulary, encoding, training, writing the output folder)",
           "- Invocations: " + "; ".join(f"{i['date']} `{i['command']}`" for i in results["invocations"]), ""]
    for model, label in MODELS.items():
        keys = [k for k in runs if k.startswith(f"{model}-")]
        if not keys:
            continue
        out += [f"## {label}", "",
                "| run | epochs | start | analogy % | WS353 | SimLex | alignment vs day 1 "
                "| shared / new / dropped words | HS nodes reused (path share) | wall s | train s |",
                "|---|---:|---|---:|---:|---:|---:|---|---|---:|---:|"]
        for key in sorted(keys, key=lambda k: (runs[k].get("day", 0), runs[k].get("init") is not None, k)):
            r = runs[key]
            if "error" in r:
                out.append(f"| {key} | failed: {r['error'][:80]} |||||||||")
                continue
            q, warm = r.get("quality", {}), r.get("warm_start") or {}
            start = "fresh" if r["init"] is None else f"day 1 (syn1 {r['init']})" if model == "sghs" else "day 1"
            words = (f"{warm['shared_words']:,} / {warm['new_words']:,} / {warm['dropped_words']:,}"
                     if "shared_words" in warm else "—")
            nodes = (f"{warm['syn1_reused']:,} of {warm['syn1_inner_nodes']:,} "
                     f"({100 * warm['syn1_reused_path_share']:.1f}%)" if "syn1_reused" in warm else "—")
            out.append(f"| {key} | {r['epochs']} | {start} | {fmt(analogy(r), '.2f')} | {fmt(q.get('ws353'), '.3f')} | "
                       f"{fmt(q.get('simlex'), '.3f')} | {fmt(cosine(r), '.3f')} | {words} | {nodes} | "
                       f"{r['wall_s']:.0f} | {r['train_s']:.0f} |")
        out.append("")
    out += ["## Targets", ""] + [f"- {line}" for line in targets(results)] + [""]
    return "\n".join(out)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=bs.DEFAULT_CORPUS)
    p.add_argument("--eval-dir", default=bs.DEFAULT_EVAL)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default="6g")
    p.add_argument("--partitions", type=int, default=2)
    p.add_argument("--local-copy", choices=("partition", "executor"), default="executor")
    p.add_argument("--models", type=lambda t: t.split(","), default=list(MODELS))
    p.add_argument("--epochs", type=int, default=3, help="day 1 and fresh day 2")
    p.add_argument("--warm-epochs", type=bs.int_list, default=[1, 3])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-tokens", type=int, default=None, help="a prefix of the corpus (a smoke test)")
    p.add_argument("--configs", type=lambda t: t.split(","), default=["*"])
    p.add_argument("--fresh", action="store_true", help="start a new results file")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--name", default=None)
    args = p.parse_args(argv)
    args.name = args.name or ("warmstart-smoke" if args.max_tokens else "warmstart")
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        p.error(f"--models: unknown {unknown}; choose from {sorted(MODELS)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    corpus = bk.prepare_corpus(args.corpus, args.max_tokens)
    day1, day2, days = split_days(corpus)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, args.name)
    key = {"corpus_sha256": corpus["source_sha256"], "max_tokens": args.max_tokens, "epochs": args.epochs,
           "seed": args.seed, "master": args.master, "partitions": args.partitions, "local_copy": args.local_copy,
           **bs.COMMON, "models": bs.MODELS}
    results = bs.load_results(stem + ".json", key, args.fresh) or {
        "benchmark": "bench_warmstart", "compatibility": key,
        "corpus": {"source": args.corpus, "tokens": corpus["tokens"]}, "days": days, "epochs": args.epochs,
        "seed": args.seed, "master": args.master, "partitions": args.partitions, "local_copy": args.local_copy,
        "invocations": [], "runs": {}}
    if args.fresh:
        shutil.rmtree(os.path.join(bk.WORK, "warmstart", args.name), ignore_errors=True)
    results["invocations"].append({
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *sys.argv[1:]]),
        "machine": bk.machine(), "versions": {**bk.versions(), **bs.spark_versions()}})
    bench = WarmStartBench(args, corpus, day1, day2)
    todo = [i for i in plan(args) if "error" in results["runs"].get(i["key"], {"error": 1})]
    try:
        failures = bs.run_plan(bench, todo, results, stem, markdown, args.eval_dir)
    finally:
        bench.stop()
    print(markdown(results))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
