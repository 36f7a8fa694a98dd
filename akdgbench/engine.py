"""The training loop shared by teachers and every distillation method.

A method states only its losses (``akdgbench.method``); this module owns the
rest: devices, optimizers, n_dis, mixed precision, torch.compile, EMA,
checkpoints and resume, seeds, the divergence guard, progress and hooks.

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

import contextlib
import copy
import functools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from torch import nn

from akdgbench import defaults
from akdgbench.architecture import Architecture, Generator
from akdgbench.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT_VERSION,
    GENERATOR_NAME,
    check_fingerprint,
    cpu_state_dict,
    load_file,
    save_atomically,
    weights_digest,
)
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.losses import make_adversarial_loss
from akdgbench.method import Method
from akdgbench.results import DIVERGED, DONE
from akdgbench.training_data import RealBatches
from akdgbench.training_log import LossLog, append_csv, truncate_csv
from akdgbench.training_settings import (
    TrainSettings,
    autocast_factory,
    describe_config,
    resolve_device,
)

__all__ = [
    "TrainContext", "TrainOutcome", "TrainSettings", "TrainStep", "check_compatible",
    "resolve_device", "train",
]

TRAIN_LOG_NAME = "train_log.csv"
EVAL_LOG_NAME = "eval_log.csv"
SAMPLES_NAME = "samples.png"


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


class TrainContext:
    """The engine's side of ``akdgbench.method.MethodContext``."""

    def __init__(self, trainer: _Trainer) -> None:
        self._trainer = trainer
        self.student = trainer.student
        self.teacher = trainer.teacher
        self.student_arch = trainer.student_arch
        self.teacher_arch = trainer.teacher_arch
        self.device = trainer.device
        self.total_steps = trainer.settings.steps
        self.resolution = trainer.dataset.resolution
        self.channels = trainer.dataset.channels

    def new_discriminator(self, name: str, arch: Architecture | None = None) -> nn.Module:
        module = (arch or self.student_arch).build_discriminator(self.resolution, self.channels)
        return self._trainer.add_discriminator(name, module)

    @property
    def teacher_discriminator(self) -> nn.Module:
        trainer = self._trainer
        if trainer.teacher_discriminator is None:
            raise UsageError(f"method {trainer.method.name!r} used the teacher's discriminator "
                             "but does not declare needs_teacher_discriminator = True")
        return trainer.teacher_discriminator_forward

    def copy_teacher_discriminator(self, name: str) -> nn.Module:
        trainer = self._trainer
        if trainer.teacher_discriminator is None:
            return self.teacher_discriminator  # raises the error above
        module = copy.deepcopy(trainer.teacher_discriminator).requires_grad_(True)
        return trainer.add_discriminator(name, module)

    def add_generator_module(self, name: str, module: nn.Module) -> nn.Module:
        trainer = self._trainer
        if name in trainer.generator_modules:
            raise UsageError(f"method {trainer.method.name!r} added module {name!r} twice")
        module = trainer.prepare_module(module)
        trainer.generator_modules[name] = module
        return module


class TrainStep:
    """The engine's side of ``akdgbench.method.Step``: everything computed once, on first use."""

    def __init__(self, trainer: _Trainer, index: int, discriminator_phase: bool) -> None:
        self._trainer = trainer
        self._discriminator_phase = discriminator_phase
        self.index = index
        self.progress = index / trainer.settings.steps
        self.adv = trainer.adversarial_loss
        self._teacher_cache: tuple[torch.Tensor, list[torch.Tensor]] | None = None

    @cached_property
    def real(self) -> torch.Tensor:
        return self._trainer.real_batches.next()

    @cached_property
    def z(self) -> torch.Tensor:
        return self.new_latent()

    @cached_property
    def fake(self) -> torch.Tensor:
        return self._student_outputs[-1]

    @cached_property
    def _student_outputs(self) -> list[torch.Tensor]:
        if self._discriminator_phase:
            with torch.no_grad():
                return self._trainer.student_forward(self.z)
        return self._trainer.student_forward(self.z)

    def student_features(self) -> list[torch.Tensor]:
        return list(self._student_outputs)

    def teacher(self, z: torch.Tensor) -> torch.Tensor:
        return self._teacher_outputs(z)[-1]

    def teacher_features(self, z: torch.Tensor) -> list[torch.Tensor]:
        return list(self._teacher_outputs(z))

    def _teacher_outputs(self, z: torch.Tensor) -> list[torch.Tensor]:
        """The teacher's stage outputs for ``z``; one forward per latent batch and step."""
        trainer = self._trainer
        if trainer.teacher is None:
            raise UsageError(f"method {trainer.method.name!r} used the teacher but does not "
                             "declare needs_teacher = True")
        if self._teacher_cache is not None and self._teacher_cache[0] is z:
            return self._teacher_cache[1]
        with torch.no_grad():
            outputs = trainer.teacher_forward(z)
        self._teacher_cache = (z, outputs)
        return outputs

    def teacher_sample(self) -> torch.Tensor:
        trainer = self._trainer
        if trainer.teacher is None:
            return self.teacher(self.z)  # raises the error above
        return self.teacher(trainer.teacher.sample_latent(
            trainer.settings.batch_size, trainer.device, generator=trainer.latent_rng))

    def new_latent(self) -> torch.Tensor:
        trainer = self._trainer
        return trainer.student.sample_latent(trainer.settings.batch_size, trainer.device,
                                             generator=trainer.latent_rng)


