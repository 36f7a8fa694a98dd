"""``dcgan``: the "standard CNN" generator and discriminator of SNGAN (Miyato et al. 2018).

Generator: linear z -> 4x4x512 (BN, ReLU), one 4x4 stride-2 transposed conv
with BN-ReLU per doubling (512 -> 256 -> 128 -> 64 at 32x32; each extra
doubling halves once more), conv3x3 to the image channels, tanh.
Discriminator: per halving a conv3x3 and a 4x4 stride-2 conv (64, 128, 256 at
32x32; mirrored from the generator at other resolutions, so the last pair
always has 256 channels), conv3x3 512, linear; leaky ReLU 0.1; spectral norm
unless ``spectral_norm=false``.

Measured at 32x32x3, z_dim 128: generator at width 1 3,813,379 parameters;
at the student preset width 0.8 2,612,106 (the AKDG paper's 2.6M DCGAN
student); discriminator at d_width 1 2,935,873 (spectral norm adds none).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from akdgbench import hookimpl
from akdgbench.architecture import Architecture, Generator
from akdgbench.builtin.archs._blocks import (
    BASE_SIZE,
    activations,
    check_channels,
    check_positive,
    maybe_spectral_norm,
    scaled,
    upsampling_blocks,
)

#: channels of the 4x4 map at width 1; at the image end of the discriminator at d_width 1
TOP_CHANNELS = 512
LEAKY_SLOPE = 0.1


class DCGANGenerator(Generator):
    """Stages: [linear -> 4x4 map -> BN -> ReLU], each transposed-conv block, [conv3x3 -> tanh]."""

    def __init__(self, z_dim: int, width: float, image_channels: int, blocks: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        widths = [scaled(TOP_CHANNELS // 2**i, width) for i in range(blocks + 1)]
        self.stages = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Linear(z_dim, BASE_SIZE * BASE_SIZE * widths[0]),
                    nn.Unflatten(1, (widths[0], BASE_SIZE, BASE_SIZE)),
                    nn.BatchNorm2d(widths[0]),
                    nn.ReLU(),
                ),
                *(
                    nn.Sequential(
                        nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, padding=1),
                        nn.BatchNorm2d(widths[i + 1]),
                        nn.ReLU(),
                    )
                    for i in range(blocks)
                ),
                nn.Sequential(nn.Conv2d(widths[-1], image_channels, 3, 1, padding=1), nn.Tanh()),
            ]
        )
        self.layer_count = 1 + blocks + 1


class DCGANDiscriminator(nn.Module):
    def __init__(
        self, width: float, image_channels: int, halvings: int, spectral_norm: bool
    ) -> None:
        super().__init__()

        def sn(module: nn.Module) -> nn.Module:
            return maybe_spectral_norm(module, spectral_norm)

        top = scaled(TOP_CHANNELS, width)
        layers: list[nn.Module] = []
        in_channels = image_channels
        for i in range(halvings):
            out_channels = scaled(TOP_CHANNELS // 2 ** (halvings - i), width)
            layers += [
                sn(nn.Conv2d(in_channels, out_channels, 3, 1, padding=1)),
                nn.LeakyReLU(LEAKY_SLOPE),
                sn(nn.Conv2d(out_channels, out_channels, 4, 2, padding=1)),
                nn.LeakyReLU(LEAKY_SLOPE),
            ]
            in_channels = out_channels
        layers += [sn(nn.Conv2d(in_channels, top, 3, 1, padding=1)), nn.LeakyReLU(LEAKY_SLOPE)]
        self.features = nn.Sequential(*layers)
        self.linear = sn(nn.Linear(BASE_SIZE * BASE_SIZE * top, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.flatten(self.features(x), 1))

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activation after each conv layer, image side first (the logit reads the last)."""
        return activations(self.features, x)


class DCGAN(Architecture):
    name = "dcgan"
    description = "standard-CNN generator and discriminator of the SNGAN paper (DCGAN-style)"
    options: dict[str, Any] = {"width": 1.0, "z_dim": 128, "d_width": 1.0, "spectral_norm": True}
    teacher_preset: dict[str, Any] = {"width": 1.0}
    student_preset: dict[str, Any] = {"width": 0.8}
    training_defaults: dict[str, Any] = {
        "loss": "ns", "lr": 2e-4, "betas": (0.5, 0.999), "n_dis": 1, "lr_decay": "none",
    }

    def __init__(self, role: str = "student", **given: Any) -> None:
        super().__init__(role, **given)
        check_positive(self.name, self.config, "width", "z_dim", "d_width")

    def build_generator(self, resolution: int, channels: int) -> DCGANGenerator:
        blocks = upsampling_blocks(self.name, resolution)
        check_channels(self.name, channels)
        return DCGANGenerator(self.config["z_dim"], self.config["width"], channels, blocks)

    def build_discriminator(self, resolution: int, channels: int) -> DCGANDiscriminator:
        halvings = upsampling_blocks(self.name, resolution)
        check_channels(self.name, channels)
        return DCGANDiscriminator(
            self.config["d_width"], channels, halvings, self.config["spectral_norm"]
        )


@hookimpl
def register_architectures(register: Any) -> None:
    register(DCGAN)
