import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from akdgbench.builtin.executors import local, submitit_executor
from akdgbench.builtin.executors.local import LocalExecutor
from akdgbench.builtin.executors.submitit_executor import SubmititExecutor
from akdgbench.errors import UsageError
from akdgbench.hardware import available_cores
from akdgbench.plugins import make


def square(x):
    return x * x


def worker_threads(_):
    import os

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS"), os.getpid()


def test_local_runs_in_order_in_this_process():
    assert list(LocalExecutor(jobs=1).map(square, [3, 1, 2])) == [(3, 9), (1, 1), (2, 4)]
    assert LocalExecutor.in_process and not SubmititExecutor.in_process


@pytest.mark.parametrize("cluster", ["local", "debug"])
def test_submitit_runs_every_item(tmp_path, cluster):
    executor = make("executor", f"submitit:cluster={cluster}", folder=str(tmp_path))
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
        make("executor", "submitit:cluster=kubernetes")


def test_missing_submitit_is_a_clear_line(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(submitit_executor.importlib.util, "find_spec",
                        lambda name: None if name == "submitit" else real_find_spec(name))
    with pytest.raises(UsageError, match=r"pip install 'akdgbench\[slurm\]'"):
        list(SubmititExecutor(cluster="debug").map(square, [1]))


def test_local_side_by_side_caps_each_worker_to_its_share_of_threads(monkeypatch):
    monkeypatch.setattr(local, "available_cores", lambda: 4)
    results = dict(LocalExecutor(jobs=2).map(worker_threads, [0, 1, 2]))
    assert sorted(results) == [0, 1, 2]
    for torch_threads, omp_threads, pid in results.values():
        assert (torch_threads, omp_threads) == (2, "2")
        assert pid != os.getpid()
    assert "OMP_NUM_THREADS" not in os.environ or os.environ["OMP_NUM_THREADS"] != "2"


def test_local_one_item_runs_here_with_all_threads():
    [(_, (threads, _, pid))] = list(LocalExecutor(jobs=2).map(worker_threads, [0]))
    assert pid == os.getpid() and threads == torch.get_num_threads()


@pytest.mark.parametrize("jobs", ["0", "-1", "abc", "1.5"])
def test_local_bad_jobs(jobs):
    with pytest.raises(UsageError, match="jobs must be auto or a positive integer"):
        make("executor", f"local:jobs={jobs}")


def test_local_auto_jobs_is_one_per_core_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert LocalExecutor().jobs == available_cores()


LONG_CELLS_RUN = '''
import os, sys, time
from akdgbench.builtin.executors.local import LocalExecutor

def train_for_long(item):
    with open(os.path.join(sys.argv[1], f"worker-{os.getpid()}-cell-{item}"), "w"):
        pass
    time.sleep(120)

if __name__ == "__main__":
    list(LocalExecutor(jobs=2).map(train_for_long, [0, 1, 2, 3]))
'''


def _two_cells_started(tmp_path, **popen_options) -> subprocess.Popen:
    """LONG_CELLS_RUN running, once both its workers have begun a cell."""
    script = tmp_path / "run.py"
    script.write_text(LONG_CELLS_RUN)
    run = subprocess.Popen([sys.executable, str(script), str(tmp_path)], **popen_options)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker-*"))) < 2:
        if time.monotonic() > deadline or run.poll() is not None:
            run.kill()
            pytest.fail("workers never started")
        time.sleep(0.1)
    return run


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for whoever adopted it to reap it."""
    try:
        status = open(f"/proc/{pid}/status").read()  # noqa: SIM115
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process states from /proc")
def test_workers_end_when_the_run_is_killed(tmp_path):
    """A run stopped by SIGTERM (a time limit, ``kill``) must not leave workers holding cores."""
    run = _two_cells_started(tmp_path)
    try:
        workers = [int(path.name.split("-")[1]) for path in tmp_path.glob("worker-*")]
        run.send_signal(signal.SIGTERM)
        run.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)]
    finally:
        run.kill()
        for path in tmp_path.glob("worker-*"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(path.name.split("-")[1]), signal.SIGKILL)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="sends Ctrl-C to a process group")
def test_ctrl_c_stops_cells_side_by_side_without_starting_the_queued_ones(tmp_path):
    """Ctrl-C reaches the run and its workers; the workers' cells stop, and the run must not
    then wait while the workers train the cells still queued."""
    run = _two_cells_started(tmp_path, start_new_session=True, stderr=subprocess.DEVNULL)
    try:
        os.killpg(run.pid, signal.SIGINT)
        run.wait(timeout=30)
        started = sorted(path.name.rpartition("-")[2] for path in tmp_path.glob("worker-*"))
        assert started == ["0", "1"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