@contextlib.contextmanager
def _constants(parameters: list[nn.Parameter]) -> Iterator[None]:
    """``parameters`` as constants while a loss is built: autograd records nothing for them.

    ``torch.autograd.grad`` already skips their gradients, but a graph through
    trainable discriminator weights (spectral norm's weight / sigma, saved
    inputs) still cost 1-2% of an AKDG step on the CPU.
    """
    trainable = [parameter for parameter in parameters if parameter.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


@functools.cache
def fused_adam_supported(device_type: str) -> bool:
    """Whether this torch has a fused Adam kernel for the device (CUDA; the CPU since torch 2.4).

    On the CPU it makes Adam's step about 5x faster than torch's default
    (1.2M parameters: 10.7 -> 1.9 ms), 1-4% of a small GAN's training step.
    """
    probe = torch.zeros(1, device=device_type, requires_grad=True)
    try:
        torch.optim.Adam([probe], fused=True)
    except RuntimeError:
        return False
    return True


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
    on_log: Callable[[int, dict[str, float]], None] | None = None,
    eval_every: int = 0,
    on_eval: Callable[[int, Generator], dict[str, Any] | None] | None = None,
    cell: Any = None,
) -> TrainOutcome:
    """Train ``student_arch`` on ``dataset`` with ``method``.

    Resumes from ``out_dir`` when it holds a checkpoint of the same setup.
    Writes ``checkpoint.pt``, ``train_log.csv``, ``eval_log.csv`` (when
    ``on_eval`` returns metrics), and when done ``generator.pt`` (a plain
    state dict) and ``samples.png`` (fixed latents).

    :param teacher_discriminator: the teacher's trained discriminator, for methods
        that declare ``needs_teacher_discriminator`` (it is frozen in place).
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
                                              if method.needs_teacher_discriminator else None),
                       cell=cell)
    return trainer.run(progress=progress, on_log=on_log, eval_every=eval_every, on_eval=on_eval)


class _Trainer:
    def __init__(self, *, dataset: Dataset, student_arch: Architecture, method: Method,
                 settings: TrainSettings, out_dir: Path, teacher: Generator | None,
                 teacher_arch: Architecture | None, cell: Any,
                 teacher_discriminator: nn.Module | None = None) -> None:
        self.dataset, self.student_arch, self.method = dataset, student_arch, method
        self.settings, self.out_dir, self.cell = settings, out_dir, cell
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
        self.start_step = 0
        self.fingerprint = self._fingerprint(teacher)
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

    def _fingerprint(self, teacher: Generator | None) -> dict[str, Any]:
        settings = self.settings
        teacher_name = None
        if teacher is not None:
            teacher_name = (describe_config(self.teacher_arch)
                            if self.teacher_arch is not None else type(teacher).__name__)
        return {
            "format": FORMAT_VERSION,
            "method": describe_config(self.method),
            "student": describe_config(self.student_arch),
            "teacher": teacher_name,
            "teacher_weights": weights_digest(teacher) if teacher is not None else None,
            "dataset": self.dataset.spec,
            "resolution": self.dataset.resolution,
            "channels": self.dataset.channels,
            **settings.fingerprint(self.student_arch),
            "device": self.device.type,
        }

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

    def _apply(self, loss: torch.Tensor, parameters: list[nn.Parameter],
               optimizers: list[torch.optim.Optimizer], scaler: torch.amp.GradScaler) -> None:
        """Gradients of ``loss`` for ``parameters`` only, then one step of each optimizer."""
        wanted = [p for p in parameters if p.requires_grad]
        grads = torch.autograd.grad(scaler.scale(loss), wanted, allow_unused=True)
        for parameter, grad in zip(wanted, grads, strict=True):
            parameter.grad = grad
        for optimizer in optimizers:
            scaler.step(optimizer)
        scaler.update()

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
        self._apply(sum(losses.values()),
                    [p for d in training for p in d.module.parameters()],
                    [d.optimizer for d in training], self.scalers["discriminator"])
        self.log.record(index + 1, {f"d.{name}": loss for name, loss in losses.items()})

    def _generator_step(self, index: int) -> None:
        step = TrainStep(self, index, discriminator_phase=False)
        with _constants(self.discriminator_params), self.autocast():
            result = self.method.generator_loss(step)
        if isinstance(result, dict):
            if not result:
                raise UsageError(f"method {self.method.name!r} returned no generator loss")
            total = sum(result.values())
            terms = {f"g.{name}": value for name, value in result.items()}
        else:
            total, terms = result, {}
        self._apply(total, self.generator_params, [self.generator_optimizer],
                    self.scalers["generator"])
        self.log.record(index + 1, {**terms, "g": total})
        if self.ema is not None:
            with torch.no_grad():
                torch._foreach_lerp_(self._ema_params, self._student_params, 1 - self.settings.ema)
                for ema_buffer, buffer in self._ema_buffers:  # batch-norm statistics: copied
                    ema_buffer.copy_(buffer)

    # ---- checkpoints ----------------------------------------------------------------------

    def _checkpoint(self, step: int) -> dict[str, Any]:
        modules: dict[str, Any] = {
            "student": cpu_state_dict(self.student),
            "discriminators": {n: cpu_state_dict(d.module) for n, d in self.discriminators.items()},
            "generator_modules": {n: cpu_state_dict(m) for n, m in self.generator_modules.items()},
        }
        if self.ema is not None:
            modules["ema"] = cpu_state_dict(self.ema)
        cuda_rng = torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None
        return {
            "format": FORMAT_VERSION,
            "fingerprint": self.fingerprint,
            "step": step,
            "train_seconds": self.train_seconds,
            "modules": modules,
            "optimizers": {
                "generator": self.generator_optimizer.state_dict(),
                "discriminators": {n: d.optimizer.state_dict()
                                   for n, d in self.discriminators.items()},
            },
            "scalers": {phase: scaler.state_dict() for phase, scaler in self.scalers.items()},
            "rng": {"torch": torch.get_rng_state(), "cuda": cuda_rng,
                    "latent": self.latent_rng.get_state(), "data": self.real_batches.position},
        }

    def _resume(self) -> None:
        if not self.checkpoint_path.exists():
            return
        saved = load_file(self.checkpoint_path)
        if not isinstance(saved, dict) or saved.get("format") != FORMAT_VERSION:
            raise UsageError(f"checkpoint {self.checkpoint_path} is not an akdgbench training "
                             "checkpoint of this version; delete it to start over")
        check_fingerprint(self.checkpoint_path, saved.get("fingerprint"), self.fingerprint)
        try:
            modules, optimizers = saved["modules"], saved["optimizers"]
            self.student.load_state_dict(modules["student"])
            for name, part in self.discriminators.items():
                part.module.load_state_dict(modules["discriminators"][name])
                part.optimizer.load_state_dict(optimizers["discriminators"][name])
            for name, module in self.generator_modules.items():
                module.load_state_dict(modules["generator_modules"][name])
            self.generator_optimizer.load_state_dict(optimizers["generator"])
            if self.ema is not None:
                self.ema.load_state_dict(modules["ema"])
            for phase, scaler in self.scalers.items():
                scaler.load_state_dict(saved["scalers"][phase])
            rng = saved["rng"]
            torch.set_rng_state(rng["torch"])
            if self.device.type == "cuda" and rng["cuda"] is not None:
                torch.cuda.set_rng_state(rng["cuda"], self.device)
            self.latent_rng.set_state(rng["latent"])
            self.real_batches.restore(rng["data"])
            self.start_step = int(saved["step"])
            self.train_seconds = float(saved["train_seconds"])
        except (KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise UsageError(f"checkpoint {self.checkpoint_path} does not match this setup "
                             f"({type(exc).__name__}: {str(exc)[:200]}); delete it to start over"
                             ) from None

    def final_generator(self) -> Generator:
        return self.ema if self.ema is not None else self.student

    def _write_results(self) -> Path:
        generator = self.final_generator()
        path = self.out_dir / GENERATOR_NAME
        save_atomically(cpu_state_dict(generator), path)
        self._write_samples(generator)
        return path

    def _write_samples(self, generator: Generator) -> None:
        from torchvision.utils import save_image

        latents = generator.sample_latent(defaults.SAMPLE_GRID_SIZE, "cpu",
                                          generator=torch.Generator().manual_seed(
                                              defaults.SAMPLE_SEED))
        was_training = generator.training
        generator.eval()
        with torch.no_grad():
            images = generator(latents.to(self.device)).float().cpu()
        generator.train(was_training)
        if images.dim() != 4:
            return
        temporary = self.out_dir / f".{SAMPLES_NAME}.tmp"
        save_image(images, temporary, format="png", nrow=8, normalize=True, value_range=(-1, 1))
        os.replace(temporary, self.out_dir / SAMPLES_NAME)

    # ---- the loop -------------------------------------------------------------------------

    def run(self, *, progress: bool, on_log: Any, eval_every: int, on_eval: Any) -> TrainOutcome:
        from tqdm.auto import tqdm

        from akdgbench.plugins import pm

        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._resume()
        for name in (TRAIN_LOG_NAME, EVAL_LOG_NAME):
            truncate_csv(self.out_dir / name, self.start_step)
        steps, settings = self.settings.steps, self.settings
        n_dis = self.recipe["n_dis"] if self.discriminators else 0
        bar = tqdm(total=steps, initial=self.start_step, disable=not progress, unit="step",
                   desc=f"{self.method.spec} -> {self.student_arch.spec}", dynamic_ncols=True)
        started = time.perf_counter()
        interval_started = started
        try:
            for index in range(self.start_step, steps):
                lr = self._set_lr(index)
                for _ in range(n_dis):
                    self._discriminator_step(index)
                self._generator_step(index)
                bar.update(1)
                done = index + 1
                at_checkpoint = done == steps or (
                    settings.checkpoint_every and done % settings.checkpoint_every == 0)
                at_eval = bool(eval_every and on_eval and done % eval_every == 0)
                if not (at_checkpoint or at_eval or done % settings.log_every == 0):
                    continue
                means, first_bad = self.log.flush()
                now = time.perf_counter()
                self.train_seconds += now - interval_started
                interval_started = now
                append_csv(self.out_dir / TRAIN_LOG_NAME,
                           [{"step": done, **means, "lr": lr,
                             "seconds": round(self.train_seconds, 3)}])
                if first_bad is None and at_checkpoint:  # never over the last good one
                    save_atomically(self._checkpoint(done), self.checkpoint_path)
                pm.hook.on_train_step(cell=self.cell, step=done, losses=means)
                if on_log is not None:
                    on_log(done, means)
                bar.set_postfix({name: f"{value:.3g}" for name, value in means.items()})
                if first_bad is not None:
                    return self._diverged(*first_bad)
                if at_eval:
                    self._evaluate(done, on_eval)
                    interval_started = time.perf_counter()
        finally:
            bar.close()
        path = self._write_results()
        generator = self.final_generator().eval()
        return TrainOutcome(DONE, steps, generator, self.train_seconds, path)

    def _evaluate(self, step: int, on_eval: Any) -> None:
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

    def _diverged(self, step: int, term: str, value: float) -> TrainOutcome:
        generator, seconds = None, self.train_seconds
        if self.checkpoint_path.exists():
            self._resume()  # back to the last good weights
            generator = self.final_generator().eval()
        return TrainOutcome(
            DIVERGED, step, generator, seconds, None,
            error=f"loss {term} became {value} at step {step}")
