"""Epoch checkpoints: parameters, vocabulary, config and metrics after each finished epoch.

    CHECKPOINT_DIR/epoch-0001/{syn0,syn1,syn1neg}.npy, vocab.tsv, config.json, metrics.json, state.json
    and, where the block momentum is on, velocity-{syn0,syn1,syn1neg}.npy

Each checkpoint is staged in a hidden sibling folder and renamed into place, so a checkpoint folder
either exists complete or not at all; the last `keep` are kept. Matrices are .npy files written with
allow_pickle=False and read the same way: nothing we load can run code.

Resuming restores the parameters exactly, and every later round is seeded from
(seed, epoch, round, partition), so a resumed job ends bit-identical to an uninterrupted one.
"""
from __future__ import annotations

import io
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass

import numpy as np

from .config import TrainConfig
from .params import Params
from .storage import HadoopFS
from .vocab import Vocabulary

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_NAME = re.compile(r"^epoch-(\d{4,})$")
_MATRICES = ("syn0", "syn1", "syn1neg")
_VELOCITY = "velocity-"


class CheckpointMismatchError(ValueError):
    """The checkpoint was written by a job with another config or vocabulary."""


@dataclass
class Checkpoint:
    epoch: int            # epochs finished
    params: Params
    vocab: Vocabulary
    config: dict
    metrics: list[dict]
    velocity: Params | None = None  # the block momentum's velocity (params.apply_block_momentum)


class CheckpointStore:
    def __init__(self, fs: HadoopFS, directory: str, keep: int = 2):
        if keep < 1:
            raise ValueError(f"keep_checkpoints={keep}: must be >= 1")
        self.fs = fs
        self.directory = fs.qualify(directory).rstrip("/")
        self.keep = keep

    def epochs(self) -> list[int]:
        return sorted(int(m.group(1)) for m in map(_NAME.match, self.fs.list_names(self.directory)) if m)

    def save(self, epoch: int, params: Params, vocab: Vocabulary, config: TrainConfig,
             metrics: list[dict], velocity: Params | None = None) -> str:
        name = f"epoch-{epoch:04d}"
        target = f"{self.directory}/{name}"
        staging = f"{self.directory}/.{name}._tmp-{uuid.uuid4().hex[:12]}"
        scratch = tempfile.mkdtemp(prefix="sparkw2v-ckpt-")
        try:
            for matrix_name, matrix in zip(_MATRICES, params):
                np.save(os.path.join(scratch, f"{matrix_name}.npy"), matrix, allow_pickle=False)
            for matrix_name, matrix in zip(_MATRICES, velocity or ()):
                np.save(os.path.join(scratch, f"{_VELOCITY}{matrix_name}.npy"), matrix, allow_pickle=False)
            _write(scratch, "vocab.tsv", vocab.to_tsv())
            _write(scratch, "config.json", config.to_json())
            _write(scratch, "metrics.json", json.dumps(metrics, indent=2))
            _write(scratch, "state.json", json.dumps({
                "format_version": FORMAT_VERSION, "epoch": epoch, "corpus_words": vocab.corpus_words}))
            self.fs.mkdirs(staging)
            for entry in sorted(os.listdir(scratch)):
                self.fs.upload(os.path.join(scratch, entry), f"{staging}/{entry}")
            if self.fs.exists(target):
                self.fs.delete(target)
            self.fs.rename(staging, target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            if self.fs.exists(staging):
                self.fs.delete(staging)
        for old in self.epochs()[:-self.keep]:
            self.fs.delete(f"{self.directory}/epoch-{old:04d}")
        log.info("checkpoint after epoch %d: %s", epoch, target)
        return target

    def latest(self) -> Checkpoint | None:
        epochs = self.epochs()
        return self.load(epochs[-1]) if epochs else None

    def load(self, epoch: int) -> Checkpoint:
        folder = f"{self.directory}/epoch-{epoch:04d}"
        state = json.loads(self.fs.read_bytes(f"{folder}/state.json"))
        if state.get("format_version") != FORMAT_VERSION:
            raise CheckpointMismatchError(f"{folder}: checkpoint format {state.get('format_version')} "
                                          f"is not the supported {FORMAT_VERSION}")
        def matrices(prefix: str) -> list[np.ndarray]:
            return [np.load(io.BytesIO(self.fs.read_bytes(f"{folder}/{prefix}{m}.npy")), allow_pickle=False)
                    for m in _MATRICES]

        velocity = None
        if self.fs.exists(f"{folder}/{_VELOCITY}{_MATRICES[0]}.npy"):
            velocity = Params(*matrices(_VELOCITY))
        vocab = Vocabulary.from_tsv(self.fs.read_bytes(f"{folder}/vocab.tsv").decode("utf-8"),
                                    state["corpus_words"])
        return Checkpoint(state["epoch"], Params(*matrices("")), vocab,
                          json.loads(self.fs.read_bytes(f"{folder}/config.json")),
                          json.loads(self.fs.read_bytes(f"{folder}/metrics.json")), velocity)


# Parameters added after checkpoints were first written, with the value that trained like the code before
# them: a checkpoint without the key resumes with that value (and says so where it differs).
ADDED_PARAMETERS = {"nesterov": False, "full_pace": False}


def check_compatible(checkpoint: Checkpoint, config: TrainConfig, vocab: Vocabulary, where: str) -> None:
    """Refuse a checkpoint whose config or vocabulary differs from this job's."""
    ours, theirs = config.to_dict(), {**ADDED_PARAMETERS, **checkpoint.config}
    differing = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
    if differing:
        details = ", ".join(f"{k}: checkpoint {theirs.get(k)!r}, now {ours.get(k)!r}" for k in differing)
        raise CheckpointMismatchError(f"checkpoint {where} was written with other parameters ({details}); "
                                      "resume with the same flags or use a new --checkpoint-dir")
    if list(checkpoint.vocab.words) != list(vocab.words) or not np.array_equal(checkpoint.vocab.counts, vocab.counts):
        raise CheckpointMismatchError(f"checkpoint {where} has another vocabulary ({len(checkpoint.vocab)} words, "
                                      f"now {len(vocab)}): the input changed; use a new --checkpoint-dir")


def _write(folder: str, name: str, text: str) -> None:
    with open(os.path.join(folder, name), "w", encoding="utf-8") as handle:
        handle.write(text)
