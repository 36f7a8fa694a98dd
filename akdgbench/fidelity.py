"""Glue between akdgbench and torch-fidelity.

torch-fidelity wants uint8 Bx3xHxW images, a ``GenerativeModelBase`` for
generators, its own registry of feature extractors, and kwargs whose defaults
assume a GPU and 50k samples. Everything that adapts akdgbench objects to
that lives here; :mod:`akdgbench.evaluate` decides what to compute.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch_fidelity.registry as fidelity_registry
from torch.utils.data import Dataset as TorchDataset
from torch_fidelity.generative_model_base import GenerativeModelBase
from torch_fidelity.helpers import get_kwarg
from torch_fidelity.metric_fid import (
    fid_featuresdict_to_statistics_cached,
    fid_statistics_to_metric,
)
from torch_fidelity.metric_isc import isc_featuresdict_to_metric
from torch_fidelity.metric_kid import kid_featuresdict_to_metric
from torch_fidelity.metric_prc import prc_featuresdict_to_metric
from torch_fidelity.utils import (
    create_feature_extractor,
    extract_featuresdict_from_input_id_cached,
    get_cacheable_input_name,
    resolve_feature_extractor,
    resolve_feature_layer_for_metric,
)

from akdgbench import defaults
from akdgbench.architecture import Generator
from akdgbench.dataset import Dataset, TensorImages
from akdgbench.errors import UsageError
from akdgbench.plugins import get_registry

# torch-fidelity's result keys -> ours
RESULT_KEYS = {
    "frechet_inception_distance": "fid",
    "inception_score_mean": "is_mean",
    "inception_score_std": "is_std",
    "kernel_inception_distance_mean": "kid_mean",
    "kernel_inception_distance_std": "kid_std",
    "precision": "precision",
    "recall": "recall",
    "f_score": "f_score",
    "class_coverage": "class_coverage",
}


def register_extractors_with_fidelity() -> None:
    """Register every feature extractor of our registry with torch-fidelity (safe to call again).

    torch-fidelity refuses a name twice, and already knows its own extractors
    (``inception-v3-compat`` among them), so a name it holds for the same
    class is skipped; a name it holds for another class is a conflict.
    """
    for entry in get_registry("feature extractor").entries():
        known = fidelity_registry.FEATURE_EXTRACTORS_REGISTRY.get(entry.name)
        if known is entry.obj:
            continue
        if known is not None:
            raise UsageError(
                f"feature extractor {entry.name!r} from plugin {entry.plugin!r} clashes with "
                f"torch-fidelity's own {known.__name__}; register it under another name"
            )
        fidelity_registry.register_feature_extractor(entry.name, entry.obj)


@dataclass(frozen=True)
class PreparedExtractor:
    """A feature extractor ready for ``calculate_metrics``: its name, extra kwargs, cache tag."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: names the extractor's weights in cache keys ("" when they never change)
    cache_tag: str = ""


def prepare_extractor(name: str, inception_weights: str | os.PathLike[str] | None = None
                      ) -> PreparedExtractor:
    """Validate ``name`` against our registry and find what it needs, as its plugin says.

    A plugin that registered the extractor with ``prepare=`` finds its own weights
    (``inception_weights``, the ``--inception-weights`` option, is handed to it).
    """
    entry = get_registry("feature extractor").entry(name)  # UsageError listing known names
    register_extractors_with_fidelity()
    prepare = entry.details.get("prepare")
    if prepare is not None:
        kwargs, cache_tag = prepare(inception_weights)
        return PreparedExtractor(name, dict(kwargs), cache_tag)
    cache_tag = getattr(entry.obj, "cache_tag", None)
    return PreparedExtractor(name, {}, cache_tag() if callable(cache_tag) else "")


