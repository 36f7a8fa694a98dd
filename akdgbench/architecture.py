"""The contract between architecture plugins and the rest of akdgbench.

An architecture family builds a generator and a discriminator for a data
set's resolution and channel count. Its generator is an ordered list of
``stages`` whose composition is the whole generator, so methods such as LIT
can tap and feed intermediate representations.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from akdgbench.specs import Configurable


class Generator(nn.Module):
    """``forward(z)`` runs ``stages`` in order and returns images in [-1, 1], shape BxCxHxW."""

    z_dim: int
    stages: nn.ModuleList
    #: layers as the AKDG paper counts them (linear, conv, transposed conv on the main path)
    layer_count: int

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z
        for stage in self.stages:
            x = stage(x)
        return x

    def stage_outputs(self, z: torch.Tensor) -> list[torch.Tensor]:
        """Every stage's output for ``z`` in one forward, in order; the last is the image."""
        outputs = []
        x = z
        for stage in self.stages:
            x = stage(x)
            outputs.append(x)
        return outputs

    def sample_latent(
        self, n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.randn(n, self.z_dim, device=device, generator=generator)


class Architecture(Configurable):
    """A generator/discriminator family, configured by a spec such as ``dcgan:width=0.25``."""

    plugin_kind = "architecture"
    #: overrides applied when the family is used as a teacher / as a student
    teacher_preset: ClassVar[dict[str, Any]] = {}
    student_preset: ClassVar[dict[str, Any]] = {}
    #: the training recipe of the family's paper; every value can be overridden by the user
    training_defaults: ClassVar[dict[str, Any]] = {
        "loss": "ns",
        "lr": 2e-4,
        "betas": (0.5, 0.999),
        "n_dis": 1,
        "lr_decay": "none",
    }

    def __init__(self, role: str = "student", **given: Any) -> None:
        if role not in ("teacher", "student"):
            raise ValueError(f"role must be 'teacher' or 'student', not {role!r}")
        self.role = role
        super().__init__(**given)

    def preset(self) -> dict[str, Any]:
        """The role's preset (the spec, ``spec``, leaves it implied by the role)."""
        return self.teacher_preset if self.role == "teacher" else self.student_preset

    def build_generator(self, resolution: int, channels: int) -> Generator:
        raise NotImplementedError

    def build_discriminator(self, resolution: int, channels: int) -> nn.Module:
        """A discriminator returning one logit per image, shape (B,) or (B, 1)."""
        raise NotImplementedError

