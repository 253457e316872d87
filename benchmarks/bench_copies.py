#!/usr/bin/env python
"""Scale-out benchmark: model quality against the number of parameter copies E that are combined.

Every sparkw2v run is the job's defaults except the model and `num_partitions = E`: E partition copies
on `local[2]` train and are combined exactly as E one-core executors would be (only the wall time
differs). Beside them, in the same invocation: gensim `workers=1` (one machine, one copy) and Spark
MLlib's Word2Vec at the same E (skip-gram + HS without subsampling, so it is compared with SG-HS).

Configurations (keys, for --configs):

    gensim-{model}-w1          gensim Word2Vec, workers=1
    sparkw2v-{model}-E{e}      sparkw2v on Spark with its defaults, num_partitions e
    mllib-sghs-E{e}            pyspark.ml.feature.Word2Vec, numPartitions e, maxIter = epochs

    model: sgns (negative 5, sample 1e-4) or sghs (hierarchical softmax, sample 0)

Per run: analogy, WordSim-353, wall time, syncs, and the bytes moved per sync: what the copies send to
the combine on the executors (`executor_bytes_out`) and what the driver collects (`driver_bytes_in`).
The harness (corpus, Spark session, warm-ups, MLlib, evaluation, results file) is bench_spark.py's.

    python benchmarks/bench_copies.py                          # the curve, 1..64 copies (several hours)
    python benchmarks/bench_copies.py --copies 1,8 --skip-mllib --configs 'sparkw2v-sgns-*'
    python benchmarks/bench_copies.py --max-tokens 200000 --epochs 1 --copies 1,4   # a smoke test
    python benchmarks/bench_copies.py --compose copies,copies-nesterov --name curve  # trains nothing

Writes benchmarks/results/copies.{json,md,png} (copies-smoke.* with --max-tokens). `--compose` builds one
curve from earlier results files (a run in a later file replaces the same run in an earlier one) and keeps
only the sparkw2v runs whose settings, copy rate and momentum are what today's defaults give for their
model and copies, so that rows measured under an older rule cannot slip into the curve.
"""
import argparse
import datetime
import fnmatch
import gc
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import bench_spark as bs  # noqa: E402  (first: it pins the BLAS and Numba threads to 1 before numpy loads)
import bench_kernels as bk  # noqa: E402
from bench_kernels import fmt, log  # noqa: E402

MODELS = {"sgns": "skip-gram NS, sample 1e-4", "sghs": "skip-gram HS, sample 0"}  # bench_spark.MODELS' settings
TARGET_NEAR = (8, 1.0)   # up to this many copies, within this many points of one copy
TARGET_FAR = (64, 2.0)   # beyond, up to this many, within this many


def plan(args) -> list[dict]:
    items = [{"key": f"gensim-{m}-w1", "kind": "gensim", "model": m, "workers": 1} for m in args.models]
    for e in args.copies:
        items += [{"key": f"sparkw2v-{m}-E{e}", "kind": "sparkw2v", "model": m, "copies": e} for m in args.models]
        if "sghs" in args.models and e in args.mllib_copies:
            items.append({"key": f"mllib-sghs-E{e}", "kind": "mllib", "model": "sghs", "partitions": e})
    return [i for i in items if any(fnmatch.fnmatchcase(i["key"], p) for p in args.configs)
            and not (args.skip_mllib and i["kind"] == "mllib")]


def library_config(model: str, copies: int, epochs: int, seed: int, syncs_per_epoch: int | None = None):
    """The job's defaults, but for the model, the copies and the run length (and the syncs, where given);
    partition copies, so that E partitions on one machine are E copies combined (the default executor copy
    would make them one)."""
    from sparkw2v.config import TrainConfig
    spec = bs.MODELS[model]
    return TrainConfig(architecture="skipgram", loss=spec["loss"], sample=spec["sample"], epochs=epochs,
                       num_partitions=copies, seed=seed, local_copy="partition",
                       syncs_per_epoch=syncs_per_epoch if copies > 1 else None).validate()


