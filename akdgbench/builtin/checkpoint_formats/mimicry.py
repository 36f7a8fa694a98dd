"""``mimicry:PATH``: teachers from torch-mimicry's SNGAN checkpoints (Lee & Town, 2020).

torch-mimicry (github.com/kwotsin/mimicry) saves one network per file,
``{"model_state_dict": ..., "optimizer_state_dict": ..., "global_step": ...}``
(``BaseModel.save_checkpoint``), as ``LOG_DIR/checkpoints/netG/netG_<step>_steps.pth``
and ``.../netD/netD_<step>_steps.pth``; its published models are such files
(``netG.pth``, ``netD.pth``). PATH is a generator file (its discriminator is
the ``netD`` file of the same name beside it, where there is one) or a log
directory (its latest step).

Its ``SNGANGenerator32``/``SNGANDiscriminator32`` are the ``sngan`` family's
layout parameter for parameter (its 32px DCGAN, WGAN-GP and SSGAN generators
share that layout, and load the same way): the generator ``l1, block2..block4, b5, c5``
maps onto ``stages``, the discriminator ``block1..block4, l5`` onto
``blocks``/``linear`` with spectral norm's ``weight_orig/_u/_v`` (torch's
``spectral_norm`` hook) as the parametrization's ``original/_u/_v``. Its
discriminator blocks apply an in-place ReLU that the shortcut also sees, so
the discriminator is built with ``shortcut_after_relu``. The architecture is
inferred from the state dict (width, z_dim, blocks, image channels) and must
agree with ``--teacher`` and the data set; its 48/64/128 layouts (channels
that change from block to block) do not map onto ``sngan`` and are refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from akdgbench import hookimpl
from akdgbench.architecture import Architecture
from akdgbench.builtin.archs._blocks import BASE_SIZE, scaled
from akdgbench.builtin.archs.sngan import (
    DISCRIMINATOR_CHANNELS,
    GENERATOR_CHANNELS,
    SNGAN,
    SNGANDiscriminator,
)
from akdgbench.checkpoint import load_file, load_generator_weights
from akdgbench.checkpoint_formats import CheckpointFormat
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.teachers import Teacher, describe_teacher

_GENERATOR_BLOCK = {"b1": "bn1", "c1": "conv1", "b2": "bn2", "c2": "conv2", "c_sc": "shortcut"}
_DISCRIMINATOR_BLOCK = {"c1": "conv1", "c2": "conv2", "c_sc": "shortcut"}
_STEP = re.compile(r"net[GD]_(\d+)_steps\.pth")


class Mimicry(CheckpointFormat):
    name = "mimicry"
    description = "torch-mimicry SNGAN checkpoints (netG/netD .pth files or a log directory)"

    def load(self, path: Path, dataset: Dataset, teacher_arch: Architecture) -> Teacher:
        generator_file = _generator_file(path)
        state = _model_state(generator_file)
        shape = _generator_shape(state, generator_file)
        _check_fit(shape, generator_file, dataset, teacher_arch)
        generator = teacher_arch.build_generator(dataset.resolution, dataset.channels)
        load_generator_weights(generator, _generator_keys(state, generator_file),
                               generator_file, describe_teacher(dataset, teacher_arch))
        teacher = Teacher(generator)
        discriminator_file = _discriminator_beside(generator_file)
        if discriminator_file is None:
            teacher.no_discriminator_reason = (
                f"torch-mimicry checkpoint {generator_file} comes without a discriminator "
                f"(no netD file beside it)")
            return teacher
        discriminator = SNGANDiscriminator(
            scaled(DISCRIMINATOR_CHANNELS, teacher_arch.config["d_width"]), dataset.channels,
            dataset.resolution, shortcut_after_relu=True)
        try:
            mapped = _discriminator_keys(_model_state(discriminator_file), discriminator_file)
            load_generator_weights(
                discriminator, mapped, discriminator_file,
                f"the discriminator of {describe_teacher(dataset, teacher_arch)} "
                f"(torch-mimicry's ndf is 128 x d_width)")
        except UsageError as exc:  # the generator stays usable for methods without D
            teacher.no_discriminator_reason = str(exc)
            return teacher
        teacher.discriminator = discriminator
        return teacher


def _generator_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    for directory in (path / "checkpoints" / "netG", path / "netG"):
        steps = sorted((int(match.group(1)), file) for file in directory.glob("netG_*_steps.pth")
                       if (match := _STEP.fullmatch(file.name)))
        if steps:
            return steps[-1][1]
    raise UsageError(f"{path} is not a torch-mimicry log directory "
                     "(no checkpoints/netG/netG_<step>_steps.pth in it)")


def _discriminator_beside(generator_file: Path) -> Path | None:
    name = generator_file.name.replace("netG", "netD")
    if name == generator_file.name:
        return None
    directory = generator_file.parent
    if directory.name == "netG":
        directory = directory.parent / "netD"
    candidate = directory / name
    return candidate if candidate.is_file() else None


def _model_state(path: Path) -> dict[str, torch.Tensor]:
    loaded = load_file(path, "torch-mimicry checkpoint")
    state = loaded.get("model_state_dict") if isinstance(loaded, dict) else None
    if not isinstance(state, dict):
        raise UsageError(f"{path} is not a torch-mimicry checkpoint (no 'model_state_dict'; "
                         "a plain path without 'mimicry:' loads akdgbench's own files)")
    return state


def _generator_shape(state: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    blocks = sorted(int(m.group(1)) for key in state
                    if (m := re.fullmatch(r"block(\d+)\.c1\.weight", key)))
    last = 2 + len(blocks)
    wanted = ("l1.weight", f"b{last}.weight", f"c{last}.weight")
    if not blocks or blocks != list(range(2, last)) or any(key not in state for key in wanted):
        raise UsageError(f"{path} is not a torch-mimicry SNGAN generator "
                         "(expected l1, block2.., then a final b/c layer)")
    ngf = state[f"c{last}.weight"].shape[1]
    widths = {tuple(state[f"block{index}.c1.weight"].shape[:2]) for index in blocks}
    bottom = (state["l1.weight"].shape[0] / ngf) ** 0.5
    if widths != {(ngf, ngf)} or bottom != BASE_SIZE:
        raise UsageError(f"{path} is a torch-mimicry generator whose channels change from block "
                         f"to block or that starts at {bottom:g}x{bottom:g} (its 48/64/128px "
                         "layouts); only the constant-width 4x4-based layout (SNGANGenerator32) "
                         "maps onto sngan")
    return {"ngf": ngf, "nz": state["l1.weight"].shape[1], "channels": state[f"c{last}.weight"]
            .shape[0], "resolution": BASE_SIZE * 2 ** len(blocks), "blocks": blocks, "last": last}


def _check_fit(shape: dict[str, Any], path: Path, dataset: Dataset,
               teacher_arch: Architecture) -> None:
    fitting = f"sngan:width={shape['ngf'] / GENERATOR_CHANNELS:g}:z_dim={shape['nz']}"
    made = f"{shape['resolution']}px images with {shape['channels']} channels"
    if not isinstance(teacher_arch, SNGAN):
        raise UsageError(f"torch-mimicry checkpoint {path} is an SNGAN generator; use "
                         f"--teacher {fitting}, not {teacher_arch.spec}")
    if (shape["resolution"], shape["channels"]) != (dataset.resolution, dataset.channels):
        raise UsageError(f"torch-mimicry checkpoint {path} makes {made}; data set "
                         f"{dataset.spec} has {dataset.resolution}px images with "
                         f"{dataset.channels} channels")
    config = teacher_arch.config
    if (scaled(GENERATOR_CHANNELS, config["width"]), config["z_dim"]) != (shape["ngf"],
                                                                          shape["nz"]):
        raise UsageError(f"torch-mimicry checkpoint {path} has ngf {shape['ngf']} and nz "
                         f"{shape['nz']}: use --teacher {fitting}, not {teacher_arch.spec}")


def _generator_keys(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    shape = _generator_shape(state, path)
    last, final = shape["last"], len(shape["blocks"]) + 1
    mapped = {}
    for key, value in state.items():
        layer, _, rest = key.partition(".")
        block_layer, _, parameter = rest.partition(".")
        if layer == "l1":
            mapped[f"stages.0.0.{rest}"] = value
        elif layer == f"b{last}":
            mapped[f"stages.{final}.0.{rest}"] = value
        elif layer == f"c{last}":
            mapped[f"stages.{final}.2.{rest}"] = value
        elif layer.startswith("block") and block_layer in _GENERATOR_BLOCK:
            stage = int(layer[len("block"):]) - 1  # block2 is the first up-block, stage 1
            mapped[f"stages.{stage}.{_GENERATOR_BLOCK[block_layer]}.{parameter}"] = value
        else:
            mapped[key] = value  # reported as unexpected
    return mapped


def _discriminator_keys(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    blocks = sorted({int(m.group(1)) for key in state if (m := re.match(r"block(\d+)\.", key))})
    linear = [key for key in state if re.fullmatch(r"l\d+\.(weight|weight_orig)", key)]
    if not blocks or blocks != list(range(1, len(blocks) + 1)) or len(linear) != 1:
        raise UsageError(f"{path} is not a torch-mimicry SNGAN discriminator "
                         "(expected block1.., then one linear layer)")
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        layer, _, parameter = key.rpartition(".")
        layers.setdefault(layer, {})[parameter] = value
    mapped = {}
    for layer, parameters in layers.items():
        name = layer
        if layer.startswith("block"):
            block, _, conv = layer.partition(".")
            name = f"blocks.{int(block[5:]) - 1}.{_DISCRIMINATOR_BLOCK.get(conv, conv)}"
        elif re.fullmatch(r"l\d+", layer):
            name = "linear"
        mapped.update({f"{name}.{key}": value
                       for key, value in _spectral_norm_keys(parameters).items()})
    return mapped


def _spectral_norm_keys(parameters: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """torch's spectral-norm hook (``weight_orig/_u/_v``) or mimicry's own layer (``weight``,
    ``sn_u``) as the parametrization's ``original``, ``_u`` and ``_v``.

    The hook and the parametrization compute sigma = u.(W v) from the stored vectors in eval
    mode; mimicry's own layer first does one power iteration from ``sn_u``, done here once.
    """
    mapped = {key: value for key, value in parameters.items()
              if key not in ("weight_orig", "weight_u", "weight_v", "weight", "sn_u", "sn_sigma")}
    if "weight_orig" in parameters:
        mapped["parametrizations.weight.original"] = parameters["weight_orig"]
        mapped["parametrizations.weight.0._u"] = parameters.get("weight_u")
        mapped["parametrizations.weight.0._v"] = parameters.get("weight_v")
    elif "sn_u" in parameters:
        weight = parameters["weight"]
        matrix = weight.reshape(weight.shape[0], -1)
        v = F.normalize(parameters["sn_u"] @ matrix, dim=1, eps=1e-12)
        u = F.normalize(v @ matrix.t(), dim=1, eps=1e-12)
        mapped["parametrizations.weight.original"] = weight
        mapped["parametrizations.weight.0._u"] = u[0]
        mapped["parametrizations.weight.0._v"] = v[0]
    elif "weight" in parameters:
        mapped["weight"] = parameters["weight"]  # reported as unexpected: no spectral norm
    return {key: value for key, value in mapped.items() if value is not None}


@hookimpl
def register_checkpoint_formats(register: Any) -> None:
    register(Mimicry)
