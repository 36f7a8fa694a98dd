"""Small pieces shared by the built-in architecture families."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from akdgbench.errors import UsageError

#: the spatial size every convolutional generator starts from
BASE_SIZE = 4
MIN_RESOLUTION = 16


def scaled(base: int, width: float) -> int:
    """``base`` channels scaled by a width multiplier, rounded, never below 1."""
    return max(1, round(base * width))


def upsampling_blocks(family: str, resolution: int) -> int:
    """Doublings from 4x4 to ``resolution`` (16 -> 2, 32 -> 3, ...); a clear error otherwise."""
    if resolution < MIN_RESOLUTION or resolution & (resolution - 1):
        raise UsageError(
            f"architecture {family!r}: resolution {resolution} is not supported; "
            f"use a power of two >= {MIN_RESOLUTION}"
        )
    return int(math.log2(resolution // BASE_SIZE))


def check_channels(family: str, channels: int) -> None:
    if channels < 1:
        raise UsageError(f"architecture {family!r}: image channels must be >= 1, got {channels}")


def check_positive(family: str, config: dict, *keys: str) -> None:
    """Every option in ``keys`` must be > 0 (widths, z_dim, hidden units)."""
    for key in keys:
        if config[key] <= 0:
            raise UsageError(
                f"architecture {family!r}: option {key} must be > 0, got {config[key]}"
            )


def maybe_spectral_norm(module: nn.Module, enabled: bool) -> nn.Module:
    return spectral_norm(module) if enabled else module


def activations(layers: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Run ``layers`` on ``x``; the output of each LeakyReLU, input side first."""
    maps = []
    for layer in layers:
        x = layer(x)
        if isinstance(layer, nn.LeakyReLU):
            maps.append(x)
    return maps
