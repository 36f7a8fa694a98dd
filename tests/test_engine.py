"""The training engine, driven by tiny plugins registered inline (independent of the built-ins)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from torch import nn

from akdgbench import Architecture, Dataset, Generator, Method, TensorImages, UsageError, hookimpl
from akdgbench.builtin.methods.akdg import AKDG
from akdgbench.engine import TrainSettings, train
from akdgbench.plugins import make, pm, train_step_reporter

RESOLUTION = 8


class TinyGenerator(Generator):
    def __init__(self, z_dim: int, width: int, channels: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Linear(z_dim, width * 16), nn.Unflatten(1, (width, 4, 4)),
                          nn.BatchNorm2d(width), nn.ReLU()),
            nn.Sequential(nn.ConvTranspose2d(width, width, 4, 2, 1), nn.BatchNorm2d(width),
                          nn.ReLU()),
            nn.Sequential(nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()),
        ])
        self.layer_count = 3


class FlatGenerator(Generator):
    """An MLP-like generator: flat stages, so it has no stage aligned with TinyGenerator's."""

    def __init__(self, z_dim: int, channels: int) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.stages = nn.ModuleList([
            nn.Sequential(nn.Linear(z_dim, 32), nn.ReLU()),
            nn.Sequential(nn.Linear(32, 32), nn.ReLU()),
            nn.Sequential(nn.Linear(32, channels * RESOLUTION**2), nn.Tanh(),
                          nn.Unflatten(1, (channels, RESOLUTION, RESOLUTION))),
        ])
        self.layer_count = 3


