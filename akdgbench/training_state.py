"""What a training run leaves on disk: its checkpoint's contents, the final generator, samples.

A checkpoint holds everything a run needs to continue as if it had never
stopped: every module and optimizer, the gradient scalers, and every random
state (torch's, CUDA's, the latents', the data order's). Its fingerprint
refuses a resume with another setup.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from akdgbench import defaults
from akdgbench.architecture import Generator
from akdgbench.checkpoint import (
    DELETE_TO_RESTART,
    FORMAT_VERSION,
    GENERATOR_NAME,
    check_fingerprint,
    cpu_state_dict,
    load_file,
    save_atomically,
    weights_digest,
)
from akdgbench.errors import UsageError
from akdgbench.training_settings import describe_config

if TYPE_CHECKING:
    from akdgbench.engine import _Trainer

SAMPLES_NAME = "samples.png"


def checkpoint_fingerprint(trainer: _Trainer, teacher: Generator | None) -> dict[str, Any]:
    """What a checkpoint must have been made with to be resumed (the teacher's weights too)."""
    settings = trainer.settings
    teacher_name = None
    if teacher is not None:
        teacher_name = (describe_config(trainer.teacher_arch)
                        if trainer.teacher_arch is not None else type(teacher).__name__)
    return {
        "format": FORMAT_VERSION,
        "method": describe_config(trainer.method),
        "student": describe_config(trainer.student_arch),
        "teacher": teacher_name,
        "teacher_weights": weights_digest(teacher) if teacher is not None else None,
        "dataset": trainer.dataset.spec,
        "resolution": trainer.dataset.resolution,
        "channels": trainer.dataset.channels,
        **settings.fingerprint(trainer.student_arch),
        "device": trainer.device.type,
    }


def checkpoint_state(trainer: _Trainer, step: int) -> dict[str, Any]:
    """The checkpoint of ``trainer`` after ``step`` generator steps."""
    modules: dict[str, Any] = {
        "student": cpu_state_dict(trainer.student),
        "discriminators": {n: cpu_state_dict(d.module) for n, d in trainer.discriminators.items()},
        "generator_modules": {n: cpu_state_dict(m) for n, m in trainer.generator_modules.items()},
    }
    if trainer.ema is not None:
        modules["ema"] = cpu_state_dict(trainer.ema)
    device = trainer.device
    cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    return {
        "format": FORMAT_VERSION,
        "fingerprint": trainer.fingerprint,
        "step": step,
        "train_seconds": trainer.train_seconds,
        "modules": modules,
        "optimizers": {
            "generator": trainer.generator_optimizer.state_dict(),
            "discriminators": {n: d.optimizer.state_dict()
                               for n, d in trainer.discriminators.items()},
        },
        "scalers": {phase: scaler.state_dict() for phase, scaler in trainer.scalers.items()},
        "rng": {"torch": torch.get_rng_state(), "cuda": cuda_rng,
                "latent": trainer.latent_rng.get_state(), "data": trainer.real_batches.position},
    }


def restore_checkpoint(trainer: _Trainer) -> None:
    """Continue ``trainer`` from its checkpoint, if it has one of the same setup."""
    path = trainer.checkpoint_path
    if not path.exists():
        return
    saved = load_file(path, remedy=DELETE_TO_RESTART)
    if not isinstance(saved, dict) or saved.get("format") != FORMAT_VERSION:
        raise UsageError(f"checkpoint {path} is not an akdgbench training "
                         f"checkpoint of this version; {DELETE_TO_RESTART}")
    made_by = saved.get("fingerprint")
    if (trainer.extendable and isinstance(made_by, dict)
            and int(saved.get("step", 0)) <= trainer.settings.steps):
        made_by = {**made_by, "steps": trainer.settings.steps}  # a longer budget continues it
    check_fingerprint(path, made_by, trainer.fingerprint)
    try:
        modules, optimizers = saved["modules"], saved["optimizers"]
        trainer.student.load_state_dict(modules["student"])
        for name, part in trainer.discriminators.items():
            part.module.load_state_dict(modules["discriminators"][name])
            part.optimizer.load_state_dict(optimizers["discriminators"][name])
        for name, module in trainer.generator_modules.items():
            module.load_state_dict(modules["generator_modules"][name])
        trainer.generator_optimizer.load_state_dict(optimizers["generator"])
        if trainer.ema is not None:
            trainer.ema.load_state_dict(modules["ema"])
        for phase, scaler in trainer.scalers.items():
            scaler.load_state_dict(saved["scalers"][phase])
        rng = saved["rng"]
        torch.set_rng_state(rng["torch"])
        if trainer.device.type == "cuda" and rng["cuda"] is not None:
            torch.cuda.set_rng_state(rng["cuda"], trainer.device)
        trainer.latent_rng.set_state(rng["latent"])
        trainer.real_batches.restore(rng["data"])
        trainer.start_step = int(saved["step"])
        trainer.train_seconds = float(saved["train_seconds"])
    except (KeyError, RuntimeError, ValueError, TypeError) as exc:
        raise UsageError(f"checkpoint {path} does not match this setup "
                         f"({type(exc).__name__}: {str(exc)[:200]}); {DELETE_TO_RESTART}"
                         ) from None


def write_final_generator(generator: Generator, out_dir: Path, device: torch.device) -> Path:
    """``generator.pt`` (a plain state dict) and ``samples.png`` (fixed latents)."""
    path = out_dir / GENERATOR_NAME
    save_atomically(cpu_state_dict(generator), path)
    write_samples(generator, out_dir, device)
    return path


def write_samples(generator: Generator, out_dir: Path, device: torch.device) -> None:
    from torchvision.utils import save_image

    latents = generator.sample_latent(defaults.SAMPLE_GRID_SIZE, "cpu",
                                      generator=torch.Generator().manual_seed(
                                          defaults.SAMPLE_SEED))
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        images = generator(latents.to(device)).float().cpu()
    generator.train(was_training)
    if images.dim() != 4:
        return
    temporary = out_dir / f".{SAMPLES_NAME}.tmp"
    save_image(images, temporary, format="png", nrow=8, normalize=True, value_range=(-1, 1))
    os.replace(temporary, out_dir / SAMPLES_NAME)
