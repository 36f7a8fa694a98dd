"""The engine's side of the method API: what ``setup(ctx)`` and each loss receive.

:class:`TrainContext` is ``akdgbench.method.MethodContext`` (build discriminators
and extra trainable parts); :class:`TrainStep` is ``akdgbench.method.Step``
(real and fake images, latents, the teacher and its features), each computed
once per step, on first use.
"""

from __future__ import annotations

import copy
from functools import cached_property
from typing import TYPE_CHECKING

import torch
from torch import nn

from akdgbench.architecture import Architecture
from akdgbench.errors import UsageError

if TYPE_CHECKING:
    from akdgbench.engine import _Trainer


class TrainContext:
    """The engine's side of ``akdgbench.method.MethodContext``."""

    def __init__(self, trainer: _Trainer) -> None:
        self._trainer = trainer
        self.student = trainer.student
        self.teacher = trainer.teacher
        self.student_arch = trainer.student_arch
        self.teacher_arch = trainer.teacher_arch
        self.device = trainer.device
        self.total_steps = trainer.settings.steps
        self.resolution = trainer.dataset.resolution
        self.channels = trainer.dataset.channels

    def new_discriminator(self, name: str, arch: Architecture | None = None) -> nn.Module:
        module = (arch or self.student_arch).build_discriminator(self.resolution, self.channels)
        return self._trainer.add_discriminator(name, module)

    @property
    def teacher_discriminator(self) -> nn.Module:
        trainer = self._trainer
        if trainer.teacher_discriminator is None:
            raise UsageError(f"method {trainer.method.name!r} used the teacher's discriminator "
                             "but does not declare needs_teacher_discriminator = True")
        return trainer.teacher_discriminator_forward

    def copy_teacher_discriminator(self, name: str) -> nn.Module:
        trainer = self._trainer
        if trainer.teacher_discriminator is None:
            return self.teacher_discriminator  # raises the error above
        module = copy.deepcopy(trainer.teacher_discriminator).requires_grad_(True)
        return trainer.add_discriminator(name, module)

    def add_generator_module(self, name: str, module: nn.Module) -> nn.Module:
        trainer = self._trainer
        if name in trainer.generator_modules:
            raise UsageError(f"method {trainer.method.name!r} added module {name!r} twice")
        module = trainer.prepare_module(module)
        trainer.generator_modules[name] = module
        return module


class TrainStep:
    """The engine's side of ``akdgbench.method.Step``: everything computed once, on first use."""

    def __init__(self, trainer: _Trainer, index: int, discriminator_phase: bool) -> None:
        self._trainer = trainer
        self._discriminator_phase = discriminator_phase
        self.index = index
        self.progress = index / trainer.settings.steps
        self.adv = trainer.adversarial_loss
        self._teacher_cache: tuple[torch.Tensor, list[torch.Tensor]] | None = None

    @cached_property
    def real(self) -> torch.Tensor:
        return self._trainer.real_batches.next()

    @cached_property
    def z(self) -> torch.Tensor:
        return self.new_latent()

    @cached_property
    def fake(self) -> torch.Tensor:
        return self._student_outputs[-1]

    @cached_property
    def _student_outputs(self) -> list[torch.Tensor]:
        if self._discriminator_phase:
            with torch.no_grad():
                return self._trainer.student_forward(self.z)
        return self._trainer.student_forward(self.z)

    def student_features(self) -> list[torch.Tensor]:
        return list(self._student_outputs)

    def teacher(self, z: torch.Tensor) -> torch.Tensor:
        return self._teacher_outputs(z)[-1]

    def teacher_features(self, z: torch.Tensor) -> list[torch.Tensor]:
        return list(self._teacher_outputs(z))

    def _teacher_outputs(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The teacher's stage outputs for ``z``; one forward per latent batch and step."""
        trainer = self._trainer
        if trainer.teacher is None:
            raise UsageError(f"method {trainer.method.name!r} used the teacher but does not "
                             "declare needs_teacher = True")
        if self._teacher_cache is not None and self._teacher_cache[0] is z:
            return self._teacher_cache[1]
        with torch.no_grad():
            outputs = trainer.teacher_forward(z)
        self._teacher_cache = (z, outputs)
        return outputs

    def teacher_sample(self) -> torch.Tensor:
        trainer = self._trainer
        if trainer.teacher is None:
            return self.teacher(self.z)  # raises the error above
        return self.teacher(trainer.teacher.sample_latent(
            trainer.settings.batch_size, trainer.device, generator=trainer.latent_rng))

    def new_latent(self) -> torch.Tensor:
        trainer = self._trainer
        return trainer.student.sample_latent(trainer.settings.batch_size, trainer.device,
                                             generator=trainer.latent_rng)
