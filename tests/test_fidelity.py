"""Glue to torch-fidelity: image conversion, wrappers, registration, CPU-safe kwargs, cache keys."""

from pathlib import Path

import pytest
import torch
import torch_fidelity.registry as fidelity_registry
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from akdgbench import Dataset, Generator, TensorImages, hookimpl
from akdgbench.builtin.extractors.digits import DigitsFeatureExtractor
from akdgbench.errors import UsageError
from akdgbench.fidelity import (
    GeneratorSamples,
    PreparedExtractor,
    UInt8Images,
    class_coverage,
    fidelity_kwargs,
    isc_splits_for,
    kid_subset_size_for,
    prepare_extractor,
    reference_cache_name,
    register_extractors_with_fidelity,
    to_uint8_rgb,
    use_loader_workers,
)
from akdgbench.plugins import pm


class TinyGenerator(Generator):
    def __init__(self, z_dim: int = 8, channels: int = 1, size: int = 8) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.layer_count = 1
        self.stages = nn.ModuleList([
            nn.Linear(z_dim, channels * size * size), nn.Tanh(),
            nn.Unflatten(1, (channels, size, size)),
        ])


class Squares(Dataset):
    name = "squares"
    options = {"size": 8, "path": "/some/where"}
    reference_split = "heldout"

    @property
    def resolution(self) -> int:
        return self.config["size"]


def test_uint8_conversion_maps_the_range_and_repeats_gray():
    images = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 3.0, -7.0]).reshape(1, 1, 1, 7)
    pixels = to_uint8_rgb(images)
    assert pixels.dtype == torch.uint8 and pixels.shape == (1, 3, 1, 7)
    assert pixels[0, 0, 0].tolist() == [0, 64, 128, 191, 255, 255, 0]
    assert torch.equal(pixels[:, 0], pixels[:, 2])


def test_uint8_conversion_round_trips_real_pixels():
    pixels = torch.arange(256).to(torch.uint8).reshape(1, 1, 16, 16)  # every value once
    assert torch.equal(to_uint8_rgb(pixels.float() / 127.5 - 1), pixels.expand(1, 3, 16, 16))


def test_uint8_conversion_refuses_other_channel_counts():
    with pytest.raises(ValueError, match="1 or 3 channels"):
        to_uint8_rgb(torch.zeros(2, 4, 8, 8))


def test_generator_wrapper_emits_uint8_rgb_and_counts_progress():
    class Counter:
        total = 0

        def update(self, n):
            self.total += n

    counter = Counter()
    wrapped = GeneratorSamples(TinyGenerator(z_dim=8), progress=counter)
    assert (wrapped.z_size, wrapped.z_type, wrapped.num_classes) == (8, "normal", 0)
    images = wrapped(torch.randn(5, 8))
    assert images.dtype == torch.uint8 and images.shape == (5, 3, 8, 8)
    assert counter.total == 5


def test_dataset_wrapper_is_lazy_and_converts():
    loads = []

    def load():
        loads.append(1)
        return TensorImages(torch.zeros(4, 1, 8, 8))

    wrapped = UInt8Images(load)
    assert loads == []
    assert len(wrapped) == 4 and loads == [1]
    item = wrapped[0]
    assert item.dtype == torch.uint8 and item.shape == (3, 8, 8) and int(item[0, 0, 0]) == 128
    assert loads == [1]


def test_registration_is_idempotent():
    register_extractors_with_fidelity()
    register_extractors_with_fidelity()
    assert fidelity_registry.FEATURE_EXTRACTORS_REGISTRY["digits"] is DigitsFeatureExtractor
    assert fidelity_registry.FEATURE_EXTRACTORS_REGISTRY["inception-v3-compat"] \
        is FeatureExtractorInceptionV3


def test_a_plugin_reusing_a_torch_fidelity_name_is_a_usage_error():
    class Clash:
        @hookimpl
        def register_feature_extractors(self, register):
            register(DigitsFeatureExtractor, name="vgg16")

    plugin = Clash()
    pm.register(plugin, name="clash")
    try:
        with pytest.raises(UsageError, match="'vgg16'.*clashes with torch-fidelity"):
            register_extractors_with_fidelity()
    finally:
        pm.unregister(plugin)


