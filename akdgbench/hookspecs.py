"""Every hook of akdgbench. This page is the whole plugin API.

Registration hooks receive a ``register`` callback: call it once per thing
your plugin provides, ``register(obj)`` (its ``name`` attribute is the name
users type) or ``register(obj, name="other")``. Lifecycle hooks observe a run
without changing it, so loggers (W&B, TensorBoard, Slack) are plugins too.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("akdgbench")
hookimpl = pluggy.HookimplMarker("akdgbench")


@hookspec
def register_methods(register: Any) -> None:
    """Register distillation methods: subclasses of :class:`akdgbench.Method`."""


@hookspec
def register_architectures(register: Any) -> None:
    """Register generator/discriminator families: subclasses of :class:`akdgbench.Architecture`."""


@hookspec
def register_datasets(register: Any) -> None:
    """Register data sets: subclasses of :class:`akdgbench.Dataset`."""


@hookspec
def register_feature_extractors(register: Any) -> None:
    """Register torch-fidelity feature extractors (``FeatureExtractorBase`` subclasses)."""


@hookspec
def register_executors(register: Any) -> None:
    """Register executors, which run the cells of a grid: :class:`akdgbench.Executor` subclasses."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``akdgbench`` command group.

    :param cli: the root ``click.Group``; call ``@cli.command()`` on it.
    """


@hookspec
def register_checkpoint_formats(register: Any) -> None:
    """Register teacher checkpoint formats, chosen by ``--teacher-checkpoint NAME:PATH``:
    subclasses of :class:`akdgbench.checkpoint_formats.CheckpointFormat`.

    :param register: call ``register(FormatClass)``; its ``name`` is the prefix.
    """


@hookspec
def on_cell_start(cell: Any, cell_dir: Any) -> None:
    """A cell (one teacher/student/method/seed combination) starts training.

    :param cell: the :class:`akdgbench.runner.Cell` being run.
    :param cell_dir: the ``pathlib.Path`` of its directory.
    """


@hookspec
def on_train_step(cell: Any, step: int, losses: dict[str, float]) -> None:
    """Losses were logged: called once per logging interval, not every step.

    :param cell: the cell being trained, or ``None`` for a teacher.
    :param step: the generator step just finished (1-based).
    :param losses: mean of each loss term over the interval, as Python floats.
    """


@hookspec
def on_cell_end(cell: Any, row: dict[str, Any]) -> None:
    """A cell finished, failed or diverged; ``row`` is its row in the results."""
