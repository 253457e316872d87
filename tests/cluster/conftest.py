"""A real Spark standalone cluster on 127.0.0.1: one master and two (or four) workers, started with the
pyspark wheel's own sbin/spark-daemon.sh, and stopped again whatever the test's outcome."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class StandaloneCluster:
    spark_home: Path
    env: dict
    url: str
    web_port: int
    pid_dir: Path
    log_dir: Path
    workers: int = 2
    started: list = field(default_factory=list)

    def daemon(self, action: str, cls: str, instance: int, *args: str) -> None:
        subprocess.run([str(self.spark_home / "sbin" / "spark-daemon.sh"), action, cls, str(instance), *args],
                       env=self.env, check=True, capture_output=True, timeout=120)

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/json/", timeout=5) as resp:
            return json.load(resp)

    def alive_workers(self) -> int:
        try:
            return int(self.state().get("aliveworkers", 0))
        except OSError:
            return 0

    def wait_for_workers(self, count: int, timeout: float = 90) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.alive_workers() >= count:
                return
            time.sleep(1)
        raise TimeoutError(f"only {self.alive_workers()} of {count} workers registered; logs in {self.log_dir}")

    def worker_pid(self, instance: int) -> int:
        pid_file = next(self.pid_dir.glob(f"spark-*-{WORKER_CLASS}-{instance}.pid"))
        return int(pid_file.read_text().strip())

    def submit_command(self, *job_args: str, master: str | None = None) -> tuple[list[str], dict]:
        """spark-submit to this cluster, or to `master` (e.g. local[3]) with the same settings."""
        cmd = [str(self.spark_home / "bin" / "spark-submit"), "--master", master or self.url,
               "--conf", f"spark.pyspark.python={sys.executable}",
               "--conf", f"spark.pyspark.driver.python={sys.executable}",
               "--conf", "spark.executor.memory=1g", "--conf", "spark.ui.enabled=false",
               *job_args]
        return cmd, self.env

    def submit(self, *job_args: str, timeout: float = 600, master: str | None = None) -> subprocess.CompletedProcess:
        cmd, env = self.submit_command(*job_args, master=master)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        for cls, instance in reversed(self.started):
            try:
                self.daemon("stop", cls, instance)
            except Exception:
                pass
        # Whatever survived `stop` (a hung JVM) is killed by its pid file.
        for pid_file in self.pid_dir.glob("spark-*.pid"):
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass


@pytest.fixture
def standalone_cluster(tmp_path_factory):
    """Master and 2 one-core workers."""
    yield from _cluster(tmp_path_factory, workers=2)


@pytest.fixture
def four_worker_cluster(tmp_path_factory):
    """Master and 4 one-core workers: 4 real executors, whose copies the job combines."""
    yield from _cluster(tmp_path_factory, workers=4)


def _cluster(tmp_path_factory, workers: int):
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java is not installed")
    cluster = start_cluster(tmp_path_factory.mktemp("cluster"), workers)
    try:
        yield cluster
    finally:
        cluster.stop()


def start_cluster(base: Path, workers: int, worker_memory: str = "2g") -> StandaloneCluster:
    """Start a master and `workers` one-core workers (state under `base`); stop() ends them.
    Also used by benchmarks/bench_copies.py --standalone-workers."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    port, web_port = _free_port(), _free_port()
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOG_DIR": str(base / "logs"),
           "SPARK_PID_DIR": str(base / "pids"), "SPARK_WORKER_DIR": str(base / "work"),
           "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable}
    env.pop("SPARK_NO_DAEMONIZE", None)
    cluster = StandaloneCluster(spark_home, env, f"spark://127.0.0.1:{port}", web_port,
                                base / "pids", base / "logs", workers)
    try:
        cluster.daemon("start", MASTER_CLASS, 1, "--host", "127.0.0.1", "--port", str(port),
                       "--webui-port", str(web_port))
        cluster.started.append((MASTER_CLASS, 1))
        for instance in range(1, cluster.workers + 1):
            cluster.daemon("start", WORKER_CLASS, instance, "--host", "127.0.0.1", "--cores", "1",
                           "--memory", worker_memory, "--webui-port", str(_free_port()), cluster.url)
            cluster.started.append((WORKER_CLASS, instance))
        cluster.wait_for_workers(cluster.workers)
    except BaseException:
        cluster.stop()
        raise
    return cluster
