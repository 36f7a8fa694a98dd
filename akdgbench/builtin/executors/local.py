"""``local``: cells on this machine, one after another or side by side (``jobs``).

Small CPU cells do not use many cores well, so several run side by side in
worker processes, each capped to its share of the cores (torch, OpenMP and
BLAS threads alike: oversubscribed threads made steps 10-20x slower). On a
machine with several GPUs each worker owns one GPU. One job, or a single
item, runs in this process with all its threads.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any

import torch
from tqdm import tqdm

from akdgbench import hookimpl
from akdgbench.errors import UsageError
from akdgbench.executor import Executor, Item, Result
from akdgbench.hardware import available_cores, default_jobs, detect, parse_jobs

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class LocalExecutor(Executor):
    name = "local"
    description = "run cells on this machine, jobs=N side by side (auto: one per GPU or core)"
    options: dict[str, Any] = {"jobs": "auto"}
    in_process = True

    def __init__(self, **given: Any) -> None:
        super().__init__(**given)
        jobs = parse_jobs(self.config["jobs"])
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.jobs = default_jobs(device, detect()) if jobs == "auto" else jobs

    def map(
        self, function: Callable[[Item], Result], items: list[Item]
    ) -> Iterator[tuple[Item, Result]]:
        workers = min(self.jobs, len(items))
        if workers <= 1:
            for item in items:
                yield item, function(item)
            return
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        threads = max(1, available_cores() // workers)
        spawn = multiprocessing.get_context("spawn")  # a forked torch can deadlock
        slots = spawn.Queue()
        for slot in range(workers):
            slots.put(slot % gpus if gpus else None)
        with _thread_caps(threads), ProcessPoolExecutor(
            max_workers=workers,
            mp_context=spawn,
            initializer=_start_worker,
            initargs=(threads, slots),
        ) as pool, _stopped_on_interrupt(pool):
            pending = {pool.submit(function, item): item for item in items}
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        raise UsageError(
                            "a worker process died (killed, or out of memory?) while cells ran "
                            "side by side; finished cells are saved: rerun the same command to "
                            "resume, with --jobs 1 if it happens again") from None
                    yield pending.pop(future), result


@contextmanager
def _stopped_on_interrupt(pool: ProcessPoolExecutor) -> Iterator[None]:
    """On Ctrl-C, end the workers and drop the cells not started.

    Leaving the pool's ``with`` would otherwise wait for every queued cell, and Ctrl-C would
    train the rest of the grid. Interrupted cells resume from their last checkpoint.
    """
    others = set(multiprocessing.active_children())  # the pool starts its workers later
    try:
        yield
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in set(multiprocessing.active_children()) - others:
            worker.terminate()
        raise


@contextmanager
def _thread_caps(threads: int) -> Iterator[None]:
    """Worker processes inherit these before any library reads them."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: str(threads) for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start_worker(threads: int, slots: Any) -> None:
    # Ctrl-C is the run's to handle (it ends its workers): a worker interrupted on its own
    # would go on to the next queued cell.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # tqdm's default lock is a named semaphore, which a worker ended that way leaves behind
    # (a warning at exit); a worker's bars need no lock shared between processes
    tqdm.set_lock(threading.RLock())
    _exit_with_parent(os.getppid())
    gpu = slots.get()
    if gpu is not None:  # before CUDA starts in this process
        os.environ["CUDA_VISIBLE_DEVICES"] = str(gpu)
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(threads)


def _exit_with_parent(parent: int, every_s: float = 1.0) -> None:
    """End this worker when the run that started it is gone.

    A run killed with SIGTERM or SIGKILL (a scheduler's time limit, ``kill``)
    cannot shut its pool down, and its workers would train their cells on to
    the end, holding the cores; their checkpoints make a rerun resume anyway.
    """
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


@hookimpl
def register_executors(register):
    register(LocalExecutor)
