"""Parameter copies in shared memory: the driver's global copy in local mode, and one copy per executor.

PySpark runs each task in its own Python process. Two kinds of file let processes of one host share
parameters without each holding its own copy:

- The round's parameters. In local mode the driver keeps its global copy in a file mapped from shared
  memory and its Python workers map the same file read-only, so the parameters are never pickled,
  broadcast or deserialised. On a cluster they travel as Spark broadcasts of at most 64 MiB each (a
  single broadcast is joined whole in the executor JVM's heap), and the first task of a round on an
  executor writes them, one piece at a time, into a read-only base file that all its workers map
  (`attach_base`): one copy per executor instead of one unpickled copy per Python worker.
- An executor's training copy (`local_copy="executor"`). The first task of a round to arrive writes
  the round's parameters into a new file and publishes it with an atomic link, under a lock so that
  no other task loads the parameters in the meantime; every task of that round on that executor then
  trains the same arrays in place, without locks, as word2vec.c's threads do (Hogwild). Tasks that
  start after another finished continue from its updates, so one executor behaves like one
  multi-threaded word2vec process and only the executors' copies are averaged.

The files live in /dev/shm when it has room: a 2.4 GB copy in a file on disk is paged back to the
disk continuously while Hogwild writes to it (1.3 TB written in 11 minutes at 1M words x 300 dims).
Elsewhere they fall back to SPARK_LOCAL_DIRS with a warning. A file's name holds the process that owns
it (the driver's Python, or the executor's JVM); files whose owner has died are swept by the next file
made on that host, and the driver removes a run's files when it ends, failed or not.

An executor copy starts with a shared counter of the words the executor's tasks have trained this
round: the kernels take their learning rate from it and add to it, as word2vec.c's threads share one
word count, so concurrent and consecutive tasks follow one schedule instead of each restarting it.

Each task reports every row that differs from the round's parameters, read from the shared copy when
it ends, with a timestamp. For a row, the newest such snapshot on an executor is taken after every
task there that changed the row had finished, so `latest_rows` recovers the executor's final copy.

numpy and the standard library only: this runs inside Spark tasks.
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import logging
import mmap
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from .params import Params

log = logging.getLogger(__name__)

PREFIX = "sparkw2v-"
MEMORY_DIRECTORY = "/dev/shm"
HEADER_BYTES = 64  # int64s: the word counter, then the pids of the tasks training the copy (one cache line)
Shapes = Sequence[tuple[int, int]]


def file_bytes(shapes: Shapes) -> int:
    return HEADER_BYTES + sum(rows * dim * 4 for rows, dim in shapes)


def directories() -> list[str]:
    """Every place our files may be on this host."""
    return [MEMORY_DIRECTORY, local_directory()] if memory_room() else [local_directory()]


def local_directory() -> str:
    """The executor's scratch directory on disk (Spark sets SPARK_LOCAL_DIRS for its Python workers)."""
    dirs = [d for d in os.environ.get("SPARK_LOCAL_DIRS", "").split(",") if d]
    return dirs[0] if dirs else tempfile.gettempdir()


def memory_room(directory: str = MEMORY_DIRECTORY) -> int:
    """Bytes free in `directory` (0 where it does not exist or cannot be written)."""
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        return 0
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def scratch_directory(nbytes: int) -> str:
    """Where a file of `nbytes` goes: shared memory when it has room for it, else the local disk."""
    room = memory_room()
    if room >= nbytes:
        return MEMORY_DIRECTORY
    fallback = local_directory()
    log.warning("%s has %d MiB free, too little for a %d MiB parameter copy: it goes to %s on disk, which "
                "is much slower for large models (raise the shared memory, e.g. docker --shm-size)",
                MEMORY_DIRECTORY, room >> 20, nbytes >> 20, fallback)
    return fallback


def copy_group() -> str:
    """Names the copy a task trains: tasks of one executor share one set of arrays."""
    return f"{socket.gethostname()}:{executor_pid()}"


def executor_pid() -> int:
    """The JVM that runs this Python worker (through pyspark's daemon): it outlives every task of the
    executor and dies with it. Falls back to the parent process where /proc cannot tell."""
    pid = os.getppid()
    for _ in range(4):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)
            name = fields[0].split("(", 1)[1]
        except (OSError, IndexError):
            return os.getppid()
        if name == "java":
            return pid
        pid = int(fields[1].split()[1])
        if pid <= 1:
            break
    return os.getppid()


def create_params_file(directory: str, run_id: str, params: Params) -> tuple[Params, str]:
    """Write `params` into a new file owned by this process; returns writable mapped views and the path."""
    sweep_stale(directory)
    path = os.path.join(directory, f"{PREFIX}{os.getpid()}-{run_id}-params.bin")
    _write(path, [m.shape for m in params], lambda: params)
    return _map(path, [m.shape for m in params], writable=True)[0], path


def open_params_file(path: str, shapes: Shapes) -> Params:
    """The round's parameters, mapped read-only (kernels cannot write them by mistake)."""
    return _map(path, shapes, writable=False)[0]


