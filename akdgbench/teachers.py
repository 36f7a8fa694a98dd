"""Teachers: a user's checkpoint, or trained once with ``vanilla`` and cached.

The cache key is everything that decides the teacher's weights (data set,
architecture, steps, seed, recipe); a file lock keeps two processes from
training the same teacher at once, and an interrupted teacher run resumes
from its checkpoint like any other training run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from filelock import FileLock

from akdgbench.architecture import Architecture, Generator
from akdgbench.checkpoint import (
    GENERATOR_NAME,
    extract_generator_state,
    load_file,
    load_generator_weights,
)
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.training_settings import TrainSettings, describe_config, resolve_device

KEY_FILE = "teacher.json"


def get_teacher(
    *,
    dataset: Dataset,
    teacher_arch: Architecture,
    steps: int,
    settings: TrainSettings,
    cache_dir: str | Path,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> Generator:
    """The teacher generator, frozen (eval mode, no gradients) on the settings' device.

    :param checkpoint: a state dict of ``teacher_arch``'s generator (raw, our
        ``generator.pt``, or a training checkpoint); ``None`` trains one.
    :param settings: the training recipe when a teacher is trained (its
        ``steps`` are replaced by ``steps``).
    """
    device = resolve_device(settings.device)
    if checkpoint is not None:
        generator = load_teacher_checkpoint(Path(checkpoint).expanduser(), dataset, teacher_arch)
    else:
        generator = _cached_or_trained(dataset, teacher_arch, steps, settings, Path(cache_dir),
                                       progress)
    return generator.to(device).eval().requires_grad_(False)


def load_teacher_checkpoint(path: Path, dataset: Dataset, teacher_arch: Architecture) -> Generator:
    generator = teacher_arch.build_generator(dataset.resolution, dataset.channels)
    state = extract_generator_state(load_file(path, "teacher checkpoint"), path)
    load_generator_weights(generator, state, path,
                           f"the teacher {describe_config(teacher_arch)} "
                           f"at {dataset.resolution}px")
    return generator


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
                       settings: TrainSettings, cache_dir: Path, progress: bool) -> Generator:
    from akdgbench.engine import train
    from akdgbench.method import make_method

    settings = dataclasses.replace(settings, steps=steps)
    key = teacher_key(dataset, teacher_arch, settings)
    directory = teacher_dir(cache_dir, key)
    directory.mkdir(parents=True, exist_ok=True)
    with FileLock(str(directory) + ".lock"):
        weights = directory / GENERATOR_NAME
        if weights.exists():
            return load_teacher_checkpoint(weights, dataset, teacher_arch)
        (directory / KEY_FILE).write_text(json.dumps(key, indent=2, sort_keys=True) + "\n")
        outcome = train(dataset=dataset, student_arch=teacher_arch, method=make_method("vanilla"),
                        settings=settings, out_dir=directory, progress=progress)
        if outcome.status != "done" or outcome.generator is None:
            raise UsageError(f"training the teacher {teacher_arch.spec} diverged "
                             f"({outcome.error}); try another teacher seed or a lower lr "
                             f"(its run is in {directory})")
        return outcome.generator
