"""Parameter copies in shared memory: the driver's mapped copy, an executor's copy shared by its tasks, the
newest snapshot of a row, and files that never outlive their owner."""
import os
import subprocess
import sys

import numpy as np
import pytest

from sparkw2v import shared_copy
from sparkw2v.params import Params


def _params():
    rng = np.random.default_rng(0)
    return Params(rng.random((5, 3), dtype=np.float32), np.zeros((0, 3), np.float32),
                  rng.random((5, 3), dtype=np.float32))


def _shapes(params):
    return [m.shape for m in params]


def _ours(directory):
    return sorted(name for name in os.listdir(directory) if name.startswith(shared_copy.PREFIX))


def test_tasks_of_one_round_share_one_copy_loaded_once(tmp_path):
    base = _params()
    loads = []

    def load():
        loads.append(1)
        return base

    first, first_counter = shared_copy.attach(str(tmp_path), "run", 3, _shapes(base), load)
    for mine, theirs in zip(first, base):
        assert np.array_equal(mine, theirs) and mine.shape == theirs.shape
    first.syn0[2, 1] = 42.0
    second, second_counter = shared_copy.attach(str(tmp_path), "run", 3, _shapes(base), load)
    assert loads == [1]  # the second task never loads the round's parameters
    assert second.syn0[2, 1] == 42.0
    second.syn1neg[4, 0] = -7.0
    assert first.syn1neg[4, 0] == -7.0
    first_counter[0] += 100
    assert second_counter[0] == 100 and second.syn0[0, 0] == base.syn0[0, 0]  # counter apart from the params
    [name] = _ours(tmp_path)  # no .part left behind
    assert name.endswith("-run-000003.bin") and str(shared_copy.executor_pid()) in name


def test_a_new_round_removes_the_files_of_earlier_rounds_of_the_same_run(tmp_path):
    base = _params()
    for sequence in (0, 1):
        shared_copy.attach(str(tmp_path), "run", sequence, _shapes(base), lambda: base)
    shared_copy.attach(str(tmp_path), "other", 0, _shapes(base), lambda: base)
    assert [name.split("-", 2)[2] for name in _ours(tmp_path)] == ["other-000000.bin", "run-000001.bin"]
    assert shared_copy.remove_files(str(tmp_path), "run") == 1
    assert [name.split("-", 2)[2] for name in _ours(tmp_path)] == ["other-000000.bin"]


def test_a_cluster_round_base_is_written_once_from_row_pieces_and_mapped_read_only(tmp_path):
    base = _params()
    pieces = [base.syn0[:2], base.syn0[2:], base.syn1neg[:4], base.syn1neg[4:]]  # syn1 has no rows
    loads = []

    def load():
        loads.append(1)
        return iter(pieces)

    first = shared_copy.attach_base(str(tmp_path), "run", 7, _shapes(base), load)
    second = shared_copy.attach_base(str(tmp_path), "run", 7, _shapes(base), load)
    assert loads == [1]
    for mapped, expected in zip(second, base):
        assert np.array_equal(mapped, expected) and not mapped.flags.writeable
    # the training copy of the same round is made from the base, beside it
    copy, _ = shared_copy.attach(str(tmp_path), "run", 7, _shapes(base), lambda: first)
    copy.syn0[0, 0] = 99.0
    assert first.syn0[0, 0] == base.syn0[0, 0]
    assert [name.split("-", 2)[2] for name in _ours(tmp_path)] == ["run-000007.base", "run-000007.bin"]
    shared_copy.attach_base(str(tmp_path), "run", 8, _shapes(base), load)  # the next round
    assert [name.split("-", 2)[2] for name in _ours(tmp_path)] == ["run-000008.base"]


def test_parameters_that_do_not_fill_the_shapes_are_never_published(tmp_path):
    base = _params()
    with pytest.raises(ValueError, match="bytes for shapes"):
        shared_copy.attach_base(str(tmp_path), "run", 0, _shapes(base), lambda: iter([base.syn0]))
    assert _ours(tmp_path) == []


