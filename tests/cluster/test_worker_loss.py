"""Lose a worker mid-epoch: the job finishes on the survivor, bit-identical to a run without the loss."""
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

REPO = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO / "data" / "wiki-demo.txt.gz"


def _job(out):
    return [str(REPO / "jobs" / "train_word2vec.py"), "--input", str(DEMO_CORPUS), "--output", str(out),
            "--epochs", "2", "--vector-size", "32", "--num-partitions", "4", "--syncs-per-epoch", "2",
            "--local-copy", "partition", "--sample", "1e-4"]


def _process_tree(pid: int) -> list[int]:
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [p for c in children for p in _process_tree(int(c))]


def test_worker_killed_mid_epoch_gives_identical_vectors(standalone_cluster, tmp_path):
    reference = tmp_path / "reference"
    done = standalone_cluster.submit(*_job(reference))
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    out = tmp_path / "with-loss"
    cmd, env = standalone_cluster.submit_command(*_job(out))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines, killed = [], []

    def watch():
        for line in proc.stdout:
            lines.append(line)
            if not killed and "epoch 1/2 round 1/2" in line:
                # Round 2 of epoch 1 is starting: take the whole worker host down, executors included.
                for pid in _process_tree(standalone_cluster.worker_pid(1)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                killed.append(time.time())

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    proc.wait(timeout=900)
    reader.join(timeout=10)
    log = "".join(lines)
    assert killed, "the worker was never killed: " + log[-3000:]
    assert proc.returncode == 0, log[-4000:]
    assert "epoch 2/2 round 2/2" in log
    assert standalone_cluster.alive_workers() == 1
    assert (out / "_SUCCESS").exists()
    assert (out / "vectors.bin").read_bytes() == (reference / "vectors.bin").read_bytes()
