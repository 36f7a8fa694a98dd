"""``ssgc`` (Yu & Pool 2020): the teacher's trained discriminator supervises the student."""

import pytest
import torch
import torch.nn.functional as F

from akdgbench import UsageError
from akdgbench.builtin.methods.ssgc import SSGC
from akdgbench.losses import HingeLoss


def critic(scale):
    return lambda images: scale * images.flatten(1).sum(1, keepdim=True)  # (B, 1) like ours


class Context:
    def __init__(self):
        self.copies = []
        self.teacher_discriminator = critic(-0.5)

    def copy_teacher_discriminator(self, name):
        self.copies.append(name)
        return critic(2.0)


class Step:
    def __init__(self):
        self.adv = HingeLoss()
        self.z = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
        self.real = torch.tensor([[[[0.5, -0.2]]], [[[0.1, 0.3]]]])
        self.fake = torch.tensor([[[[-0.4, 0.9]]], [[[0.7, 0.2]]]])
        self.teacher_images = torch.tensor([[[[0.8, 0.8]]], [[[-0.6, 0.1]]]])
        self.teacher_inputs = []

    def teacher(self, z):
        self.teacher_inputs.append(z)
        return self.teacher_images


def test_finetuned_copy_of_the_teacher_discriminator():
    method = SSGC(distill_weight="0.3")
    assert method.needs_teacher_discriminator and method.needs_teacher
    ctx = Context()
    method.setup(ctx)
    assert ctx.copies == ["d"]
    step = Step()
    d_real, d_fake = 2.0 * torch.tensor([0.3, 0.4]), 2.0 * torch.tensor([0.5, 0.9])
    d_teacher = 2.0 * torch.tensor([1.6, -0.5])
    losses = method.discriminator_losses(step)
    assert torch.allclose(losses["d"], F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean())
    terms = method.generator_loss(step)
    assert step.teacher_inputs[0] is step.z  # the teacher's image for the same latent
    assert torch.allclose(terms["adv"], -d_fake.mean())
    assert torch.allclose(terms["distill"], 0.3 * (d_fake - d_teacher).abs().mean())


def test_frozen_teacher_discriminator_trains_no_discriminator():
    method = SSGC(finetune="false")
    ctx = Context()
    method.setup(ctx)
    assert ctx.copies == []
    step = Step()
    assert method.discriminator_losses(step) == {}
    d_fake, d_teacher = -0.5 * torch.tensor([0.5, 0.9]), -0.5 * torch.tensor([1.6, -0.5])
    terms = method.generator_loss(step)
    assert torch.allclose(terms["adv"], -d_fake.mean())
    assert torch.allclose(terms["distill"], (d_fake - d_teacher).abs().mean())


def test_negative_weight_is_refused():
    with pytest.raises(UsageError, match="distill_weight"):
        SSGC(distill_weight="-1")
