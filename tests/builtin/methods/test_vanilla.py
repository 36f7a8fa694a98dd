"""``vanilla``: the plain GAN losses, checked against the formulas on hand-made tensors."""

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench.builtin.methods.vanilla import Vanilla
from akdgbench.losses import HingeLoss, NonSaturatingLoss

REAL = torch.tensor([[[[0.5, -0.2]]], [[[0.1, 0.3]]]])
FAKE = torch.tensor([[[[-0.4, 0.9]]], [[[0.7, 0.2]]]])


class SumCritic(nn.Module):
    """D(x) = scale * sum of pixels: easy to compute by hand."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, images):
        return self.scale * images.flatten(1).sum(1)


def test_losses_match_the_formulas(fake_context, fake_step):
    critic = SumCritic(2.0)
    ctx = fake_context({"d": critic})
    method = Vanilla()
    method.setup(ctx)
    assert ctx.created == [("d", None)]
    assert not Vanilla.needs_teacher

    step = fake_step(adv=HingeLoss(), real=REAL, fake=FAKE)
    d_real, d_fake = 2.0 * torch.tensor([0.3, 0.4]), 2.0 * torch.tensor([0.5, 0.9])
    expected_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    assert torch.allclose(method.discriminator_losses(step)["d"], expected_d)
    assert torch.allclose(method.generator_loss(step), -d_fake.mean())

    step = fake_step(adv=NonSaturatingLoss(), real=REAL, fake=FAKE)
    assert torch.allclose(method.generator_loss(step), F.softplus(-d_fake).mean())
