"""The contract for data-set plugins: float images in [-1, 1] at a requested resolution."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset as TorchDataset

from akdgbench.specs import Configurable


class TensorImages(TorchDataset):
    """Images held in one tensor (NxCxHxW, float in [-1, 1]).

    The engine samples batches from ``images`` directly (on the training
    device), so small data sets cost no data-loader time at all.
    """

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


class Dataset(Configurable):
    """A data set, configured by a spec such as ``folder:path=DIR:size=64``."""

    plugin_kind = "dataset"
    #: the feature extractor ``--feature-extractor auto`` picks for this data set
    default_feature_extractor: ClassVar[str] = "inception-v3-compat"
    #: how many samples the literature evaluates with
    default_eval_samples: ClassVar[int] = 50_000
    channels: ClassVar[int] = 3

    def __init__(self, data_root: str | Path, **given: Any) -> None:
        self.data_root = Path(data_root).expanduser()
        super().__init__(**given)

    @property
    def resolution(self) -> int:
        raise NotImplementedError

    def train_set(self) -> TorchDataset:
        """Training images: float CxHxW in [-1, 1] (a :class:`TensorImages` when in memory)."""
        raise NotImplementedError

    def reference_set(self) -> TorchDataset:
        """The real images generated samples are scored against (same format as ``train_set``)."""
        return self.train_set()

    #: the split ``reference_set`` returns, part of the real-statistics cache key
    reference_split: ClassVar[str] = "train"

