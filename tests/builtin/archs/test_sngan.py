import pytest
import torch

from akdgbench.builtin.archs.sngan import DownResidualBlock, UpResidualBlock
from akdgbench.plugins import make

WEIGHTED = (torch.nn.Conv2d, torch.nn.Linear)


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_teacher_matches_the_reference_parameter_counts():
    arch = make("architecture", "sngan", role="teacher")
    assert count(arch.build_generator(32, 3)) == 4_276_739  # torch-mimicry SNGANGenerator32
    assert count(arch.build_discriminator(32, 3)) == 1_053_825  # SNGANDiscriminator32


def test_student_preset_is_half_width():
    student = make("architecture", "sngan", role="student")
    assert student.config["width"] == 0.5
    assert count(student.build_generator(32, 3)) == 1_204_483


@pytest.mark.parametrize(("resolution", "blocks"), [(16, 2), (32, 3), (64, 4), (128, 5)])
def test_one_residual_block_per_doubling(resolution, blocks):
    generator = make("architecture", "sngan:width=0.03125").build_generator(resolution, 3)
    assert sum(isinstance(s, UpResidualBlock) for s in generator.stages) == blocks
    assert len(generator.stages) == blocks + 2
    assert generator.layer_count == 2 * blocks + 2  # the AKDG paper's teacher: 8 at 32x32


def test_discriminator_uses_spectral_norm_everywhere():
    discriminator = make("architecture", "sngan:d_width=0.0625").build_discriminator(32, 3)
    weighted = [m for m in discriminator.modules() if isinstance(m, WEIGHTED)]
    assert weighted and all(hasattr(m, "parametrizations") for m in weighted)


def test_discriminator_shortcut_sees_the_unactivated_input():
    block = DownResidualBlock(2, 2, downsample=False).eval()
    x = -torch.ones(1, 2, 4, 4)  # ReLU would zero it; an identity shortcut must keep it
    residual = block.conv2(torch.relu(block.conv1(torch.relu(x))))
    torch.testing.assert_close(block(x), residual + x)
