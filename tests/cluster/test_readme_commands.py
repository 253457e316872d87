"""The README's cluster commands, as written there, on the standalone test cluster.

The README's client-mode `spark-submit` block is read from the README and run with the test cluster's
master URL, the demo corpus and a small model; the environment travels as `--archives env.tar.gz`, packed
by the README's own venv-pack command. So the README cannot drift from what works.
"""
from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow, pytest.mark.cluster]

REPO = Path(__file__).resolve().parents[2]
DEMO_CORPUS = REPO / "data" / "wiki-demo.txt.gz"


def readme_block(after: str) -> list[list[str]]:
    """The commands of the first indented code block after the paragraph starting with `after`."""
    text = (REPO / "README.md").read_text()
    lines = text[text.index(after):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("    "))
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:])
    joined = "\n".join(block).replace("\\\n", " ")
    return [shlex.split(command) for command in joined.splitlines() if command.strip()]


def plain_environment(target: Path) -> None:
    """What the README's `python3 -m venv pack-env && pack-env/bin/pip install . venv-pack` makes, without
    downloading: a new venv holding this environment's packages, and sparkw2v as a regular (not editable)
    install, which venv-pack needs."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    source = Path(sysconfig.get_paths()["purelib"])
    site = next(target.glob("lib/python*/site-packages"))
    for entry in source.iterdir():
        if entry.name.startswith("__editable__") or entry.name.startswith("sparkw2v"):
            continue
        if entry.is_dir():
            shutil.copytree(entry, site / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, site / entry.name)
    shutil.copytree(REPO / "sparkw2v", site / "sparkw2v", ignore=shutil.ignore_patterns("__pycache__"))


def test_readme_client_mode_command_runs_on_the_standalone_cluster(standalone_cluster, tmp_path):
    pack, = [c for c in readme_block("python3 -m venv pack-env") if "venv-pack" in c[0]]
    assert pack[:1] == ["pack-env/bin/venv-pack"] and "-o" in pack
    plain_environment(tmp_path / "pack-env")
    subprocess.run([str(tmp_path / "pack-env/bin/python"), "-m", "venv_pack", *pack[1:], "--quiet"],
                   cwd=tmp_path, check=True, timeout=600)
    assert (tmp_path / "env.tar.gz").stat().st_size > 10_000_000

    [submit] = readme_block("**Client mode**")
    assert submit[0] == "spark-submit" and "--archives" in submit
    command = [str(standalone_cluster.spark_home / "bin" / "spark-submit")]
    replace = {"--master": standalone_cluster.url, "--input": str(DEMO_CORPUS),
               "--output": str(tmp_path / "model"), "--checkpoint-dir": str(tmp_path / "checkpoints")}
    words = iter(submit[1:])
    for word in words:
        if word in replace:
            command += [word, replace[word]]
            next(words)
        elif word == "jobs/train_word2vec.py":
            command.append(str(REPO / word))
        else:
            command.append(word)
    # A small model for the test: later flags win.
    command += ["--vector-size", "16", "--epochs", "1", "--num-partitions", "2", "--syncs-per-epoch", "2",
                "--conf", "spark.ui.enabled=false"]
    env = {k: v for k, v in standalone_cluster.env.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert (tmp_path / "model" / "_SUCCESS").exists()
    # The executors ran the archive's Python, unpacked in their working folders.
    unpacked = list((standalone_cluster.pid_dir.parent / "work").glob("app-*/*/environment/bin/python"))
    assert unpacked, "no executor unpacked env.tar.gz"
