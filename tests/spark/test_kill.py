"""SIGKILL the training job (driver and its JVM) and check what is left behind.

- killed after its first epoch checkpoint and resumed, it ends bit-identical to an uninterrupted run;
- killed at any moment, its output folder is either absent or complete;
- the parameter copy it left in shared memory is removed by the next run.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
JOB = REPO / "jobs" / "train_word2vec.py"
COMPLETE = ["_SUCCESS", "config.json", "metrics.json", "report.html", "vectors.bin", "vectors.parquet", "vocab.tsv"]


def _args(corpus, out, *extra):
    return [sys.executable, str(JOB), "--input", str(corpus), "--output", str(out), "--master", "local[2]",
            "--vector-size", "32", "--epochs", "3", "--num-partitions", "2", "--sample", "1e-4",
            "--local-copy", "partition", *extra]


def _start(args):
    # Its own session, so the kill takes the driver's JVM with it, as a dead driver host would.
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, env={**os.environ, "PYSPARK_PYTHON": sys.executable})


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=60)


def _complete_or_absent(out: Path) -> str:
    if not out.exists():
        return "absent"
    names = sorted(p.name for p in out.iterdir())
    assert set(COMPLETE) - {"report.html"} <= set(names) and "_SUCCESS" in names, names
    return "complete"


def test_killed_after_first_checkpoint_resumes_bit_identical(tmp_path, demo_corpus):
    reference = tmp_path / "reference"
    done = subprocess.run(_args(demo_corpus, reference), capture_output=True, text=True,
                          env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    assert done.returncode == 0, done.stderr[-3000:]

    out, ckpt = tmp_path / "resumed", tmp_path / "ckpt"
    args = _args(demo_corpus, out, "--checkpoint-dir", str(ckpt))
    proc = _start(args)
    deadline = time.time() + 300
    while not (ckpt / "epoch-0001").exists():
        assert proc.poll() is None, f"job ended before its first checkpoint: {proc.stderr.read()[-3000:]}"
        assert time.time() < deadline
        time.sleep(0.05)
    _kill(proc)
    assert not (ckpt / "epoch-0003").exists(), "the job finished before the kill; nothing was tested"
    assert not out.exists()
    # The killed driver could not remove its copy of the parameters in shared memory; the next run does.
    orphans = sorted(Path("/dev/shm").glob(f"sparkw2v-{proc.pid}-*")) if Path("/dev/shm").is_dir() else []

    resumed = subprocess.run([*args, "--resume"], capture_output=True, text=True,
                             env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch" in resumed.stderr
    assert (out / "vectors.bin").read_bytes() == (reference / "vectors.bin").read_bytes()
    assert not any(path.exists() for path in orphans), orphans
    if orphans:
        assert "parameter files of processes that died" in resumed.stderr


def test_killed_at_any_moment_leaves_no_output_or_a_complete_one(tmp_path, demo_corpus):
    seen = []
    for delay in (2.0, 6.0, 10.0, 14.0, 18.0, 60.0):
        out = tmp_path / f"out-{delay}"
        proc = _start(_args(demo_corpus, out))
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            _kill(proc)
        seen.append(_complete_or_absent(out))
    # The last one (60 s) is allowed to finish, so both outcomes were observed and checked.
    assert "absent" in seen and seen[-1] == "complete", seen
