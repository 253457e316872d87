"""What the trainer expects each process to hold, and the warnings for settings known to lose quality.

Pure functions of the configuration: no Spark session is started here."""
import logging

from sparkw2v import trainer
from sparkw2v.config import TrainConfig

GIB = 2**30


def test_a_cluster_executor_holds_two_copies_in_python_and_one_piece_in_its_jvm():
    needs = trainer.memory_needs(2 * GIB, local=False, per_executor=True, tasks=2, partitions=4, momentum=False)
    # the base file and the shared training copy, plus each task's rows in flight
    assert needs["executor Python"] == 2 * 2 * GIB + 2 * trainer.PYTHON_WORKER_BUFFER
    # the broadcast travels in pieces: the heap never joins the whole model
    assert needs["executor JVM"] == 2 * trainer.PIECE_BYTES + trainer.JVM_RESERVED
    # the piece being cut into blocks, twice: the blocks go to disk where the heap has no room
    assert needs["driver JVM"] < GIB
    assert "machine" not in needs


def test_partition_copies_on_a_cluster_hold_one_copy_per_task_beside_the_shared_base():
    needs = trainer.memory_needs(GIB, local=False, per_executor=False, tasks=3, partitions=6, momentum=True)
    assert needs["executor Python"] == (3 + 1) * GIB + 3 * trainer.PYTHON_WORKER_BUFFER
    assert needs["driver Python"] >= 2 * GIB  # the global copy and the momentum's velocity


def test_local_mode_counts_every_process_against_the_machine():
    needs = trainer.memory_needs(GIB, local=True, per_executor=True, tasks=2, partitions=2, momentum=False)
    assert needs["machine"] == needs["driver Python"] + needs["driver JVM"] + needs["executor Python"]
    assert "executor JVM" not in needs


def test_the_batched_kernel_warns_at_many_copies_with_the_measured_loss(caplog):
    config = TrainConfig(kernel="batched", num_partitions=8, syncs_per_epoch=16).validate()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(config, 8)
    assert "kernel=batched at 8 copies" in caplog.text and "27.98%" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(config, 2)
        trainer.warn_known_losses(TrainConfig(num_partitions=8, syncs_per_epoch=16).validate(), 8)
    assert "batched" not in caplog.text


def test_windows_in_corpus_order_warn_at_many_ns_copies(caplog):
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, shuffle_words=0).validate(), 8)
    assert "shuffle_words=0 at 8 copies" in caplog.text and "33.6%" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16).validate(), 8)       # shuffled: the default
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, loss="hs").validate(), 8)  # HS: corpus order
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, shuffle_words=0).validate(), 2)
    assert "shuffle_words" not in caplog.text


def test_both_losses_beyond_64_copies_warn_with_the_measured_curve(caplog):
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate(), 64)
    assert caplog.text == ""  # 64 SG-HS copies: within 2 points of one
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate(), 128)
    assert "hierarchical softmax at 128 copies" in caplog.text and "35.59%" in caplog.text
    assert "pace" not in caplog.text  # full pace: the output rows move at one copy's pace
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16).validate(), 64)
    assert "skip-gram NS" not in caplog.text  # 64 SGNS copies: within 2 points of one
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16).validate(), 128)
    assert "128 copies: skip-gram NS" in caplog.text and "32.41%" in caplog.text
    assert "pace" not in caplog.text  # full pace: the output rows move at one copy's pace
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, full_pace=False).validate(), 64)
    assert "about 50% of one machine's pace" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, nesterov=False).validate(), 32)
    assert "--no-nesterov at 32 copies" in caplog.text and "31.02%" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_known_losses(TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate(), 2)
        trainer.warn_known_losses(TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate(), 8)
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16).validate(), 16)
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16).validate(), 32)
        trainer.warn_known_losses(TrainConfig(syncs_per_epoch=16, nesterov=False).validate(), 8)  # no momentum
        trainer.warn_known_losses(TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate(), 1)
    assert caplog.text == ""


def test_slow_syncs_warn_with_the_syncs_that_would_keep_them_near_a_quarter(caplog):
    config = TrainConfig(syncs_per_epoch=16).validate()
    # the 2-worker cluster's 1M x 300 round: 7 s of training, 75 s of syncing
    slow = {"copies": 2, "seconds": 82.0, "kernel_seconds": 7.0}
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_slow_syncs(config, slow)
    assert "took 75 s of the first round's 82 s" in caplog.text and "--syncs-per-epoch 1 (now 16)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_slow_syncs(config, {"copies": 2, "seconds": 40.0, "kernel_seconds": 30.0})  # a fast sync
        trainer.warn_slow_syncs(config, {**slow, "copies": 1})  # one copy has nothing to sync
        trainer.warn_slow_syncs(config.replace(syncs_per_epoch=1), slow)  # nothing fewer to advise
    assert caplog.text == ""
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_slow_syncs(config, {"copies": 8, "seconds": 20.0, "kernel_seconds": 8.0})
    assert "--syncs-per-epoch 3 (now 16)" in caplog.text  # 8 x 16 / (3 x 12)


def test_a_checkpoint_from_an_older_rule_warns_on_resume(caplog):
    config = TrainConfig(loss="hs", sample=0.0, syncs_per_epoch=16).validate()
    older = [{"epoch": 1, "copies": 8, "alpha_factor": 4.0, "block_momentum": 0.5}]  # the rate before x2
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_rule_changed(older, config, 8)
    assert "trained 8 copies at rate x4 with momentum 0.5" in caplog.text and "x2 with momentum 0.5" in caplog.text
    caplog.clear()
    same = [{"epoch": 1, "copies": 8, "alpha_factor": 2.0, "block_momentum": 0.5}]
    with caplog.at_level(logging.WARNING, logger="sparkw2v.trainer"):
        trainer.warn_rule_changed(same, config, 8)
        trainer.warn_rule_changed(older, config, 4)  # other copies: the rule was never comparable
        trainer.warn_rule_changed([], config, 8)
    assert caplog.text == ""