class CopiesBench(bs.Bench):
    def run_sparkw2v(self, item: dict):
        from sparkw2v.trainer import InputSpec, train
        from sparkw2v.vectors import WordVectors
        spark = self.get_spark()
        config = library_config(item["model"], item["copies"], self.args.epochs, self.args.seed,
                                self.args.syncs_per_epoch)
        warm = spark.sparkContext.defaultParallelism
        t0 = time.perf_counter()
        train(spark, InputSpec([self.warmup_path]), config.replace(epochs=1, num_partitions=warm))
        log(f"{item['key']}: warm-up fit {time.perf_counter() - t0:.1f} s (untimed)")

        def on_round(rec: dict) -> None:
            log(f"{item['key']}: epoch {rec['epoch']} round {rec['round']}: {rec['seconds']:.1f} s, loss "
                f"{fmt(rec['loss'], '.4f')}, {rec['copies']} copies, rate x{rec['alpha_factor']:g}, "
                f"momentum {rec['block_momentum']:.3g}{' (Nesterov)' if rec['nesterov'] else ''}")

        t0 = time.perf_counter()
        with bs.Heartbeat(item["key"]):
            result = train(spark, InputSpec([self.path]), config, on_round=on_round)
        wall = time.perf_counter() - t0
        rounds = result.metrics
        record = {"wall_s": wall, "train_s": result.timings["train_seconds"], "syncs_total": len(rounds),
                  "syncs_per_epoch": len(rounds) // self.args.epochs,
                  "copies_combined": max(r["copies"] for r in rounds),
                  "executors": max(r["executors"] for r in rounds),
                  "alpha_factor": rounds[-1]["alpha_factor"], "block_momentum": rounds[-1]["block_momentum"],
                  "executor_bytes_per_sync": statistics.mean(r["executor_bytes_out"] for r in rounds),
                  "driver_bytes_per_sync": statistics.mean(r["driver_bytes_in"] for r in rounds),
                  "final_loss": rounds[-1]["loss"], "timings": dict(result.timings), "config": config.to_dict(),
                  "vocab_words": len(result.vocab), "finite": bool(result.params.all_finite()),
                  "measured": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
        log(f"{item['key']}: wall {wall:.1f} s, {record['syncs_total']} syncs, "
            f"{record['executor_bytes_per_sync'] / 2**20:.1f} MiB from the copies and "
            f"{record['driver_bytes_per_sync'] / 2**20:.1f} MiB to the driver per sync")
        return record, WordVectors(list(result.vocab.words), result.params.syn0, result.vocab.counts)


# Code changes that moved results without a change to the settings a run records: (when, what, whether it
# applies to a config and copies). A run measured before one that applies is not at today's defaults.
RESULT_CHANGES = [
    ("2026-12-03T14:17:05+00:00", "before the window shuffle for negative sampling (641cba5)",
     lambda config, copies: config.shuffle_block > 0),
    ("2026-12-03T18:31:52+00:00", "before shuffled windows moved in runs of 4 (56bf22b)",
     lambda config, copies: config.shuffle_block > 0),
    ("2026-12-04T23:40:00+00:00", "before full pace sped up the output rows alone, bounded at 1.25x with "
     "negative sampling", lambda config, copies: config.most_divisor(copies) < copies),
]


def stale_reason(key: str, run: dict, measured: str) -> str | None:
    """Why a sparkw2v run (measured at ISO time `measured`) differs from today's defaults for its model and
    copies: settings, effective kernel, window shuffle, copy rate, momentum, look-ahead and combine. None where
    it does not. A setting the run's version lacked counts at the value that trained like that version."""
    from sparkw2v.checkpoint import ADDED_PARAMETERS
    from sparkw2v.config import TrainConfig
    _, model, copies = key.split("-")
    copies = int(copies[1:])
    today = library_config(model, copies, run["config"]["epochs"], run["config"]["seed"])
    then = TrainConfig.from_dict({**ADDED_PARAMETERS, **run["config"]})
    effective = {"kernel": lambda c: c.kernel_for(copies), "shuffle_words": lambda c: c.shuffle_block,
                 "rate": lambda c: round(c.alpha_factor(copies), 9), "momentum": lambda c: c.block_momentum_for(copies),
                 "most divisor": lambda c: c.most_divisor(copies),
                 "nesterov": lambda c: c.nesterov and c.block_momentum_for(copies) > 0}
    settled = {"kernel", "shuffle_words", "nesterov", "max_copy_alpha", "block_momentum", "full_pace"}
    differ = [k for k, v in today.to_dict().items() if k not in settled and then.to_dict()[k] != v]
    differ += [f"{name} {value(then):.3g} (today {value(today):.3g})" if isinstance(value(today), float) else name
               for name, value in effective.items() if value(then) != value(today)]
    differ += [what for when, what, applies in RESULT_CHANGES
               if applies(today, copies) and datetime.datetime.fromisoformat(measured)
               < datetime.datetime.fromisoformat(when)]
    return ", ".join(differ) or None


def compose(args) -> int:
    """One curve from earlier results files, today's defaults only (see the module docstring)."""
    results, sources, rejected = None, {}, []
    for name in args.compose:
        with open(os.path.join(args.out, name + ".json")) as handle:
            part = json.load(handle)
        if results is None:
            results = {**part, "invocations": [], "runs": {}, "copies": []}
        elif part["compatibility"] != results["compatibility"]:
            raise SystemExit(f"{name}.json holds results of other settings than {args.compose[0]}.json")
        results["invocations"] += part["invocations"]
        results["copies"] = sorted(set(results["copies"]) | set(part["copies"]))
        for key, run in part["runs"].items():
            if "error" in run:
                continue
            measured = run.get("measured", part["invocations"][0]["date"])  # older runs: the file's first date
            reason = stale_reason(key, run, measured) if run["kind"] == "sparkw2v" else None
            if reason:
                rejected.append(f"`{key}` from `{name}`: {reason}")
                continue
            results["runs"][key], sources[key] = run, name
    results["composed"] = {"from": args.compose, "sources": sources, "rejected": rejected}
    stem = os.path.join(args.out, args.name)
    bs.write_json(stem + ".json", results)
    with open(stem + ".md", "w") as handle:
        handle.write(markdown(results))
    plot(results, stem + ".png")
    print(markdown(results))
    return 0


def momentum_text(run: dict) -> str:
    """The block momentum, marked where the copies started from Nesterov's look-ahead (runs before it lack the key)."""
    nesterov = run["config"].get("nesterov") and run["block_momentum"] > 0
    return f"{run['block_momentum']:.3g}{' N' if nesterov else ''}"


def analogy(runs: dict, key: str):
    record = runs.get(key)
    if not record or "error" in record or record.get("quality", {}).get("analogy") is None:
        return None
    return 100.0 * record["quality"]["analogy"]


def targets(results: dict) -> list[str]:
    runs, lines = results["runs"], []
    for model in MODELS:
        one = analogy(runs, f"sparkw2v-{model}-E1")
        for e in results["copies"]:
            mine = analogy(runs, f"sparkw2v-{model}-E{e}")
            if e == 1 or one is None or mine is None:
                continue
            bound = TARGET_NEAR[1] if e <= TARGET_NEAR[0] else TARGET_FAR[1]
            verdict = "PASS" if mine >= one - bound else "FAIL"
            lines.append(f"{model} E={e}: {mine:.2f}% vs {one:.2f}% at E=1 ({mine - one:+.2f} pts, bound "
                         f"-{bound}) **{verdict}**")
        for e in results["copies"]:
            mine, theirs = analogy(runs, f"sparkw2v-sghs-E{e}"), analogy(runs, f"mllib-sghs-E{e}")
            if model == "sghs" and mine is not None and theirs is not None:
                lines.append(f"sghs E={e} vs MLlib: {mine:.2f}% vs {theirs:.2f}% "
                             f"**{'PASS' if mine > theirs else 'FAIL'}**")
    return lines


def markdown(results: dict) -> str:
    runs = results["runs"]
    out = ["# Scale-out: quality against the number of combined copies", "",
           f"- Corpus: `{results['corpus']['source']}`, {results['corpus']['tokens']:,} tokens; "
           f"{results['epochs']} epochs, seed {results['seed']}, master `{results['master']}`",
           "- sparkw2v: the job's defaults except the model and `num_partitions = E` (partition copies: E copies "
           "combined exactly as E one-core executors would be)",
           "- Invocations: " + "; ".join(f"{i['date']} `{i['command']}`" for i in results["invocations"]), ""]
    for model, label in MODELS.items():
        gensim = runs.get(f"gensim-{model}-w1")
        out += [f"## {label}", "",
                "| E | analogy % | Δ vs E=1 | WS353 | wall s | syncs | rate × | momentum (N: Nesterov) "
                "| MiB/sync copies → combine | MiB/sync → driver | executors | MLlib analogy % | MLlib WS353 "
                "| MLlib fit s |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        one = analogy(runs, f"sparkw2v-{model}-E1")
        for e in results["copies"]:
            r = runs.get(f"sparkw2v-{model}-E{e}")
            if not r:
                continue
            if "error" in r:
                out.append(f"| {e} | failed: {r['error'][:80]} |||||||||||")
                continue
            a = analogy(runs, f"sparkw2v-{model}-E{e}")
            m = runs.get(f"mllib-sghs-E{e}") if model == "sghs" else None
            m_ok = m and "error" not in m
            out.append(
                f"| {e} | {fmt(a, '.2f')} | {fmt(None if one is None or a is None else a - one, '+.2f')} | "
                f"{fmt(r['quality'].get('ws353'), '.3f')} | {r['wall_s']:.0f} | {r['syncs_total']} | "
                f"{r['alpha_factor']:g} | {momentum_text(r)} | {r['executor_bytes_per_sync'] / 2**20:.1f} | "
                f"{r['driver_bytes_per_sync'] / 2**20:.1f} | {r.get('executors', '—')} | "
                f"{fmt(analogy(runs, f'mllib-sghs-E{e}') if m_ok else None, '.2f')} | "
                f"{fmt(m['quality'].get('ws353') if m_ok else None, '.3f')} | "
                f"{fmt(m['wall_s'] if m_ok else None, '.0f')} |")
        if gensim and "error" not in gensim:
            out += ["", f"gensim `workers=1`: analogy {fmt(analogy(runs, f'gensim-{model}-w1'), '.2f')}%, WS353 "
                        f"{fmt(gensim['quality'].get('ws353'), '.3f')}, wall {gensim['wall_s']:.0f} s"]
        out.append("")
    out += ["## Targets", ""] + [f"- {line}" for line in targets(results)] + [""]
    composed = results.get("composed")
    if composed:
        out += ["## Sources", "", f"Composed by `--compose {','.join(composed['from'])}`; each run from:", ""]
        out += [f"- `{key}`: `{name}`" for key, name in sorted(composed["sources"].items())]
        out += ["", "Left out (not at today's defaults):", ""] + [f"- {line}" for line in composed["rejected"]]
        out.append("")
    return "\n".join(out)


def plot(results: dict, path: str) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    runs = results["runs"]
    fig, axes = plt.subplots(1, len(MODELS), figsize=(11, 4.2))
    for ax, (model, label) in zip(axes, MODELS.items()):
        points = [(e, analogy(runs, f"sparkw2v-{model}-E{e}")) for e in results["copies"]]
        points = [(e, a) for e, a in points if a is not None]
        if points:
            ax.plot(*zip(*points), "o-", label="sparkw2v (defaults)")
        one = analogy(runs, f"sparkw2v-{model}-E1")
        if one is not None and len(points) > 1:
            bound = [(e, one - (TARGET_NEAR[1] if e <= TARGET_NEAR[0] else TARGET_FAR[1])) for e, _ in points]
            ax.step(*zip(*bound), where="mid", color="tab:green", linewidth=0.8, label="target (E=1 minus 1 or 2)")
        mllib = [(e, analogy(runs, f"mllib-sghs-E{e}")) for e in results["copies"]] if model == "sghs" else []
        mllib = [(e, a) for e, a in mllib if a is not None]
        if mllib:
            shared = " (one executor: one shared array)" if results["master"].startswith("local") else ""
            ax.plot(*zip(*mllib), "s--", label=f"Spark MLlib, numPartitions E{shared}")
        gensim = analogy(runs, f"gensim-{model}-w1")
        if gensim is not None:
            ax.axhline(gensim, color="gray", linestyle=":", label="gensim workers=1")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("copies combined (E)")
        ax.set_ylabel("analogy accuracy %")
        ax.set_title(label)
        ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", default=bs.DEFAULT_CORPUS)
    p.add_argument("--eval-dir", default=bs.DEFAULT_EVAL)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--standalone-workers", type=int, default=0, metavar="N",
                   help="start a standalone master and N one-core workers on 127.0.0.1 from the pyspark "
                        "package's scripts (as the cluster tests do) and run there: N real executors")
    p.add_argument("--driver-memory", default="6g")
    p.add_argument("--copies", type=bs.int_list, default=[1, 2, 4, 8, 16, 32, 64])
    p.add_argument("--mllib-copies", type=bs.int_list, default=[1, 8, 64], help="E values MLlib runs at")
    p.add_argument("--models", type=lambda t: t.split(","), default=list(MODELS))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--syncs-per-epoch", type=int, default=None,
                   help="sparkw2v's --syncs-per-epoch for E > 1 (default: the job's own, 16)")
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--configs", type=lambda t: t.split(","), default=["*"])
    p.add_argument("--skip-mllib", action="store_true")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--name", default=None)
    p.add_argument("--compose", type=lambda t: t.split(","), default=None, metavar="NAME,NAME",
                   help="train nothing: one curve from these results files in --out (today's defaults only)")
    args = p.parse_args(argv)
    args.name = args.name or ("copies-smoke" if args.max_tokens else "copies")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.compose:
        return compose(args)
    if args.standalone_workers:
        sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
        from conftest import start_cluster
        cluster = start_cluster(Path(tempfile.mkdtemp(prefix="sparkw2v-bench-cluster-")), args.standalone_workers)
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # the driver, where the workers reach it
        args.master = cluster.url
        log(f"standalone cluster: {cluster.url}, {args.standalone_workers} one-core workers")
        try:
            return run(args)
        finally:
            cluster.stop()
    return run(args)