def attach(directory: str, run_id: str, sequence: int, shapes: Shapes,
           load: Callable[[], Iterable[np.ndarray]]) -> tuple[Params, np.ndarray]:
    """Map this executor's copy for round `sequence` of run `run_id`, creating it from `load()` if needed.

    Only the task that creates the copy calls `load`, which yields the matrices' values in order (whole
    matrices or consecutive row blocks). Returns the three matrices and the int64 header (the word
    counter, then the task slots of `join` and `leave`), all views of the mapping, which stays open as
    long as they live. Files of earlier rounds of the same run are removed on the way.
    """
    return _map(_publish(directory, run_id, f"{sequence:06d}.bin", shapes, load), shapes, writable=True)


def attach_base(directory: str, run_id: str, sequence: int, shapes: Shapes,
                load: Callable[[], Iterable[np.ndarray]]) -> Params:
    """The round's parameters on this executor, mapped read-only; the first task to ask writes them from
    `load()` (as `attach` does), the others wait for it and map the same file."""
    return _map(_publish(directory, run_id, f"{sequence:06d}.base", shapes, load), shapes, writable=False)[0]


def _publish(directory: str, run_id: str, name: str, shapes: Shapes,
             load: Callable[[], Iterable[np.ndarray]]) -> str:
    sequence = int(name.split(".")[0])
    remove_files(directory, run_id, before=sequence)
    path = os.path.join(directory, f"{PREFIX}{executor_pid()}-{run_id}-{name}")
    if not os.path.exists(path):
        with _directory_lock(directory):
            if not os.path.exists(path):
                sweep_stale(directory)
                _write(path, shapes, load)
    return path


def round_files(run_id: str, sequence: int) -> list[str]:
    """The executor copies of round `sequence` of run `run_id` on this host."""
    return [path for directory in directories()
            for path in glob.glob(os.path.join(directory, f"{PREFIX}*-{run_id}-{sequence:06d}.bin"))]


def _write(path: str, shapes: Shapes, load: Callable[[], Iterable[np.ndarray]]) -> None:
    """Write the header and the values `load()` yields to `path` through a temporary name, then publish
    it atomically."""
    part = f"{path}.{uuid.uuid4().hex}.part"
    try:
        with open(part, "wb") as handle:
            handle.write(bytes(HEADER_BYTES))
            for values in load():
                np.ascontiguousarray(values, dtype=np.float32).tofile(handle)
            written = handle.tell()
        if written != file_bytes(shapes):
            raise ValueError(f"parameters of {written - HEADER_BYTES} bytes for shapes {list(shapes)}")
        os.link(part, path)
    except FileExistsError:
        pass  # published by another process first
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)


def _map(path: str, shapes: Shapes, writable: bool) -> tuple[Params, np.ndarray]:
    with open(path, "r+b" if writable else "rb") as handle:
        mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ)
    flat = np.frombuffer(mapping, dtype=np.float32, offset=HEADER_BYTES)
    views, start = [], 0
    for rows, dim in shapes:
        views.append(flat[start:start + rows * dim].reshape(rows, dim))
        start += rows * dim
    return Params(*views), np.frombuffer(mapping, dtype=np.int64, count=HEADER_BYTES // 8)


def join(directory: str, header: np.ndarray) -> None:
    """Record this task as training the copy (where a slot is free: one that is not is never relied on)."""
    with _directory_lock(directory):
        slots = header[1:]
        for i, pid in enumerate(slots):
            if pid == 0 or pid == os.getpid() or not _alive(int(pid)):
                slots[i] = os.getpid()
                return


def leave(directory: str, header: np.ndarray) -> bool:
    """This task ends; True when it must report the copy's rows, False when a task still training the copy
    will report them after it (and so after every change this task made)."""
    with _directory_lock(directory):
        slots = header[1:]
        slots[slots == os.getpid()] = 0
        return not any(pid and _alive(int(pid)) for pid in slots)


@contextlib.contextmanager
def _directory_lock(directory: str):
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock, also when the task is killed


def _parse(name: str) -> tuple[int, str, str] | None:
    """(owner pid, run id, rest) of one of our file names, or None."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].split("-", 2)
    if len(parts) != 3 or not parts[0].isdigit():
        return None
    return int(parts[0]), parts[1], parts[2]


def remove_files(directory: str, run_id: str, before: int | None = None) -> int:
    """Delete this run's files in `directory` (only executor copies of rounds before `before`, when given)."""
    removed = 0
    for path in glob.glob(os.path.join(directory, f"{PREFIX}*-{run_id}-*")):
        parsed = _parse(os.path.basename(path))
        if parsed is None or parsed[1] != run_id:
            continue
        if before is not None:
            sequence = parsed[2].split(".")[0]
            if not sequence.isdigit() or int(sequence) >= before or path.endswith(".part"):
                continue
        with contextlib.suppress(FileNotFoundError):  # a neighbouring task may remove it first
            os.unlink(path)
            removed += 1
    return removed


def sweep_stale(directory: str) -> int:
    """Delete files whose owning process is gone (a killed driver or executor); returns how many."""
    removed = 0
    for path in glob.glob(os.path.join(directory, f"{PREFIX}*")):
        parsed = _parse(os.path.basename(path))
        if parsed is not None and not _alive(parsed[0]):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed += 1
    if removed:
        log.info("removed %d parameter files of processes that died, from %s", removed, directory)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


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
