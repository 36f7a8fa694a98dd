"""Training settings: the recipe, precision, device and bookkeeping of one training run."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from akdgbench import defaults
from akdgbench.architecture import Architecture
from akdgbench.errors import UsageError
from akdgbench.losses import make_adversarial_loss

PRECISIONS = ("fp32", "bf16", "fp16")
LR_DECAYS = ("none", "linear")
_RECIPE_KEYS = ("loss", "lr", "betas", "n_dis", "lr_decay")


@dataclass
class TrainSettings:
    """How to train. ``None`` recipe values come from the student family's ``training_defaults``."""

    steps: int
    batch_size: int = defaults.BATCH_SIZE
    loss: str | None = None
    lr: float | None = None
    betas: tuple[float, float] | None = None
    n_dis: int | None = None
    lr_decay: str | None = None
    precision: str = "fp32"
    compile: bool = False
    channels_last: bool = False
    ema: float = 0.0  # 0 = off, else the decay of an exponential moving average of the weights
    device: str = "auto"
    seed: int = 0
    checkpoint_every: int = defaults.CHECKPOINT_EVERY  # 0 = only at the end
    log_every: int = defaults.LOG_EVERY

    def recipe(self, arch: Architecture) -> dict[str, Any]:
        """The resolved loss/lr/betas/n_dis/lr_decay, validated."""
        recipe = {key: getattr(self, key) for key in _RECIPE_KEYS}
        family = {**Architecture.training_defaults, **arch.training_defaults}
        recipe = {key: family[key] if value is None else value for key, value in recipe.items()}
        recipe["betas"] = tuple(float(beta) for beta in recipe["betas"])
        make_adversarial_loss(recipe["loss"])
        if not recipe["lr"] > 0:
            raise UsageError(f"lr must be positive, not {recipe['lr']!r}")
        if len(recipe["betas"]) != 2 or not all(0 <= beta < 1 for beta in recipe["betas"]):
            raise UsageError(f"betas must be two numbers in [0, 1), not {recipe['betas']!r}")
        if not isinstance(recipe["n_dis"], int) or recipe["n_dis"] < 1:
            raise UsageError(f"n_dis must be a positive integer, not {recipe['n_dis']!r}")
        if recipe["lr_decay"] not in LR_DECAYS:
            raise UsageError(f"lr_decay must be one of {', '.join(LR_DECAYS)}, "
                             f"not {recipe['lr_decay']!r}")
        return recipe

    def fingerprint(self, arch: Architecture) -> dict[str, Any]:
        """The settings that decide the weights a run produces (the device does not)."""
        recipe = self.recipe(arch)
        return {
            "steps": self.steps,
            "seed": self.seed,
            "batch_size": self.batch_size,
            "loss": recipe["loss"],
            "lr": float(recipe["lr"]),
            "betas": list(recipe["betas"]),
            "n_dis": recipe["n_dis"],
            "lr_decay": recipe["lr_decay"],
            "precision": self.precision,
            "ema": float(self.ema),
        }

    def validate(self) -> None:
        for key in ("steps", "batch_size", "log_every"):
            value = getattr(self, key)
            if not isinstance(value, int) or value <= 0:
                raise UsageError(f"{key} must be a positive integer, not {value!r}")
        if not isinstance(self.checkpoint_every, int) or self.checkpoint_every < 0:
            raise UsageError("checkpoint_every must be 0 (only at the end) or a positive integer")
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}, "
                             f"not {self.precision!r}")
        if not 0 <= self.ema < 1:
            raise UsageError(f"ema must be 0 (off) or a decay in (0, 1), not {self.ema!r}")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; asking for a device that is not there is a UsageError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise UsageError(f"device {name!r} asked for, but CUDA is not available here")
        device = torch.device(name)
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
        return device
    raise UsageError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")


def autocast_factory(device: torch.device, precision: str) -> Callable[[], Any]:
    if precision == "fp32":
        return contextlib.nullcontext
    if precision == "fp16" and device.type != "cuda":
        raise UsageError("precision fp16 needs a CUDA device; use bf16 on the CPU")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UsageError("this GPU does not support bf16; use fp16 or fp32")
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return lambda: torch.autocast(device.type, dtype=dtype)


def describe_config(obj: Any) -> str:
    """``dcgan:width=0.25:z_dim=128`` with every resolved option, for fingerprints and errors."""
    options = ":".join(f"{key}={value}" for key, value in sorted(obj.config.items()))
    return f"{obj.name}:{options}" if options else obj.name
