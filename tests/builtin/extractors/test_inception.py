"""Inception-v3 offline: local weights are found or named exactly, never a traceback.

The weights used here are torch-fidelity's Inception-v3 with random initial
values, made in the test (nothing is downloaded): the architecture is what
matters for the loading path, not the values.
"""

import math
import urllib.error

import pytest
import torch
import torch.hub
import torch_fidelity.feature_extractor_inceptionv3 as inception_module
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import (
    URL_INCEPTION_V3,
    FeatureExtractorInceptionV3,
)

from akdgbench import Dataset, Generator, TensorImages
from akdgbench.builtin.extractors.inception import (
    NAME,
    WEIGHTS_FILENAME,
    hub_weights_path,
    resolve_inception_weights,
)
from akdgbench.defaults import INCEPTION_WEIGHTS_ENV
from akdgbench.errors import UsageError
from akdgbench.evaluate import evaluate_quality
from akdgbench.plugins import get


class FewPhotos(Dataset):
    name = "fewphotos"
    reference_split = "train"

    @property
    def resolution(self) -> int:
        return 16

    def train_set(self) -> TensorImages:
        return TensorImages(torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
                            * 2 - 1)


class TinyGenerator(Generator):
    def __init__(self) -> None:
        super().__init__()
        self.z_dim = 4
        self.layer_count = 1
        self.stages = nn.ModuleList([nn.Linear(4, 3 * 16 * 16), nn.Tanh(),
                                     nn.Unflatten(1, (3, 16, 16))])


@pytest.fixture(scope="module")
def torch_home_with_weights(tmp_path_factory):
    """A $TORCH_HOME whose hub cache holds an Inception-v3 state dict built without any download."""
    torch_home = tmp_path_factory.mktemp("torch_home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inception_module, "load_state_dict_from_url", lambda *args, **kwargs: {})
        patch.setattr(FeatureExtractorInceptionV3, "load_state_dict",
                      lambda self, state, *args, **kwargs: None)
        model = FeatureExtractorInceptionV3(NAME, ["2048"])
    path = torch_home / "hub" / "checkpoints" / WEIGHTS_FILENAME
    path.parent.mkdir(parents=True)
    torch.save(model.state_dict(), path)
    return torch_home


@pytest.fixture
def no_download(monkeypatch, tmp_path):
    """An empty $TORCH_HOME, no weights variable, and a download that fails as it does offline."""
    calls = []

    def offline(url, dst, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return calls


def test_registered_as_torch_fidelitys_own_class():
    assert get("feature extractor", NAME) is FeatureExtractorInceptionV3


def test_missing_weights_name_the_file_the_url_the_place_and_the_option(no_download, tmp_path):
    with pytest.raises(UsageError) as error:
        evaluate_quality(TinyGenerator(), FewPhotos(tmp_path), num_samples=3, metrics=("fid",),
                         feature_extractor=NAME, cache_dir=tmp_path / "cache")
    message = str(error.value)
    assert "\n" not in message
    assert WEIGHTS_FILENAME in message and URL_INCEPTION_V3 in message
    assert str(tmp_path / "empty_torch_home" / "hub" / "checkpoints" / WEIGHTS_FILENAME) in message
    assert "--inception-weights" in message and INCEPTION_WEIGHTS_ENV in message
    assert no_download == [URL_INCEPTION_V3]  # the download was tried once


def test_a_missing_explicit_path_is_a_usage_error(no_download, tmp_path):
    with pytest.raises(UsageError, match=r"'/nowhere/w.pth' \(from --inception-weights\) does not"):
        resolve_inception_weights("/nowhere/w.pth")
    assert no_download == []


def test_the_environment_variable_is_checked_too(no_download, monkeypatch):
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, "/nowhere/env.pth")
    with pytest.raises(UsageError, match=rf"from \${INCEPTION_WEIGHTS_ENV}\) does not exist"):
        resolve_inception_weights()


def test_weights_in_the_hub_cache_are_used_without_download(torch_home_with_weights, no_download,
                                                            monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(torch_home_with_weights))
    assert resolve_inception_weights() == hub_weights_path()
    assert hub_weights_path().is_file() and no_download == []


def test_metrics_run_with_local_weights(torch_home_with_weights, no_download, tmp_path):
    weights = torch_home_with_weights / "hub" / "checkpoints" / WEIGHTS_FILENAME
    result = evaluate_quality(TinyGenerator(), FewPhotos(tmp_path), num_samples=3,
                              metrics=("fid",), feature_extractor=NAME, inception_weights=weights,
                              batch_size=3, device="cpu", cache_dir=tmp_path / "cache")
    assert result["feature_extractor"] == NAME
    assert math.isfinite(result["fid"])
    assert no_download == []
