"""On CUDA the engine's training steps never make the host wait for the device.

Every step after the first is run under ``torch.cuda.set_sync_debug_mode("error")``,
so any synchronising call in it (``.item()``, ``float(tensor)``, a blocking
copy, ``nonzero``...) raises. The mode is lifted only when the loss log is read
back, once per logging interval, and for what follows it in that interval
(log files, hooks, checkpoints). The data set is small enough that epochs
(new shuffles) begin inside the checked steps. Skipped without CUDA.
"""

from __future__ import annotations

import pytest
import torch

from akdgbench import Dataset, TensorImages, hookimpl
from akdgbench import engine as engine_module
from akdgbench.engine import TrainSettings, train
from akdgbench.plugins import make, pm
from akdgbench.training_log import LossLog

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

RESOLUTION = 16
BATCH_SIZE = 16
WARMUP_STEPS = 1  # the first step allocates: data upload, optimizer state, cuDNN plans
STUDENT = "dcgan:width=0.0625:d_width=0.0625"
TEACHER = "dcgan:width=0.125:d_width=0.0625"


class EpochImages(Dataset):
    """48 images: a new epoch (a new shuffle copied to the device) every 3 batches."""

    name = "epoch-images"
    channels = 1

    @property
    def resolution(self) -> int:
        return RESOLUTION

    def train_set(self) -> TensorImages:
        generator = torch.Generator().manual_seed(0)
        return TensorImages(torch.rand(48, 1, RESOLUTION, RESOLUTION, generator=generator) * 2 - 1)


class EpochImagesPlugin:
    @hookimpl
    def register_datasets(self, register):
        register(EpochImages)


@pytest.fixture(autouse=True)
def epoch_images():
    pm.register(EpochImagesPlugin(), name="engine-cuda-test")
    try:
        yield
    finally:
        pm.unregister(name="engine-cuda-test")


@pytest.fixture
def sync_errors_in_steps(monkeypatch):
    """Sync errors on from each step's start (after warm-up) until the loss log is read back."""
    checked_steps: list[int] = []
    set_lr, flush = engine_module._Trainer._set_lr, LossLog.flush

    def set_lr_then_forbid_syncs(trainer, index):
        if index >= WARMUP_STEPS:
            torch.cuda.set_sync_debug_mode("error")
            checked_steps.append(index)
        return set_lr(trainer, index)

    def allow_syncs_then_flush(log):
        torch.cuda.set_sync_debug_mode("default")
        return flush(log)

    monkeypatch.setattr(engine_module._Trainer, "_set_lr", set_lr_then_forbid_syncs)
    monkeypatch.setattr(LossLog, "flush", allow_syncs_then_flush)
    try:
        yield checked_steps
    finally:
        torch.cuda.set_sync_debug_mode("default")


@pytest.mark.parametrize(
    ("method", "overrides"),
    [
        ("vanilla", {}),
        ("vanilla", {"precision": "fp16", "lr_decay": "linear", "n_dis": 2}),
        ("akdg", {"precision": "bf16", "ema": 0.999, "channels_last": True}),
        ("mse:adv_weight=0.5", {"loss": "wgan-gp"}),
        ("lit", {}),
        ("lit", {"precision": "fp16"}),  # its discriminator sits phase 1 out under the scaler
        ("feature-kd", {"compile": True}),  # stage outputs from a compiled stage_outputs
        ("tinygan", {"precision": "bf16"}),
        ("ssgc", {}),
        ("dcd", {"channels_last": True}),
    ],
)
def test_training_steps_make_no_host_sync(tmp_path, sync_errors_in_steps, method, overrides):
    steps = 12
    settings = TrainSettings(steps=steps, batch_size=BATCH_SIZE, device="cuda", log_every=5,
                             checkpoint_every=0, **overrides)
    distils = make("method", method).needs_teacher
    teacher = teacher_discriminator = None
    if distils:
        torch.manual_seed(1)
        teacher = make("architecture", TEACHER, role="teacher").build_generator(RESOLUTION, 1)
        teacher_discriminator = make("architecture", TEACHER, role="teacher").build_discriminator(
            RESOLUTION, 1)
    outcome = train(
        dataset=make("dataset", "epoch-images", data_root=tmp_path),
        student_arch=make("architecture", STUDENT),
        method=make("method", method), settings=settings, out_dir=tmp_path / "run",
        teacher=teacher,
        teacher_arch=make("architecture", TEACHER, role="teacher") if distils else None,
        teacher_discriminator=teacher_discriminator, progress=False)
    assert outcome.status == "done", outcome.error
    assert sync_errors_in_steps == list(range(WARMUP_STEPS, steps))
