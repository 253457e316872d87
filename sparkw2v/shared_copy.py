"""One parameter copy per executor, shared by the tasks that run there (`local_copy="executor"`).

PySpark runs each task in its own Python process, so the tasks of one executor share their copy through
a memory-mapped file in the executor's local directory (SPARK_LOCAL_DIRS, which Spark deletes when the
executor stops). The first task of a round to arrive writes the broadcast parameters into the file and
publishes it with an atomic link; every task of that round on that executor then trains the same
arrays in place, without locks, as word2vec.c's threads do (Hogwild). Tasks that start after another
finished continue from its updates instead of from the round's broadcast, so one executor behaves like
one multi-threaded word2vec process and only the executors' copies are averaged.

The file starts with a shared counter of the words the executor's tasks have trained this round: the
kernels take their learning rate from it and add to it, as word2vec.c's threads share one word count,
so concurrent and consecutive tasks follow one schedule instead of each restarting the round's.

Each task reports every row that differs from the broadcast, read from the shared copy when it ends,
with a timestamp. For a row, the newest such snapshot on an executor is taken after every task there
that changed the row had finished, so `latest_rows` recovers the executor's final copy of that row.

numpy and the standard library only: this runs inside Spark tasks.
"""
from __future__ import annotations

import glob
import mmap
import os
import socket
import tempfile
import time
import uuid

import numpy as np

from .params import Params

PREFIX = "sparkw2v-shared-"
HEADER_BYTES = 64  # the int64 word counter, padded to a cache line so the parameters stay aligned


def local_directory() -> str:
    """The executor's scratch directory (Spark sets SPARK_LOCAL_DIRS for its Python workers)."""
    dirs = [d for d in os.environ.get("SPARK_LOCAL_DIRS", "").split(",") if d]
    return dirs[0] if dirs else tempfile.gettempdir()


def copy_group(directory: str) -> str:
    """Names the copy a task trains: tasks with the same group share one set of arrays."""
    return f"{socket.gethostname()}:{directory}"


def attach(directory: str, run_id: str, sequence: int, base: Params) -> tuple[Params, np.ndarray]:
    """Map this executor's copy for round `sequence` of run `run_id`, creating it from `base` if needed.

    Returns the three matrices and the int64[1] word counter, all views of the mapping, which stays open
    as long as they live. Files of earlier rounds of the same run are removed on the way.
    """
    remove_files(directory, run_id, before=sequence)
    path = _path(directory, run_id, sequence)
    if not os.path.exists(path):
        part = f"{path}.{os.getpid()}.{uuid.uuid4().hex}.part"
        with open(part, "wb") as handle:
            handle.write(bytes(HEADER_BYTES))
            for matrix in base:
                handle.write(np.ascontiguousarray(matrix, dtype=np.float32).tobytes())
        try:
            os.link(part, path)  # atomic publish; another task may have won the race
        except FileExistsError:
            pass
        finally:
            os.unlink(part)
    with open(path, "r+b") as handle:
        mapping = mmap.mmap(handle.fileno(), 0)
    flat = np.frombuffer(mapping, dtype=np.float32, offset=HEADER_BYTES)
    views, start = [], 0
    for matrix in base:
        views.append(flat[start:start + matrix.size].reshape(matrix.shape))
        start += matrix.size
    return Params(*views), np.frombuffer(mapping, dtype=np.int64, count=1)


def _path(directory: str, run_id: str, sequence: int) -> str:
    return os.path.join(directory, f"{PREFIX}{run_id}-{sequence:06d}.bin")


def remove_files(directory: str, run_id: str, before: int | None = None) -> int:
    """Delete this run's shared files (only rounds before `before`, when given); returns how many."""
    removed = 0
    for path in glob.glob(os.path.join(directory, f"{PREFIX}{run_id}-*.bin")):
        sequence = int(os.path.basename(path)[len(PREFIX) + len(run_id) + 1:].split(".")[0])
        if before is None or sequence < before:
            try:
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass  # a neighbouring task removed it first
    return removed


def snapshot_time() -> int:
    return time.time_ns()


def latest_rows(snapshots: list[tuple[int, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """From one executor's `(time, rows, values)` snapshots, each row's value in the newest one holding it."""
    ordered = sorted(snapshots, key=lambda s: s[0])
    rows = np.concatenate([s[1] for s in ordered])
    values = np.concatenate([s[2] for s in ordered])
    newest_first = rows[::-1]
    unique, first = np.unique(newest_first, return_index=True)
    return unique, values[len(rows) - 1 - first]
