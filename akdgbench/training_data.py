"""Real training batches: endless, shuffled, resumable at an exact (epoch, batch) position.

In-memory data sets (:class:`akdgbench.TensorImages`) are moved to the device
once and indexed there; others go through a DataLoader. Either way each epoch
is one permutation drawn from (seed, epoch), so a resume needs only the position.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from akdgbench import defaults
from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError


class _EpochBatches(Sampler[list[int]]):
    """Shuffled batches, one permutation per epoch, starting at (epoch, offset) for resumes."""

    def __init__(self, size: int, batch_size: int, seed: int, epoch: int, offset: int) -> None:
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.epoch, self.offset = epoch, offset

    def __len__(self) -> int:
        return self.size // self.batch_size - self.offset

    def __iter__(self) -> Iterator[list[int]]:
        order = epoch_permutation(self.size, self.seed, self.epoch)
        for batch in range(self.offset, self.size // self.batch_size):
            yield order[batch * self.batch_size:(batch + 1) * self.batch_size].tolist()
        self.epoch, self.offset = self.epoch + 1, 0


def epoch_permutation(size: int, seed: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (2**63))
    return torch.randperm(size, generator=generator)


class RealBatches:
    """Endless shuffled batches of real images; ``position`` (epoch, batch) is checkpointed."""

    def __init__(self, make_train_set: Callable[[], Any], batch_size: int, device: torch.device,
                 seed: int, channels_last: bool) -> None:
        self.make_train_set, self.batch_size = make_train_set, batch_size
        self.device, self.seed, self.channels_last = device, seed, channels_last
        self.epoch = self.offset = 0
        self._train_set: Any = None  # opened on first use: methods without real data never pay
        self._images: torch.Tensor | None = None
        self._order: torch.Tensor | None = None
        self._loader_batches: Iterator[Any] | None = None

    @property
    def train_set(self) -> Any:
        if self._train_set is None:
            self._train_set = self.make_train_set()
            self.size = len(self._train_set)
            if self.size < self.batch_size:
                raise UsageError(f"the training set has {self.size} images, fewer than the "
                                 f"batch size {self.batch_size}")
            self.batches_per_epoch = self.size // self.batch_size
        return self._train_set

    @property
    def position(self) -> list[int]:
        return [self.epoch, self.offset]

    def restore(self, position: list[int]) -> None:
        self.epoch, self.offset = int(position[0]), int(position[1])
        self._order = self._loader_batches = None

    def next(self) -> torch.Tensor:
        """The next batch (the position advances: checkpoint ``position`` between steps)."""
        if isinstance(self.train_set, TensorImages):
            batch = self._next_in_memory()
        else:
            batch = self._next_from_loader()
        self.offset += 1
        if self.offset == self.batches_per_epoch:
            self.epoch, self.offset = self.epoch + 1, 0
            self._order = None
        if self.channels_last and batch.dim() == 4:
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def _next_in_memory(self) -> torch.Tensor:
        if self._images is None:  # may happen mid-run (lit reads no real image in phase 1)
            images = self.train_set.images
            if self.device.type == "cuda":  # a pageable copy would make the host wait
                images = images.pin_memory()
            self._images = images.to(self.device, non_blocking=True).to(torch.float32)
        if self._order is None:
            order = epoch_permutation(self.size, self.seed, self.epoch)
            if self.device.type == "cuda":  # a pageable copy would make the host wait each epoch
                order = order.pin_memory()
            self._order = order.to(self.device, non_blocking=True)
        start = self.offset * self.batch_size
        return self._images.index_select(0, self._order[start:start + self.batch_size])

    def _next_from_loader(self) -> torch.Tensor:
        if self._loader_batches is None:
            self._loader_batches = self._endless_loader()
        batch = next(self._loader_batches)
        if isinstance(batch, list | tuple):
            batch = batch[0]
        return batch.to(self.device, torch.float32, non_blocking=True)

    def _endless_loader(self) -> Iterator[Any]:
        cores = os.cpu_count() or 1
        if self.device.type == "cuda":
            workers = min(defaults.MAX_LOADER_WORKERS, max(cores - 1, 0))
        else:  # on the CPU the workers compete with training for the same cores
            workers = min(defaults.MAX_LOADER_WORKERS, cores // 4)
        sampler = _EpochBatches(self.size, self.batch_size, self.seed, self.epoch, self.offset)
        loader = DataLoader(self.train_set, batch_sampler=sampler, num_workers=workers,
                            pin_memory=self.device.type == "cuda",
                            persistent_workers=workers > 0)
        while True:
            yield from loader


