"""What every built-in architecture family promises the engine and the methods."""

import pytest
import torch

from akdgbench.architecture import Architecture, Generator
from akdgbench.errors import UsageError
from akdgbench.plugins import get_registry, make

# tiny widths keep every test fast on a CPU
TINY = {
    "sngan": "sngan:width=0.03125:d_width=0.0625",
    "dcgan": "dcgan:width=0.0625:d_width=0.0625",
    "mlp": "mlp:hidden=32:d_width=0.0625",
}
FAMILIES = sorted(TINY)
BATCH = 3


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_registry_lists_all_three_families():
    registry = get_registry("architecture")
    for name in FAMILIES:
        assert name in registry
        entry = next(e for e in registry.entries() if e.name == name)
        assert entry.plugin == f"akdgbench.builtin.archs.{name}"
        assert issubclass(entry.obj, Architecture)
        assert entry.obj.description and "\n" not in entry.obj.description


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("resolution", [16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_generator_and_discriminator_shapes(family, resolution, channels):
    arch = make("architecture", TINY[family])
    generator = arch.build_generator(resolution, channels)
    assert isinstance(generator, Generator)
    images = generator(generator.sample_latent(BATCH))
    assert images.shape == (BATCH, channels, resolution, resolution)
    assert images.min() >= -1 and images.max() <= 1
    logits = arch.build_discriminator(resolution, channels)(images)
    assert logits.shape in {(BATCH,), (BATCH, 1)}


@pytest.mark.parametrize("family", FAMILIES)
def test_stages_composed_in_order_are_the_generator(family):
    generator = make("architecture", TINY[family]).build_generator(32, 3).eval()
    z = generator.sample_latent(BATCH)
    x = z
    for stage in generator.stages:
        x = stage(x)
    torch.testing.assert_close(x, generator(z), rtol=0, atol=0)
    assert len(generator.stages) >= 2


@pytest.mark.parametrize("family", FAMILIES)
def test_discriminator_passes_gradients_to_images(family):
    arch = make("architecture", TINY[family])
    images = torch.rand(BATCH, 3, 32, 32, requires_grad=True) * 2 - 1
    images.retain_grad()
    arch.build_discriminator(32, 3)(images).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


@pytest.mark.parametrize("family", FAMILIES)
def test_student_preset_is_smaller_and_explicit_options_override_it(family):
    teacher = make("architecture", family, role="teacher")
    student = make("architecture", family, role="student")
    assert teacher.config["width"] == 1.0
    assert count(student.build_generator(32, 3)) < count(teacher.build_generator(32, 3))
    overridden = make("architecture", f"{family}:width=0.25", role="student")
    assert overridden.config["width"] == 0.25
    assert overridden.spec == f"{family}:width=0.25"


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("width=abc", "not a valid float"),
        ("depth=3", "unknown option 'depth'"),
        ("width=0", "width must be > 0"),
        ("z_dim=-1", "z_dim must be > 0"),
        ("d_width=0", "d_width must be > 0"),
    ],
)
def test_bad_options_are_usage_errors(family, option, message):
    with pytest.raises(UsageError, match=message):
        make("architecture", f"{family}:{option}")


@pytest.mark.parametrize("family", ["sngan", "dcgan"])
@pytest.mark.parametrize("resolution", [8, 20, 48])
def test_convolutional_families_reject_other_resolutions(family, resolution):
    arch = make("architecture", TINY[family])
    with pytest.raises(UsageError, match=f"resolution {resolution} is not supported"):
        arch.build_generator(resolution, 3)
    with pytest.raises(UsageError, match=f"resolution {resolution} is not supported"):
        arch.build_discriminator(resolution, 3)


@pytest.mark.parametrize("family", FAMILIES)
def test_zero_image_channels_is_a_usage_error(family):
    with pytest.raises(UsageError, match="channels must be >= 1"):
        make("architecture", TINY[family]).build_generator(32, 0)


@pytest.mark.parametrize(
    ("family", "recipe"),
    [
        ("sngan", {"loss": "hinge", "lr": 2e-4, "betas": (0.0, 0.9), "n_dis": 5,
                   "lr_decay": "linear"}),
        ("dcgan", {"loss": "ns", "lr": 2e-4, "betas": (0.5, 0.999), "n_dis": 1,
                   "lr_decay": "none"}),
        ("mlp", {"loss": "ns", "lr": 2e-4, "betas": (0.5, 0.999), "n_dis": 1,
                 "lr_decay": "none"}),
    ],
)
def test_training_defaults_follow_each_papers_recipe(family, recipe):
    assert make("architecture", family).training_defaults == recipe


@pytest.mark.parametrize("family", FAMILIES)
def test_channels_last_and_bf16_autocast(family):
    arch = make("architecture", TINY[family])
    generator = arch.build_generator(32, 3).to(memory_format=torch.channels_last)
    discriminator = arch.build_discriminator(32, 3).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        images = generator(generator.sample_latent(BATCH))
        logits = discriminator(images)
    assert images.shape == (BATCH, 3, 32, 32)
    assert torch.isfinite(images.float()).all() and torch.isfinite(logits.float()).all()
