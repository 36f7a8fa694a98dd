"""The shipped digits classifier: accurate, and a feature space where FID and IS mean something."""

import pytest
import torch
import torch.nn.functional as F
import torch_fidelity
from torch.utils.data import Dataset

from akdgbench.builtin.datasets.mnist5k import mnist5k_split
from akdgbench.builtin.extractors.digits import (
    LOGITS,
    PENULTIMATE,
    WEIGHTS_PATH,
    DigitsFeatureExtractor,
    load_classifier,
    to_classifier_input,
)
from akdgbench.fidelity import register_extractors_with_fidelity
from akdgbench.plugins import get


class Uint8Images(Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


def as_rgb_32(images) -> torch.Tensor:
    """uint8 Nx28x28 digits -> uint8 Nx3x32x32, padded as the mnist5k data set pads them."""
    padded = F.pad(torch.from_numpy(images), (2, 2, 2, 2)).unsqueeze(1)
    return padded.expand(-1, 3, -1, -1).contiguous()


@pytest.fixture(scope="module")
def digits():
    split = mnist5k_split()
    return {part: (as_rgb_32(images), torch.from_numpy(labels))
            for part, (images, labels) in split.items()}


def metrics(**kwargs) -> dict:
    register_extractors_with_fidelity()
    return torch_fidelity.calculate_metrics(
        feature_extractor="digits", cuda=False, cache=False, verbose=False, save_cpu_ram=True,
        **kwargs)


def test_registered_under_digits():
    assert get("feature extractor", "digits") is DigitsFeatureExtractor


def test_weights_ship_small():
    assert WEIGHTS_PATH.stat().st_size < 1_000_000


def test_heldout_accuracy(digits):
    images, labels = digits["heldout"]
    with torch.no_grad():
        predicted = load_classifier()(to_classifier_input(images)).argmax(dim=1)
    assert (predicted == labels).float().mean().item() >= 0.97


def test_fid_of_train_against_heldout_is_small(digits):
    result = metrics(input1=Uint8Images(digits["train"][0]),
                     input2=Uint8Images(digits["heldout"][0]), fid=True)
    assert result["frechet_inception_distance"] < 30


def test_fid_of_noise_against_digits_is_large(digits):
    noise = torch.randint(0, 256, (1000, 3, 32, 32), dtype=torch.uint8,
                          generator=torch.Generator().manual_seed(0))
    result = metrics(input1=Uint8Images(noise), input2=Uint8Images(digits["heldout"][0]),
                     fid=True)
    assert result["frechet_inception_distance"] > 500


def test_inception_score_of_real_digits(digits):
    result = metrics(input1=Uint8Images(digits["heldout"][0]), isc=True)
    assert result["inception_score_mean"] > 8


def test_features_follow_the_requested_order(digits):
    images = digits["heldout"][0][:5]
    both = DigitsFeatureExtractor("digits", [LOGITS, PENULTIMATE])(images)
    assert [tuple(t.shape) for t in both] == [(5, 10), (5, 128)]
    (features,) = DigitsFeatureExtractor("digits", [PENULTIMATE])(images)
    torch.testing.assert_close(features, both[1])


def test_grayscale_and_other_sizes_are_accepted(digits):
    extractor = DigitsFeatureExtractor("digits", [LOGITS])
    rgb = digits["heldout"][0][:8]
    (from_rgb,) = extractor(rgb)
    (from_gray,) = extractor(rgb[:, :1])
    torch.testing.assert_close(from_rgb, from_gray)
    (from_64px,) = extractor(F.interpolate(rgb.float(), size=64, mode="nearest").to(torch.uint8))
    assert from_64px.shape == (8, 10)
    assert (from_64px.argmax(1) == from_rgb.argmax(1)).float().mean() >= 0.75


def test_default_layers_per_metric():
    layer = DigitsFeatureExtractor.get_default_feature_layer_for_metric
    assert layer("isc") == LOGITS
    assert {layer(m) for m in ("fid", "kid", "prc")} == {PENULTIMATE}
    dummy = DigitsFeatureExtractor.get_dummy_input_for_compile()
    assert dummy.dtype == torch.uint8 and dummy.shape[1] == 3


def test_float_images_are_refused():
    with pytest.raises(ValueError, match="uint8"):
        to_classifier_input(torch.zeros(1, 3, 32, 32))
