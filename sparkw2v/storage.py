"""Output folders on any Hadoop filesystem (local paths, file://, hdfs://, s3a://), written atomically.

Files are produced in a local scratch folder, copied into a hidden temporary sibling of the output
folder, and the sibling is renamed into place; `_SUCCESS` is written last. A job killed at any moment
therefore leaves either no output folder or a complete one. Goes through the JVM's Hadoop FileSystem of
the running SparkSession, so it needs the session but no pyspark import.
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager

log = logging.getLogger(__name__)


class OutputExistsError(FileExistsError):
    """The output folder exists and overwrite was not asked for."""


class HadoopFS:
    def __init__(self, spark):
        self._jvm = spark.sparkContext._jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, path: str):
        return self._jvm.org.apache.hadoop.fs.Path(path)

    def _fs(self, path: str):
        return self._path(path).getFileSystem(self._conf)

    def qualify(self, path: str) -> str:
        """An absolute URI: a relative local path becomes file:/abs/path."""
        p = self._path(path)
        return p.getFileSystem(self._conf).makeQualified(p).toString()

    def exists(self, path: str) -> bool:
        return bool(self._fs(path).exists(self._path(path)))

    def delete(self, path: str) -> None:
        self._fs(path).delete(self._path(path), True)

    def mkdirs(self, path: str) -> None:
        self._fs(path).mkdirs(self._path(path))

    def rename(self, src: str, dst: str) -> None:
        if not self._fs(src).rename(self._path(src), self._path(dst)):
            raise OSError(f"could not rename {src} to {dst}")

    def upload(self, local_path: str, dst: str) -> None:
        self._fs(dst).copyFromLocalFile(False, True, self._path(local_path), self._path(dst))

    def download(self, src: str, local_path: str) -> None:
        self._fs(src).copyToLocalFile(False, self._path(src), self._path(local_path), True)

    def write_bytes(self, path: str, data: bytes) -> None:
        with tempfile.NamedTemporaryFile(delete=False) as handle:
            handle.write(data)
        try:
            self.upload(handle.name, path)
        finally:
            os.unlink(handle.name)

    def read_bytes(self, path: str) -> bytes:
        scratch = tempfile.mkdtemp(prefix="sparkw2v-read-")
        try:
            local = os.path.join(scratch, "file")
            self.download(path, local)
            with open(local, "rb") as handle:
                return handle.read()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def list_names(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return sorted(status.getPath().getName() for status in self._fs(path).listStatus(self._path(path)))


class LocalFS:
    """The read side of HadoopFS on local paths, for code that runs without a SparkSession."""

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as handle:
            return handle.read()


def check_output(fs: HadoopFS, output: str, overwrite: bool) -> str:
    """Refuse an existing output folder unless overwrite; returns the qualified output URI."""
    target = fs.qualify(output)
    if fs.exists(target) and not overwrite:
        raise OutputExistsError(f"output {target} already exists; pass --overwrite to replace it")
    return target


@contextmanager
def atomic_output(fs: HadoopFS, output: str, overwrite: bool):
    """Yield a local scratch folder; on success its files become `output`, with _SUCCESS last."""
    target = check_output(fs, output, overwrite)
    parent, name = target.rstrip("/").rsplit("/", 1)
    staging = f"{parent}/.{name}._tmp-{uuid.uuid4().hex[:12]}"
    scratch = tempfile.mkdtemp(prefix="sparkw2v-out-")
    try:
        yield scratch
        fs.mkdirs(staging)
        for entry in sorted(os.listdir(scratch)):
            fs.upload(os.path.join(scratch, entry), f"{staging}/{entry}")
        fs.write_bytes(f"{staging}/_SUCCESS", b"")
        if fs.exists(target):
            trash = f"{parent}/.{name}._old-{uuid.uuid4().hex[:12]}"
            fs.rename(target, trash)
            fs.rename(staging, target)
            fs.delete(trash)
        else:
            fs.rename(staging, target)
        log.info("wrote %s", target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if fs.exists(staging):
            fs.delete(staging)


