"""evaluate_quality / evaluate_real against torch-fidelity itself, the real-feature cache, errors,
and measure_efficiency."""

import math

import pytest
import torch
import torch.nn.functional as F
import torch_fidelity
from torch import nn
from torch.utils.data import Dataset as TorchDataset
from torch_fidelity import GenerativeModelModuleWrapper

from akdgbench import Generator
from akdgbench.builtin.datasets.mnist5k import MNIST5k, mnist5k_split
from akdgbench.errors import UsageError
from akdgbench.evaluate import (
    count_mult_adds,
    evaluate_quality,
    evaluate_real,
    measure_efficiency,
)
from akdgbench.fidelity import prepare_extractor, reference_cache_name


class TinyGenerator(Generator):
    """z (16) -> Linear -> 4x8x8 -> Conv2d 3x3 -> 1x8x8, upsampled to the data set's size."""

    def __init__(self, size: int = 32) -> None:
        super().__init__()
        self.z_dim = 16
        self.layer_count = 2
        self.stages = nn.ModuleList([
            nn.Linear(16, 4 * 8 * 8), nn.ReLU(), nn.Unflatten(1, (4, 8, 8)),
            nn.Conv2d(4, 1, kernel_size=3, padding=1), nn.Tanh(),
            nn.Upsample(size=size, mode="nearest"),
        ])


