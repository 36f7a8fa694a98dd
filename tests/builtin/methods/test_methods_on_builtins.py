"""Every method through the engine with the built-in ``dcgan``/``mlp`` families on ``mnist5k``."""

import pytest
import torch

from akdgbench import UsageError
from akdgbench.engine import TrainSettings, train
from akdgbench.plugins import make

DATASET = "mnist5k:size=16"
TEACHER = "dcgan:width=0.08:d_width=0.05:z_dim=16"
STUDENT = "dcgan:width=0.04:d_width=0.05:z_dim=16"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make("dataset", DATASET, data_root=tmp_path_factory.mktemp("data"))


def run(tmp_path, dataset, method, student=STUDENT, teacher_spec=TEACHER):
    teacher_arch = make("architecture", teacher_spec, role="teacher")
    torch.manual_seed(0)
    teacher = teacher_arch.build_generator(dataset.resolution, dataset.channels)
    teacher_discriminator = teacher_arch.build_discriminator(dataset.resolution, dataset.channels)
    settings = TrainSettings(steps=2, batch_size=8, device="cpu", log_every=1)
    return train(dataset=dataset, student_arch=make("architecture", student),
                 method=make("method", method), settings=settings,
                 out_dir=tmp_path, teacher=teacher, teacher_arch=teacher_arch,
                 teacher_discriminator=teacher_discriminator, progress=False)


@pytest.mark.parametrize("method", ["vanilla", "mse", "lit", "akdg", "akdg:kd_arch=mlp:lambda=0.5",
                                    "feature-kd", "tinygan", "ssgc", "ssgc:finetune=false",
                                    "dcd"])
def test_each_method_trains_a_dcgan_student(tmp_path, dataset, method):
    outcome = run(tmp_path, dataset, method)
    assert outcome.status == "done"
    images = outcome.generator(torch.randn(2, 16))
    assert images.shape == (2, 1, 16, 16)
    assert torch.isfinite(images).all()


def test_mse_trains_an_mlp_student(tmp_path, dataset):
    outcome = run(tmp_path, dataset, "mse", student="mlp:hidden=32:z_dim=16:d_width=0.05")
    assert outcome.status == "done"


def test_lit_refuses_an_mlp_student_of_a_dcgan_teacher_naming_both(tmp_path, dataset):
    with pytest.raises(UsageError, match=r"cannot distil teacher dcgan:.* into student mlp:.*"):
        run(tmp_path, dataset, "lit", student="mlp:hidden=32:z_dim=16")


def test_feature_kd_and_tinygan_train_an_mlp_student(tmp_path, dataset):
    assert run(tmp_path / "tinygan", dataset, "tinygan",
               student="mlp:hidden=32:z_dim=16:d_width=0.05").status == "done"
    mlp_teacher = "mlp:hidden=64:z_dim=16:d_width=0.05"
    assert run(tmp_path / "feature-kd", dataset, "feature-kd",
               student="mlp:hidden=32:z_dim=16:d_width=0.05",
               teacher_spec=mlp_teacher).status == "done"  # linear adapters on flat stages


@pytest.mark.parametrize("method", ["feature-kd", "dcd"])
def test_feature_methods_refuse_an_mlp_student_of_a_dcgan_teacher_naming_both(tmp_path, dataset,
                                                                              method):
    with pytest.raises(UsageError, match=r"cannot distil teacher dcgan:.* into student mlp:.*"):
        run(tmp_path, dataset, method, student="mlp:hidden=32:z_dim=16")


def test_ssgc_trains_an_mlp_student_against_the_dcgan_teacher_discriminator(tmp_path, dataset):
    assert run(tmp_path, dataset, "ssgc", student="mlp:hidden=32:z_dim=16").status == "done"


def test_plugins_command_lists_the_methods_beyond_the_paper():
    from click.testing import CliRunner

    from akdgbench.cli import cli

    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    for name in ("feature-kd", "tinygan", "ssgc", "dcd"):
        assert name in result.output
