"""``submitit``: each cell a job through submitit (SLURM job arrays, or local processes).

``cluster=auto`` submits to SLURM when ``sbatch`` is available and otherwise
runs local processes (one cell per GPU on a workstation); ``cluster=local``
and ``cluster=debug`` force submitit's local and in-process executors. A job
that is preempted or times out is requeued by submitit and its cell resumes
from its last checkpoint, because every cell resumes from disk when run again.
"""

from __future__ import annotations

import importlib.util
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
    submitit = _require_submitit()

    class ResumableCell(submitit.helpers.Checkpointable):
        """Requeued as the same call on preemption; the cell continues from its checkpoint."""

        def __init__(self, function: Callable[[Item], Result]) -> None:
            self.function = function

        def __call__(self, item: Item) -> Result:
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
        cluster = None if self.config["cluster"] == "auto" else self.config["cluster"]
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
        parameters: dict = {"timeout_min": int(self.config["timeout_min"])}
        if self.config["gpus_per_job"]:
            parameters["gpus_per_node"] = int(self.config["gpus_per_job"])
        if self.config["cpus_per_job"]:
            parameters["cpus_per_task"] = int(self.config["cpus_per_job"])
        if self.config["mem_gb"]:
            parameters["mem_gb"] = int(self.config["mem_gb"])
        if executor.cluster == "slurm":
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
        jobs = executor.map_array(_resumable(function), items)
        item_of_job = {id(job): item for job, item in zip(jobs, items, strict=True)}
        for job in submitit.helpers.as_completed(jobs):
            yield item_of_job[id(job)], job.result()


@hookimpl
def register_executors(register):
    register(SubmititExecutor)
