"""``sngan``: the ResNet generator and discriminator of SNGAN (Miyato et al., ICLR 2018).

Layouts follow torch-mimicry's ``SNGANGenerator32``/``SNGANDiscriminator32``
(bilinear upsampling, Xavier initialisation), generalised to any power-of-two
resolution >= 16 by the number of blocks; channel counts stay constant across
blocks, as in the 32x32 reference. Unlike mimicry's discriminator (whose
in-place ReLU also reaches the shortcut), the shortcut here sees the block's
input unchanged, as in the paper's Chainer code; ``shortcut_after_relu``
rebuilds mimicry's behaviour for its checkpoints (``mimicry:`` teachers).

Measured generator parameters at 32x32x3, z_dim 128: width 1 (ngf 256)
4,276,739, the AKDG paper's 4.1M teacher; student preset width 0.5 (ngf 128)
1,204,483. Discriminator at d_width 1 (ndf 128): 1,053,825.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from akdgbench import hookimpl
from akdgbench.architecture import Architecture, Generator
from akdgbench.builtin.archs._blocks import (
    BASE_SIZE,
    check_channels,
    check_positive,
    scaled,
    upsampling_blocks,
)

GENERATOR_CHANNELS = 256  # ngf at width 1
DISCRIMINATOR_CHANNELS = 128  # ndf at d_width 1


def _xavier(module: nn.Module, gain: float = 1.0) -> nn.Module:
    nn.init.xavier_uniform_(module.weight, gain)
    return module


def _conv3x3(in_channels: int, out_channels: int, gain: float = 1.0) -> nn.Conv2d:
    return _xavier(nn.Conv2d(in_channels, out_channels, 3, 1, padding=1), gain)


class UpResidualBlock(nn.Module):
    """BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, plus an upsampled 1x1-conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = _conv3x3(in_channels, out_channels, math.sqrt(2.0))
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = _conv3x3(out_channels, out_channels, math.sqrt(2.0))
        self.shortcut = _xavier(nn.Conv2d(in_channels, out_channels, 1))

    @staticmethod
    def _upsample(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self._upsample(F.relu(self.bn1(x))))
        h = self.conv2(F.relu(self.bn2(h)))
        return h + self.shortcut(self._upsample(x))


class DownResidualBlock(nn.Module):
    """ReLU-conv3x3-ReLU-conv3x3 (then 2x2 average pooling), plus a 1x1-conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int, downsample: bool,
                 shortcut_after_relu: bool = False) -> None:
        super().__init__()
        self.shortcut_after_relu = shortcut_after_relu
        self.conv1 = spectral_norm(_conv3x3(in_channels, in_channels, math.sqrt(2.0)))
        self.conv2 = spectral_norm(_conv3x3(in_channels, out_channels, math.sqrt(2.0)))
        self.pool = nn.AvgPool2d(2) if downsample else nn.Identity()
        learnable_shortcut = downsample or in_channels != out_channels
        self.shortcut = (
            spectral_norm(_xavier(nn.Conv2d(in_channels, out_channels, 1)))
            if learnable_shortcut
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        activated = F.relu(x)
        h = self.pool(self.conv2(F.relu(self.conv1(activated))))
        return h + self.pool(self.shortcut(activated if self.shortcut_after_relu else x))


class FirstDownResidualBlock(nn.Module):
    """The discriminator's first ("optimized") block: no ReLU on the image; pooled shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = spectral_norm(_conv3x3(in_channels, out_channels, math.sqrt(2.0)))
        self.conv2 = spectral_norm(_conv3x3(out_channels, out_channels, math.sqrt(2.0)))
        self.shortcut = spectral_norm(_xavier(nn.Conv2d(in_channels, out_channels, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


class SNGANGenerator(Generator):
    """Stages: [linear -> 4x4 map], one residual up-block per doubling, [BN-ReLU-conv3x3-tanh]."""

    def __init__(self, z_dim: int, channels: int, image_channels: int, blocks: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList(
            [
                nn.Sequential(
                    _xavier(nn.Linear(z_dim, BASE_SIZE * BASE_SIZE * channels)),
                    nn.Unflatten(1, (channels, BASE_SIZE, BASE_SIZE)),
                ),
                *(UpResidualBlock(channels, channels) for _ in range(blocks)),
                nn.Sequential(
                    nn.BatchNorm2d(channels),
                    nn.ReLU(),
                    _conv3x3(channels, image_channels),
                    nn.Tanh(),
                ),
            ]
        )
        self.layer_count = 1 + 2 * blocks + 1


class SNGANDiscriminator(nn.Module):
    """Residual down-blocks to 8x8, two more blocks, ReLU, global sum pooling, SN linear."""

    def __init__(self, channels: int, image_channels: int, resolution: int,
                 shortcut_after_relu: bool = False) -> None:
        super().__init__()
        downsampling_blocks = int(math.log2(resolution // 8)) - 1  # after the first block
        downsamples = [True] * downsampling_blocks + [False, False]
        self.blocks = nn.Sequential(
            FirstDownResidualBlock(image_channels, channels),
            *(DownResidualBlock(channels, channels, downsample, shortcut_after_relu)
              for downsample in downsamples),
        )
        self.linear = spectral_norm(_xavier(nn.Linear(channels, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.linear(h)

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each residual block's output, image side first (the logit reads the last)."""
        maps = []
        for block in self.blocks:
            x = block(x)
            maps.append(x)
        return maps


class SNGAN(Architecture):
    name = "sngan"
    description = "SNGAN ResNet generator, spectral-norm ResNet discriminator (Miyato et al. 2018)"
    options: dict[str, Any] = {"width": 1.0, "z_dim": 128, "d_width": 1.0}
    teacher_preset: dict[str, Any] = {"width": 1.0}
    student_preset: dict[str, Any] = {"width": 0.5}
    training_defaults: dict[str, Any] = {
        "loss": "hinge", "lr": 2e-4, "betas": (0.0, 0.9), "n_dis": 5, "lr_decay": "linear",
    }

    def __init__(self, role: str = "student", **given: Any) -> None:
        super().__init__(role, **given)
        check_positive(self.name, self.config, "width", "z_dim", "d_width")

    def build_generator(self, resolution: int, channels: int) -> SNGANGenerator:
        blocks = upsampling_blocks(self.name, resolution)
        check_channels(self.name, channels)
        width = scaled(GENERATOR_CHANNELS, self.config["width"])
        return SNGANGenerator(self.config["z_dim"], width, channels, blocks)

    def build_discriminator(self, resolution: int, channels: int) -> SNGANDiscriminator:
        upsampling_blocks(self.name, resolution)
        check_channels(self.name, channels)
        width = scaled(DISCRIMINATOR_CHANNELS, self.config["d_width"])
        return SNGANDiscriminator(width, channels, resolution)


@hookimpl
def register_architectures(register: Any) -> None:
    register(SNGAN)
