"""``cifar10``: the 50,000 CIFAR-10 training images, downloaded once into DATA_ROOT/cifar10.

torchvision's downloader fetches and verifies (md5) ``cifar-10-python.tar.gz``
and unpacks it; the pickled batches are then read here rather than through
``torchvision.datasets.CIFAR10``, whose per-batch md5 check would also reject
the small stand-in copies the tests write. The format is five pickles
``data_batch_1..5``, each a dict whose ``data`` is an Nx3072 uint8 array
(1024 red, then green, then blue values of a 32x32 image, row by row).

The images are converted once to float32 and held in memory as
:class:`TensorImages` (614 MB at 32x32; 4·3·size² bytes per image in
general), so training samples batches straight from one tensor on the
training device with no data-loader cost.
"""

from __future__ import annotations

import pickle
import socket
import tarfile
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from torchvision.datasets import CIFAR10 as TorchvisionCIFAR10
from torchvision.datasets.utils import download_and_extract_archive

from akdgbench import hookimpl
from akdgbench.builtin.datasets._images import check_size, uint8_to_unit_range
from akdgbench.dataset import Dataset, TensorImages
from akdgbench.defaults import DATA_ROOT_ENV
from akdgbench.errors import UsageError

ARCHIVE_NAME = TorchvisionCIFAR10.filename  # cifar-10-python.tar.gz
ARCHIVE_URL = TorchvisionCIFAR10.url
ARCHIVE_MD5 = TorchvisionCIFAR10.tgz_md5
BATCHES_DIR = TorchvisionCIFAR10.base_folder  # cifar-10-batches-py
TRAIN_BATCHES = tuple(name for name, _md5 in TorchvisionCIFAR10.train_list)
#: a stalled connection fails after this many seconds instead of hanging the run
DOWNLOAD_SOCKET_TIMEOUT_S = 60.0


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # torchvision's urlopen passes no timeout, so the process default is the only handle on it
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def fetch_archive(directory: Path) -> None:
    """Download (or reuse a verified local copy of) the archive in ``directory`` and unpack it."""
    with _socket_timeout(DOWNLOAD_SOCKET_TIMEOUT_S):
        download_and_extract_archive(
            ARCHIVE_URL, download_root=str(directory), filename=ARCHIVE_NAME, md5=ARCHIVE_MD5
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def read_batches(batches_dir: Path) -> torch.Tensor:
    """The training images of an unpacked copy as uint8 Nx3x32x32."""
    arrays = []
    for name in TRAIN_BATCHES:
        path = batches_dir / name
        try:
            with open(path, "rb") as file:
                batch = pickle.load(file, encoding="latin1")
            data = np.asarray(batch["data"], dtype=np.uint8)
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
            raise UsageError(
                f"dataset 'cifar10': {path} is not a CIFAR-10 python batch ({_one_line(exc)}); "
                f"delete {batches_dir} to unpack it again"
            ) from exc
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise UsageError(
                f"dataset 'cifar10': {path} holds an array of shape {data.shape}, "
                f"not Nx3072; delete {batches_dir} to unpack it again"
            )
        arrays.append(data)
    return torch.from_numpy(np.concatenate(arrays)).view(-1, 3, 32, 32)


class CIFAR10(Dataset):
    """CIFAR-10's 50,000 training images (also the FID reference, as in SNGAN and AKDG)."""

    name = "cifar10"
    description = "CIFAR-10 training set, 50,000 32x32 images (downloaded once into DATA_ROOT)"
    options = {"size": 32}
    default_feature_extractor = "inception-v3-compat"
    default_eval_samples = 50_000
    channels = 3
    reference_split = "train"

    def __init__(self, data_root: str | Path, **given: Any) -> None:
        super().__init__(data_root, **given)
        check_size(f"dataset {self.name!r}", self.config["size"])
        self._images: TensorImages | None = None

    @property
    def resolution(self) -> int:
        return self.config["size"]

    @property
    def directory(self) -> Path:
        return self.data_root / "cifar10"

    def _ensure_unpacked(self) -> Path:
        batches_dir = self.directory / BATCHES_DIR
        if all((batches_dir / name).is_file() for name in TRAIN_BATCHES):
            return batches_dir
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # parallel cells share the data root: one downloads, the others wait and reuse it
            with FileLock(str(self.directory / ".download.lock")):
                if not all((batches_dir / name).is_file() for name in TRAIN_BATCHES):
                    fetch_archive(self.directory)
        except (urllib.error.URLError, OSError, RuntimeError, tarfile.TarError) as exc:
            archive = self.directory / ARCHIVE_NAME
            found = (
                f"{archive} could not be used (an incomplete or altered copy fails its md5 check)"
                if archive.is_file()
                else f"no copy in {self.directory}"
            )
            raise UsageError(
                f"dataset 'cifar10': {found} and the download failed "
                f"({type(exc).__name__}: {_one_line(exc)}); download {ARCHIVE_NAME} "
                f"from {ARCHIVE_URL} and put it in the directory {self.directory}/ "
                f"(it is checked and unpacked on first use; --data-root or ${DATA_ROOT_ENV} "
                f"moves DATA_ROOT)"
            ) from exc
        return batches_dir

    def train_set(self) -> TensorImages:
        if self._images is None:
            pixels = read_batches(self._ensure_unpacked())
            self._images = TensorImages(uint8_to_unit_range(pixels, self.resolution))
        return self._images


@hookimpl
def register_datasets(register: Any) -> None:
    register(CIFAR10)
