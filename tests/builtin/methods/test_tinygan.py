"""``tinygan`` (Chang & Lu 2020): feature, pixel, adversarial-KD and real-data terms."""

import pytest
import torch
import torch.nn.functional as F

from akdgbench import UsageError
from akdgbench.builtin.methods.tinygan import TinyGAN, feature_weights
from akdgbench.losses import HingeLoss


class Discriminator:
    """logit = 2 * mean; feature maps: the images themselves and their square."""

    def __call__(self, images):
        return 2.0 * images.flatten(1).mean(1)

    def feature_maps(self, images):
        return [images, images**2]


class Context:
    student_arch = None

    def __init__(self):
        self.student = lambda z: torch.tanh(z.sum(1)).reshape(-1, 1, 1, 1).expand(-1, 1, 1, 2)

    def new_discriminator(self, name, arch=None):
        assert name == "d"
        return Discriminator()


class Step:
    def __init__(self, progress):
        self.adv = HingeLoss()
        self.progress = progress
        self.z = torch.tensor([[0.5, -1.0], [1.0, 0.2]])
        self.second_z = torch.tensor([[0.1, 0.1], [-0.3, 0.4]])
        self.real = torch.tensor([[[[0.2, 0.4]]], [[[-0.6, 0.1]]]])
        self.fake = torch.tensor([[[[-0.4, 0.9]]], [[[0.7, 0.2]]]])
        self.teacher_images = torch.tensor([[[[0.8, 0.8]]], [[[-0.6, 0.1]]]])
        self.teacher_inputs = []

    def teacher(self, z):
        self.teacher_inputs.append(z)
        return self.teacher_images

    def new_latent(self):
        return self.second_z


def logit(images):
    return 2.0 * images.flatten(1).mean(1)


def test_feature_weights_are_the_official_ones_for_five_layers():
    assert feature_weights(5) == [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0]
    assert feature_weights(2) == [1 / 4, 1.0]


def test_losses_match_the_formulas():
    method = TinyGAN(gan_weight="0.5", real_weight="0.2", feature_weight="2",
                     pixel_weight="0.3", pixel_decay_end="0.5")
    ctx = Context()
    method.setup(ctx)
    step = Step(progress=0.25)
    second = ctx.student(step.second_z)
    teacher, fake = step.teacher_images, step.fake

    d_loss = method.discriminator_losses(step)["d"]
    hinge = lambda real, fake_: (F.relu(1 - logit(real)).mean()  # noqa: E731
                                 + F.relu(1 + logit(fake_)).mean())
    assert torch.allclose(d_loss, hinge(teacher, fake) + 0.2 * hinge(step.real, second))
    assert step.teacher_inputs[0] is step.z  # the teacher's image for the student's own z

    terms = method.generator_loss(step)
    feature = 0.25 * (fake - teacher).abs().mean() + 1.0 * (fake**2 - teacher**2).abs().mean()
    assert torch.allclose(terms["feature"], 2 * feature)
    # the pixel weight falls linearly from 0.3 to 0 at half of training: 0.15 at a quarter
    assert torch.allclose(terms["pixel"], 0.15 * (fake - teacher).abs().mean())
    assert torch.allclose(terms["adv"], 0.5 * -logit(fake).mean())
    assert torch.allclose(terms["adv_real"], 0.5 * 0.2 * -logit(second).mean())


def test_pixel_weight_schedule():
    method = TinyGAN()
    assert method.pixel_weight(0.0) == pytest.approx(0.2)
    assert method.pixel_weight(1 / 3) == pytest.approx(0.1)
    assert method.pixel_weight(0.9) == 0.0
    assert TinyGAN(pixel_decay_end="0").pixel_weight(0.9) == pytest.approx(0.2)


def test_without_real_weight_no_second_batch_is_made():
    method = TinyGAN(real_weight="0")
    ctx = Context()
    ctx.student = None  # would fail if called
    method.setup(ctx)
    step = Step(progress=0.0)
    assert set(method.generator_loss(step)) == {"feature", "pixel", "adv"}
    method.discriminator_losses(step)


def test_a_discriminator_without_feature_maps_is_refused():
    class Plain(Context):
        student_arch = type("Arch", (), {"spec": "plain"})()

        def new_discriminator(self, name, arch=None):
            return lambda images: images.mean()

    with pytest.raises(UsageError, match="architecture 'plain' builds one without feature_maps"):
        TinyGAN().setup(Plain())


def test_bad_options_are_refused():
    with pytest.raises(UsageError, match="gan_weight"):
        TinyGAN(gan_weight="-1")
    with pytest.raises(UsageError, match="pixel_decay_end"):
        TinyGAN(pixel_decay_end="2")
