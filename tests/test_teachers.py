"""Teachers: a user's checkpoint, or trained once through the engine and cached."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from torch import nn

import akdgbench.engine
from akdgbench import Architecture, Dataset, Generator, TensorImages, UsageError, hookimpl
from akdgbench.engine import TrainSettings
from akdgbench.plugins import make, pm
from akdgbench.teachers import get_teacher


class TeachGenerator(Generator):
    def __init__(self, z_dim: int, width: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Linear(z_dim, width * 16), nn.Unflatten(1, (width, 4, 4)), nn.ReLU()),
            nn.Sequential(nn.Conv2d(width, 1, 3, padding=1), nn.Tanh()),
        ])
        self.layer_count = 2


class TeachGAN(Architecture):
    name = "teachgan"
    options = {"width": 4}
    teacher_preset = {"width": 6}
    training_defaults = {"loss": "hinge", "lr": 1e-3, "betas": (0.5, 0.999), "n_dis": 1,
                         "lr_decay": "none"}

    def build_generator(self, resolution, channels):
        return TeachGenerator(4, self.config["width"])

    def build_discriminator(self, resolution, channels):
        return nn.Sequential(nn.Flatten(), nn.Linear(channels * resolution**2, 1))


class TeachImages(Dataset):
    name = "teachimages"
    channels = 1

    @property
    def resolution(self):
        return 4

    def train_set(self):
        return TensorImages(torch.rand(16, 1, 4, 4, generator=torch.Generator().manual_seed(1)))


class TeachPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(TeachGAN)

    @hookimpl
    def register_datasets(self, register):
        register(TeachImages)


@pytest.fixture(autouse=True)
def teach_plugin():
    pm.register(TeachPlugin(), name="teach-test-plugin")
    try:
        yield
    finally:
        pm.unregister(name="teach-test-plugin")


@pytest.fixture
def train_calls(monkeypatch):
    """Counts engine runs (get_teacher imports ``train`` from the engine when it needs it)."""
    calls = []
    real_train = akdgbench.engine.train

    def counting_train(**kwargs):
        calls.append(kwargs["out_dir"])
        return real_train(**kwargs)

    monkeypatch.setattr(akdgbench.engine, "train", counting_train)
    return calls


def teacher(tmp_path, steps=3, cache="cache", checkpoint=None):
    return get_teacher(
        dataset=make("dataset", "teachimages", data_root=tmp_path),
        teacher_arch=make("architecture", "teachgan", role="teacher"),
        steps=steps,
        settings=TrainSettings(steps=999, batch_size=4, device="cpu", log_every=1,
                               checkpoint_every=2),
        cache_dir=tmp_path / cache,
        checkpoint=checkpoint,
        progress=False,
    )


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_trained_once_then_reused_frozen(tmp_path, train_calls):
    first = teacher(tmp_path)
    assert len(train_calls) == 1
    for part in (first.generator, first.discriminator):
        assert not part.training
        assert not any(parameter.requires_grad for parameter in part.parameters())
    second = teacher(tmp_path)
    assert len(train_calls) == 1  # the cache answered
    assert same_weights(first.generator, second.generator)
    assert same_weights(first.discriminator, second.discriminator)
    assert (train_calls[0] / "teacher.json").is_file()
    assert (train_calls[0] / "generator.pt").is_file()
    teacher(tmp_path, steps=4)  # another budget is another teacher
    assert len(train_calls) == 2 and train_calls[1] != train_calls[0]


def test_interrupted_teacher_run_resumes(tmp_path, monkeypatch):
    straight = teacher(tmp_path, steps=4, cache="straight")
    real_train = akdgbench.engine.train

    class Interrupt(Exception):
        pass

    def stop_at_2(step, losses):
        if step == 2:
            raise Interrupt

    monkeypatch.setattr(akdgbench.engine, "train",
                        lambda **kwargs: real_train(**{**kwargs, "on_log": stop_at_2}))
    with pytest.raises(Interrupt):
        teacher(tmp_path, steps=4, cache="interrupted")
    monkeypatch.setattr(akdgbench.engine, "train", real_train)
    resumed = teacher(tmp_path, steps=4, cache="interrupted")
    assert same_weights(straight.generator, resumed.generator)
    assert same_weights(straight.discriminator, resumed.discriminator)


def test_two_processes_never_train_the_same_teacher(tmp_path, monkeypatch):
    real_train = akdgbench.engine.train
    calls = []

    def slow_train(**kwargs):
        calls.append(1)
        time.sleep(0.3)  # widen the window in which a second trainer could start
        return real_train(**kwargs)

    monkeypatch.setattr(akdgbench.engine, "train", slow_train)
    results = []
    threads = [threading.Thread(target=lambda: results.append(teacher(tmp_path)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 2
    assert same_weights(results[0].generator, results[1].generator)


def test_checkpoint_in_every_accepted_form(tmp_path, train_calls):
    trained = teacher(tmp_path)
    run_dir = train_calls[0]
    raw = tmp_path / "raw.pt"
    torch.save(trained.generator.state_dict(), raw)
    compiled = tmp_path / "compiled.pt"
    torch.save({f"_orig_mod.{k}": v for k, v in trained.generator.state_dict().items()}, compiled)
    for path in (raw, compiled, run_dir / "generator.pt", run_dir / "checkpoint.pt"):
        loaded = teacher(tmp_path, checkpoint=path)
        assert same_weights(loaded.generator, trained.generator), path
        assert not loaded.generator.training
    assert len(train_calls) == 1  # a checkpoint is never trained


def test_discriminator_comes_from_training_checkpoints_only(tmp_path, train_calls):
    trained = teacher(tmp_path)
    run_dir = train_calls[0]
    saved = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    kept = trained.discriminator_optimizer_state
    expected = saved["optimizers"]["discriminators"]["d"]
    assert kept["param_groups"] == expected["param_groups"]
    assert kept["state"] and kept["state"].keys() == expected["state"].keys()  # Adam moments
    assert all(torch.equal(kept["state"][i]["exp_avg"], expected["state"][i]["exp_avg"])
               for i in kept["state"])

    from_checkpoint = teacher(tmp_path, checkpoint=run_dir / "checkpoint.pt")
    assert same_weights(from_checkpoint.discriminator, trained.discriminator)
    assert from_checkpoint.require_discriminator("ssgc") is from_checkpoint.discriminator

    generator_only = teacher(tmp_path, checkpoint=run_dir / "generator.pt")
    assert generator_only.discriminator is None
    with pytest.raises(UsageError, match=r"method 'ssgc' needs the teacher's discriminator, "
                                         r"but teacher checkpoint .*generator.pt holds the "
                                         r"generator only"):
        generator_only.require_discriminator("ssgc")


def test_old_cache_without_discriminator_still_loads(tmp_path, train_calls):
    trained = teacher(tmp_path)
    (train_calls[0] / "checkpoint.pt").unlink()  # a cache that kept the generator alone
    cached = teacher(tmp_path)
    assert len(train_calls) == 1
    assert same_weights(cached.generator, trained.generator)
    assert cached.discriminator is None
    with pytest.raises(UsageError, match="has no checkpoint.pt"):
        cached.require_discriminator("ssgc")


def test_discriminator_of_another_width_is_refused_only_when_needed(tmp_path, train_calls):
    teacher(tmp_path)
    saved = torch.load(train_calls[0] / "checkpoint.pt", weights_only=True)
    saved["modules"]["discriminators"]["d"] = {"0.weight": torch.zeros(1, 3)}
    torch.save(saved, tmp_path / "odd.pt")
    loaded = teacher(tmp_path, checkpoint=tmp_path / "odd.pt")
    assert loaded.discriminator is None  # the generator is still a usable teacher
    with pytest.raises(UsageError, match=r"odd.pt does not fit the discriminator of the teacher"):
        loaded.require_discriminator("ssgc")


def test_wrong_architecture_checkpoint_names_keys(tmp_path):
    student_sized = make("architecture", "teachgan", role="student").build_generator(4, 1)
    wrong_width = tmp_path / "width.pt"
    torch.save(student_sized.state_dict(), wrong_width)
    with pytest.raises(UsageError, match=r"width.pt does not fit .*wrong shape keys: stages.0.0"):
        teacher(tmp_path, checkpoint=wrong_width)

    renamed = tmp_path / "renamed.pt"
    state = make("architecture", "teachgan", role="teacher").build_generator(4, 1).state_dict()
    state["extra.weight"] = state.pop("stages.1.0.weight")
    torch.save(state, renamed)
    with pytest.raises(UsageError,
                       match=r"missing keys: stages.1.0.weight; unexpected keys: extra.weight"):
        teacher(tmp_path, checkpoint=renamed)


def test_a_corrupted_cached_teacher_says_to_delete_it(tmp_path):
    teacher(tmp_path)
    (cached,) = (tmp_path / "cache").glob("*/generator.pt")
    cached.write_text("truncated")
    with pytest.raises(UsageError, match="generator.pt is corrupted.*; delete it to start over"):
        teacher(tmp_path)


def test_unreadable_checkpoints_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="nothere.pt does not exist"):
        teacher(tmp_path, checkpoint=tmp_path / "nothere.pt")
    garbage = tmp_path / "garbage.pt"
    garbage.write_text("hello")
    with pytest.raises(UsageError, match="garbage.pt is corrupted") as refused:
        teacher(tmp_path, checkpoint=garbage)
    assert "delete" not in str(refused.value)  # the user's own file: never advise deleting it
    not_weights = tmp_path / "list.pt"
    torch.save([1, 2, 3], not_weights)
    with pytest.raises(UsageError, match="list.pt holds no generator state dict"):
        teacher(tmp_path, checkpoint=not_weights)
