"""Teachers: a user's checkpoint, or trained once with ``vanilla`` and cached.

The cache key is everything that decides the teacher's weights (data set,
architecture, steps, seed, recipe); a file lock keeps two processes from
training the same teacher at once, and an interrupted teacher run resumes
from its checkpoint like any other training run. A teacher comes with its
trained discriminator where one exists (the cached run's ``checkpoint.pt``
keeps it with its optimizer state), for methods that distil through it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from torch import nn

from akdgbench.architecture import Architecture, Generator
from akdgbench.checkpoint import (
    CHECKPOINT_NAME,
    DELETE_TO_RESTART,
    GENERATOR_NAME,
    extract_discriminator_state,
    extract_generator_state,
    load_file,
    load_generator_weights,
)
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.results import DONE
from akdgbench.training_log import EVAL_LOG_NAME
from akdgbench.training_settings import TrainSettings, describe_config, resolve_device

if TYPE_CHECKING:
    from akdgbench.engine import EvalCallback

KEY_FILE = "teacher.json"


@dataclass
class Teacher:
    """A teacher generator and, where its source kept one, its trained discriminator."""

    generator: Generator
    discriminator: nn.Module | None = None
    discriminator_optimizer_state: dict[str, Any] | None = None
    #: why ``discriminator`` is ``None``, for the error of a method that needs it
    no_discriminator_reason: str = ""
    #: the FID curve of its training (``eval_log.csv``) where it was trained here with one
    eval_log: Path | None = None

    def require_discriminator(self, method_spec: str) -> nn.Module:
        if self.discriminator is None:
            raise UsageError(f"method {method_spec!r} needs the teacher's discriminator, but "
                             f"{self.no_discriminator_reason or 'the teacher has none'}")
        return self.discriminator

    def frozen(self, device: Any) -> Teacher:
        self.generator = self.generator.to(device).eval().requires_grad_(False)
        if self.discriminator is not None:
            self.discriminator = self.discriminator.to(device).eval().requires_grad_(False)
        return self


def get_teacher(
    *,
    dataset: Dataset,
    teacher_arch: Architecture,
    steps: int,
    settings: TrainSettings,
    cache_dir: str | Path,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    eval_every: int = 0,
    on_eval: EvalCallback | None = None,
) -> Teacher:
    """The teacher, frozen (eval mode, no gradients) on the settings' device.

    :param checkpoint: a state dict of ``teacher_arch``'s generator (raw, our
        ``generator.pt``, or a training checkpoint, which also holds the
        discriminator), or ``NAME:PATH`` for a checkpoint format plugin
        (``mimicry:``); ``None`` trains one.
    :param settings: the training recipe when a teacher is trained (its
        ``steps`` are replaced by ``steps``).
    :param eval_every, on_eval: score a teacher trained here every ``eval_every`` steps,
        as a student's curve is (its ``eval_log.csv``; they do not change its weights).
    """
    device = resolve_device(settings.device)
    if checkpoint is not None:
        teacher = load_teacher_checkpoint(checkpoint, dataset, teacher_arch)
    else:
        teacher = _cached_or_trained(dataset, teacher_arch, steps, settings, Path(cache_dir),
                                     progress, eval_every, on_eval)
    return teacher.frozen(device)


def load_teacher_checkpoint(checkpoint: str | Path, dataset: Dataset,
                            teacher_arch: Architecture) -> Teacher:
    """A teacher from ``PATH`` (akdgbench's own files) or ``NAME:PATH`` (a checkpoint format
    plugin, e.g. ``mimicry:``); a file that does not fit ``teacher_arch`` is a ``UsageError``."""
    from akdgbench.checkpoint_formats import split_checkpoint_spec

    checkpoint_format, path = split_checkpoint_spec(str(checkpoint))
    if checkpoint_format is not None:
        return checkpoint_format.load(path, dataset, teacher_arch)
    return load_akdgbench_checkpoint(path, dataset, teacher_arch)


def describe_teacher(dataset: Dataset, teacher_arch: Architecture) -> str:
    return f"the teacher {describe_config(teacher_arch)} at {dataset.resolution}px"


def load_akdgbench_checkpoint(path: Path, dataset: Dataset, teacher_arch: Architecture,
                              discriminator_file: Path | None = None) -> Teacher:
    """A generator state dict (raw, ``generator.pt`` or a training checkpoint), and the
    discriminator of a training checkpoint (``discriminator_file``, else ``path`` itself)."""
    generator = teacher_arch.build_generator(dataset.resolution, dataset.channels)
    cached = discriminator_file is not None  # a teacher this run trained, else the user's file
    loaded = load_file(path, "teacher checkpoint", remedy=DELETE_TO_RESTART if cached else None)
    load_generator_weights(generator, extract_generator_state(loaded, path), path,
                           describe_teacher(dataset, teacher_arch))
    teacher = Teacher(generator)
    if discriminator_file is not None:
        if not discriminator_file.is_file():
            teacher.no_discriminator_reason = (f"the teacher's run in {discriminator_file.parent} "
                                               f"has no {discriminator_file.name}")
            return teacher
        loaded, path = load_file(discriminator_file, "teacher checkpoint"), discriminator_file
    found = extract_discriminator_state(loaded)
    if found is None:
        teacher.no_discriminator_reason = (f"teacher checkpoint {path} holds the generator only "
                                           "(give a training checkpoint.pt to keep its "
                                           "discriminator)")
        return teacher
    discriminator = teacher_arch.build_discriminator(dataset.resolution, dataset.channels)
    try:
        load_generator_weights(discriminator, found[0], path,
                               f"the discriminator of {describe_teacher(dataset, teacher_arch)}")
    except UsageError as exc:  # the generator is usable; only methods that need D refuse it
        teacher.no_discriminator_reason = str(exc)
        return teacher
    teacher.discriminator, teacher.discriminator_optimizer_state = discriminator, found[1]
    return teacher


def teacher_key(dataset: Dataset, teacher_arch: Architecture, settings: TrainSettings
                ) -> dict[str, Any]:
    """What decides a trained teacher's weights (the device does not: a GPU-trained teacher
    is reused on the CPU)."""
    return {
        "dataset": dataset.spec,
        "resolution": dataset.resolution,
        "channels": dataset.channels,
        "teacher": describe_config(teacher_arch),
        **settings.fingerprint(teacher_arch),
    }


def teacher_dir(cache_dir: Path, key: dict[str, Any]) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    name = key["teacher"].split(":")[0]
    dataset = key["dataset"].split(":")[0]
    return cache_dir / f"{name}-{dataset}-{key['steps']}steps-seed{key['seed']}-{digest}"


def _cached_or_trained(dataset: Dataset, teacher_arch: Architecture, steps: int,
                       settings: TrainSettings, cache_dir: Path, progress: bool,
                       eval_every: int = 0, on_eval: EvalCallback | None = None) -> Teacher:
    from akdgbench.engine import train
    from akdgbench.plugins import make, train_step_reporter

    settings = dataclasses.replace(settings, steps=steps)
    key = teacher_key(dataset, teacher_arch, settings)
    directory = teacher_dir(cache_dir, key)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock"):
        weights = directory / GENERATOR_NAME
        if not weights.exists():
            (directory / KEY_FILE).write_text(json.dumps(key, indent=2, sort_keys=True) + "\n")
            outcome = train(dataset=dataset, student_arch=teacher_arch,
                            method=make("method", "vanilla"),
                            settings=settings, out_dir=directory, progress=progress,
                            on_log=train_step_reporter(None), eval_every=eval_every,
                            on_eval=on_eval)
            if outcome.status != DONE or outcome.generator is None:
                raise UsageError(f"training the teacher {teacher_arch.spec} diverged "
                                 f"({outcome.error}); try another teacher seed or a lower lr "
                                 f"(its run is in {directory})")
        teacher = load_akdgbench_checkpoint(weights, dataset, teacher_arch,
                                            discriminator_file=directory / CHECKPOINT_NAME)
        log = directory / EVAL_LOG_NAME
        teacher.eval_log = log if log.is_file() else None
        return teacher
