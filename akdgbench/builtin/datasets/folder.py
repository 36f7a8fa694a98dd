"""``folder``: any directory tree of images, e.g. ``folder:path=DIR:size=64:channels=1``.

Images are found recursively (png, jpg, jpeg, bmp, gif, webp, tif, tiff;
hidden files skipped), centre-cropped to a square and resized (antialiased
bilinear). A folder whose decoded images fit in 1 GiB is decoded once into
memory; a larger one is decoded image by image as training reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch.utils.data import Dataset as TorchDataset

from akdgbench import hookimpl
from akdgbench.builtin.datasets._images import (
    check_directory,
    check_size,
    find_images,
    folder_images,
)
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError


class ImageFolder(Dataset):
    """Every image under ``path`` (required); ``channels`` 3 (RGB) or 1 (grayscale)."""

    name = "folder"
    description = "every image under a directory: folder:path=DIR:size=64:channels=3"
    options = {"path": "", "size": 64, "channels": 3}
    default_feature_extractor = "inception-v3-compat"
    default_eval_samples = 50_000
    reference_split = "train"

    def __init__(self, data_root: str | Path, **given: Any) -> None:
        super().__init__(data_root, **given)
        owner = f"dataset {self.name!r}"
        if not self.config["path"]:
            raise UsageError(f"{owner}: give the image directory, e.g. folder:path=DIR:size=64")
        check_directory(owner, self.config["path"])
        check_size(owner, self.config["size"])
        if self.config["channels"] not in (1, 3):
            raise UsageError(
                f"{owner}: option channels={self.config['channels']} must be 3 (RGB) "
                "or 1 (grayscale)"
            )
        self.channels = self.config["channels"]
        self._images: TorchDataset | None = None

    @property
    def resolution(self) -> int:
        return self.config["size"]

    def train_set(self) -> TorchDataset:
        if self._images is None:
            paths = find_images(f"dataset {self.name!r}", self.config["path"])
            self._images = folder_images(paths, self.resolution, self.channels)
        return self._images


@hookimpl
def register_datasets(register: Any) -> None:
    register(ImageFolder)