def run(args) -> int:
    corpus = bk.prepare_corpus(args.corpus, args.max_tokens)
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, args.name)
    master = f"standalone, {args.standalone_workers} one-core workers" if args.standalone_workers else args.master
    key = {"corpus_sha256": corpus["source_sha256"], "max_tokens": args.max_tokens, "epochs": args.epochs,
           "seed": args.seed, "master": master}
    results = bs.load_results(stem + ".json", key, fresh=False) or {
        "benchmark": "bench_copies", "compatibility": key, "corpus": {"source": args.corpus, "tokens": corpus["tokens"]},
        "epochs": args.epochs, "seed": args.seed, "master": master, "invocations": [], "runs": {}}
    results["copies"] = sorted(set(results.get("copies", [])) | set(args.copies))
    invocation = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                  "command": " ".join(["python", os.path.relpath(os.path.abspath(sys.argv[0]), REPO), *sys.argv[1:]]),
                  "machine": bk.machine(), "versions": {**bk.versions(), **bs.spark_versions()}}
    results["invocations"].append(invocation)
    bench = CopiesBench(argparse.Namespace(**vars(args), interleave=None), corpus)
    todo = [i for i in plan(args) if "error" in results["runs"].get(i["key"], {"error": 1})]
    try:
        failures = bs.run_plan(bench, todo, results, stem, markdown, args.eval_dir,
                               after_each=lambda: (plot(results, stem + ".png"), gc.collect()))
    finally:
        bench.stop()
    print(markdown(results))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
