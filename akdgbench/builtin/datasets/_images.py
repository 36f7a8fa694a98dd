"""Image helpers shared by the built-in data sets: uint8 to [-1, 1], centre crop, resize, folders.

Every resize is antialiased bilinear (torch's ``interpolate(antialias=True)``
for tensors, PIL's bilinear filter, which widens with the scale, for files),
so a data set looks the same whichever path loaded it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset as TorchDataset

from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
#: a folder whose decoded images fit in this many bytes (float32) is held in memory
MAX_IN_MEMORY_BYTES = 1 << 30
_CONVERT_CHUNK = 4096


def check_size(owner: str, size: int) -> int:
    if size < 1:
        raise UsageError(f"{owner}: option size={size} must be a positive number of pixels")
    return size


def uint8_to_unit_range(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 NxCxHxW (square) -> float32 NxCxSxS in [-1, 1], resized if ``size`` differs.

    Converted in chunks so the peak memory is the result plus one chunk.
    """
    count, channels = images.shape[:2]
    out = torch.empty(count, channels, size, size, dtype=torch.float32)
    for start in range(0, count, _CONVERT_CHUNK):
        chunk = images[start:start + _CONVERT_CHUNK].float().div_(127.5).sub_(1.0)
        if chunk.shape[-1] != size or chunk.shape[-2] != size:
            chunk = F.interpolate(chunk, size=(size, size), mode="bilinear",
                                  antialias=True, align_corners=False)
            chunk.clamp_(-1.0, 1.0)
        out[start:start + _CONVERT_CHUNK] = chunk
    return out


def load_image(source: str | Path | IO[bytes], size: int, channels: int) -> torch.Tensor:
    """Decode one image file, centre-crop it square, resize to ``size``: float CxSxS in [-1, 1]."""
    try:
        with Image.open(source) as opened:
            image = opened.convert("L" if channels == 1 else "RGB")
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        name = source if isinstance(source, str | Path) else "an image in the data set"
        raise UsageError(f"cannot read image {name}: {exc}") from exc
    width, height = image.size
    side = min(width, height)
    if width != height:
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if side != size:
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    pixels = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy())
    pixels = pixels.unsqueeze(0) if channels == 1 else pixels.permute(2, 0, 1)
    return pixels.float().div_(127.5).sub_(1.0)


def check_directory(owner: str, directory: str | Path) -> Path:
    """``directory`` (user-expanded) if it is an existing directory, else a UsageError."""
    root = Path(directory).expanduser()
    if not root.exists():
        raise UsageError(f"{owner}: image directory {str(root)!r} does not exist")
    if not root.is_dir():
        raise UsageError(f"{owner}: {str(root)!r} is not a directory")
    return root


def find_images(owner: str, directory: str | Path) -> list[str]:
    """Every image file under ``directory`` (recursive, sorted); a UsageError if there are none."""
    root = check_directory(owner, directory)
    found = []
    for folder, subfolders, files in os.walk(root, followlinks=True):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            # skip hidden files such as macOS's "._photo.jpg" resource forks, which are not images
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_EXTENSIONS:
                found.append(os.path.join(folder, name))
    if not found:
        kinds = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise UsageError(f"{owner}: no images ({kinds}) found under {str(root)!r}")
    return found


class ImageFiles(TorchDataset):
    """Image files decoded on demand (for folders too large to hold in memory)."""

    def __init__(self, paths: Sequence[str], size: int, channels: int) -> None:
        self.paths = list(paths)
        self.size = size
        self.channels = channels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        return load_image(self.paths[index], self.size, self.channels)


def folder_images(paths: Sequence[str], size: int, channels: int) -> TorchDataset:
    """In memory (:class:`TensorImages`) up to ``MAX_IN_MEMORY_BYTES``, else decoded lazily."""
    lazy = ImageFiles(paths, size, channels)
    if len(paths) * channels * size * size * 4 > MAX_IN_MEMORY_BYTES:
        return lazy
    images = torch.empty(len(paths), channels, size, size, dtype=torch.float32)
    # PIL releases the GIL while decoding, so threads use every core
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for index, image in enumerate(pool.map(lazy.__getitem__, range(len(paths)))):
            images[index] = image
    return TensorImages(images)
