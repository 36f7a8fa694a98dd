"""``feature-kd`` (Li et al. 2020, GAN Compression): 1x1-adapted feature MSE, L1 recon, adv."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Generator, UsageError
from akdgbench.builtin.methods.feature_kd import FeatureKD
from akdgbench.losses import HingeLoss


class Staged(Generator):
    def __init__(self, z_dim, *stages):
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList(stages)
        self.layer_count = len(stages)


def conv_generator(z_dim, width, spatial=4):
    return Staged(z_dim,
                  nn.Sequential(nn.Linear(z_dim, width * spatial**2),
                                nn.Unflatten(1, (width, spatial, spatial))),
                  nn.Conv2d(width, width, 3, padding=1),
                  nn.Sequential(nn.Conv2d(width, 1, 3, padding=1), nn.Tanh()))


def flat_generator(z_dim, width, pixels=16):
    return Staged(z_dim, nn.Linear(z_dim, width),
                  nn.Sequential(nn.Linear(width, pixels), nn.Unflatten(1, (1, 4, 4))))


class Context:
    def __init__(self, teacher, student):
        self.teacher, self.student = teacher, student
        self.modules, self.discriminators = {}, []

    def new_discriminator(self, name, arch=None):
        self.discriminators.append(name)
        return lambda images: 2.0 * images.flatten(1).mean(1)

    def add_generator_module(self, name, module):
        self.modules[name] = module
        return module


class Step:
    def __init__(self, teacher, student):
        self.adv = HingeLoss()
        self.z = torch.randn(3, 5)
        self.real = torch.rand(3, 1, 4, 4)
        self._student = student.stage_outputs(self.z)
        self.fake = self._student[-1]
        self._teacher = teacher
        self.teacher_feature_inputs = []

    def student_features(self):
        return self._student

    def teacher_features(self, z):
        self.teacher_feature_inputs.append(z)
        with torch.no_grad():
            return self._teacher.stage_outputs(z)


def test_losses_match_the_formulas():
    teacher, student = conv_generator(5, 6), conv_generator(5, 2)
    method = FeatureKD(distill_weight="0.5", recon_weight="3", gan_weight="0.7")
    ctx = Context(teacher, student)
    method.setup(ctx)
    assert ctx.discriminators == ["d"]
    assert sorted(ctx.modules) == ["adapter0", "adapter1"]
    assert ctx.modules["adapter0"].weight.shape == (6, 2, 1, 1)  # student -> teacher width, 1x1
    step = Step(teacher, student)
    terms = method.generator_loss(step)
    assert step.teacher_feature_inputs == [step.z] and step.teacher_feature_inputs[0] is step.z

    t = teacher.stage_outputs(step.z)
    s = student.stage_outputs(step.z)
    a = ctx.modules
    expected_distill = (F.mse_loss(a["adapter0"](s[0]), t[0])
                        + F.mse_loss(a["adapter1"](s[1]), t[1]))
    assert torch.allclose(terms["distill"], 0.5 * expected_distill)
    assert torch.allclose(terms["recon"], 3 * (s[2] - t[2]).abs().mean())
    assert torch.allclose(terms["adv"], 0.7 * -(2.0 * s[2].flatten(1).mean(1)).mean())
    assert terms["distill"].requires_grad  # gradients reach the student and the adapters
    d_fake, d_real = 2.0 * s[2].flatten(1).mean(1), 2.0 * step.real.flatten(1).mean(1)
    expected_d = F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()
    assert torch.allclose(method.discriminator_losses(step)["d"], expected_d)


def test_flat_stages_get_linear_adapters():
    method = FeatureKD()
    ctx = Context(flat_generator(5, 8), flat_generator(5, 3))
    method.setup(ctx)
    assert isinstance(ctx.modules["adapter0"], nn.Linear)
    assert ctx.modules["adapter0"].weight.shape == (8, 3)


@pytest.mark.parametrize(
    ("teacher", "student", "message"),
    [
        (conv_generator(5, 6), flat_generator(5, 3), "no aligned stages"),
        (conv_generator(5, 6, spatial=4), conv_generator(5, 6, spatial=2), "makes images"),
        (conv_generator(4, 6), conv_generator(5, 6), "same z"),
    ],
)
def test_pairs_without_aligned_stages_are_refused(teacher, student, message):
    with pytest.raises(UsageError, match=message):
        FeatureKD().check_compatible(teacher, student)


def test_negative_weights_are_refused():
    with pytest.raises(UsageError, match="distill_weight"):
        FeatureKD(distill_weight="-1")
