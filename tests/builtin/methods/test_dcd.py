"""``dcd`` (Hu et al. 2023): feature maps compared through the teacher's discriminator."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import Generator, UsageError
from akdgbench.builtin.methods.dcd import DCD
from akdgbench.losses import HingeLoss


class Staged(Generator):
    def __init__(self, z_dim, *stages):
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList(stages)
        self.layer_count = len(stages)


def conv_generator(width, z_dim=5):
    """Stages: 4x4 map, 4x4 map, 8x8 image."""
    return Staged(z_dim,
                  nn.Sequential(nn.Linear(z_dim, width * 16), nn.Unflatten(1, (width, 4, 4))),
                  nn.Conv2d(width, width, 3, padding=1),
                  nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(width, 1, 3, padding=1),
                                nn.Tanh()))


def flat_generator(width, z_dim=5):
    return Staged(z_dim, nn.Linear(z_dim, width),
                  nn.Sequential(nn.Linear(width, 64), nn.Unflatten(1, (1, 8, 8))))


class Discriminator:
    """logit = mean; feature maps: twice the input, then its square (the deepest)."""

    def __call__(self, images):
        return images.flatten(1).mean(1)

    def feature_maps(self, images):
        return [2 * images, images**2]


class Context:
    channels, resolution = 1, 8
    student_arch = teacher_arch = None

    def __init__(self, teacher, student):
        self.teacher, self.student = teacher, student
        self.modules, self.copies = {}, []

    def copy_teacher_discriminator(self, name):
        self.copies.append(name)
        return Discriminator()

    def add_generator_module(self, name, module):
        self.modules[name] = module
        return module


class Step:
    def __init__(self, teacher, student):
        self.adv = HingeLoss()
        self.z = torch.randn(3, 5)
        self.real = torch.rand(3, 1, 8, 8)
        self._student = student.stage_outputs(self.z)
        self.fake = self._student[-1]
        self._teacher = teacher

    def student_features(self):
        return self._student

    def teacher_features(self, z):
        with torch.no_grad():
            return self._teacher.stage_outputs(z)


def up(x):
    return F.interpolate(x, size=(8, 8), mode="bilinear", align_corners=False)


def test_losses_match_the_formulas():
    teacher, student = conv_generator(6), conv_generator(2)
    method = DCD(dcd_weight="0.5", adv_weight="0.2")
    ctx = Context(teacher, student)
    method.setup(ctx)
    assert ctx.copies == ["d"]
    m = ctx.modules
    assert sorted(m) == ["student_to_image0", "student_to_image1", "teacher_to_image0",
                         "teacher_to_image1"]
    assert m["student_to_image0"][0].weight.shape == (1, 2, 1, 1)
    assert m["teacher_to_image0"][0].weight.shape == (1, 6, 1, 1)
    assert not any(p.requires_grad for p in m["teacher_to_image1"].parameters())  # frozen
    assert all(p.requires_grad for p in m["student_to_image1"].parameters())

    step = Step(teacher, student)
    terms = method.generator_loss(step)
    s, t = student.stage_outputs(step.z), teacher.stage_outputs(step.z)
    expected = sum(F.l1_loss(up(m[f"student_to_image{i}"](s[i])) ** 2,
                             up(m[f"teacher_to_image{i}"](t[i])) ** 2) for i in range(2))
    assert torch.allclose(terms["dcd"], 0.5 * expected)
    assert terms["dcd"].requires_grad
    assert torch.allclose(terms["adv"], 0.2 * -s[2].flatten(1).mean(1).mean())
    d_real, d_fake = step.real.flatten(1).mean(1), s[2].flatten(1).mean(1)
    assert torch.allclose(method.discriminator_losses(step)["d"],
                          F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean())


@pytest.mark.parametrize(
    ("teacher", "student", "message"),
    [
        (flat_generator(6), flat_generator(3), "flat vectors"),
        (conv_generator(6), flat_generator(3), "no aligned stages"),
        (conv_generator(6, z_dim=4), conv_generator(2), "same z"),
    ],
)
def test_pairs_without_aligned_feature_maps_are_refused(teacher, student, message):
    with pytest.raises(UsageError, match=message):
        DCD().check_compatible(teacher, student)


def test_needs_the_teacher_discriminator():
    assert DCD.needs_teacher_discriminator and DCD.needs_teacher
    with pytest.raises(UsageError, match="adv_weight"):
        DCD(adv_weight="-2")
