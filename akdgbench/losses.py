"""Adversarial losses. Each knows how to score a discriminator and a generator.

They take the discriminator itself, not logits, because WGAN-GP's gradient
penalty needs to call it on interpolated images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench.errors import unknown_name_error


def _logits(disc: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return disc(images).reshape(-1).float()


class AdversarialLoss:
    name: ClassVar[str]

    def discriminator_loss(
        self, disc: nn.Module, real: torch.Tensor, fake: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, disc: nn.Module, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; SNGAN, BigGAN)."""

    name = "hinge"

    def discriminator_loss(self, disc, real, fake):
        return F.relu(1.0 - _logits(disc, real)).mean() + F.relu(1.0 + _logits(disc, fake)).mean()

    def generator_loss(self, disc, fake):
        return -_logits(disc, fake).mean()


class NonSaturatingLoss(AdversarialLoss):
    """The non-saturating loss of Goodfellow et al. 2014 (DCGAN)."""

    name = "ns"

    def discriminator_loss(self, disc, real, fake):
        return F.softplus(-_logits(disc, real)).mean() + F.softplus(_logits(disc, fake)).mean()

    def generator_loss(self, disc, fake):
        return F.softplus(-_logits(disc, fake)).mean()


class WassersteinGPLoss(AdversarialLoss):
    """WGAN-GP (Gulrajani et al. 2017), penalty weight 10."""

    name = "wgan-gp"
    penalty_weight = 10.0

    def discriminator_loss(self, disc, real, fake):
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
        mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(_logits(disc, mixed).sum(), mixed, create_graph=True)
        penalty = ((grad.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
        wasserstein = _logits(disc, fake).mean() - _logits(disc, real).mean()
        return wasserstein + self.penalty_weight * penalty

    def generator_loss(self, disc, fake):
        return -_logits(disc, fake).mean()


ADVERSARIAL_LOSSES: dict[str, Callable[[], AdversarialLoss]] = {
    cls.name: cls for cls in (HingeLoss, NonSaturatingLoss, WassersteinGPLoss)
}


def make_adversarial_loss(name: str) -> AdversarialLoss:
    if name not in ADVERSARIAL_LOSSES:
        raise unknown_name_error("adversarial loss", name, ADVERSARIAL_LOSSES)
    return ADVERSARIAL_LOSSES[name]()
