import importlib.util

import pytest
import torch

from akdgbench.builtin.executors import submitit_executor
from akdgbench.builtin.executors.local import LocalExecutor
from akdgbench.builtin.executors.submitit_executor import SubmititExecutor
from akdgbench.errors import UsageError
from akdgbench.executor import make_executor


def square(x):
    return x * x


def test_local_runs_in_order_in_this_process():
    assert list(LocalExecutor().map(square, [3, 1, 2])) == [(3, 9), (1, 1), (2, 4)]
    assert LocalExecutor.in_process and not SubmititExecutor.in_process


@pytest.mark.parametrize("cluster", ["local", "debug"])
def test_submitit_runs_every_item(tmp_path, cluster):
    executor = make_executor(f"submitit:cluster={cluster}", folder=str(tmp_path))
    # a builtin: the job processes must be able to import the function by name
    assert sorted(executor.map(abs, [-1, -2, -3])) == [(-3, 3), (-2, 2), (-1, 1)]


def test_one_cell_per_gpu_group(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 5)
    assert SubmititExecutor(gpus_per_job=2)._local_slots() == [[0, 1], [2, 3]]
    assert SubmititExecutor(gpus_per_job=1, array_parallelism=2)._local_slots() == [[0], [1]]
    assert SubmititExecutor()._local_slots() == [[]]  # CPU: one job at a time


def test_too_few_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(UsageError, match="1 GPU\\(s\\) per job asked for, 0 here"):
        SubmititExecutor(gpus_per_job=1)._local_slots()


def test_bad_cluster():
    with pytest.raises(UsageError, match="cluster must be auto, slurm, local or debug"):
        make_executor("submitit:cluster=kubernetes")


def test_missing_submitit_is_a_clear_line(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(submitit_executor.importlib.util, "find_spec",
                        lambda name: None if name == "submitit" else real_find_spec(name))
    with pytest.raises(UsageError, match=r"pip install 'akdgbench\[slurm\]'"):
        list(SubmititExecutor(cluster="debug").map(square, [1]))
