"""``lsun-bedroom``: LSUN bedrooms from the official LMDB export, or from a folder of images.

The export (``bedroom_train_lmdb``: one LMDB whose values are JPEG files of
millions of bedrooms, shorter side 256 pixels, per fyu/lsun's README) is read from
DATA_ROOT/lsun/bedroom_train_lmdb and needs the optional ``lmdb`` package
(``pip install 'akdgbench[lsun]'``). ``lsun-bedroom:path=DIR`` reads a folder
of images instead (for example the export's images written out by fyu/lsun's
``data.py export``). Either way each image is centre-cropped to a square and
resized to ``size`` (antialiased bilinear).

FID and the other metrics score samples against a fixed subset of the training
images, not the whole split (about 3 million): the first ``reference_images``
(50,000 by default, the usual size of an FID reference) in the export's order,
i.e. its LMDB keys sorted byte-wise (40-digit hex hashes, so the first 50,000
are in no meaningful order) or a folder's files sorted by path.
``reference_images=0`` scores against every training image.

The LMDB is read here rather than through ``torchvision.datasets.LSUN``,
which pickles its whole key list into a ``_cache_...`` file in the *current
directory* (a run's working directory fills with them); here the key list
lives in memory, in one fixed-width bytes array.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset as TorchDataset
from torch.utils.data import Subset

from akdgbench import hookimpl
from akdgbench.builtin.datasets._images import (
    check_directory,
    check_size,
    find_images,
    folder_images,
    load_image,
)
from akdgbench.dataset import Dataset, TensorImages
from akdgbench.errors import UsageError

OWNER = "dataset 'lsun-bedroom'"
LMDB_DIR = "bedroom_train_lmdb"
EXPORT_URL = "http://dl.yf.io/lsun/scenes/bedroom_train_lmdb.zip"


def _import_lmdb(lmdb_dir: Path) -> Any:
    try:
        import lmdb
    except ImportError:
        raise UsageError(
            f"{OWNER}: reading the LMDB export {lmdb_dir} needs the lmdb package: "
            "pip install 'akdgbench[lsun]' (or give a folder of images with lsun-bedroom:path=DIR)"
        ) from None
    return lmdb


_open_environments: dict[str, Any] = {}


def _environment(lmdb_dir: Path) -> Any:
    """The process's one read-only handle on an export.

    LMDB refuses to open an environment twice in one process, and a forked
    data-loader worker counts as the same process, so every reader shares
    this handle and forked workers reuse the one they inherit (read-only and
    without LMDB's lock table, which is what makes that safe).
    """
    path = str(lmdb_dir.resolve())
    if path not in _open_environments:
        lmdb = _import_lmdb(lmdb_dir)
        try:
            _open_environments[path] = lmdb.open(
                path, readonly=True, lock=False, readahead=False, meminit=False
            )
        except lmdb.Error as exc:
            raise UsageError(f"{OWNER}: cannot open the LMDB export {lmdb_dir}: {exc}") from exc
    return _open_environments[path]


class LMDBImages(TorchDataset):
    """The images stored as values of an LMDB, decoded on demand (float CxSxS in [-1, 1])."""

    def __init__(self, lmdb_dir: Path, size: int, channels: int = 3) -> None:
        self.lmdb_dir = lmdb_dir
        self.size = size
        self.channels = channels
        with _environment(lmdb_dir).begin(write=False) as txn:
            keys = list(txn.cursor().iternext(keys=True, values=False))
        if not keys:
            raise UsageError(f"{OWNER}: the LMDB export {lmdb_dir} holds no images")
        # one fixed-width array is far smaller than a list of bytes objects, but numpy
        # strips trailing NULs, so keys that end in one stay a list
        self.keys: Any = keys if any(k.endswith(b"\0") for k in keys) else np.array(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> torch.Tensor:
        with _environment(self.lmdb_dir).begin(write=False) as txn:
            value = txn.get(bytes(self.keys[index]))
        if value is None:
            raise UsageError(f"{OWNER}: key {self.keys[index]!r} vanished from {self.lmdb_dir}")
        return load_image(io.BytesIO(value), self.size, self.channels)


class LSUNBedroom(Dataset):
    """LSUN bedroom (train split), the AKDG paper's second data set (PGGAN teacher)."""

    name = "lsun-bedroom"
    description = (
        "LSUN bedroom from its LMDB export in DATA_ROOT/lsun (needs akdgbench[lsun]) "
        "or a folder of images (path=DIR); centre crop, size=64 by default (128, 256 too); "
        "FID against its first reference_images=50000 training images"
    )
    options = {"size": 64, "path": "", "reference_images": 50_000}
    default_feature_extractor = "inception-v3-compat"
    default_eval_samples = 50_000
    channels = 3
    reference_split = "train"

    def __init__(self, data_root: str | Path, **given: Any) -> None:
        super().__init__(data_root, **given)
        check_size(OWNER, self.config["size"])
        if self.config["path"]:
            check_directory(OWNER, self.config["path"])
        if self.config["reference_images"] < 0:
            raise UsageError(f"{OWNER}: option reference_images must be >= 0 (0: every "
                             f"training image), not {self.config['reference_images']}")
        self._images: TorchDataset | None = None

    @property
    def resolution(self) -> int:
        return self.config["size"]

    @property
    def lmdb_dir(self) -> Path:
        return self.data_root / "lsun" / LMDB_DIR

    def _load(self) -> TorchDataset:
        if self.config["path"]:
            paths = find_images(OWNER, self.config["path"])
            return folder_images(paths, self.resolution, self.channels)
        if not (self.lmdb_dir / "data.mdb").is_file():
            raise UsageError(
                f"{OWNER}: no LMDB export at {self.lmdb_dir} (LSUN cannot be downloaded "
                f"automatically): download {LMDB_DIR}.zip from {EXPORT_URL} (or run "
                f"'python download.py -c bedroom' from github.com/fyu/lsun) and unzip it in "
                f"{self.lmdb_dir.parent}/ so that {self.lmdb_dir / 'data.mdb'} exists; "
                "or use lsun-bedroom:path=DIR for a folder of images"
            )
        return LMDBImages(self.lmdb_dir, self.resolution, self.channels)

    def train_set(self) -> TorchDataset:
        if self._images is None:
            self._images = self._load()
        return self._images

    def reference_set(self) -> TorchDataset:
        """The first ``reference_images`` training images (all of them when it is 0 or more)."""
        images = self.train_set()
        count = self.config["reference_images"]
        if count == 0 or count >= len(images):
            return images
        if isinstance(images, TensorImages):
            return TensorImages(images.images[:count])
        return Subset(images, range(count))


@hookimpl
def register_datasets(register: Any) -> None:
    register(LSUNBedroom)