def to_uint8_rgb(images: torch.Tensor) -> torch.Tensor:
    """Float images in [-1, 1] (BxCxHxW or CxHxW, C 1 or 3) -> uint8, 3 channels (gray repeated)."""
    channels = images.shape[-3]
    if channels not in (1, 3):
        raise ValueError(f"images must have 1 or 3 channels, got shape {tuple(images.shape)}")
    pixels = ((images.detach().float().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    if channels == 1:
        pixels = pixels.expand(*pixels.shape[:-3], 3, *pixels.shape[-2:])
    return pixels.contiguous()


class GeneratorSamples(GenerativeModelBase):
    """An akdgbench generator as torch-fidelity sees one: normal noise in, uint8 Bx3xHxW out.

    ``progress`` (a tqdm bar or anything with ``update(n)``) counts the samples made.
    """

    def __init__(self, generator: Generator, progress: Any = None) -> None:
        super().__init__()
        self.generator = generator
        self.progress = progress

    @property
    def z_size(self) -> int:
        return int(self.generator.z_dim)

    @property
    def z_type(self) -> str:
        return "normal"

    @property
    def num_classes(self) -> int:
        return 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        parameter = next(self.generator.parameters(), None)
        if parameter is not None:
            z = z.to(parameter.device)
        images = to_uint8_rgb(self.generator(z))
        if self.progress is not None:
            self.progress.update(images.shape[0])
        return images


class UInt8Images(TorchDataset):
    """A data set of float CxHxW images in [-1, 1], as uint8 3xHxW for torch-fidelity.

    ``images`` is loaded on first use only, so a cached evaluation never reads
    the real data. ``progress`` counts items read (only meaningful without
    data-loader worker processes).
    """

    def __init__(self, images: TorchDataset | Any, progress: Any = None) -> None:
        self._source = images
        self._images: TorchDataset | None = None
        self.progress = progress

    @property
    def images(self) -> TorchDataset:
        if self._images is None:
            self._images = self._source() if callable(self._source) else self._source
        return self._images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        item = self.images[index]
        if isinstance(item, (tuple, list)):  # (image, label) data sets
            item = item[0]
        if self.progress is not None:
            self.progress.update(1)
        return to_uint8_rgb(item)


def reference_cache_name(dataset: Dataset, extractor: PreparedExtractor) -> str:
    """The cache entry of a data set's reference features for one extractor.

    Keyed by the data set's name and every option, the reference split, the
    resolution and the extractor with its weights. torch-fidelity makes file
    names of it, so it is a readable slug plus a hash of the whole key.
    """
    options = ",".join(f"{key}={value}" for key, value in sorted(dataset.config.items()))
    key = "|".join([dataset.name, options, dataset.reference_split, str(dataset.resolution),
                    extractor.name, extractor.cache_tag])
    slug = re.sub(r"[^A-Za-z0-9.=-]+", "_", f"{dataset.name}-{dataset.reference_split}"
                  f"-{dataset.resolution}px-{extractor.name}")[:80]
    return f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def isc_splits_for(count: int) -> int:
    """torch-fidelity's 10 splits, fewer when there are too few samples for splits of 50."""
    return max(1, min(defaults.IS_SPLITS, count // defaults.MIN_SAMPLES_PER_IS_SPLIT))


def kid_subset_size_for(*counts: int) -> int:
    """KID's subset size: torch-fidelity's 1000, but never more than either side has."""
    return min(defaults.KID_SUBSET_SIZE, *counts)


def use_loader_workers(images: Any) -> bool:
    """Worker processes only pay off for data read from disk, and only with cores to spare."""
    in_memory = isinstance(images, (TensorImages, torch.utils.data.TensorDataset))
    return not in_memory and (os.cpu_count() or 1) >= 4


def fidelity_kwargs(
    *,
    device: torch.device,
    metrics: tuple[str, ...] | list[str],
    extractor: PreparedExtractor,
    batch_size: int,
    seed: int,
    cache_dir: Path,
    isc_count: int | None = None,
    kid_counts: tuple[int, int] | None = None,
    loader_workers: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """``calculate_metrics`` kwargs that also work on a CPU-only machine with few samples."""
    kwargs: dict[str, Any] = {
        "cuda": device.type == "cuda",
        "batch_size": batch_size,
        "feature_extractor": extractor.name,
        "rng_seed": seed,
        "cache_root": str(cache_dir),
        "cache": True,
        "save_cpu_ram": not loader_workers,
        "verbose": verbose,
        **{metric: metric in metrics for metric in ("isc", "fid", "kid", "prc")},
        **extractor.kwargs,
    }
    if "isc" in metrics and isc_count is not None:
        kwargs["isc_splits"] = isc_splits_for(isc_count)
    if "kid" in metrics and kid_counts is not None:
        kwargs["kid_subset_size"] = kid_subset_size_for(*kid_counts)
    return kwargs


def rename_results(raw: dict[str, Any]) -> dict[str, float]:
    return {RESULT_KEYS[key]: float(value) for key, value in raw.items() if key in RESULT_KEYS}


def class_coverage(logits: torch.Tensor) -> float:
    """How many classes the samples spread over: exp of the entropy of the mean class distribution.

    10.0 for digits spread evenly over all ten classes, 1.0 when every sample is
    classed the same, 5.0 for an even split over five. It reads the same logits
    the Inception Score does, so it costs no extra pass.
    """
    marginal = torch.softmax(logits.double(), dim=1).mean(dim=0)
    entropy = -(marginal * marginal.clamp_min(1e-30).log()).sum()
    return float(entropy.exp())


def calculate_metrics(**kwargs: Any) -> dict[str, Any]:
    """torch-fidelity's ``calculate_metrics`` (one extractor, no PPL), plus ``class_coverage``.

    The same steps as torch-fidelity's own, through its public functions, so
    every score is unchanged; the features of ``input1`` are kept long enough
    to read the class coverage from the IS logits as well.
    """
    feature_extractor = resolve_feature_extractor(**kwargs)
    asked = [metric for metric in ("isc", "fid", "kid", "prc") if get_kwarg(metric, kwargs)]
    layers = {metric: resolve_feature_layer_for_metric(metric, **kwargs) for metric in asked}
    extractor = create_feature_extractor(feature_extractor, sorted(set(layers.values())), **kwargs)
    features_1 = extract_featuresdict_from_input_id_cached(1, extractor, **kwargs)
    features_2 = (extract_featuresdict_from_input_id_cached(2, extractor, **kwargs)
                  if kwargs.get("input2") is not None else None)
    results: dict[str, Any] = {}
    if "isc" in layers:
        results.update(isc_featuresdict_to_metric(features_1, layers["isc"], **kwargs))
        results["class_coverage"] = class_coverage(features_1[layers["isc"]])
    if "fid" in layers:
        statistics = [fid_featuresdict_to_statistics_cached(
            features, get_cacheable_input_name(input_id, **kwargs), extractor, layers["fid"],
            **kwargs) for input_id, features in ((1, features_1), (2, features_2))]
        results.update(fid_statistics_to_metric(*statistics, get_kwarg("verbose", kwargs)))
    if "kid" in layers:
        results.update(kid_featuresdict_to_metric(features_1, features_2, layers["kid"], **kwargs))
    if "prc" in layers:
        results.update(prc_featuresdict_to_metric(features_1, features_2, layers["prc"], **kwargs))
    return results
