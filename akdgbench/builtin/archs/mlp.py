"""``mlp``: fully connected generator and discriminator (the AKDG paper's MLP student).

Generator: ``layers`` linear layers, z -> hidden -> ... -> hidden -> image,
BN + ReLU between them, tanh, reshaped to an image; each linear layer is one
stage. Hidden units are ``round(hidden * width)``. Discriminator: flatten ->
D_HIDDEN -> D_HIDDEN -> 1 (units scaled by ``d_width``), leaky ReLU 0.2.

Measured generator parameters at 32x32x3, z_dim 128, 4 layers: width 1
(1024 hidden units) 5,386,240; student preset width 0.5 (512 units)
2,170,368, the AKDG paper's 2.2M MLP student.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from akdgbench import hookimpl
from akdgbench.architecture import Architecture, Generator
from akdgbench.builtin.archs._blocks import activations, check_channels, check_positive, scaled
from akdgbench.errors import UsageError

D_HIDDEN = 512
LEAKY_SLOPE = 0.2


class MLPGenerator(Generator):
    """One stage per linear layer: [linear-BN-ReLU] * (layers - 1), [linear-tanh-reshape]."""

    def __init__(
        self, z_dim: int, hidden: int, layers: int, image_channels: int, resolution: int
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        widths = [z_dim] + [hidden] * (layers - 1)
        self.stages = nn.ModuleList(
            [
                *(
                    nn.Sequential(
                        nn.Linear(widths[i], widths[i + 1]),
                        nn.BatchNorm1d(widths[i + 1]),
                        nn.ReLU(),
                    )
                    for i in range(layers - 1)
                ),
                nn.Sequential(
                    nn.Linear(widths[-1], image_channels * resolution * resolution),
                    nn.Tanh(),
                    nn.Unflatten(1, (image_channels, resolution, resolution)),
                ),
            ]
        )
        self.layer_count = layers


class MLPDiscriminator(nn.Module):
    def __init__(self, hidden: int, image_channels: int, resolution: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(image_channels * resolution * resolution, hidden),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(LEAKY_SLOPE),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activation after each hidden layer, image side first (the logit reads the last)."""
        return activations(self.net, x)


class MLP(Architecture):
    name = "mlp"
    description = "fully connected generator and discriminator (the AKDG paper's MLP student)"
    options: dict[str, Any] = {
        "width": 1.0, "hidden": 1024, "layers": 4, "z_dim": 128, "d_width": 1.0,
    }
    teacher_preset: dict[str, Any] = {"width": 1.0}
    student_preset: dict[str, Any] = {"width": 0.5}
    training_defaults: dict[str, Any] = {
        "loss": "ns", "lr": 2e-4, "betas": (0.5, 0.999), "n_dis": 1, "lr_decay": "none",
    }

    def __init__(self, role: str = "student", **given: Any) -> None:
        super().__init__(role, **given)
        check_positive(self.name, self.config, "width", "hidden", "z_dim", "d_width")
        if self.config["layers"] < 2:
            raise UsageError(
                f"architecture {self.name!r}: option layers must be >= 2 "
                f"(z -> hidden -> image), got {self.config['layers']}"
            )

    def _check_image(self, resolution: int, channels: int) -> None:
        check_channels(self.name, channels)
        if resolution < 1:
            raise UsageError(
                f"architecture {self.name!r}: resolution must be >= 1, got {resolution}"
            )

    def build_generator(self, resolution: int, channels: int) -> MLPGenerator:
        self._check_image(resolution, channels)
        hidden = scaled(self.config["hidden"], self.config["width"])
        return MLPGenerator(
            self.config["z_dim"], hidden, self.config["layers"], channels, resolution
        )

    def build_discriminator(self, resolution: int, channels: int) -> MLPDiscriminator:
        self._check_image(resolution, channels)
        return MLPDiscriminator(scaled(D_HIDDEN, self.config["d_width"]), channels, resolution)


@hookimpl
def register_architectures(register: Any) -> None:
    register(MLP)
