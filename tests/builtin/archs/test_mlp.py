import pytest
import torch

from akdgbench.errors import UsageError
from akdgbench.plugins import make


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def linear_layers(module: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def test_student_preset_is_the_akdg_papers_2_2m_four_layer_mlp():
    generator = make("architecture", "mlp", role="student").build_generator(32, 3)
    assert count(generator) == 2_170_368
    assert generator.layer_count == 4
    assert [(m.in_features, m.out_features) for m in linear_layers(generator)] == [
        (128, 512), (512, 512), (512, 512), (512, 3 * 32 * 32)
    ]


def test_teacher_preset_is_full_width():
    generator = make("architecture", "mlp", role="teacher").build_generator(32, 3)
    assert count(generator) == 5_386_240


@pytest.mark.parametrize("layers", [2, 4, 6])
def test_one_stage_per_linear_layer(layers):
    generator = make("architecture", f"mlp:hidden=16:layers={layers}").build_generator(16, 1)
    assert len(generator.stages) == layers == generator.layer_count
    for stage in generator.stages:
        assert len(linear_layers(stage)) == 1


def test_fewer_than_two_layers_is_a_usage_error():
    with pytest.raises(UsageError, match="layers must be >= 2"):
        make("architecture", "mlp:layers=1")


def test_hidden_must_be_positive():
    with pytest.raises(UsageError, match="hidden must be > 0"):
        make("architecture", "mlp:hidden=0")


def test_mlp_accepts_any_resolution():
    arch = make("architecture", "mlp:hidden=16:d_width=0.03125")
    images = arch.build_generator(28, 1)(torch.randn(2, 128))
    assert images.shape == (2, 1, 28, 28)
    assert arch.build_discriminator(28, 1)(images).shape == (2, 1)
