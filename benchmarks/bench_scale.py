#!/usr/bin/env python
"""Vocabulary scale: the job at ~1M words x 300 dims and at 100k x 300, with peak memory per process.

The corpora are generated here with a fixed seed (item ids, as in session or basket data): 12M tokens in
lines of 20, half drawn from a Zipfian head over the first 20,000 ids and half uniform over all ids, so
that min-count 3 keeps nearly every id. The job is the user's command, run as a subprocess:

    python jobs/train_word2vec.py --input F --output O --vector-size 300 --loss ns --epochs 1
        --min-count 3 --local-copy executor --master local[2]

while a sampler reads every process of the machine once a second: resident (RSS) and proportional
(PSS, shared pages split between the processes that map them) memory of the driver's Python, the
driver's JVM, each Python worker and each executor JVM, and the machine's memory in use (MemTotal -
MemAvailable, shared memory included) above what it was before the run. gensim `workers=1` trains the
same file in a subprocess of its own, sampled the same way.

    python benchmarks/bench_scale.py                          # local[2]: 1M and 100k, gensim on 1M
    python benchmarks/bench_scale.py --cluster-workers 2      # the same on a standalone cluster too
    python benchmarks/bench_scale.py --words 50000 --tokens 1000000 --name scale-smoke   # a smoke test
    python benchmarks/bench_scale.py --skip small gensim      # rerun one job; the other runs stay in the file

Writes benchmarks/results/<name>.{json,md}; the corpora go to benchmarks/work/.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from bench_kernels import clean_json, log  # noqa: E402

LINE_TOKENS = 20
HEAD_IDS = 20_000
GENSIM = """
import json, sys, time
from gensim.models import Word2Vec
path, dim = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
model = Word2Vec(vector_size=dim, window=5, min_count=3, sample=1e-3, sg=1, hs=0, negative=5, epochs=1,
                 workers=1, seed=1, compute_loss=False)
model.build_vocab(corpus_file=path)
t1 = time.perf_counter()
model.train(corpus_file=path, total_words=model.corpus_total_words, epochs=1)
t2 = time.perf_counter()
print(json.dumps({"vocab_s": t1 - t0, "train_s": t2 - t1, "wall_s": t2 - t0, "words": len(model.wv),
                  "tokens": model.corpus_total_words}))
"""


def generate(path: str, words: int, tokens: int, seed: int) -> None:
    """`tokens` ids in lines of LINE_TOKENS: half Zipfian over the head ids, half uniform over all ids."""
    if os.path.exists(path):
        return
    rng = np.random.default_rng(seed)
    head = min(HEAD_IDS, words)
    weights = 1.0 / np.arange(1, head + 1)
    weights /= weights.sum()
    part = f"{path}.part"
    with open(part, "w") as out:  # plain text: gensim's corpus_file mode reads no gzip
        for start in range(0, tokens, 1_000_000):
            n = min(1_000_000, tokens - start)
            ids = np.where(rng.random(n) < 0.5, rng.choice(head, size=n, p=weights), rng.integers(0, words, n))
            text = np.char.add("i", ids.astype(str))
            for line in range(0, n, LINE_TOKENS):
                out.write(" ".join(text[line:line + LINE_TOKENS]) + "\n")
    os.replace(part, path)


# ------------------------------------------------------------------------------------------------
# Memory sampling
# ------------------------------------------------------------------------------------------------

def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""


def _meminfo() -> dict[str, int]:
    info = {}
    for line in _read("/proc/meminfo").splitlines():
        key, value = line.split(":", 1)
        info[key] = int(value.split()[0]) * 1024
    return info


def _role(pid: int, cmdline: str, parents: dict[int, int], root: int, cmdlines: dict[int, str]) -> str | None:
    if "java" in cmdline.split("\0")[0] and "SparkSubmit" in cmdline:
        return "driver JVM"  # under spark-submit, the root process itself
    if pid == root or (parents.get(pid) == root and "train_word2vec.py" in cmdline):
        return "driver Python"
    if "CoarseGrainedExecutorBackend" in cmdline:
        return f"executor JVM {pid}"
    if "pyspark.daemon" in cmdline or "pyspark/daemon" in cmdline:
        parent = parents.get(pid, 0)
        return f"Python worker {pid}" if "pyspark.daemon" in cmdlines.get(parent, "") else "Python daemon"
    if "gensim" in cmdline and parents.get(pid) == os.getpid():
        return "gensim"
    return None


class Sampler(threading.Thread):
    """Once a second: PSS and RSS of every process of the run, and the machine's memory in use."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.stop_event = threading.Event()
        baseline = _meminfo()
        self.baseline = baseline["MemTotal"] - baseline["MemAvailable"]
        self.peak_machine = 0
        self.peak_shmem = 0
        self.peaks: dict[str, dict[str, int]] = {}
        self.peak_executor_total: dict[str, int] = {}

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.sample()
            self.stop_event.wait(1.0)

    def sample(self) -> None:
        info = _meminfo()
        self.peak_machine = max(self.peak_machine, info["MemTotal"] - info["MemAvailable"] - self.baseline)
        self.peak_shmem = max(self.peak_shmem, info.get("Shmem", 0))
        parents, cmdlines = {}, {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _read(f"/proc/{entry}/stat")
                if stat:
                    parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
                    cmdlines[int(entry)] = _read(f"/proc/{entry}/cmdline")
        executors: dict[str, int] = {}
        for pid, cmdline in cmdlines.items():
            role = _role(pid, cmdline, parents, self.root, cmdlines)
            if role is None:
                continue
            rollup = _read(f"/proc/{pid}/smaps_rollup")
            values = {}
            for line in rollup.splitlines():
                if line.startswith(("Rss:", "Pss:")):
                    values[line.split(":")[0].lower()] = int(line.split()[1]) * 1024
            if not values:
                continue
            peak = self.peaks.setdefault(role, {"rss": 0, "pss": 0})
            for key in ("rss", "pss"):
                peak[key] = max(peak[key], values.get(key, 0))
            host = self._executor_of(pid, parents, cmdlines)
            if host is not None:
                executors[host] = executors.get(host, 0) + values.get("pss", 0)
        for host, total in executors.items():
            self.peak_executor_total[host] = max(self.peak_executor_total.get(host, 0), total)

    @staticmethod
    def _executor_of(pid: int, parents: dict[int, int], cmdlines: dict[int, str]) -> str | None:
        """The executor JVM a process belongs to (itself, or the JVM its Python daemon hangs from)."""
        for _ in range(4):
            if "CoarseGrainedExecutorBackend" in cmdlines.get(pid, ""):
                return str(pid)
            pid = parents.get(pid, 0)
        return None

    def stop(self) -> dict:
        self.stop_event.set()
        self.join()
        self.sample()
        return {"machine_peak_bytes": self.peak_machine, "shmem_peak_bytes": self.peak_shmem,
                "processes": self.peaks, "executor_pss_peak_bytes": self.peak_executor_total}


def measured(command: list[str], env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict, float]:
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = Sampler(child.pid)
    sampler.start()
    stdout, stderr = child.communicate()
    memory = sampler.stop()
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr), memory, \
        time.perf_counter() - started


