import pickle
import socket
import urllib.error

import numpy as np
import pytest
import torch

from akdgbench.builtin.datasets import cifar10
from akdgbench.builtin.datasets.cifar10 import CIFAR10
from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError

IMAGES_PER_BATCH = 3


def write_fake_copy(data_root, seed=0):
    """A stand-in unpacked copy: five python-pickle batches of a few random images each."""
    batches_dir = data_root / "cifar10" / "cifar-10-batches-py"
    batches_dir.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    arrays = []
    for index in range(1, 6):
        data = rng.integers(0, 256, size=(IMAGES_PER_BATCH, 3072), dtype=np.uint8)
        data[0, 0], data[0, 1] = 0, 255  # both ends of the range appear
        batch = {"batch_label": f"training batch {index} of 5", "data": data,
                 "labels": [0] * IMAGES_PER_BATCH, "filenames": ["x.png"] * IMAGES_PER_BATCH}
        with open(batches_dir / f"data_batch_{index}", "wb") as file:
            pickle.dump(batch, file)
        arrays.append(data)
    return np.concatenate(arrays)


@pytest.fixture
def no_download(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(cifar10, "download_and_extract_archive", offline)


def test_declares_the_natural_image_defaults():
    assert CIFAR10.channels == 3
    assert CIFAR10.default_feature_extractor == "inception-v3-compat"
    assert CIFAR10.default_eval_samples == 50_000
    assert CIFAR10.reference_split == "train"


def test_loads_a_local_copy_in_the_python_pickle_format(tmp_path, no_download):
    data = write_fake_copy(tmp_path)
    dataset = CIFAR10(tmp_path)
    train = dataset.train_set()
    assert isinstance(train, TensorImages)
    assert train.images.shape == (5 * IMAGES_PER_BATCH, 3, 32, 32)
    assert train.images.dtype == torch.float32
    assert train.images.min() == -1 and train.images.max() == 1
    # each row is 1024 red, then 1024 green, then 1024 blue values, row by row
    expected = torch.from_numpy(data).float().view(-1, 3, 32, 32) / 127.5 - 1
    assert torch.equal(train.images, expected)
    assert train.images[4, 1, 2, 3] == expected.view(-1, 3072)[4, 1024 + 2 * 32 + 3]


def test_reference_is_the_training_set_loaded_once(tmp_path, no_download):
    write_fake_copy(tmp_path)
    dataset = CIFAR10(tmp_path)
    assert dataset.reference_set() is dataset.train_set()


def test_size_16_resizes_within_range(tmp_path, no_download):
    write_fake_copy(tmp_path)
    images = CIFAR10(tmp_path, size="16").train_set().images
    assert images.shape == (5 * IMAGES_PER_BATCH, 3, 16, 16)
    assert images.min() >= -1 and images.max() <= 1


def test_offline_without_a_copy_says_what_to_download_and_where(tmp_path, no_download):
    dataset = CIFAR10(tmp_path)
    with pytest.raises(UsageError) as caught:
        dataset.train_set()
    message = str(caught.value)
    assert "\n" not in message
    assert "cifar-10-python.tar.gz" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message
    assert f"put it in the directory {tmp_path / 'cifar10'}/" in message
    assert "URLError" in message


def test_a_corrupt_archive_is_named_in_the_error(tmp_path, no_download):
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"truncated")
    with pytest.raises(UsageError, match="cifar-10-python.tar.gz could not be used"):
        CIFAR10(tmp_path).train_set()


def test_first_use_downloads_into_data_root_once(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, download_root, filename, md5):
        calls.append((url, download_root, filename, md5, socket.getdefaulttimeout()))
        write_fake_copy(tmp_path)

    monkeypatch.setattr(cifar10, "download_and_extract_archive", fake_download)
    timeout_before = socket.getdefaulttimeout()
    assert CIFAR10(tmp_path).train_set().images.shape[0] == 5 * IMAGES_PER_BATCH
    assert CIFAR10(tmp_path).train_set().images.shape[0] == 5 * IMAGES_PER_BATCH
    assert calls == [(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        str(tmp_path / "cifar10"),
        "cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a",
        cifar10.DOWNLOAD_SOCKET_TIMEOUT_S,
    )]
    assert socket.getdefaulttimeout() == timeout_before


def test_a_corrupt_batch_is_a_usage_error(tmp_path, no_download):
    write_fake_copy(tmp_path)
    (tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(UsageError, match="data_batch_3 is not a CIFAR-10 python batch"):
        CIFAR10(tmp_path).train_set()


def test_a_batch_of_the_wrong_shape_is_a_usage_error(tmp_path, no_download):
    write_fake_copy(tmp_path)
    with open(tmp_path / "cifar10" / "cifar-10-batches-py" / "data_batch_2", "wb") as file:
        pickle.dump({"data": np.zeros((2, 100), dtype=np.uint8)}, file)
    with pytest.raises(UsageError, match=r"shape \(2, 100\), not Nx3072"):
        CIFAR10(tmp_path).train_set()