def test_unknown_extractor_lists_the_known_ones():
    with pytest.raises(UsageError, match=r"unknown feature extractor 'digit'.*digits.*"
                                         r"inception-v3-compat.*did you mean 'digits'"):
        prepare_extractor("digit")


def test_digits_extractor_needs_no_weights_kwargs_and_tags_its_weights():
    prepared = prepare_extractor("digits")
    assert prepared.kwargs == {}
    assert len(prepared.cache_tag) == 12


def test_cpu_kwargs_for_few_samples(tmp_path):
    kwargs = fidelity_kwargs(
        device=torch.device("cpu"), metrics=("fid", "isc", "kid"),
        extractor=PreparedExtractor("digits"), batch_size=32, seed=5, cache_dir=tmp_path,
        isc_count=120, kid_counts=(120, 1000),
    )
    assert kwargs["cuda"] is False
    assert kwargs["kid_subset_size"] == 120
    assert kwargs["isc_splits"] == 2
    assert kwargs["save_cpu_ram"] is True  # no data-loader worker processes
    assert kwargs["verbose"] is False
    assert kwargs["rng_seed"] == 5 and kwargs["cache_root"] == str(tmp_path)
    assert (kwargs["fid"], kwargs["isc"], kwargs["kid"], kwargs["prc"]) == (True, True, True, False)


def test_cuda_device_turns_cuda_on(tmp_path):
    kwargs = fidelity_kwargs(device=torch.device("cuda"), metrics=("fid",),
                             extractor=PreparedExtractor("digits"), batch_size=8, seed=0,
                             cache_dir=tmp_path)
    assert kwargs["cuda"] is True and "kid_subset_size" not in kwargs


def test_split_and_subset_sizes():
    assert [isc_splits_for(n) for n in (50, 100, 149, 500, 50_000)] == [1, 2, 2, 10, 10]
    assert kid_subset_size_for(50_000, 10_000) == 1000
    assert kid_subset_size_for(300, 1000) == 300
    assert kid_subset_size_for(5000, 200) == 200


def test_loader_workers_only_for_data_off_memory():
    assert not use_loader_workers(TensorImages(torch.zeros(2, 1, 4, 4)))


def test_cache_name_keys_options_split_resolution_and_weights():
    digits_a = PreparedExtractor("digits", cache_tag="a")
    base = reference_cache_name(Squares("."), digits_a)
    assert "/" not in base and base.startswith("squares-heldout-8px-digits-")
    others = {
        reference_cache_name(Squares(".", size=16), digits_a),
        reference_cache_name(Squares(".", path="/else"), digits_a),
        reference_cache_name(Squares("."), PreparedExtractor("digits", cache_tag="b")),
        reference_cache_name(Squares("."), PreparedExtractor("other", cache_tag="a")),
    }
    assert len(others) == 4 and base not in others
    # the data root is where the data lives, not what it is
    assert reference_cache_name(Squares(Path("/x")), digits_a) == base


def test_an_extractor_plugin_finds_its_own_weights_through_prepare():
    seen = []

    def prepare(weights):
        seen.append(weights)
        return {"feature_extractor_weights_path": "/w.pth"}, "w-123"

    class WithWeights:
        @hookimpl
        def register_feature_extractors(self, register):
            register(DigitsFeatureExtractor, name="digits-with-weights", prepare=prepare)

    plugin = WithWeights()
    pm.register(plugin, name="with-weights")
    try:
        prepared = prepare_extractor("digits-with-weights", "/given.pth")
    finally:
        pm.unregister(plugin)
        fidelity_registry.FEATURE_EXTRACTORS_REGISTRY.pop("digits-with-weights", None)
    assert seen == ["/given.pth"]
    assert prepared.kwargs == {"feature_extractor_weights_path": "/w.pth"}
    assert prepared.cache_tag == "w-123"


def test_class_coverage_counts_the_classes_samples_spread_over():
    assert class_coverage(torch.zeros(7, 10)) == pytest.approx(10.0)  # every class equally likely
    one_class = torch.full((5, 10), -50.0)
    one_class[:, 3] = 50.0
    assert class_coverage(one_class) == pytest.approx(1.0)
    two_classes = torch.full((4, 10), -50.0)
    two_classes[:2, 0] = 50.0
    two_classes[2:, 1] = 50.0
    assert class_coverage(two_classes) == pytest.approx(2.0)
