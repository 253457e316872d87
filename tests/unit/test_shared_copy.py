"""The executors' shared parameter copy: one file per round, shared in place, newest snapshot wins."""
import os

import numpy as np

from sparkw2v import shared_copy
from sparkw2v.params import Params


def _params():
    rng = np.random.default_rng(0)
    return Params(rng.random((5, 3), dtype=np.float32), np.zeros((0, 3), np.float32),
                  rng.random((5, 3), dtype=np.float32))


def test_tasks_of_one_round_share_one_copy_made_from_the_broadcast(tmp_path):
    base = _params()
    first, first_counter = shared_copy.attach(str(tmp_path), "run", 3, base)
    for mine, theirs in zip(first, base):
        assert np.array_equal(mine, theirs) and mine.shape == theirs.shape
    first.syn0[2, 1] = 42.0
    changed = base._replace(syn0=base.syn0 + 1)  # a later task's broadcast copy is not used again
    second, second_counter = shared_copy.attach(str(tmp_path), "run", 3, changed)
    assert second.syn0[2, 1] == 42.0
    second.syn1neg[4, 0] = -7.0
    assert first.syn1neg[4, 0] == -7.0
    first_counter[0] += 100
    assert second_counter[0] == 100 and second.syn0[0, 0] == base.syn0[0, 0]  # counter apart from the params
    assert sorted(os.listdir(tmp_path)) == ["sparkw2v-shared-run-000003.bin"]  # no .part left behind


def test_a_new_round_removes_the_files_of_earlier_rounds_of_the_same_run(tmp_path):
    base = _params()
    for sequence in (0, 1):
        shared_copy.attach(str(tmp_path), "run", sequence, base)
    shared_copy.attach(str(tmp_path), "other", 0, base)
    assert sorted(os.listdir(tmp_path)) == ["sparkw2v-shared-other-000000.bin", "sparkw2v-shared-run-000001.bin"]
    assert shared_copy.remove_files(str(tmp_path), "run") == 1
    assert os.listdir(tmp_path) == ["sparkw2v-shared-other-000000.bin"]


def test_latest_rows_takes_each_row_from_the_newest_snapshot_holding_it():
    older = (10, np.array([0, 2]), np.array([[1.0], [2.0]], np.float32))
    newer = (20, np.array([2, 5]), np.array([[3.0], [4.0]], np.float32))
    rows, values = shared_copy.latest_rows([newer, older])
    assert rows.tolist() == [0, 2, 5]
    assert values[:, 0].tolist() == [1.0, 3.0, 4.0]
