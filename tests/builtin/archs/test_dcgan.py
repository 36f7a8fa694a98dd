import pytest
import torch

from akdgbench.plugins import make

WEIGHTED = (torch.nn.Conv2d, torch.nn.Linear)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_teacher_matches_the_standard_cnn_of_the_sngan_paper():
    arch = make("architecture", "dcgan", role="teacher")
    generator = arch.build_generator(32, 3)
    assert count(generator) == 3_813_379
    assert count(arch.build_discriminator(32, 3)) == 2_935_873
    assert generator.layer_count == 5
    transposed = [m for m in generator.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels) for m in transposed] == [
        (512, 256), (256, 128), (128, 64)
    ]


def test_student_preset_is_the_akdg_papers_2_6m_student():
    student = make("architecture", "dcgan", role="student")
    teacher = make("architecture", "dcgan", role="teacher")
    assert count(student.build_generator(32, 3)) == 2_612_106
    assert count(student.build_generator(32, 3)) < count(teacher.build_generator(32, 3))


@pytest.mark.parametrize(("resolution", "blocks"), [(16, 2), (32, 3), (64, 4)])
def test_one_transposed_conv_per_doubling(resolution, blocks):
    generator = make("architecture", "dcgan:width=0.0625").build_generator(resolution, 1)
    assert len(generator.stages) == blocks + 2
    assert generator.layer_count == blocks + 2


def test_discriminator_layout_at_32():
    discriminator = make("architecture", "dcgan", role="teacher").build_discriminator(32, 3)
    convs = [m for m in discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.out_channels, m.kernel_size[0], m.stride[0]) for m in convs] == [
        (64, 3, 1), (64, 4, 2), (128, 3, 1), (128, 4, 2), (256, 3, 1), (256, 4, 2), (512, 3, 1)
    ]
    leaky = [m for m in discriminator.modules() if isinstance(m, torch.nn.LeakyReLU)]
    assert leaky and all(m.negative_slope == 0.1 for m in leaky)


@pytest.mark.parametrize(
    ("spec", "normalised"), [("dcgan", True), ("dcgan:spectral_norm=false", False)]
)
def test_spectral_norm_option(spec, normalised):
    discriminator = make("architecture", spec).build_discriminator(16, 1)
    weighted = [m for m in discriminator.modules() if isinstance(m, WEIGHTED)]
    assert all(hasattr(m, "parametrizations") == normalised for m in weighted)


def test_d_width_scales_only_the_discriminator():
    narrow = make("architecture", "dcgan:d_width=0.5", role="teacher")
    assert count(narrow.build_discriminator(32, 3)) < 2_935_873
    assert count(narrow.build_generator(32, 3)) == 3_813_379
