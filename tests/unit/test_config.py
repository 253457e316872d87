"""TrainConfig: validation of every range, the derived learning rate, and (de)serialisation."""
from __future__ import annotations

import dataclasses
import json

import pytest

from sparkw2v.config import ConfigError, TrainConfig


def test_defaults_validate():
    config = TrainConfig()
    assert config.validate() is config


@pytest.mark.parametrize(
    ("changes", "name", "value"),
    [
        ({"vector_size": 0}, "vector_size", 0),
        ({"window": 0}, "window", 0),
        ({"sample": -1}, "sample", -1),
        ({"alpha": 0}, "alpha", 0),
        ({"negative": 0, "loss": "ns"}, "negative", 0),
        ({"negative": 0, "loss": "ns+hs"}, "negative", 0),
        ({"architecture": "foo"}, "architecture", "foo"),
        ({"loss": "bar"}, "loss", "bar"),
        ({"epochs": 0}, "epochs", 0),
        ({"num_partitions": 0}, "num_partitions", 0),
        ({"syncs_per_epoch": 0}, "syncs_per_epoch", 0),
        ({"interleave": 0}, "interleave", 0),
        ({"interleave": 1001}, "interleave", 1001),
        ({"alpha": 0.01, "min_alpha": 0.02}, "min_alpha", 0.02),
        ({"architecture": "cbow", "min_alpha": 0.06}, "min_alpha", 0.06),  # above cbow's default 0.05
        ({"averaging": "x"}, "averaging", "x"),
        ({"local_copy": "node"}, "local_copy", "node"),
        ({"local_copy": "executor", "averaging": "mean"}, "averaging", "mean"),
        ({"scale_alpha": True}, "scale_alpha", True),  # the scaled averaging sets the rate itself
        ({"max_copy_alpha": 0.0}, "max_copy_alpha", 0.0),
        ({"block_momentum": 1.0}, "block_momentum", 1.0),
        ({"min_count": 0}, "min_count", 0),
        ({"max_vocab_size": 0}, "max_vocab_size", 0),
        ({"sample": 1.0}, "sample", 1.0),
        ({"vector_size": 2.5}, "vector_size", 2.5),
        ({"cbow_mean": 1}, "cbow_mean", 1),
        ({"shuffle_words": -1}, "shuffle_words", -1),
    ],
    ids=lambda v: None if not isinstance(v, dict) else ",".join(f"{k}={v[k]!r}" for k in v),
)
def test_bad_parameter_is_named_with_its_value(changes, name, value):
    config = TrainConfig(**changes)
    with pytest.raises(ConfigError) as info:
        config.validate()
    message = str(info.value)
    assert name in message
    assert str(value) in message or repr(value) in message, message


@pytest.mark.parametrize(("changes", "copies", "kernel"), [
    ({}, 1, "batched"),                                   # skip-gram NS on one copy
    ({}, 2, "classic"),                                   # averaged copies: the classic update loses less
    ({"loss": "hs"}, 1, "classic"),
    ({"loss": "ns+hs"}, 1, "classic"),
    ({"architecture": "cbow"}, 1, "classic"),
    ({"kernel": "classic"}, 1, "classic"),
    ({"kernel": "batched"}, 8, "batched"),
])
def test_auto_kernel_is_batched_for_one_skipgram_ns_copy_only(changes, copies, kernel):
    assert TrainConfig(**changes).validate().kernel_for(copies) == kernel


@pytest.mark.parametrize(("changes", "block"), [
    ({}, 2_000_000),                                      # negative sampling: windows shuffled
    ({"architecture": "cbow"}, 2_000_000),
    ({"loss": "hs"}, 0),                                  # hierarchical softmax lost with shuffling
    ({"loss": "ns+hs"}, 0),
    ({"shuffle_words": 0}, 0),
    ({"loss": "hs", "shuffle_words": 1000}, 1000),
])
def test_auto_window_shuffle_is_for_negative_sampling_only(changes, block):
    assert TrainConfig(**changes).validate().shuffle_block == block


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        TrainConfig(window=0).validate()


@pytest.mark.parametrize("architecture", ["skipgram", "cbow"])
def test_negative_zero_is_fine_with_hierarchical_softmax(architecture):
    config = TrainConfig(architecture=architecture, loss="hs", negative=0).validate()
    assert config.use_hs and not config.use_ns


@pytest.mark.parametrize(("loss", "ns", "hs"), [("ns", True, False), ("hs", False, True),
                                                ("ns+hs", True, True)])
def test_loss_flags(loss, ns, hs):
    config = TrainConfig(loss=loss)
    assert (config.use_ns, config.use_hs) == (ns, hs)


def test_start_alpha_defaults_follow_word2vec_c():
    assert TrainConfig(architecture="skipgram").start_alpha == 0.025
    assert TrainConfig(architecture="cbow").start_alpha == 0.05
    assert TrainConfig(architecture="cbow", alpha=0.1).start_alpha == 0.1


@pytest.mark.parametrize("changes", [{}, {"architecture": "cbow"}, {"alpha": 0.5, "min_alpha": 0.0},
                                     {"alpha": 0.2, "min_alpha": 0.2}])
def test_alpha_schedule_is_linear_between_the_ends(changes):
    config = TrainConfig(**changes).validate()
    start, end = config.start_alpha, config.min_alpha
    assert config.alpha_at(0) == start
    assert config.alpha_at(1) == pytest.approx(end, abs=1e-15)
    assert config.alpha_at(0.5) == pytest.approx((start + end) / 2)
    assert config.alpha_at(0.25) == pytest.approx(start + 0.25 * (end - start))
    # Outside [0, 1] the schedule holds its end values.
    assert config.alpha_at(-3) == config.alpha_at(0)
    assert config.alpha_at(7) == config.alpha_at(1)
    values = [config.alpha_at(p / 10) for p in range(11)]
    assert values == sorted(values, reverse=True)


def test_to_dict_from_dict_round_trip():
    config = TrainConfig(architecture="cbow", loss="ns+hs", vector_size=32, window=3, min_count=2,
                         max_vocab_size=1000, sample=1e-4, negative=7, alpha=0.07, epochs=2,
                         lowercase=True, num_partitions=8, syncs_per_epoch=3, averaging="mean", seed=9)
    values = config.to_dict()
    assert set(values) == {f.name for f in dataclasses.fields(TrainConfig)}
    assert values["vector_size"] == 32 and values["averaging"] == "mean"
    assert TrainConfig.from_dict(values) == config
    # through JSON too, which is what config.json holds
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_from_dict_accepts_a_subset():
    assert TrainConfig.from_dict({"window": 9}) == TrainConfig(window=9)


def test_from_dict_rejects_unknown_keys():
    values = TrainConfig().to_dict()
    values["windw"] = 3
    with pytest.raises(ConfigError, match="windw"):
        TrainConfig.from_dict(values)


def test_config_is_frozen():
    config = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.window = 3  # type: ignore[misc]
    assert config.replace(window=3).window == 3 and config.window == 5
