"""``mimicry:PATH``: torch-mimicry's own SNGAN networks, saved as mimicry saves them, loaded
through the harness, give the same images and the same discriminator outputs.

torch-mimicry 0.1.16 declares TensorFlow and its package ``__init__`` imports its
TF-based metrics, while its networks need only torch. Install it without its
dependencies to run these tests: ``pip install --no-deps torch-mimicry==0.1.16``
(they skip where it is absent); its nets are imported without running that
``__init__``, so TensorFlow stays out.
"""

import importlib
import importlib.util
import sys
import types

import pytest
import torch
from click.testing import CliRunner

from akdgbench import Dataset, TensorImages, UsageError
from akdgbench.cli import cli
from akdgbench.engine import TrainSettings, train
from akdgbench.plugins import make
from akdgbench.teachers import get_teacher, load_teacher_checkpoint


class Images32(Dataset):
    """Only its shape matters here: loading a teacher reads no images."""

    name = "images32"
    channels = 3

    def __init__(self, resolution=32, channels=3):
        super().__init__(".")
        self._resolution = resolution
        self.channels = channels

    @property
    def resolution(self):
        return self._resolution

    def train_set(self):
        images = torch.rand(32, self.channels, self._resolution, self._resolution,
                            generator=torch.Generator().manual_seed(0))
        return TensorImages(images * 2 - 1)


def import_mimicry_nets(*modules):
    """torch-mimicry's network modules, without its package ``__init__`` (TensorFlow)."""
    spec = importlib.util.find_spec("torch_mimicry")
    if spec is None:
        pytest.skip("torch-mimicry is not installed: pip install --no-deps torch-mimicry==0.1.16")
    saved = {name: module for name, module in sys.modules.items()
             if name.split(".")[0] == "torch_mimicry"}
    package = types.ModuleType("torch_mimicry")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["torch_mimicry"] = package
    try:
        return [importlib.import_module(f"torch_mimicry.nets.{name}") for name in modules]
    finally:  # leave sys.modules as it was: no half-imported torch_mimicry for others
        for name in [name for name in sys.modules if name.split(".")[0] == "torch_mimicry"]:
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture(scope="module")
def sngan_32():
    return import_mimicry_nets("sngan.sngan_32")[0]


def trained_looking(module, inputs, steps=3):
    """Forward passes in training mode, so batch-norm statistics and spectral norm's
    singular vectors are not their initial values."""
    module.train()
    with torch.no_grad():
        for batch in inputs[:steps]:
            module(batch.clone())
            for name, parameter in module.named_parameters():
                if name.endswith(("b1.weight", "b2.weight")):  # batch-norm scales away from 1
                    parameter.mul_(1.5)
    return module.eval()


