"""Every hook of akdgbench. This page is the whole plugin API.

Registration hooks receive a ``register`` callback: call it once per thing
your plugin provides, ``register(obj)`` (its ``name`` attribute is the name
users type) or ``register(obj, name="other")``. Lifecycle hooks observe a run
without changing it, so loggers (W&B, TensorBoard, Slack) are plugins too.

The annotations are for a plugin author's editor and type checker; the
classes they name are imported only while type checking, so importing this
module stays cheap and free of cycles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    import click
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase

    from akdgbench.architecture import Architecture
    from akdgbench.checkpoint_formats import CheckpointFormat
    from akdgbench.dataset import Dataset
    from akdgbench.executor import Executor
    from akdgbench.grid import Cell
    from akdgbench.method import Method

hookspec = pluggy.HookspecMarker("akdgbench")
hookimpl = pluggy.HookimplMarker("akdgbench")

Registered = TypeVar("Registered", contravariant=True)


class Register(Protocol[Registered]):
    """The callback a registration hook receives."""

    def __call__(self, obj: Registered, name: str | None = None, **details: Any) -> None:
        """Register ``obj`` under ``name``, by default its ``name`` attribute.

        ``details`` are what a kind documents beside the object (a feature
        extractor's ``prepare``).
        """


@hookspec
def register_methods(register: Register[type[Method]]) -> None:
    """Register distillation methods: subclasses of :class:`akdgbench.Method`.

    :param register: call ``register(MethodClass)`` once per method.
    """


@hookspec
def register_architectures(register: Register[type[Architecture]]) -> None:
    """Register generator/discriminator families: subclasses of :class:`akdgbench.Architecture`.

    :param register: call ``register(ArchitectureClass)`` once per family.
    """


@hookspec
def register_datasets(register: Register[type[Dataset]]) -> None:
    """Register data sets: subclasses of :class:`akdgbench.Dataset`.

    :param register: call ``register(DatasetClass)`` once per data set.
    """


@hookspec
def register_feature_extractors(register: Register[type[FeatureExtractorBase]]) -> None:
    """Register torch-fidelity feature extractors (``FeatureExtractorBase`` subclasses).

    :param register: call ``register(ExtractorClass, name="...")``; the name is what
        ``--feature-extractor`` takes. An extractor that needs a file it does not ship
        (Inception-v3's weights) passes ``prepare=function``: ``prepare(weights)`` gets the
        ``--inception-weights`` value (or None), finds the file (a clear ``UsageError``
        when it cannot) and returns ``(kwargs, cache_tag)``, the extra keyword arguments of
        torch-fidelity's ``calculate_metrics`` and a tag naming the weights in feature
        cache keys. Without it, an extractor class's ``cache_tag()`` (if any) names them.
    """


@hookspec
def register_executors(register: Register[type[Executor]]) -> None:
    """Register executors, which run the cells of a grid: :class:`akdgbench.Executor` subclasses.

    :param register: call ``register(ExecutorClass)`` once per executor.
    """


@hookspec(historic=True)
def register_commands(cli: click.Group) -> None:
    """Add click commands to the ``akdgbench`` command group.

    Historic: a plugin loaded after the group was built (``--plugins-dir``)
    still gets this call as it registers.

    :param cli: the root ``click.Group``; call ``@cli.command()`` on it.
    """


@hookspec
def register_checkpoint_formats(register: Register[type[CheckpointFormat]]) -> None:
    """Register teacher checkpoint formats, chosen by ``--teacher-checkpoint NAME:PATH``:
    subclasses of :class:`akdgbench.checkpoint_formats.CheckpointFormat`.

    :param register: call ``register(FormatClass)``; its ``name`` is the prefix.
    """


@hookspec
def on_cell_start(cell: Cell, cell_dir: Path) -> None:
    """A cell (one teacher/student/method/seed combination) starts training.

    :param cell: the :class:`akdgbench.grid.Cell` being run; its ``kind`` is
        ``"student"``, or ``"teacher"`` / ``"real"`` for the reference rows.
    :param cell_dir: the directory of the cell, where it checkpoints and logs.
    """


@hookspec
def on_train_step(cell: Cell | None, step: int, losses: dict[str, float]) -> None:
    """Losses were logged: called once per logging interval, not every step.

    :param cell: the cell being trained, or ``None`` for a teacher.
    :param step: the generator step just finished (1-based).
    :param losses: mean of each loss term over the interval, as Python floats.
    """


@hookspec
def on_cell_end(cell: Cell, row: dict[str, Any]) -> None:
    """A cell finished, failed or diverged.

    :param cell: the cell that ended.
    :param row: its row in the results: status, error, metrics, efficiency numbers.
    """
