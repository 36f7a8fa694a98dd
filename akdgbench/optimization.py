"""How the engine takes a gradient step: only the phase's own parameters, fused Adam.

Each phase differentiates only its own parameters (``torch.autograd.grad``);
in the generator phase the discriminators' weights are constants, so autograd
records no graph for them. Adam is fused wherever torch has the kernel.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def constants(parameters: list[nn.Parameter]) -> Iterator[None]:
    """``parameters`` as constants while a loss is built: autograd records nothing for them.

    ``torch.autograd.grad`` already skips their gradients, but a graph through
    trainable discriminator weights (spectral norm's weight / sigma, saved
    inputs) still cost 1-2% of an AKDG step on the CPU.
    """
    trainable = [parameter for parameter in parameters if parameter.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


@functools.cache
def fused_adam_supported(device_type: str) -> bool:
    """Whether this torch has a fused Adam kernel for the device (CUDA; the CPU since torch 2.4).

    On the CPU it makes Adam's step about 5x faster than torch's default
    (1.2M parameters: 10.7 -> 1.9 ms), 1-4% of a small GAN's training step.
    """
    probe = torch.zeros(1, device=device_type, requires_grad=True)
    try:
        torch.optim.Adam([probe], fused=True)
    except RuntimeError:
        return False
    return True


def apply_gradients(loss: torch.Tensor, parameters: list[nn.Parameter],
                    optimizers: list[torch.optim.Optimizer],
                    scaler: torch.amp.GradScaler) -> None:
    """Gradients of ``loss`` for ``parameters`` only, then one step of each optimizer."""
    wanted = [p for p in parameters if p.requires_grad]
    grads = torch.autograd.grad(scaler.scale(loss), wanted, allow_unused=True)
    for parameter, grad in zip(wanted, grads, strict=True):
        parameter.grad = grad
    for optimizer in optimizers:
        scaler.step(optimizer)
    scaler.update()
