"""The training loop shared by teachers and every distillation method.

A method states only its losses (``akdgbench.method``); this module owns the
rest: devices, optimizers, n_dis, mixed precision, torch.compile, EMA,
checkpoints and resume (:mod:`akdgbench.training_state`), seeds, the divergence
guard, progress, and one logging callback (``on_log``, which the runner binds to
the ``on_train_step`` hook). What methods receive is :mod:`akdgbench.train_step`.

Speed notes: losses stay on the device and are read back once per logging
interval (one transfer); discriminator-phase fakes are made without autograd;
each phase differentiates only its own parameters (``torch.autograd.grad``),
so discriminator weight gradients are never computed in the generator phase,
where the discriminators' weights are constants (no autograd graph for them);
in-memory data sets are sampled on the device without a DataLoader; Adam is
fused wherever torch has the kernel. ``benchmarks/perf`` measures all of this
against a hand-written loop.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from akdgbench.architecture import Architecture, Generator
from akdgbench.checkpoint import (
    CHECKPOINT_NAME,
    save_atomically,
    weights_digest,
)
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.losses import make_adversarial_loss
from akdgbench.method import Method
from akdgbench.optimization import apply_gradients, constants, fused_adam_supported
from akdgbench.results import DIVERGED, DONE
from akdgbench.train_step import TrainContext, TrainStep
from akdgbench.training_data import RealBatches
from akdgbench.training_log import (
    EVAL_LOG_NAME,
    TRAIN_LOG_NAME,
    LossLog,
    append_csv,
    truncate_csv,
)
from akdgbench.training_settings import (
    TrainSettings,
    autocast_factory,
    describe_config,
    resolve_device,
)
from akdgbench.training_state import (
    checkpoint_fingerprint,
    checkpoint_state,
    restore_checkpoint,
    write_final_generator,
)

__all__ = [
    "TrainContext", "TrainOutcome", "TrainSettings", "TrainStep", "check_compatible",
    "resolve_device", "train",
]


#: ``on_log(step, mean_losses)``, once per logging interval
LogCallback = Callable[[int, dict[str, float]], None]
#: ``on_eval(step, generator) -> metrics`` (written to eval_log.csv), every ``eval_every`` steps
EvalCallback = Callable[[int, Generator], dict[str, Any] | None]


@dataclass
class TrainOutcome:
    status: str  # DONE or DIVERGED
    step: int  # generator steps completed; for DIVERGED the step whose loss was not finite
    generator: Generator | None  # final (EMA) weights, eval mode; last good checkpoint if diverged
    train_seconds: float
    generator_path: Path | None  # out_dir/generator.pt when done
    error: str = ""


@dataclass
class _Discriminator:
    module: nn.Module  # the plain module: its state is what checkpoints hold
    forward: nn.Module  # what the method calls (compiled when asked)
    optimizer: torch.optim.Optimizer


def check_compatible(method: Method, *, teacher: Generator | None,
                     teacher_arch: Architecture | None, student: Generator,
                     student_arch: Architecture) -> None:
    """``method.check_compatible`` whose error names both architectures by their specs."""
    try:
        method.check_compatible(teacher, student)
    except UsageError as exc:
        teacher_name = (describe_config(teacher_arch) if teacher_arch is not None
                        else type(teacher).__name__)
        raise UsageError(
            f"method {method.name!r} cannot distil teacher {teacher_name} into student "
            f"{describe_config(student_arch)}: {exc}") from None


def train(
    *,
    dataset: Dataset,
    student_arch: Architecture,
    method: Method,
    settings: TrainSettings,
    out_dir: str | Path,
    teacher: Generator | None = None,
    teacher_arch: Architecture | None = None,
    teacher_discriminator: nn.Module | None = None,
    progress: bool = True,
    on_log: LogCallback | None = None,
    eval_every: int = 0,
    on_eval: EvalCallback | None = None,
) -> TrainOutcome:
    """Train ``student_arch`` on ``dataset`` with ``method``.

    Resumes from ``out_dir`` when it holds a checkpoint of the same setup.
    Writes ``checkpoint.pt``, ``train_log.csv``, ``eval_log.csv`` (when
    ``on_eval`` returns metrics), and when done ``generator.pt`` (a plain
    state dict) and ``samples.png`` (fixed latents).

    :param teacher_discriminator: the teacher's trained discriminator, for methods
        that declare ``needs_teacher_discriminator`` (it is frozen in place).
    :param on_log: called once per logging interval with the step and the mean of each
        loss term (the runner binds it to the ``on_train_step`` hook).
    :param on_eval: called every ``eval_every`` steps with the generator in eval mode;
        the metrics it returns go to ``eval_log.csv``.
    """
    settings.validate()
    if not isinstance(eval_every, int) or eval_every < 0:
        raise UsageError(f"eval_every must be 0 (off) or a positive integer, not {eval_every!r}")
    if method.needs_teacher and teacher is None:
        raise UsageError(f"method {method.spec!r} distils a teacher, but no teacher was given")
    if method.needs_teacher_discriminator and teacher_discriminator is None:
        raise UsageError(f"method {method.spec!r} needs the teacher's discriminator, but the "
                         "teacher has none (a checkpoint of the generator alone)")
    trainer = _Trainer(dataset=dataset, student_arch=student_arch, method=method,
                       settings=settings, out_dir=Path(out_dir),
                       teacher=teacher if method.needs_teacher else None,
                       teacher_arch=teacher_arch if method.needs_teacher else None,
                       teacher_discriminator=(teacher_discriminator
                                              if method.needs_teacher_discriminator else None))
    return trainer.run(progress=progress, on_log=on_log, eval_every=eval_every, on_eval=on_eval)


def can_extend(method: Method, recipe: dict[str, Any]) -> bool:
    """A finished run of this method and recipe can continue to a longer budget exactly:
    neither the method nor the learning rate follows the budget."""
    return method.extendable and recipe["lr_decay"] == "none"


class _Trainer:
    def __init__(self, *, dataset: Dataset, student_arch: Architecture, method: Method,
                 settings: TrainSettings, out_dir: Path, teacher: Generator | None,
                 teacher_arch: Architecture | None,
                 teacher_discriminator: nn.Module | None = None) -> None:
        self.dataset, self.student_arch, self.method = dataset, student_arch, method
        self.settings, self.out_dir = settings, out_dir
        self.teacher_arch = teacher_arch
        self.recipe = settings.recipe(student_arch)
        self.device = resolve_device(settings.device)
        self.autocast = autocast_factory(self.device, settings.precision)
        self.adversarial_loss = make_adversarial_loss(self.recipe["loss"])
        self.discriminators: dict[str, _Discriminator] = {}
        self.generator_modules: dict[str, nn.Module] = {}
        self.log = LossLog()
        self.checkpoint_path = out_dir / CHECKPOINT_NAME
        self.train_seconds = 0.0
        self.interval_started = 0.0  # perf_counter() when the interval being timed began
        self.start_step = 0
        self.extendable = can_extend(method, self.recipe)
        self.fingerprint = checkpoint_fingerprint(self, teacher)
        if teacher_discriminator is not None:  # only then, so older fingerprints still match
            self.fingerprint["teacher_discriminator_weights"] = weights_digest(
                teacher_discriminator)

        torch.manual_seed(settings.seed)  # before any network is built
        self.student = self.prepare_module(
            student_arch.build_generator(dataset.resolution, dataset.channels))
        self.teacher = self._freeze_teacher(teacher)
        self.teacher_discriminator = self._freeze_teacher(teacher_discriminator)
        self.teacher_discriminator_forward = (
            torch.compile(self.teacher_discriminator)
            if settings.compile and self.teacher_discriminator is not None
            else self.teacher_discriminator)
        self._check_compatible()
        method.setup(TrainContext(self))

        self.generator_params = self.generator_parameters()
        self.discriminator_params = [
            p for part in self.discriminators.values() for p in part.module.parameters()]
        self.generator_optimizer = self.new_optimizer(self.generator_params)
        self.ema = self._new_ema() if settings.ema else None
        compile_ = torch.compile if settings.compile else (lambda module: module)
        # stage outputs in one forward: methods may read the intermediate features too
        self.student_forward = compile_(self.student.stage_outputs)
        self.teacher_forward = (compile_(self.teacher.stage_outputs)
                                if self.teacher is not None else None)
        self.latent_rng = torch.Generator(self.device).manual_seed(settings.seed)
        self.real_batches = RealBatches(dataset.train_set, settings.batch_size, self.device,
                                        settings.seed, settings.channels_last)
        scaled = settings.precision == "fp16"
        self.scalers = {phase: torch.amp.GradScaler("cuda", enabled=scaled)
                        for phase in ("generator", "discriminator")}

    # ---- building -------------------------------------------------------------------------

    def prepare_module(self, module: nn.Module) -> nn.Module:
        module = module.to(self.device)
        if self.settings.channels_last:
            module = module.to(memory_format=torch.channels_last)
        return module.train()

    def add_discriminator(self, name: str, module: nn.Module) -> nn.Module:
        """Registers a trainable discriminator with its own optimizer; returns what methods call."""
        if name in self.discriminators:
            raise UsageError(f"method {self.method.name!r} created discriminator {name!r} twice")
        module = self.prepare_module(module)
        optimizer = self.new_optimizer(module.parameters())
        forward = torch.compile(module) if self.settings.compile else module
        self.discriminators[name] = _Discriminator(module, forward, optimizer)
        return forward

    def new_optimizer(self, parameters: Any) -> torch.optim.Optimizer:
        return torch.optim.Adam(list(parameters), lr=self.recipe["lr"], betas=self.recipe["betas"],
                                fused=fused_adam_supported(self.device.type) or None)

    def generator_parameters(self) -> list[nn.Parameter]:
        parameters = list(self.student.parameters())
        for module in self.generator_modules.values():
            parameters += list(module.parameters())
        return parameters

    def _freeze_teacher(self, teacher: nn.Module | None) -> Any:
        if teacher is None:
            return None
        teacher = teacher.to(self.device).eval().requires_grad_(False)
        if self.settings.channels_last:
            teacher = teacher.to(memory_format=torch.channels_last)
        return teacher

    def _check_compatible(self) -> None:
        check_compatible(self.method, teacher=self.teacher, teacher_arch=self.teacher_arch,
                         student=self.student, student_arch=self.student_arch)

    def _new_ema(self) -> Generator:
        ema = copy.deepcopy(self.student).eval().requires_grad_(False)
        self._ema_params, self._student_params = list(ema.parameters()), list(
            self.student.parameters())
        self._ema_buffers = list(zip(ema.buffers(), self.student.buffers(), strict=True))
        return ema

    # ---- one step -------------------------------------------------------------------------

    def _set_lr(self, index: int) -> float:
        lr = self.recipe["lr"]
        if self.recipe["lr_decay"] == "linear":
            lr *= 1.0 - index / self.settings.steps
            for optimizer in self._optimizers():
                for group in optimizer.param_groups:
                    group["lr"] = lr
        return lr

    def _optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.generator_optimizer, *(d.optimizer for d in self.discriminators.values())]

    def _discriminator_step(self, index: int) -> None:
        step = TrainStep(self, index, discriminator_phase=True)
        with self.autocast():
            losses = self.method.discriminator_losses(step)
        if not set(losses) <= set(self.discriminators):
            raise UsageError(
                f"method {self.method.name!r} returned discriminator losses "
                f"{sorted(losses)} for discriminators {sorted(self.discriminators)}")
        if not losses:  # every discriminator sits this step out (e.g. lit's phase 1)
            return
        training = [self.discriminators[name] for name in losses]
        apply_gradients(sum(losses.values()),
                        [p for d in training for p in d.module.parameters()],
                        [d.optimizer for d in training], self.scalers["discriminator"])
        self.log.record(index + 1, {f"d.{name}": loss for name, loss in losses.items()})

    def _generator_step(self, index: int) -> None:
        step = TrainStep(self, index, discriminator_phase=False)
        with constants(self.discriminator_params), self.autocast():
            result = self.method.generator_loss(step)
        if isinstance(result, dict):
            if not result:
                raise UsageError(f"method {self.method.name!r} returned no generator loss")
            total = sum(result.values())
            terms = {f"g.{name}": value for name, value in result.items()}
        else:
            total, terms = result, {}
        apply_gradients(total, self.generator_params, [self.generator_optimizer],
                        self.scalers["generator"])
        self.log.record(index + 1, {**terms, "g": total})
        if self.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(self._ema_params, self._student_params, 1 - self.settings.ema)
                for ema_buffer, buffer in self._ema_buffers:  # batch-norm statistics: copied
                    ema_buffer.copy_(buffer)

    def final_generator(self) -> Generator:
        return self.ema if self.ema is not None else self.student

    # ---- the loop -------------------------------------------------------------------------

    def run(self, *, progress: bool, on_log: LogCallback | None, eval_every: int,
            on_eval: EvalCallback | None) -> TrainOutcome:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        restore_checkpoint(self)
        for name in (TRAIN_LOG_NAME, EVAL_LOG_NAME):
            truncate_csv(self.out_dir / name, self.start_step)
        settings = self.settings
        n_dis = self.recipe["n_dis"] if self.discriminators else 0
        bar = self._progress_bar(progress)
        self.interval_started = time.perf_counter()
        try:
            for index in range(self.start_step, settings.steps):
                lr = self._set_lr(index)
                for _ in range(n_dis):
                    self._discriminator_step(index)
                self._generator_step(index)
                bar.update(1)
                done = index + 1
                at_checkpoint = done == settings.steps or bool(
                    settings.checkpoint_every and done % settings.checkpoint_every == 0)
                at_eval = bool(eval_every and on_eval and done % eval_every == 0)
                if not (at_checkpoint or at_eval or done % settings.log_every == 0):
                    continue
                means, first_bad = self._end_interval(done, lr)
                if first_bad is None and at_checkpoint:  # never over the last good one
                    save_atomically(checkpoint_state(self, done), self.checkpoint_path)
                if on_log is not None:
                    on_log(done, means)
                bar.set_postfix({name: f"{value:.3g}" for name, value in means.items()})
                if first_bad is not None:
                    return self._diverged(*first_bad)
                if at_eval:
                    self._evaluate(done, on_eval)
        finally:
            bar.close()
        return self._finish()

    def _progress_bar(self, progress: bool) -> Any:
        from tqdm.auto import tqdm

        arch = self.student_arch
        # a teacher trains as a vanilla GAN: its bar must not read like a vanilla student's
        desc = (f"teacher {arch.spec}" if arch.role == "teacher"
                else f"{self.method.spec} -> {arch.spec}")
        return tqdm(total=self.settings.steps, initial=self.start_step, disable=not progress,
                    unit="step", desc=desc, dynamic_ncols=True)

    def _end_interval(self, step: int, lr: float) -> tuple[dict[str, float], Any]:
        """The interval's mean losses (and its first non-finite one), logged to train_log.csv
        with the seconds spent training so far."""
        means, first_bad = self.log.flush()
        now = time.perf_counter()
        self.train_seconds += now - self.interval_started
        self.interval_started = now
        append_csv(self.out_dir / TRAIN_LOG_NAME,
                   [{"step": step, **means, "lr": lr, "seconds": round(self.train_seconds, 3)}])
        return means, first_bad

    def _finish(self) -> TrainOutcome:
        path = write_final_generator(self.final_generator(), self.out_dir, self.device)
        generator = self.final_generator().eval()
        return TrainOutcome(DONE, self.settings.steps, generator, self.train_seconds, path)

    def _evaluate(self, step: int, on_eval: EvalCallback) -> None:
        generator = self.final_generator()
        was_training = generator.training
        generator.eval()
        devices = [self.device] if self.device.type == "cuda" else []
        try:
            with torch.random.fork_rng(devices=devices):  # evaluation must not shift training
                metrics = on_eval(step, generator)
        finally:
            generator.train(was_training)
        if metrics:
            append_csv(self.out_dir / EVAL_LOG_NAME, [{"step": step, **metrics}])
        self.interval_started = time.perf_counter()  # evaluation is not training time

    def _diverged(self, step: int, term: str, value: float) -> TrainOutcome:
        generator, seconds = None, self.train_seconds
        if self.checkpoint_path.exists():
            restore_checkpoint(self)  # back to the last good weights
            generator = self.final_generator().eval()
        return TrainOutcome(
            DIVERGED, step, generator, seconds, None,
            error=f"loss {term} became {value} at step {step}")
