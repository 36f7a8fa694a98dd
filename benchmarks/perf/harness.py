"""What the performance benchmarks share: hand-written loops, a per-step clock, ratios.

Every comparison runs both sides in one process, interleaved, so that the
load of a shared machine falls on both alike: the engine's steps are timed
between consecutive iterations of its own loop, and a hand-written step runs
in between, one for one.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from akdgbench import engine
from akdgbench.architecture import Generator
from akdgbench.dataset import Dataset
from akdgbench.engine import TrainSettings, train
from akdgbench.optimization import fused_adam_supported
from akdgbench.plugins import make

#: the recipe both sides of every comparison use (the dcgan family's own)
LOSS = "ns"
LR = 2e-4
BETAS = (0.5, 0.999)
SEED = 0


def settings(steps: int, batch_size: int, **overrides: Any) -> TrainSettings:
    """Engine settings with the shared recipe, one D step per G step, on the CPU or CUDA."""
    options: dict[str, Any] = {"batch_size": batch_size, "loss": LOSS, "lr": LR, "betas": BETAS,
                               "n_dis": 1, "device": device_name(), "seed": SEED}
    options.update(overrides)
    return TrainSettings(steps=steps, **options)


def device_name() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# ---- the loops a PyTorch user writes by hand ------------------------------------------------


def _d_loss(disc: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-disc(real)).mean() + F.softplus(disc(fake)).mean()


def _g_loss(disc: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-disc(fake)).mean()


class BareGAN:
    """A GAN step written directly in PyTorch: the baseline the engine must match.

    Same models (same seed, built in the engine's order), batch, loss and
    optimizer as the engine. It is the efficient version of the usual loop:
    fakes for D made without autograd, D frozen while G learns. Given a
    ``teacher`` it is AKDG: a second discriminator learns teacher images
    (fresh latents) as real and student images as fake, and G fools both.
    """

    def __init__(self, arch_spec: str, dataset: Dataset, batch_size: int, *,
                 teacher: Generator | None = None, kd_weight: float = 1.0,
                 fused_adam: bool | None = None) -> None:
        device = torch.device(device_name())
        fused = fused_adam_supported(device.type) if fused_adam is None else fused_adam
        self.device, self.batch_size, self.kd_weight = device, batch_size, kd_weight
        self.images = dataset.train_set().images.to(device, torch.float32)
        size, channels = dataset.resolution, dataset.channels
        torch.manual_seed(SEED)
        arch = make("architecture", arch_spec)
        self.generator = arch.build_generator(size, channels).to(device).train()
        self.teacher = teacher.to(device).eval().requires_grad_(False) if teacher else None
        self.discriminators = [arch.build_discriminator(size, channels).to(device)
                               for _ in range(2 if teacher else 1)]
        self.optimizer_g = _adam(self.generator.parameters(), fused)
        self.optimizers_d = [_adam(d.parameters(), fused) for d in self.discriminators]
        self.d_params = [p for d in self.discriminators for p in d.parameters()]
        self.rng = torch.Generator(device).manual_seed(SEED)

    def latent(self) -> torch.Tensor:
        return torch.randn(self.batch_size, self.generator.z_dim, device=self.device,
                           generator=self.rng)

    def real(self) -> torch.Tensor:
        index = torch.randint(len(self.images), (self.batch_size,), device=self.device,
                              generator=self.rng)
        return self.images.index_select(0, index)

    def step(self) -> None:
        d, *kd = self.discriminators
        with torch.no_grad():
            fake = self.generator(self.latent())
            teacher_images = self.teacher(self.latent()) if self.teacher else None
        d_loss = _d_loss(d, self.real(), fake)
        if kd:
            d_loss = d_loss + _d_loss(kd[0], teacher_images, fake)
        for optimizer in self.optimizers_d:
            optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        for optimizer in self.optimizers_d:
            optimizer.step()

        for parameter in self.d_params:
            parameter.requires_grad_(False)
        fake = self.generator(self.latent())
        g_loss = _g_loss(d, fake)
        if kd:
            g_loss = g_loss + self.kd_weight * _g_loss(kd[0], fake)
        self.optimizer_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.optimizer_g.step()
        for parameter in self.d_params:
            parameter.requires_grad_(True)


def _adam(parameters: Any, fused: bool) -> torch.optim.Optimizer:
    return torch.optim.Adam(parameters, lr=LR, betas=BETAS, fused=fused or None)


# ---- the engine, timed step by step -----------------------------------------------------------


@contextlib.contextmanager
def engine_step_clock(between_steps: Callable[[], None] | None = None) -> Iterator[list[float]]:
    """Seconds of each iteration of the engine's training loop, from one step's start to the next.

    The engine begins every iteration by setting the learning rate
    (``_Trainer._set_lr``); wrapping that method gives one tick per step
    without changing the loop. ``between_steps`` runs at each tick, outside
    the engine's time: the hand-written side of an interleaved comparison.
    An iteration includes everything the engine does per step (progress
    bar, logging and checkpoints when due); the last one is not timed.
    """
    seconds: list[float] = []
    original = engine._Trainer._set_lr
    last_tick: list[float] = []

    def ticking_set_lr(trainer: Any, index: int) -> float:
        synchronize()
        now = time.perf_counter()
        if last_tick:
            seconds.append(now - last_tick[0])
        if between_steps is not None:
            between_steps()
        synchronize()
        last_tick[:] = [time.perf_counter()]
        return original(trainer, index)

    engine._Trainer._set_lr = ticking_set_lr  # type: ignore[method-assign]
    try:
        yield seconds
    finally:
        engine._Trainer._set_lr = original  # type: ignore[method-assign]


def timed(function: Callable[[], None], into: list[float]) -> Callable[[], None]:
    """``function`` that appends its own duration to ``into``."""

    def run() -> None:
        start = time.perf_counter()
        function()
        synchronize()
        into.append(time.perf_counter() - start)

    return run


def run_engine(dataset: Dataset, arch_spec: str, method_spec: str, train_settings: TrainSettings,
               *, teacher: Generator | None = None, teacher_spec: str | None = None,
               progress: bool = True) -> engine.TrainOutcome:
    """One engine training run in a throw-away directory (as ``akdgbench run`` trains a cell)."""
    with tempfile.TemporaryDirectory(prefix="akdgbench-perf-") as out_dir:
        outcome = train(
            dataset=dataset, student_arch=make("architecture", arch_spec),
            method=make("method", method_spec), settings=train_settings, out_dir=Path(out_dir),
            teacher=teacher,
            teacher_arch=(make("architecture", teacher_spec, role="teacher")
                          if teacher_spec else None),
            progress=progress)
    if outcome.status != "done":
        raise AssertionError(f"benchmark training run failed: {outcome.error}")
    return outcome


def build_teacher(teacher_spec: str, dataset: Dataset) -> Generator:
    torch.manual_seed(SEED + 1)
    arch = make("architecture", teacher_spec, role="teacher")
    return arch.build_generator(dataset.resolution, dataset.channels).eval()


# ---- summaries ------------------------------------------------------------------------------


def steady(seconds: list[float], warmup: int) -> list[float]:
    """The timings after ``warmup`` (first-step allocations, optimizer state, compilation)."""
    if len(seconds) <= warmup:
        raise ValueError(f"{len(seconds)} timed steps leave nothing after {warmup} warm-up steps")
    return seconds[warmup:]


@dataclass
class Rounds:
    """Per-round ratios of two interleaved sides, and their summary."""

    ratios: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    def summary(self, digits: int = 3) -> dict[str, Any]:
        return {"median": round(self.median, digits),
                "min": round(min(self.ratios), digits), "max": round(max(self.ratios), digits),
                "rounds": [round(r, digits) for r in self.ratios]}


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Median of the ratios of steps timed side by side: a burst of load on one step drops out."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def milliseconds(seconds: list[float]) -> float:
    return round(1000 * statistics.median(seconds), 3)