class TinyGAN(Architecture):
    name = "tinygan"
    options = {"width": 8, "z_dim": 8, "flat": False}
    training_defaults = {"loss": "hinge", "lr": 2e-3, "betas": (0.5, 0.999), "n_dis": 1,
                         "lr_decay": "none"}

    def build_generator(self, resolution: int, channels: int) -> Generator:
        if self.config["flat"]:
            return FlatGenerator(self.config["z_dim"], channels)
        return TinyGenerator(self.config["z_dim"], self.config["width"], channels)

    def build_discriminator(self, resolution: int, channels: int) -> nn.Module:
        width = self.config["width"]
        return nn.Sequential(nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.1),
                             nn.Flatten(), nn.Linear(width * (resolution // 2) ** 2, 1))


class ImageList(torch.utils.data.Dataset):
    """Not a TensorImages: the engine must go through a DataLoader."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images_list = list(images)

    def __len__(self) -> int:
        return len(self.images_list)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images_list[index]


class TinyImages(Dataset):
    name = "tinyimages"
    options = {"count": 40, "lazy": False, "broken": False}
    channels = 1

    @property
    def resolution(self) -> int:
        return RESOLUTION

    def train_set(self):
        if self.config["broken"]:
            raise AssertionError("this data set must not be read")
        generator = torch.Generator().manual_seed(123)
        images = torch.rand(self.config["count"], 1, RESOLUTION, RESOLUTION, generator=generator)
        images = images * 2 - 1
        return ImageList(images) if self.config["lazy"] else TensorImages(images)


class NaNAfter(Method):
    """Vanilla until step ``at`` (0-based), then a NaN generator loss."""

    name = "nan-after"
    options = {"at": 5}

    def setup(self, ctx):
        self.d = ctx.new_discriminator("d")

    def discriminator_losses(self, step):
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step):
        loss = step.adv.generator_loss(self.d, step.fake)
        return loss * float("nan") if step.index >= self.config["at"] else loss


class TinyPlugin:
    @hookimpl
    def register_architectures(self, register):
        register(TinyGAN)

    @hookimpl
    def register_datasets(self, register):
        register(TinyImages)

    @hookimpl
    def register_methods(self, register):
        register(NaNAfter)


@pytest.fixture(autouse=True)
def tiny_plugin():
    pm.register(TinyPlugin(), name="tiny-engine-test")
    try:
        yield
    finally:
        pm.unregister(name="tiny-engine-test")


def make_teacher(spec: str = "tinygan:width=12") -> Generator:
    torch.manual_seed(7)
    return make("architecture", spec, role="teacher").build_generator(RESOLUTION, 1)


def make_teacher_discriminator(method: str, spec: str = "tinygan:width=12"):
    """The teacher's discriminator where the method needs one (lit's default), else None."""
    if not make("method", method).needs_teacher_discriminator:
        return None
    torch.manual_seed(8)
    return make("architecture", spec, role="teacher").build_discriminator(RESOLUTION, 1)


def run(out_dir: Path, method: str = "vanilla", *, steps: int = 4, dataset: str = "tinyimages",
        student: str = "tinygan", teacher: Generator | None = None,
        teacher_spec: str = "tinygan:width=12", **overrides):
    options = {"batch_size": 8, "device": "cpu", "log_every": 2, "checkpoint_every": 2}
    options.update(overrides)
    settings = TrainSettings(steps=steps, **options)
    needs_teacher = make("method", method).needs_teacher
    if needs_teacher and teacher is None:
        teacher = make_teacher(teacher_spec)
    return train(
        dataset=make("dataset", dataset, data_root=out_dir),
        student_arch=make("architecture", student),
        method=make("method", method),
        settings=settings,
        out_dir=out_dir,
        teacher=teacher,
        teacher_arch=make("architecture", teacher_spec, role="teacher") if teacher else None,
        teacher_discriminator=make_teacher_discriminator(method, teacher_spec),
        progress=False,
    )


def generator_weights(out_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(out_dir / "generator.pt", weights_only=True)


def assert_same_weights(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def read_log(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_vanilla_trains_and_writes_everything(tmp_path):
    outcome = run(tmp_path, steps=4)
    assert outcome.status == "done" and outcome.step == 4 and outcome.error == ""
    assert outcome.generator_path == tmp_path / "generator.pt"
    assert not outcome.generator.training
    for name in ("checkpoint.pt", "generator.pt", "samples.png", "train_log.csv"):
        assert (tmp_path / name).is_file(), name
    rows = read_log(tmp_path / "train_log.csv")
    assert [row["step"] for row in rows] == ["2", "4"]
    assert set(rows[0]) == {"step", "d.d", "g", "lr", "seconds"}
    assert float(rows[0]["lr"]) == pytest.approx(2e-3)
    assert_same_weights(generator_weights(tmp_path), outcome.generator.state_dict())


def test_same_seed_same_weights_other_seed_different(tmp_path):
    run(tmp_path / "a", seed=3)
    run(tmp_path / "b", seed=3)
    run(tmp_path / "c", seed=4)
    assert_same_weights(generator_weights(tmp_path / "a"), generator_weights(tmp_path / "b"))
    a, c = generator_weights(tmp_path / "a"), generator_weights(tmp_path / "c")
    assert any(not torch.equal(a[key], c[key]) for key in a)


class Interrupt(Exception):
    pass


@pytest.mark.parametrize(
    ("method", "dataset", "overrides"),
    [
        ("vanilla", "tinyimages:lazy=true", {"ema": 0.9, "lr_decay": "linear", "n_dis": 2}),
        ("akdg", "tinyimages", {}),
        ("lit:lit_fraction=0.5", "tinyimages", {}),
        ("mse:adv_weight=0.5", "tinyimages", {"loss": "wgan-gp"}),
    ],
)
def test_resume_is_bit_identical(tmp_path, method, dataset, overrides):
    straight = run(tmp_path / "straight", method, steps=6, dataset=dataset, **overrides)

    def interrupt_at_3(step, losses):
        if step == 3:
            raise Interrupt

    settings = TrainSettings(steps=6, batch_size=8, device="cpu", log_every=1,
                             checkpoint_every=3, **overrides)
    teacher_needed = make("method", method).needs_teacher
    kwargs = dict(dataset=make("dataset", dataset, data_root=tmp_path),
                  student_arch=make("architecture", "tinygan"), settings=settings,
                  out_dir=tmp_path / "resumed", progress=False,
                  teacher_arch=make("architecture", "tinygan:width=12", role="teacher")
                  if teacher_needed else None,
                  teacher_discriminator=make_teacher_discriminator(method))
    with pytest.raises(Interrupt):
        train(method=make("method", method), teacher=make_teacher() if teacher_needed else None,
              on_log=interrupt_at_3, **kwargs)
    resumed = train(method=make("method", method),
                    teacher=make_teacher() if teacher_needed else None,
                    **kwargs)
    assert straight.status == resumed.status == "done"
    assert_same_weights(generator_weights(tmp_path / "straight"),
                        generator_weights(tmp_path / "resumed"))
    steps = [int(row["step"]) for row in read_log(tmp_path / "resumed" / "train_log.csv")]
    assert steps == [1, 2, 3, 4, 5, 6]  # rows logged after the checkpoint were redone, not doubled


@pytest.mark.parametrize(("method", "overrides"),
                         [("vanilla", {"ema": 0.9, "n_dis": 2}), ("akdg", {})])
def test_a_longer_budget_continues_a_finished_run_to_the_same_weights(tmp_path, method,
                                                                      overrides):
    straight = run(tmp_path / "straight", method, steps=6, **overrides)
    run(tmp_path / "grown", method, steps=4, **overrides)
    grown = run(tmp_path / "grown", method, steps=6, **overrides)
    assert straight.status == grown.status == "done"
    assert_same_weights(generator_weights(tmp_path / "straight"),
                        generator_weights(tmp_path / "grown"))
    steps = [row["step"] for row in read_log(tmp_path / "grown" / "train_log.csv")]
    assert steps == ["2", "4", "6"]


@pytest.mark.parametrize(("method", "overrides", "why"), [
    ("lit:lit_fraction=0.5", {}, "method"),  # its phases are fractions of the budget
    ("vanilla", {"lr_decay": "linear"}, "lr_decay"),
    ("vanilla", {}, "shrink"),
])
def test_a_budget_that_the_run_depends_on_is_not_extended(tmp_path, method, overrides, why):
    run(tmp_path, method, steps=4, **overrides)
    with pytest.raises(UsageError, match="different setup: .*steps 4 .now (6|2)"):
        run(tmp_path, method, steps=2 if why == "shrink" else 6, **overrides)


def test_finished_run_is_not_retrained(tmp_path):
    first = run(tmp_path, steps=2)
    again = run(tmp_path, steps=2)
    assert again.status == "done" and again.train_seconds == first.train_seconds
    assert_same_weights(first.generator.state_dict(), again.generator.state_dict())


def test_non_finite_loss_diverges_and_keeps_last_good_checkpoint(tmp_path):
    outcome = run(tmp_path, "nan-after:at=5", steps=10)
    assert outcome.status == "diverged"
    assert outcome.step == 6  # the 1-based step whose loss was NaN
    assert "g" in outcome.error and "6" in outcome.error
    assert not (tmp_path / "generator.pt").exists()
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["step"] == 4
    student = saved["modules"]["student"]
    assert all(torch.isfinite(value).all() for value in student.values())
    assert_same_weights(student, {k: v.cpu() for k, v in outcome.generator.state_dict().items()})


def test_corrupted_checkpoint_is_a_usage_error_naming_it(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(UsageError, match="checkpoint.pt.*; delete it to start over"):
        run(tmp_path)


def test_checkpoint_of_another_setup_is_refused(tmp_path):
    run(tmp_path, steps=2, lr=1e-3)
    with pytest.raises(UsageError, match=r"checkpoint .*checkpoint.pt.*lr 0.001"):
        run(tmp_path, steps=2, lr=2e-3)
    with pytest.raises(UsageError, match="method"):
        run(tmp_path, "akdg", steps=2, lr=1e-3)


def test_mse_without_adversarial_term_reads_no_data_and_builds_no_discriminator(tmp_path):
    outcome = run(tmp_path, "mse", dataset="tinyimages:broken=true", steps=2)
    assert outcome.status == "done"
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["modules"]["discriminators"] == {}
    assert set(read_log(tmp_path / "train_log.csv")[0]) == {"step", "g.mse", "g", "lr", "seconds"}


def test_mse_with_adversarial_weight_trains_a_discriminator(tmp_path):
    run(tmp_path, "mse:adv_weight=0.1", steps=2)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(saved["modules"]["discriminators"]) == {"d"}


class PhaseProbe(AKDG):
    """AKDG recording which latents reach student and teacher, and when D grads appear."""

    name = "phase-probe"

    def setup(self, ctx):
        super().setup(ctx)
        self.phase = None
        self.student_inputs, self.teacher_inputs = [], []
        self.bad_grads = []
        # the engine runs the stages itself (to keep their outputs): the first one sees z
        ctx.student.stages[0].register_forward_pre_hook(
            lambda m, a: self.student_inputs.append(a[0]))
        ctx.teacher.stages[0].register_forward_pre_hook(
            lambda m, a: self.teacher_inputs.append(a[0]))
        for disc in (self.d, self.d_kd):
            for parameter in disc.parameters():
                parameter.register_hook(self._grad_hook)

    def _grad_hook(self, grad):
        if self.phase == "generator":
            self.bad_grads.append(grad)

    def discriminator_losses(self, step):
        self.phase = "discriminator"
        assert not step.fake.requires_grad  # no generator graph in the D phase
        return super().discriminator_losses(step)

    def generator_loss(self, step):
        self.phase = "generator"
        assert step.fake.requires_grad
        return super().generator_loss(step)


def test_akdg_latents_are_independent_and_no_discriminator_grads_in_generator_phase(tmp_path):
    method = PhaseProbe()
    train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
          student_arch=make("architecture", "tinygan"),
          method=method, settings=TrainSettings(steps=2, batch_size=8, device="cpu"),
          out_dir=tmp_path, teacher=make_teacher(),
          teacher_arch=make("architecture", "tinygan:width=12", role="teacher"), progress=False)
    # per step: student(z) in the D phase, student(z) in the G phase; teacher(z') once
    assert len(method.teacher_inputs) == 2
    assert len(method.student_inputs) >= 4
    for teacher_z in method.teacher_inputs:
        assert all(not torch.equal(teacher_z, z) for z in method.student_inputs)
    assert method.bad_grads == []


def test_hooks_and_callbacks_once_per_logging_interval(tmp_path):
    seen = []

    class Recorder:
        @hookimpl
        def on_train_step(self, cell, step, losses):
            seen.append((cell, step, sorted(losses)))

    pm.register(Recorder(), name="engine-test-recorder")
    logged = []
    report = train_step_reporter("the-cell")  # what the runner passes as on_log

    def on_log(step, losses):
        report(step, losses)
        logged.append(step)

    try:
        train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
              student_arch=make("architecture", "tinygan"), method=make("method", "vanilla"),
              settings=TrainSettings(steps=4, batch_size=8, device="cpu", log_every=2),
              out_dir=tmp_path, progress=False, on_log=on_log)
    finally:
        pm.unregister(name="engine-test-recorder")
    assert seen == [("the-cell", 2, ["d.d", "g"]), ("the-cell", 4, ["d.d", "g"])]
    assert logged == [2, 4]


def test_evaluation_callback_sees_eval_mode_and_does_not_change_training(tmp_path):
    calls = []

    def on_eval(step, generator):
        calls.append((step, generator.training))
        torch.rand(100)  # evaluation may draw random numbers: training must not notice
        return {"score": float(step)}

    # WGAN-GP draws its mixing weights from the global generator, which evaluation also uses
    settings = TrainSettings(steps=4, batch_size=8, device="cpu", log_every=4, loss="wgan-gp")
    common = dict(student_arch=make("architecture", "tinygan"), settings=settings, progress=False)
    evaluated = train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
                      method=make("method", "vanilla"),
                      out_dir=tmp_path / "eval", eval_every=2, on_eval=on_eval, **common)
    plain = train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
                  method=make("method", "vanilla"),
                  out_dir=tmp_path / "plain", **common)
    assert calls == [(2, False), (4, False)]
    rows = read_log(tmp_path / "eval" / "eval_log.csv")
    assert [(row["step"], row["score"]) for row in rows] == [("2", "2.0"), ("4", "4.0")]
    assert_same_weights(evaluated.generator.state_dict(), plain.generator.state_dict())


def test_ema_generator_is_returned_and_differs_from_raw_weights(tmp_path):
    outcome = run(tmp_path, steps=3, ema=0.5)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert_same_weights(generator_weights(tmp_path), saved["modules"]["ema"])
    raw = saved["modules"]["student"]
    assert any(not torch.equal(raw[key], saved["modules"]["ema"][key]) for key in raw)
    assert_same_weights(outcome.generator.state_dict(), saved["modules"]["ema"])


def test_bf16_and_channels_last_run_on_cpu(tmp_path):
    outcome = run(tmp_path, "akdg", steps=2, precision="bf16", channels_last=True)
    assert outcome.status == "done"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"steps": -3}, "steps must be a positive integer"),
        ({"precision": "fp16"}, "fp16 needs a CUDA device"),
        ({"precision": "fp8"}, "precision must be one of"),
        ({"batch_size": 64}, "fewer than the batch size"),
        ({"lr_decay": "cosine"}, "lr_decay must be one of"),
        ({"loss": "hinj"}, "unknown adversarial loss 'hinj'"),
        ({"ema": 1.0}, "ema must be"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_bad_settings_are_usage_errors(tmp_path, overrides, message):
    overrides = dict(overrides)
    steps = overrides.pop("steps", 2)
    with pytest.raises(UsageError, match=message):
        run(tmp_path, steps=steps, **overrides)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="CUDA is not available"):
        run(tmp_path, device="cuda")


def test_teacher_method_without_teacher_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no teacher was given"):
        train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
              student_arch=make("architecture", "tinygan"), method=make("method", "akdg"),
              settings=TrainSettings(steps=2, device="cpu"), out_dir=tmp_path, progress=False)


def test_unknown_method_option_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown option 'lamda'"):
        make("method", "akdg:lamda=2")


def test_lit_on_unaligned_architectures_names_both(tmp_path):
    teacher = make_teacher("tinygan:flat=true")
    with pytest.raises(UsageError, match=r"tinygan:flat=True.*tinygan:flat=False.*no aligned"):
        run(tmp_path, "lit", teacher=teacher, teacher_spec="tinygan:flat=true")


def test_mse_refuses_a_teacher_with_another_latent_size(tmp_path):
    teacher = make_teacher("tinygan:z_dim=16")
    with pytest.raises(UsageError, match="same z"):
        run(tmp_path, "mse", teacher=teacher, teacher_spec="tinygan:z_dim=16")


@pytest.mark.slow
def test_compiled_run_trains(tmp_path):
    """torch.compile wraps student, teacher and discriminators (about 30 s of compilation)."""
    outcome = run(tmp_path, "akdg", steps=2, compile=True)
    assert outcome.status == "done"
    assert torch.isfinite(outcome.generator(torch.randn(2, 8))).all()


def test_a_discriminator_left_out_of_the_losses_sits_the_step_out(tmp_path):
    """lit's phase 1 returns no discriminator loss: its D is neither stepped nor changed."""
    run(tmp_path, "lit:lit_fraction=1.0", steps=2)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert set(saved["modules"]["discriminators"]) == {"d"}
    assert saved["optimizers"]["discriminators"]["d"]["state"] == {}  # Adam never stepped
    assert not any(key.startswith("d.") for key in read_log(tmp_path / "train_log.csv")[0])


@pytest.mark.parametrize("role, label", [("teacher", "teacher tinygan"),
                                          ("student", "vanilla -> tinygan")])
def test_the_progress_bar_names_a_teacher_as_one(tmp_path, capsys, role, label):
    train(dataset=make("dataset", "tinyimages", data_root=tmp_path),
          student_arch=make("architecture", "tinygan", role=role),
          method=make("method", "vanilla"),
          settings=TrainSettings(steps=2, batch_size=8, device="cpu", log_every=2),
          out_dir=tmp_path, progress=True)
    assert f"{label}:" in capsys.readouterr().err
