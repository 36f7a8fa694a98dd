"""One fake training step and one fake method context, shared by the method tests.

A method sees the engine only through ``ctx`` (in ``setup``) and ``step`` (in
its losses), see :mod:`akdgbench.method`. These fakes give every attribute a
value the test chooses and record what the method asked for, so a test can
compare a loss with its formula on hand-made tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from akdgbench.losses import AdversarialLoss, HingeLoss

Images = Callable[[torch.Tensor], torch.Tensor]


def _stage_outputs(generator: nn.Module, z: torch.Tensor) -> list[torch.Tensor]:
    outputs, x = [], z
    for stage in generator.stages:
        x = stage(x)
        outputs.append(x)
    return outputs


class FakeContext:
    """What ``Method.setup(ctx)`` receives; records every part the method creates.

    :param discriminators: the critic ``new_discriminator(name)`` returns for each name.
    :param teacher_discriminator: what ``ctx.teacher_discriminator`` is.
    """

    def __init__(
        self,
        discriminators: dict[str, Images] | None = None,
        *,
        student: nn.Module | None = None,
        teacher: nn.Module | None = None,
        teacher_discriminator: Images | None = None,
        total_steps: int = 100,
        resolution: int = 16,
        channels: int = 1,
    ) -> None:
        self.discriminators = dict(discriminators or {})
        self.student, self.teacher = student, teacher
        self.student_arch = self.teacher_arch = None
        self.device = torch.device("cpu")
        self.total_steps, self.resolution, self.channels = total_steps, resolution, channels
        self._teacher_discriminator = teacher_discriminator
        #: (name, arch) of every ``new_discriminator`` call, in order
        self.created: list[tuple[str, Any]] = []
        #: name -> module of every ``add_generator_module`` call
        self.modules: dict[str, nn.Module] = {}
        #: names given to ``copy_teacher_discriminator``
        self.copied: list[str] = []

    @property
    def created_names(self) -> list[str]:
        return [name for name, _arch in self.created]

    def new_discriminator(self, name: str, arch: Any = None) -> Images:
        self.created.append((name, arch))
        return self.discriminators[name]

    def add_generator_module(self, name: str, module: nn.Module) -> nn.Module:
        self.modules[name] = module
        return module

    @property
    def teacher_discriminator(self) -> Images:
        assert self._teacher_discriminator is not None, "give the fake context one"
        return self._teacher_discriminator

    def copy_teacher_discriminator(self, name: str) -> Images:
        self.copied.append(name)
        return self.discriminators[name]


class FakeStep:
    """One training step as a method sees it: tensors the test chose, calls recorded.

    ``fake`` defaults to ``student(z)``; ``teacher_sample()`` returns
    ``teacher_images`` when given, else the teacher's images for a new latent.
    Every attribute may be set afterwards (``step.real = ...``, ``step.progress = ...``).
    """

    def __init__(
        self,
        *,
        adv: AdversarialLoss | None = None,
        real: torch.Tensor | None = None,
        z: torch.Tensor | None = None,
        fake: torch.Tensor | None = None,
        student: nn.Module | None = None,
        teacher: Images | None = None,
        teacher_images: torch.Tensor | None = None,
        index: int = 0,
        progress: float = 0.0,
    ) -> None:
        self.adv = adv if adv is not None else HingeLoss()
        self.real, self.z = real, z
        self.student, self._teacher = student, teacher
        self.fake = student(z) if fake is None and student is not None else fake
        self.teacher_images = teacher_images
        self.index, self.progress = index, progress
        #: the latents ``teacher(z)`` was called with, in order
        self.teacher_inputs: list[torch.Tensor] = []
        self.samples_drawn = 0
        self.latents_drawn = 0

    def teacher(self, z: torch.Tensor) -> torch.Tensor:
        self.teacher_inputs.append(z)
        return self._teacher(z)

    def teacher_sample(self) -> torch.Tensor:
        self.samples_drawn += 1
        if self.teacher_images is not None:
            return self.teacher_images
        return self._teacher(self.new_latent())

    def new_latent(self) -> torch.Tensor:
        self.latents_drawn += 1
        return torch.randn_like(self.z)

    def student_features(self) -> list[torch.Tensor]:
        return _stage_outputs(self.student, self.z)

    def teacher_features(self, z: torch.Tensor) -> list[torch.Tensor]:
        with torch.no_grad():
            return _stage_outputs(self._teacher, z)


@pytest.fixture
def fake_context() -> type[FakeContext]:
    """Makes a fake ``ctx``: ``fake_context({"d": critic}, student=..., teacher=...)``."""
    return FakeContext


@pytest.fixture
def fake_step() -> type[FakeStep]:
    """Makes a fake ``step``: ``fake_step(real=..., fake=..., adv=..., teacher=...)``."""
    return FakeStep