class PlainImages(TorchDataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.images[index]


class AsUint8(nn.Module):
    """The reference conversion, written independently of akdgbench.fidelity."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z):
        images = ((self.generator(z) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
        return images.repeat(1, 3, 1, 1)


def forbid_reading(dataset):
    def refuse():
        raise AssertionError("the real data was read although its features are cached")

    dataset.reference_set = refuse
    return dataset


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return TinyGenerator()


@pytest.fixture
def mnist(tmp_path):
    return MNIST5k(tmp_path / "data")


def test_matches_torch_fidelity_called_directly(generator, mnist, tmp_path):
    ours = evaluate_quality(generator, mnist, num_samples=200, seed=3, device="cpu",
                            cache_dir=tmp_path / "cache")
    heldout = F.pad(torch.from_numpy(mnist5k_split()["heldout"][0]), (2, 2, 2, 2))
    reference = torch_fidelity.calculate_metrics(
        input1=GenerativeModelModuleWrapper(AsUint8(generator), 16, "normal", 0),
        input1_model_num_samples=200,
        input2=PlainImages(heldout.unsqueeze(1).repeat(1, 3, 1, 1)),
        feature_extractor="digits", fid=True, isc=True, kid=True, rng_seed=3,
        isc_splits=4, kid_subset_size=200, cuda=False, cache=False, verbose=False,
        save_cpu_ram=True,
    )
    expected = {
        "fid": reference["frechet_inception_distance"],
        "is_mean": reference["inception_score_mean"],
        "is_std": reference["inception_score_std"],
        "kid_mean": reference["kernel_inception_distance_mean"],
        "kid_std": reference["kernel_inception_distance_std"],
    }
    assert set(ours) == {*expected, "class_coverage", "feature_extractor"}
    assert ours["feature_extractor"] == "digits"  # "auto" picked the data set's extractor
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, rel=1e-6, abs=1e-12), key


def test_real_features_are_cached_and_not_read_again(generator, mnist, tmp_path):
    cache_dir = tmp_path / "cache"
    first = evaluate_quality(generator, mnist, num_samples=150, device="cpu",
                             cache_dir=cache_dir)
    cache_name = reference_cache_name(mnist, prepare_extractor("digits"))
    cached = sorted(path.name for path in cache_dir.iterdir())
    assert any(name.startswith(cache_name) and "features" in name for name in cached), cached

    again = forbid_reading(MNIST5k(tmp_path / "data"))
    second = evaluate_quality(generator, again, num_samples=150, device="cpu",
                              cache_dir=cache_dir)
    assert second == first
    real = evaluate_real(again, cache_dir=cache_dir)  # the real row reuses the same cache
    assert real["is_mean"] > 8


def test_another_size_is_another_cache_entry(generator, tmp_path):
    cache_dir = tmp_path / "cache"
    evaluate_quality(TinyGenerator(size=32), MNIST5k(tmp_path), num_samples=100,
                     metrics=("fid",), cache_dir=cache_dir)
    with pytest.raises(AssertionError, match="real data was read"):
        evaluate_quality(TinyGenerator(size=16), forbid_reading(MNIST5k(tmp_path, size=16)),
                         num_samples=100, metrics=("fid",), cache_dir=cache_dir)


def test_evaluate_real_scores_held_out_digits(mnist, tmp_path):
    real = evaluate_real(mnist, cache_dir=tmp_path)
    assert set(real) == {"is_mean", "is_std", "class_coverage", "feature_extractor"}
    assert real["is_mean"] > 8 and real["is_std"] > 0
    # 100 held-out images of each digit, classed almost without error: nearly ten classes
    assert 9.8 < real["class_coverage"] <= 10.0


class OneImage(Generator):
    """Every latent gives the same image: a held-out digit."""

    def __init__(self, image: torch.Tensor) -> None:
        super().__init__()
        self.z_dim = 4
        self.layer_count = 0
        self.register_buffer("image", image)

    def forward(self, z):
        return self.image.expand(z.shape[0], *self.image.shape)


def test_class_coverage_is_one_when_every_sample_is_the_same_digit(mnist, tmp_path):
    digit = F.pad(torch.from_numpy(mnist5k_split()["heldout"][0][0]), (2, 2, 2, 2))
    image = (digit.float() / 127.5 - 1).unsqueeze(0)
    ours = evaluate_quality(OneImage(image), mnist, num_samples=200, cache_dir=tmp_path)
    assert ours["class_coverage"] == pytest.approx(1.0, abs=1e-3)


def test_precision_recall_when_asked(generator, mnist, tmp_path):
    result = evaluate_quality(generator, mnist, num_samples=100, metrics=("fid", "prc"),
                              cache_dir=tmp_path)
    assert {"fid", "precision", "recall", "f_score"} <= set(result)
    assert "is_mean" not in result


def test_generator_comes_back_as_it_was(generator, mnist, tmp_path):
    generator.train()
    evaluate_quality(generator, mnist, num_samples=100, metrics=("fid",), cache_dir=tmp_path)
    assert generator.training


def test_progress_bar(generator, mnist, tmp_path, capsys):
    evaluate_quality(generator, mnist, num_samples=100, metrics=("fid",), cache_dir=tmp_path,
                     progress=True)
    assert "generated samples" in capsys.readouterr().err


def test_unknown_extractor_lists_known_names(generator, mnist, tmp_path):
    with pytest.raises(UsageError, match="unknown feature extractor 'lenet'; known: .*digits"):
        evaluate_quality(generator, mnist, feature_extractor="lenet", num_samples=200,
                         cache_dir=tmp_path)


@pytest.mark.parametrize(("metrics", "minimum"), [(("fid", "isc"), 100), (("kid",), 50)])
def test_too_few_samples_name_the_minimum(generator, mnist, tmp_path, metrics, minimum):
    with pytest.raises(UsageError, match=f"30 samples are too few .* at least {minimum}"):
        evaluate_quality(generator, mnist, num_samples=30, metrics=metrics, cache_dir=tmp_path)


def test_fid_alone_runs_on_few_samples(generator, mnist, tmp_path):
    result = evaluate_quality(generator, mnist, num_samples=30, metrics=("fid",),
                              cache_dir=tmp_path)
    assert math.isfinite(result["fid"])


def test_unknown_metric(generator, mnist, tmp_path):
    with pytest.raises(UsageError, match="unknown metric.*'is'.*known: fid, isc, kid, prc"):
        evaluate_quality(generator, mnist, num_samples=200, metrics=("is",), cache_dir=tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on CPU-only machines")
def test_cuda_without_cuda_is_a_usage_error(generator, mnist, tmp_path):
    with pytest.raises(UsageError, match="CUDA is not available"):
        evaluate_quality(generator, mnist, num_samples=200, device="cuda", cache_dir=tmp_path)


# ---------------------------------------------------------------- efficiency


def test_mult_adds_of_linear_and_conv_by_hand():
    generator = TinyGenerator(size=8)
    linear = 16 * (4 * 8 * 8)  # weights of the linear layer, one multiply-add each
    conv = (1 * 8 * 8) * (4 * 3 * 3)  # per output pixel: in_channels x kernel
    assert count_mult_adds(generator, torch.randn(1, 16)) == linear + conv == 6400


def test_efficiency_numbers():
    generator = TinyGenerator(size=8)
    numbers = measure_efficiency(generator, resolution=8, channels=1, device="cpu",
                                 batch_size=16, repeats=2, latency_repeats=3)
    assert numbers["params"] == (16 * 256 + 256) + (4 * 9 + 1) == 4389
    assert numbers["layers"] == 2
    assert numbers["mult_adds"] == 6400
    assert numbers["images_per_s"] > 0 and numbers["latency_ms"] > 0
    assert 4 * 4389 < numbers["checkpoint_bytes"] < 4 * 4389 + 10_000
    assert numbers["peak_memory_mb"] is None  # CPU: no allocator statistics to report
    assert numbers["device"] == "cpu"
    assert isinstance(numbers["params"], int) and isinstance(numbers["mult_adds"], int)


def test_efficiency_checks_the_output_shape():
    with pytest.raises(UsageError, match=r"shape \(1, 8, 8\), expected \(3, 8, 8\)"):
        measure_efficiency(TinyGenerator(size=8), resolution=8, channels=3, device="cpu")


class DigitsOffMemory(MNIST5k):
    """mnist5k whose reference set is a plain data set, as one read from disk would be."""

    name = "digits-off-memory"

    def reference_set(self):
        return PlainImages(super().reference_set().images)  # any indexable data set will do


# the machine really has fewer cores than the faked count: torch warns about its 4 workers
@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_data_off_memory_uses_loader_workers_with_the_same_result(generator, tmp_path,
                                                                   monkeypatch):
    in_process = evaluate_quality(generator, DigitsOffMemory(tmp_path), num_samples=100,
                                  metrics=("fid",), cache_dir=tmp_path / "a")
    monkeypatch.setattr("akdgbench.fidelity.os.cpu_count", lambda: 8)
    with_workers = evaluate_quality(generator, DigitsOffMemory(tmp_path), num_samples=100,
                                    metrics=("fid",), cache_dir=tmp_path / "b", progress=True)
    assert with_workers["fid"] == pytest.approx(in_process["fid"], rel=1e-9)