# ------------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------------

def run_job(corpus: str, dim: int, master: str, extra: list[str], env: dict | None = None,
            submit: list[str] | None = None) -> dict:
    out = tempfile.mkdtemp(prefix="bench-scale-")
    job = [os.path.join(REPO, "jobs", "train_word2vec.py"), "--input", corpus, "--output", f"{out}/model",
           "--vector-size", str(dim), "--loss", "ns", "--epochs", "1", "--min-count", "3",
           "--local-copy", "executor", *extra]
    command = (submit or [sys.executable]) + job + ([] if submit else ["--master", master])
    result, memory, wall = measured(command, env)
    record = {"command": " ".join(command), "rc": result.returncode, "wall_s": wall, "memory": memory}
    with open(os.path.join(HERE, "work", "bench-scale-last.stderr"), "w") as handle:
        handle.write(result.stderr)
    if result.returncode != 0:
        record["stderr_tail"] = result.stderr[-3000:]
        return record
    with open(f"{out}/model/metrics.json") as handle:
        metrics = json.load(handle)
    record["metrics"] = metrics
    subprocess.run(["rm", "-rf", out])
    return record


def run_gensim(corpus: str, dim: int) -> dict:
    result, memory, wall = measured([sys.executable, "-c", GENSIM, corpus, str(dim)])
    record = {"rc": result.returncode, "wall_s": wall, "memory": memory}
    if result.returncode == 0:
        record.update(json.loads(result.stdout.strip().splitlines()[-1]))
    else:
        record["stderr_tail"] = result.stderr[-3000:]
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words", type=int, default=1_000_000, help="ids in the large corpus")
    parser.add_argument("--small-words", type=int, default=100_000, help="ids in the comparison corpus")
    parser.add_argument("--tokens", type=int, default=12_000_000)
    parser.add_argument("--dim", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--cluster-workers", type=int, default=0,
                        help="also run the large job on a standalone cluster of this many one-core workers")
    parser.add_argument("--executor-memory", default="2g")
    parser.add_argument("--cluster-conf", action="append", default=[], metavar="KEY=VALUE",
                        help="a Spark setting for the cluster run (repeatable)")
    parser.add_argument("--cluster-syncs", type=int, default=None,
                        help="--syncs-per-epoch for the cluster run (default: the job's own)")
    parser.add_argument("--skip", nargs="*", default=[], help="runs to skip: small, gensim, local")
    parser.add_argument("--name", default="scale")
    parser.add_argument("--fresh", action="store_true", help="drop the runs already in the results file")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    work = os.path.join(HERE, "work")
    os.makedirs(work, exist_ok=True)
    large = os.path.join(work, f"ids-{args.words}-{args.tokens}-s{args.seed}.txt")
    small = os.path.join(work, f"ids-{args.small_words}-{args.tokens}-s{args.seed}.txt")
    for path, words in ((large, args.words), (small, args.small_words)):
        log(f"corpus {path}")
        generate(path, words, args.tokens, args.seed)
    conf = ["--conf", f"spark.driver.memory={args.driver_memory}"]
    results = {"args": vars(args), "runs": {}}
    out_json = os.path.join(HERE, "results", f"{args.name}.json")
    if os.path.exists(out_json) and not args.fresh:  # runs of earlier invocations stay unless run again
        with open(out_json) as handle:
            earlier = json.load(handle)
        results["runs"], results["notes"] = earlier["runs"], earlier.get("notes", [])

    def save(key: str, record: dict) -> None:
        results["runs"][key] = record
        with open(out_json, "w") as handle:
            json.dump(clean_json(results), handle, indent=1)
        log(f"{key}: rc {record['rc']}, wall {record['wall_s']:.0f} s, machine peak "
            f"{record['memory']['machine_peak_bytes'] / 2**30:.2f} GiB")

    if "local" not in args.skip:
        save(f"sparkw2v-{args.words}-{args.master}", run_job(large, args.dim, args.master, conf))
    if "small" not in args.skip:
        save(f"sparkw2v-{args.small_words}-{args.master}", run_job(small, args.dim, args.master, conf))
    if "gensim" not in args.skip:
        save(f"gensim-w1-{args.words}", run_gensim(large, args.dim))
    if args.cluster_workers:
        sys.path.insert(0, os.path.join(REPO, "tests", "cluster"))
        from conftest import start_cluster  # the cluster tests' standalone cluster on 127.0.0.1

        from pathlib import Path

        cluster = start_cluster(Path(tempfile.mkdtemp(prefix="bench-scale-cluster-")), args.cluster_workers,
                                worker_memory=args.executor_memory)
        try:
            extra = [arg for setting in args.cluster_conf for arg in ("--conf", setting)]
            submit, env = cluster.submit_command("--conf", f"spark.executor.memory={args.executor_memory}",
                                                 "--driver-memory", args.driver_memory, *extra)
            save(f"sparkw2v-{args.words}-cluster{args.cluster_workers}",
                 run_job(large, args.dim, "", [] if args.cluster_syncs is None
                         else ["--syncs-per-epoch", str(args.cluster_syncs)], env=env, submit=submit))
        finally:
            cluster.stop()
    write_markdown(results, os.path.join(HERE, "results", f"{args.name}.md"))
    return 0