def test_the_drivers_copy_is_shared_read_only_with_its_workers(tmp_path):
    params = _params()
    mine, path = shared_copy.create_params_file(str(tmp_path), "run", params)
    theirs = shared_copy.open_params_file(path, _shapes(params))
    mine.syn1neg[1, 1] = 9.0
    assert theirs.syn1neg[1, 1] == 9.0 and np.array_equal(theirs.syn0, params.syn0)
    with pytest.raises(ValueError):
        theirs.syn0[0, 0] = 1.0


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no /dev/shm on this machine")
def test_copies_go_to_shared_memory_not_to_disk():
    assert shared_copy.scratch_directory(1 << 20) == shared_copy.MEMORY_DIRECTORY
    params = _params()
    mine, path = shared_copy.create_params_file(shared_copy.scratch_directory(1 << 20), "memtest", params)
    try:
        with open("/proc/mounts") as mounts:
            kinds = {line.split()[1]: line.split()[2] for line in mounts}
        assert kinds.get("/dev/shm") == "tmpfs" and path.startswith("/dev/shm/")
    finally:
        os.unlink(path)


def test_too_little_shared_memory_falls_back_to_the_local_disk(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(shared_copy, "memory_room", lambda directory=None: 1000)
    monkeypatch.setenv("SPARK_LOCAL_DIRS", str(tmp_path))
    assert shared_copy.scratch_directory(1 << 30) == str(tmp_path)
    assert "too little for a 1024 MiB parameter copy" in caplog.text


def test_files_of_a_killed_process_are_swept_by_the_next_one(tmp_path):
    """A task or driver killed with SIGKILL cannot clean up; its files name it, and the next file made
    on the host removes them once it is dead."""
    script = ("import sys, numpy as np; from sparkw2v import shared_copy; from sparkw2v.params import Params;"
              "p = Params(np.ones((4, 2), np.float32), np.zeros((0, 2), np.float32), np.ones((4, 2), np.float32));"
              f"shared_copy.create_params_file({str(tmp_path)!r}, 'dead', p); print('ok', flush=True);"
              "sys.stdin.read()")
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ok"
    assert len(_ours(tmp_path)) == 1
    assert shared_copy.sweep_stale(str(tmp_path)) == 0  # its owner is alive
    child.kill()
    child.wait()
    base = _params()
    shared_copy.attach(str(tmp_path), "alive", 0, _shapes(base), lambda: base)
    assert [name.split("-", 2)[2] for name in _ours(tmp_path)] == ["alive-000000.bin"]


def test_only_the_last_task_to_leave_reports_the_copy(tmp_path):
    """A task still training the copy will report every row after the one leaving now; a dead one will not."""
    base = _params()
    _, header = shared_copy.attach(str(tmp_path), "run", 0, _shapes(base), lambda: base)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        shared_copy.join(str(tmp_path), header)
        header[2] = sleeper.pid  # another task of the executor, still training
        assert shared_copy.leave(str(tmp_path), header) is False
        shared_copy.join(str(tmp_path), header)
        sleeper.kill()
        sleeper.wait()
        assert shared_copy.leave(str(tmp_path), header) is True  # the other task died: report
    finally:
        sleeper.kill()
    assert not header[1:].any() or all(not shared_copy._alive(int(pid)) for pid in header[1:] if pid)


def test_latest_rows_takes_each_row_from_the_newest_snapshot_holding_it():
    older = (10, np.array([0, 2]), np.array([[1.0], [2.0]], np.float32))
    newer = (20, np.array([2, 5]), np.array([[3.0], [4.0]], np.float32))
    rows, values = shared_copy.latest_rows([newer, older])
    assert rows.tolist() == [0, 2, 5]
    assert values[:, 0].tolist() == [1.0, 3.0, 4.0]
