"""``submitit``: each cell a job through submitit (SLURM job arrays, or local processes).

``cluster=auto`` submits to SLURM when ``sbatch`` is available and otherwise
runs local processes (one cell per GPU on a workstation); ``cluster=local``
and ``cluster=debug`` force submitit's local and in-process executors. A job
that is preempted or times out is requeued by submitit and its cell resumes
from its last checkpoint, because every cell resumes from disk when run again.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from akdgbench import hookimpl
from akdgbench.errors import UsageError
from akdgbench.executor import Executor, Item, Result


def _require_submitit():
    if importlib.util.find_spec("submitit") is None:
        raise UsageError(
            "the submitit executor needs the submitit package: pip install 'akdgbench[slurm]'"
        )
    import submitit

    return submitit


def _resumable(function: Callable[[Item], Result]):
    from akdgbench.plugins import load_selection, loaded_plugins  # the plugins import this module

    submitit = _require_submitit()

    class ResumableCell(submitit.helpers.Checkpointable):
        """Requeued as the same call on preemption; the cell continues from its checkpoint.

        The job process loads the plugins of the submitting one before it
        calls ``function``, so names from ``./plugins`` resolve there too.
        """

        def __init__(self, function: Callable[[Item], Result]) -> None:
            self.function = function
            self.plugins = loaded_plugins()

        def __call__(self, item: Item) -> Result:
            load_selection(self.plugins)
            return self.function(item)

    return ResumableCell(function)


class SubmititExecutor(Executor):
    name = "submitit"
    description = "one job per cell through submitit: SLURM job arrays, or local processes"
    options = {
        "cluster": "auto",  # auto | slurm | local | debug
        "folder": "",  # job logs; default RUN_DIR/submitit
        "partition": "",
        "gpus_per_job": 0,
        "cpus_per_job": 0,
        "timeout_min": 24 * 60,
        "array_parallelism": 64,
        "mem_gb": 0,
    }

    def __init__(self, **given) -> None:
        super().__init__(**given)
        if self.config["cluster"] not in ("auto", "slurm", "local", "debug"):
            raise UsageError(
                f"executor 'submitit': cluster must be auto, slurm, local or debug, "
                f"not {self.config['cluster']!r}"
            )

    def _executor(self, folder: Path):
        submitit = _require_submitit()
        cluster = self.config["cluster"]
        if cluster == "auto":
            cluster = submitit.AutoExecutor.which()  # slurm when sbatch is there, else local
        parameters: dict = {"timeout_min": int(self.config["timeout_min"])}
        if cluster == "local":  # the plain one: it takes visible_gpus per job
            executor = submitit.LocalExecutor(folder=folder)
            executor.update_parameters(**parameters)
            return executor
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        if self.config["gpus_per_job"]:
            parameters["gpus_per_node"] = int(self.config["gpus_per_job"])
        if self.config["cpus_per_job"]:
            parameters["cpus_per_task"] = int(self.config["cpus_per_job"])
        if self.config["mem_gb"]:
            parameters["mem_gb"] = int(self.config["mem_gb"])
        if cluster == "slurm":
            if self.config["partition"]:
                parameters["slurm_partition"] = self.config["partition"]
            parameters["slurm_array_parallelism"] = int(self.config["array_parallelism"])
        executor.update_parameters(**parameters)
        return executor

    def map(
        self, function: Callable[[Item], Result], items: list[Item]
    ) -> Iterator[tuple[Item, Result]]:
        if not items:
            return
        submitit = _require_submitit()
        folder = Path(self.config["folder"] or "submitit").expanduser()
        executor = self._executor(folder)
        if isinstance(executor, submitit.LocalExecutor):
            yield from self._map_on_local_slots(executor, _resumable(function), items)
            return
        jobs = executor.map_array(_resumable(function), items)
        item_of_job = {id(job): item for job, item in zip(jobs, items, strict=True)}
        for job in submitit.helpers.as_completed(jobs):
            yield item_of_job[id(job)], job.result()

    def _local_slots(self) -> list[list[int]]:
        """GPU ids per concurrent job: one cell per GPU (or group), one job at a time on CPU."""
        import torch

        per_job = int(self.config["gpus_per_job"])
        if per_job <= 0:
            return [[]]
        available = torch.cuda.device_count()
        if available < per_job:
            raise UsageError(
                f"executor 'submitit': {per_job} GPU(s) per job asked for, {available} here"
            )
        slots = [list(range(i, i + per_job)) for i in range(0, available - per_job + 1, per_job)]
        return slots[: max(1, int(self.config["array_parallelism"]))]

    def _map_on_local_slots(self, executor, function, items):
        """submitit's local executor starts every job at once; this keeps one per slot."""
        pending, free, running = list(items), self._local_slots(), []
        while pending or running:
            while pending and free:
                slot = free.pop(0)
                executor.update_parameters(visible_gpus=tuple(slot), gpus_per_node=len(slot))
                item = pending.pop(0)
                running.append((executor.submit(function, item), item, slot))
            finished = [entry for entry in running if entry[0].done()]
            if not finished:
                time.sleep(0.5)
                continue
            for entry in finished:
                running.remove(entry)
                free.append(entry[2])
                yield entry[1], entry[0].result()


@hookimpl
def register_executors(register):
    register(SubmititExecutor)