def write_markdown(results: dict, path: str) -> None:
    args = results["args"]
    lines = ["# Vocabulary scale", "",
             f"`python benchmarks/bench_scale.py` (its docstring says how the corpora are made): skip-gram NS, "
             f"{args['dim']} dims, 1 epoch, {args['tokens']:,} tokens, min-count 3, `--local-copy executor`. "
             "Memory: peak PSS per process (shared memory split between the processes that map it) and the "
             "machine's peak memory in use above its level before the run, in GiB and in model copies.", "",
             "| run | words | copy GiB | wall s | round s | kernel s | sync share | train words/s | machine peak | "
             "driver Python | driver JVM | largest Python worker | executors (JVM + workers) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for key, record in results["runs"].items():
        if record["rc"] != 0:
            lines.append(f"| {key} | failed (rc {record['rc']}) |" + " |" * 11)
            continue
        memory = record["memory"]
        processes = memory["processes"]
        metrics = record.get("metrics")
        one_copy = metrics["parameter_bytes"] if metrics else None

        def gib(value):
            if value is None:
                return ""
            return f"{value / 2**30:.2f}" + (f" ({value / one_copy:.1f})" if one_copy else "")

        workers = [v["pss"] for k, v in processes.items() if k.startswith("Python worker")]
        executors = ", ".join(gib(v) for v in memory["executor_pss_peak_bytes"].values())
        if metrics:
            rounds = metrics["rounds"]
            seconds = sum(r["seconds"] for r in rounds)
            kernel = sum(r.get("kernel_seconds", 0.0) for r in rounds)
            words = sum(r["words"] for r in rounds)
            cells = [f"{metrics['vocab_size']:,}", f"{one_copy / 2**30:.2f}", f"{record['wall_s']:.0f}",
                     f"{seconds:.1f}", f"{kernel:.1f}", f"{1 - kernel / seconds:.0%}", f"{words / kernel:,.0f}"]
        else:  # gensim
            cells = [f"{record['words']:,}", "", f"{record['wall_s']:.0f}", "", f"{record['train_s']:.1f}", "",
                     f"{record['tokens'] / record['train_s']:,.0f}"]
        driver = processes.get("driver Python", {}).get("pss")
        lines.append(f"| {key} | " + " | ".join(cells + [gib(memory["machine_peak_bytes"]), gib(driver),
                                                       gib(processes.get("driver JVM", {}).get("pss")),
                                                       gib(max(workers)) if workers else "", executors]) + " |")
    lines += ["", "train words/s: training words over the kernels' time (the slowest task of each round); gensim: "
              "corpus words over train(). Sync share: the part of the rounds outside the kernels (the diff of "
              "the shared copy, the shuffle, the combine, the driver's collect and apply)."]
    lines += [""] + [f"- {note}" for note in results.get("notes", [])]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
