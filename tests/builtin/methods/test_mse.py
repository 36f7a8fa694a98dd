"""``mse`` (Aguinaldo et al. 2019): pixel MSE to the teacher for the same z, optional joint loss."""

import pytest
import torch
from torch import nn

from akdgbench import Generator, UsageError
from akdgbench.builtin.methods.mse import MSE
from akdgbench.losses import HingeLoss


class Linear(Generator):
    def __init__(self, z_dim: int, pixels: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList([nn.Sequential(nn.Linear(z_dim, pixels),
                                                   nn.Unflatten(1, (1, 1, pixels)))])
        self.layer_count = 1


def mean_critic(images):
    return 3.0 * images.flatten(1).mean(1)


def teacher(z):
    return torch.tanh(z.sum(1)).reshape(-1, 1, 1, 1).expand(-1, 1, 1, 3)


@pytest.fixture
def step(fake_step):
    return fake_step(
        adv=HingeLoss(),
        z=torch.tensor([[1.0, 2.0], [3.0, -1.0]]),
        fake=torch.tensor([[[[0.2, -0.1, 0.4]]], [[[0.0, 0.5, -0.3]]]]),
        teacher=teacher,
    )


def test_generator_loss_is_the_pixel_mse_for_the_same_latent(fake_context, step):
    method = MSE()
    ctx = fake_context({"d": mean_critic})
    method.setup(ctx)
    assert ctx.created_names == []  # adv_weight 0: no discriminator at all
    losses = method.generator_loss(step)
    assert step.teacher_inputs == [step.z] and step.teacher_inputs[0] is step.z
    target = torch.tanh(step.z.sum(1)).reshape(-1, 1, 1, 1).expand(-1, 1, 1, 3)
    assert set(losses) == {"mse"}
    assert torch.allclose(losses["mse"], ((step.fake - target) ** 2).mean())
    assert method.discriminator_losses(step) == {}


def test_joint_variant_adds_the_weighted_adversarial_term(fake_context, step):
    method = MSE(adv_weight="0.5")
    ctx = fake_context({"d": mean_critic})
    method.setup(ctx)
    assert ctx.created_names == ["d"]
    step.real = torch.ones(2, 1, 1, 3) * 0.1
    losses = method.generator_loss(step)
    d_fake = 3.0 * step.fake.flatten(1).mean(1)
    assert torch.allclose(losses["adv"], 0.5 * -d_fake.mean())
    d_real = 3.0 * step.real.flatten(1).mean(1)
    expected_d = torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()
    assert torch.allclose(method.discriminator_losses(step)["d"], expected_d)


def test_compatibility_needs_same_latent_and_image_shape():
    MSE().check_compatible(Linear(2, 3), Linear(2, 3))
    with pytest.raises(UsageError, match="same z"):
        MSE().check_compatible(Linear(4, 3), Linear(2, 3))
    with pytest.raises(UsageError, match=r"makes images \(1, 1, 5\).*\(1, 1, 3\)"):
        MSE().check_compatible(Linear(2, 5), Linear(2, 3))


def test_negative_weight_is_refused():
    with pytest.raises(UsageError, match="adv_weight"):
        MSE(adv_weight="-1")
