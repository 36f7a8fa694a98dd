"""Probing a generator's stage outputs, for methods that must check shapes before training."""

from __future__ import annotations

import torch

from akdgbench.architecture import Generator


@torch.no_grad()
def stage_output_shapes(generator: Generator) -> list[tuple[int, ...]]:
    """Per-sample output shape of each stage, e.g. ``[(256, 4, 4), ..., (3, 32, 32)]``.

    Runs two all-zero latents in eval mode: no randomness is drawn and no
    batch-norm statistic or spectral-norm estimate changes.
    """
    was_training = generator.training
    parameter = next(generator.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    generator.eval()
    try:
        x = torch.zeros(2, generator.z_dim, device=device)
        shapes = []
        for stage in generator.stages:
            x = stage(x)
            shapes.append(tuple(x.shape[1:]))
    finally:
        generator.train(was_training)
    return shapes


def describe(generator: Generator) -> str:
    return f"{type(generator).__name__} ({len(generator.stages)} stages)"
