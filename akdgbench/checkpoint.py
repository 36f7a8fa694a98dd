"""Checkpoint files: atomic writes, readable errors, and the fingerprint that guards resumes.

A training checkpoint holds everything needed to continue bit-identically;
its ``fingerprint`` records the setup that made it, so a resume with another
method, architecture or recipe is refused instead of silently mixing runs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from akdgbench.errors import UsageError

CHECKPOINT_NAME = "checkpoint.pt"
GENERATOR_NAME = "generator.pt"
FORMAT_VERSION = 1
_WRAPPER_PREFIXES = ("_orig_mod.", "module.")  # torch.compile and DataParallel


def save_atomically(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(obj, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


DELETE_TO_RESTART = "delete it to start over"


def load_file(path: Path, what: str = "checkpoint", *, remedy: str | None = None) -> Any:
    """Load a torch file onto the CPU; an unreadable file is a ``UsageError`` naming it.

    ``remedy`` ends the message: ``DELETE_TO_RESTART`` for a file the harness wrote and
    writes again, never for one the user gave.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        message = f"{what} {path} is corrupted or not a PyTorch file ({reason[:200]})"
        raise UsageError(f"{message}; {remedy}" if remedy else message) from None


def cpu_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().cpu().clone() for key, value in module.state_dict().items()}


def weights_digest(module: nn.Module) -> str:
    """A short hash of a module's weights (which teacher a student was distilled from)."""
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(str(tensor.dtype).encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def check_fingerprint(path: Path, saved: dict[str, Any] | None, current: dict[str, Any]) -> None:
    """Refuse a checkpoint made by another setup, naming what differs."""
    if saved == current:
        return
    if not isinstance(saved, dict):
        raise UsageError(f"checkpoint {path} has no fingerprint; {DELETE_TO_RESTART}")
    differences = [
        f"{key} {saved.get(key)!r} (now {current.get(key)!r})"
        for key in sorted(set(saved) | set(current))
        if saved.get(key) != current.get(key)
    ]
    raise UsageError(
        f"checkpoint {path} was made by a different setup: {'; '.join(differences)}; "
        "use another output directory or delete the checkpoint"
    )


def extract_generator_state(loaded: Any, path: Path) -> dict[str, torch.Tensor]:
    """A generator state dict from a raw state dict, a ``generator.pt`` or a training checkpoint."""
    if isinstance(loaded, dict) and isinstance(loaded.get("modules"), dict):
        modules = loaded["modules"]
        loaded = modules.get("ema") or modules.get("student")
    if not isinstance(loaded, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in loaded.items()
    ):
        raise UsageError(f"{path} holds no generator state dict")
    state = {}
    for key, value in loaded.items():
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state[key] = value
    return state


def extract_discriminator_state(loaded: Any) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """The real-data discriminator ``"d"`` and its optimizer state from a training checkpoint.

    ``None`` when ``loaded`` holds no such discriminator (a raw state dict, a
    ``generator.pt``): the teacher then has no discriminator.
    """
    if not isinstance(loaded, dict) or not isinstance(loaded.get("modules"), dict):
        return None
    state = (loaded["modules"].get("discriminators") or {}).get("d")
    if not isinstance(state, dict):
        return None
    optimizers = loaded.get("optimizers") if isinstance(loaded.get("optimizers"), dict) else {}
    optimizer_state = (optimizers.get("discriminators") or {}).get("d")
    return state, optimizer_state if isinstance(optimizer_state, dict) else None


def load_generator_weights(generator: nn.Module, state: dict[str, torch.Tensor], path: Path,
                           description: str) -> None:
    """``load_state_dict`` whose mismatch is one line naming the keys that differ."""
    expected = generator.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(
        key for key in set(expected) & set(state) if expected[key].shape != state[key].shape
    )
    if missing or unexpected or reshaped:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected),
                            ("wrong shape", reshaped)):
            if keys:
                shown = ", ".join(keys[:5]) + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")
                parts.append(f"{label} keys: {shown}")
        raise UsageError(f"{path} does not fit {description}: {'; '.join(parts)}")
    generator.load_state_dict(state)