def save_mimicry(module, path, step=100):
    """``BaseModel.save_checkpoint``'s format, as torch-mimicry's trainer writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    optimizer = torch.optim.Adam(module.parameters(), 2e-4, betas=(0.0, 0.9))
    torch.save({"model_state_dict": module.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "global_step": step}, path)


@pytest.fixture(scope="module")
def mimicry_run(sngan_32, tmp_path_factory):
    """A torch-mimicry log directory with a generator and a discriminator at step 100."""
    torch.manual_seed(3)
    generator = trained_looking(sngan_32.SNGANGenerator32(), torch.randn(3, 16, 128))
    discriminator = trained_looking(sngan_32.SNGANDiscriminator32(), torch.randn(3, 16, 3, 32, 32))
    log_dir = tmp_path_factory.mktemp("mimicry_log")
    save_mimicry(generator, log_dir / "checkpoints" / "netG" / "netG_100_steps.pth")
    save_mimicry(discriminator, log_dir / "checkpoints" / "netD" / "netD_100_steps.pth")
    return log_dir, generator, discriminator


def sngan_teacher(spec="sngan", **dataset):
    return make("architecture", spec, role="teacher"), Images32(**dataset)


def test_generator_gives_torch_mimicrys_images(mimicry_run):
    log_dir, generator, _ = mimicry_run
    arch, dataset = sngan_teacher()
    teacher = load_teacher_checkpoint(
        f"mimicry:{log_dir}/checkpoints/netG/netG_100_steps.pth", dataset, arch)
    latents = torch.randn(8, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = generator(latents)
        images = teacher.generator.eval()(latents)
    assert images.shape == (8, 3, 32, 32)
    assert torch.allclose(images, expected, atol=1e-6, rtol=0), (images - expected).abs().max()
    assert expected.std() > 0.05  # the images are not trivially equal


def test_discriminator_gives_torch_mimicrys_outputs(mimicry_run):
    log_dir, _, discriminator = mimicry_run
    arch, dataset = sngan_teacher()
    teacher = load_teacher_checkpoint(f"mimicry:{log_dir}", dataset, arch)  # the log directory
    images = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        expected = discriminator(images.clone())
        outputs = teacher.discriminator.eval()(images.clone())
    assert outputs.shape == (8, 1)
    assert torch.allclose(outputs, expected, atol=1e-5, rtol=1e-5), (outputs - expected).abs().max()
    assert expected.std() > 0


def test_published_file_names_and_the_frozen_teacher(mimicry_run, tmp_path):
    log_dir, generator, discriminator = mimicry_run
    for name in ("netG", "netD"):  # torch-mimicry's downloads are netG.pth / netD.pth
        source = log_dir / "checkpoints" / name / f"{name}_100_steps.pth"
        (tmp_path / f"{name}.pth").write_bytes(source.read_bytes())
    arch, dataset = sngan_teacher()
    teacher = get_teacher(dataset=dataset, teacher_arch=arch, steps=1,
                          settings=TrainSettings(steps=1, device="cpu"), cache_dir=tmp_path,
                          checkpoint=f"mimicry:{tmp_path / 'netG.pth'}", progress=False)
    assert not teacher.generator.training and not teacher.discriminator.training
    assert not any(p.requires_grad for p in teacher.discriminator.parameters())
    latents = torch.randn(4, 128)
    with torch.no_grad():
        assert torch.allclose(teacher.generator(latents), generator(latents), atol=1e-6, rtol=0)
        images = generator(latents)
        assert torch.allclose(teacher.discriminator(images.clone()),
                              discriminator(images.clone()), atol=1e-5, rtol=1e-5)


def test_generator_without_discriminator(mimicry_run, tmp_path):
    log_dir, _, _ = mimicry_run
    alone = tmp_path / "netG.pth"
    alone.write_bytes((log_dir / "checkpoints" / "netG" / "netG_100_steps.pth").read_bytes())
    teacher = load_teacher_checkpoint(f"mimicry:{alone}", *reversed(sngan_teacher()))
    assert teacher.discriminator is None
    with pytest.raises(UsageError, match="comes without a discriminator"):
        teacher.require_discriminator("ssgc")


def test_wider_discriminator_than_the_teachers_is_named(mimicry_run):
    log_dir, _, _ = mimicry_run
    arch, dataset = sngan_teacher("sngan:d_width=0.5")
    teacher = load_teacher_checkpoint(f"mimicry:{log_dir}", dataset, arch)
    assert teacher.generator is not None and teacher.discriminator is None
    with pytest.raises(UsageError, match=r"netD_100_steps.pth does not fit the discriminator.*"
                                         r"wrong shape keys"):
        teacher.require_discriminator("ssgc")


@pytest.mark.parametrize("method", ["ssgc", "dcd"])
def test_teacher_discriminator_methods_train_from_a_mimicry_teacher(sngan_32, tmp_path, method):
    torch.manual_seed(4)
    save_mimicry(sngan_32.SNGANGenerator32(nz=16, ngf=16), tmp_path / "log" / "netG.pth")
    save_mimicry(sngan_32.SNGANDiscriminator32(ndf=16), tmp_path / "log" / "netD.pth")
    arch, dataset = sngan_teacher("sngan:width=0.0625:z_dim=16:d_width=0.125")
    teacher = load_teacher_checkpoint(f"mimicry:{tmp_path / 'log' / 'netG.pth'}", dataset, arch)
    outcome = train(dataset=dataset, student_arch=make("architecture",
                        "sngan:width=0.03125:z_dim=16:d_width=0.125"),
                    method=make("method", method), settings=TrainSettings(
                        steps=2, batch_size=4, n_dis=1, device="cpu", log_every=1),
                    out_dir=tmp_path / "run", teacher=teacher.generator, teacher_arch=arch,
                    teacher_discriminator=teacher.discriminator, progress=False)
    assert outcome.status == "done", outcome.error
    assert torch.isfinite(outcome.generator(torch.randn(2, 16))).all()


@pytest.mark.parametrize(("spec", "dataset", "message"), [
    ("dcgan", {}, r"is an SNGAN generator; use --teacher sngan:width=1:z_dim=128, not dcgan"),
    ("sngan:width=0.5", {}, r"has ngf 256 and nz 128: use --teacher sngan:width=1:z_dim=128"),
    ("sngan", {"resolution": 16}, r"makes 32px images with 3 channels; data set images32 has 16px"),
    ("sngan", {"channels": 1}, r"with 3 channels; data set images32 has 32px images with 1 ch"),
])
def test_other_architecture_or_resolution_is_one_line(mimicry_run, spec, dataset, message):
    log_dir, _, _ = mimicry_run
    arch, images = sngan_teacher(spec, **dataset)
    with pytest.raises(UsageError, match=message):
        load_teacher_checkpoint(f"mimicry:{log_dir}", images, arch)


def test_other_mimicry_layouts_are_refused(mimicry_run, tmp_path):
    sngan_64, cgan_pd_32 = import_mimicry_nets("sngan.sngan_64", "cgan_pd.cgan_pd_32")
    arch, dataset = sngan_teacher()
    save_mimicry(sngan_64.SNGANGenerator64(ngf=64), tmp_path / "g64.pth")
    with pytest.raises(UsageError, match="channels change from block to block"):
        load_teacher_checkpoint(f"mimicry:{tmp_path / 'g64.pth'}", dataset, arch)
    save_mimicry(cgan_pd_32.CGANPDGenerator32(num_classes=10), tmp_path / "conditional.pth")
    with pytest.raises(UsageError, match=r"conditional.pth does not fit the teacher sngan.*"
                                         r"unexpected keys: stages.1.bn1"):
        load_teacher_checkpoint(f"mimicry:{tmp_path / 'conditional.pth'}", dataset, arch)
    discriminator = mimicry_run[0] / "checkpoints" / "netD" / "netD_100_steps.pth"
    with pytest.raises(UsageError, match="netD_100_steps.pth is not a torch-mimicry SNGAN gen"):
        load_teacher_checkpoint(f"mimicry:{discriminator}", dataset, arch)


# --- without torch-mimicry installed --------------------------------------------------------


def test_file_that_is_not_a_mimicry_checkpoint(tmp_path):
    arch, dataset = sngan_teacher()
    plain = tmp_path / "generator.pt"
    torch.save(arch.build_generator(32, 3).state_dict(), plain)
    with pytest.raises(UsageError, match=r"generator.pt is not a torch-mimicry checkpoint"):
        load_teacher_checkpoint(f"mimicry:{plain}", dataset, arch)
    with pytest.raises(UsageError, match=r"is not a torch-mimicry log directory"):
        load_teacher_checkpoint(f"mimicry:{tmp_path}", dataset, arch)
    with pytest.raises(UsageError, match=r"nothere.pth does not exist"):
        load_teacher_checkpoint(f"mimicry:{tmp_path / 'nothere.pth'}", dataset, arch)


def test_mismatch_through_the_command_line_is_one_line_before_training(tmp_path):
    plain = tmp_path / "generator.pt"
    torch.save(make("architecture", "dcgan").build_generator(16, 1).state_dict(), plain)
    for checkpoint, message in ((f"mimicry:{plain}", "is not a torch-mimicry checkpoint"),
                                (f"nosuch:{plain}", "unknown teacher checkpoint prefix 'nosuch:' "
                                                    "(known prefixes: mimicry:")):
        result = CliRunner().invoke(cli, [
            "run", "--dataset", "mnist5k:size=16", "--teacher", "dcgan", "--arch", "dcgan",
            "--methods", "mse", "--steps", "1", "--teacher-checkpoint", checkpoint,
            "--out", str(tmp_path / "run"), "--quiet"])
        assert result.exit_code == 2, result.output
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1
        assert not (tmp_path / "run").exists()


def test_shortcut_after_relu_is_mimicrys_in_place_relu():
    """torch-mimicry's DBlock applies ``nn.ReLU(inplace=True)`` to its input before the
    residual branch, so its identity shortcut adds relu(x), not x."""
    from akdgbench.builtin.archs.sngan import DownResidualBlock

    x = torch.tensor([[[[-1.0, 2.0], [3.0, -4.0]]]])
    for after_relu, expected in ((False, x), (True, x.clamp(min=0))):
        block = DownResidualBlock(1, 1, downsample=False, shortcut_after_relu=after_relu)
        block.conv2 = torch.nn.Conv2d(1, 1, 3, padding=1)  # the residual branch adds 0
        torch.nn.init.zeros_(block.conv2.weight)
        torch.nn.init.zeros_(block.conv2.bias)
        with torch.no_grad():
            assert torch.equal(block.eval()(x), expected)
