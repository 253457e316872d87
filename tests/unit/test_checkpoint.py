import pytest

from sparkw2v.checkpoint import Checkpoint, CheckpointMismatchError, check_compatible
from sparkw2v.config import TrainConfig
from sparkw2v.params import init_params
from sparkw2v.vocab import Vocabulary


def checkpoint_of(config_dict: dict, vocab: Vocabulary) -> Checkpoint:
    return Checkpoint(1, init_params(len(vocab), TrainConfig()), vocab, config_dict, [], None)


def test_a_checkpoint_from_before_the_look_ahead_resumes_without_it():
    """Checkpoints written before --nesterov existed trained without the look-ahead: they resume with
    --no-nesterov, and the default names the flag that differs instead of refusing every config."""
    vocab = Vocabulary.from_counts([("a", 5), ("b", 3)])
    older = {k: v for k, v in TrainConfig().to_dict().items() if k != "nesterov"}
    check_compatible(checkpoint_of(older, vocab), TrainConfig(nesterov=False), vocab, "old")
    with pytest.raises(CheckpointMismatchError, match="nesterov: checkpoint False, now True"):
        check_compatible(checkpoint_of(older, vocab), TrainConfig(), vocab, "old")
    check_compatible(checkpoint_of(TrainConfig().to_dict(), vocab), TrainConfig(), vocab, "new")


def test_a_checkpoint_from_before_full_pace_resumes_without_it():
    vocab = Vocabulary.from_counts([("a", 5), ("b", 3)])
    older = {k: v for k, v in TrainConfig().to_dict().items() if k != "full_pace"}
    check_compatible(checkpoint_of(older, vocab), TrainConfig(full_pace=False), vocab, "old")
    with pytest.raises(CheckpointMismatchError, match="full_pace: checkpoint False, now True"):
        check_compatible(checkpoint_of(older, vocab), TrainConfig(), vocab, "old")
