"""``akdg`` (Tsunashima et al. 2020): D on real data, D_kd with teacher images as "real"."""

import pytest
import torch
import torch.nn.functional as F

from akdgbench import UsageError
from akdgbench.builtin.methods.akdg import AKDG
from akdgbench.losses import HingeLoss


def critic(scale):
    return lambda images: scale * images.flatten(1).sum(1)


def test_losses_match_the_formulas(fake_context, fake_step):
    method = AKDG(**{"lambda": "0.3"})
    ctx = fake_context({"d": critic(2.0), "d_kd": critic(-0.5)})
    method.setup(ctx)
    assert ctx.created == [("d", None), ("d_kd", None)]  # D_kd: the student's discriminator type
    step = fake_step(
        adv=HingeLoss(),
        real=torch.tensor([[[[0.5, -0.2]]], [[[0.1, 0.3]]]]),
        fake=torch.tensor([[[[-0.4, 0.9]]], [[[0.7, 0.2]]]]),
        teacher_images=torch.tensor([[[[0.8, 0.8]]], [[[-0.6, 0.1]]]]),
    )

    losses = method.discriminator_losses(step)
    d_real, d_fake = 2.0 * torch.tensor([0.3, 0.4]), 2.0 * torch.tensor([0.5, 0.9])
    kd_teacher, kd_fake = -0.5 * torch.tensor([1.6, -0.5]), -0.5 * torch.tensor([0.5, 0.9])
    assert torch.allclose(losses["d"], F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean())
    # teacher images G_t(z') are D_kd's "real" side, student images its "fake" side
    assert torch.allclose(losses["d_kd"],
                          F.relu(1 - kd_teacher).mean() + F.relu(1 + kd_fake).mean())
    assert step.samples_drawn == 1

    terms = method.generator_loss(step)
    assert torch.allclose(terms["adv"], -d_fake.mean())
    assert torch.allclose(terms["kd"], 0.3 * -kd_fake.mean())


def test_kd_arch_is_checked_when_the_method_is_made():
    with pytest.raises(UsageError, match="unknown architecture 'nosucharch'"):
        AKDG(kd_arch="nosucharch")
    with pytest.raises(UsageError, match="lambda"):
        AKDG(**{"lambda": "-1"})
