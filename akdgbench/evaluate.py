"""What a generator is worth: quality (FID, IS, KID via torch-fidelity) and efficiency numbers.

Generated samples are streamed from the generator into torch-fidelity, never
written to disk. The real side is the data set's ``reference_set()``; its
features are cached per data set, reference split, resolution and feature
extractor, so only the first evaluation on a data set pays for the real pass.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode
from tqdm.auto import tqdm

from akdgbench import defaults
from akdgbench.architecture import Generator
from akdgbench.dataset import Dataset
from akdgbench.errors import UsageError
from akdgbench.fidelity import (
    GeneratorSamples,
    PreparedExtractor,
    UInt8Images,
    calculate_metrics,
    fidelity_kwargs,
    prepare_extractor,
    reference_cache_name,
    rename_results,
    use_loader_workers,
)

QUALITY_METRICS = ("fid", "isc", "kid", "prc")
TWO_SAMPLE_METRICS = ("fid", "kid", "prc")
# the smallest sample count each metric is computed from (KID: its subset size)
MIN_SAMPLES = {
    "isc": 2 * defaults.MIN_SAMPLES_PER_IS_SPLIT,  # two splits, so is_std means something
    "kid": defaults.MIN_KID_SUBSET_SIZE,
    "fid": 2,  # a covariance needs two samples
    "prc": 4,  # torch-fidelity's 3 nearest neighbours plus the sample itself
}


def resolve_feature_extractor_name(feature_extractor: str, dataset: Dataset) -> str:
    """``auto`` is the data set's own choice (``digits`` for digits, Inception-v3 for photos)."""
    return dataset.default_feature_extractor if feature_extractor == "auto" else feature_extractor


def check_metrics(metrics: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    unknown = [metric for metric in metrics if metric not in QUALITY_METRICS]
    if unknown or not metrics:
        raise UsageError(f"unknown metric(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"known: {', '.join(QUALITY_METRICS)}")
    return tuple(dict.fromkeys(metrics))


def check_sample_counts(metrics: tuple[str, ...], num_samples: int,
                        reference_count: int | None) -> None:
    """One clear line instead of torch-fidelity's assertion (or a NaN) for too few samples."""
    for metric in metrics:
        minimum = MIN_SAMPLES[metric]
        label = "IS" if metric == "isc" else metric.upper()
        if num_samples < minimum:
            raise UsageError(f"{num_samples} samples are too few for {label}: it needs at least "
                             f"{minimum}; raise the number of evaluation samples")
        if metric in TWO_SAMPLE_METRICS and reference_count is not None \
                and reference_count < minimum:
            raise UsageError(f"the reference set has {reference_count} images, too few for "
                             f"{label}: it needs at least {minimum}")


def evaluation_device(device: torch.device | str | None, module: torch.nn.Module | None = None
                      ) -> torch.device:
    """Where to evaluate: a device object or name (``cuda:1``), or ``None`` for where
    ``module`` lives (CPU when it has no parameters). Not to be confused with
    :func:`akdgbench.training_settings.resolve_device`, which resolves ``auto``."""
    if device is None:
        parameter = next(module.parameters(), None) if module is not None else None
        return parameter.device if parameter is not None else torch.device("cpu")
    try:
        device = torch.device(device)
    except RuntimeError as exc:
        raise UsageError(f"unknown device {str(device)!r}") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {str(device)!r} asked for, but CUDA is not available here")
    return device


@contextlib.contextmanager
def evaluation_mode(generator: torch.nn.Module, device: torch.device) -> Iterator[None]:
    """The generator in eval mode on ``device``; its mode and device are restored afterwards."""
    was_training = generator.training
    parameter = next(generator.parameters(), None)
    home = parameter.device if parameter is not None else None
    current_cuda = torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()
    generator.to(device).eval()
    try:
        with current_cuda:  # torch-fidelity's .cuda() calls go to this device
            yield
    finally:
        generator.train(was_training)
        if home is not None:
            generator.to(home)


def _count_file(cache_dir: Path, cache_name: str) -> Path:
    return cache_dir / f"{cache_name}.json"


def reference_count(reference: UInt8Images, cache_dir: Path, cache_name: str) -> int:
    """How many reference images there are, without loading them when their features are cached."""
    count_file = _count_file(cache_dir, cache_name)
    if count_file.is_file():
        return int(json.loads(count_file.read_text())["reference_images"])
    count = len(reference)
    if count == 0:
        raise UsageError("the data set's reference set is empty")
    return count


def _remember_reference_count(cache_dir: Path, cache_name: str, count: int) -> None:
    count_file = _count_file(cache_dir, cache_name)
    if not count_file.is_file():
        count_file.parent.mkdir(parents=True, exist_ok=True)
        partial = count_file.with_name(f"{count_file.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps({"reference_images": count}))
        os.replace(partial, count_file)  # atomic: parallel cells may share the cache


def _progress_bar(progress: bool, total: int | None, description: str) -> tqdm:
    return tqdm(total=total, desc=description, unit="img", leave=False, disable=not progress,
                dynamic_ncols=True)


def _prepare(feature_extractor: str, dataset: Dataset,
             inception_weights: str | os.PathLike[str] | None,
             cache_dir: str | os.PathLike[str] | None) -> tuple[PreparedExtractor, Path, str]:
    extractor = prepare_extractor(resolve_feature_extractor_name(feature_extractor, dataset),
                                  inception_weights)
    cache_root = Path(cache_dir or defaults.FIDELITY_CACHE_DIR).expanduser()
    return extractor, cache_root, reference_cache_name(dataset, extractor)


def evaluate_quality(
    generator: Generator,
    dataset: Dataset,
    *,
    feature_extractor: str = "auto",
    num_samples: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
    metrics: tuple[str, ...] | list[str] = ("fid", "isc", "kid"),
    cache_dir: str | os.PathLike[str] | None = None,
    inception_weights: str | os.PathLike[str] | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """FID, IS and KID of ``num_samples`` generated images against the data set's reference set.

    :param feature_extractor: a registered extractor, or ``auto`` for the data set's default.
    :param num_samples: generated samples (default: the data set's ``default_eval_samples``).
    :param batch_size: images per generator and extractor batch (default 128).
    :param seed: seeds the latents (numpy ``RandomState``, as torch-fidelity draws them), the IS
        split shuffle and the KID subsets.
    :param device: where the generator and the extractor run (default: the generator's device).
    :param metrics: any of ``fid``, ``isc``, ``kid``, ``prc`` (precision/recall).
    :param cache_dir: where real-image features are cached
        (default ``~/.cache/akdgbench/fidelity``).
    :param inception_weights: a local copy of torch-fidelity's Inception-v3 weights.
    :param progress: show a progress bar; ``verbose`` lets torch-fidelity print its own.
    :returns: ``fid``, ``is_mean``, ``is_std``, ``class_coverage`` (with IS), ``kid_mean``,
        ``kid_std`` (and ``precision``, ``recall``, ``f_score``), for the metrics asked, and
        ``feature_extractor``: the name of the extractor used (``auto`` resolved).
    """
    metrics = check_metrics(metrics)
    num_samples = int(num_samples or dataset.default_eval_samples)
    extractor, cache_root, cache_name = _prepare(feature_extractor, dataset, inception_weights,
                                                 cache_dir)
    device = evaluation_device(device, generator)
    needs_reference = any(metric in TWO_SAMPLE_METRICS for metric in metrics)
    reference = UInt8Images(dataset.reference_set)
    real_count = reference_count(reference, cache_root, cache_name) if needs_reference else None
    check_sample_counts(metrics, num_samples, real_count)
    # the count file exists once the real features are cached: then the real data is not read
    cached = _count_file(cache_root, cache_name).is_file()
    workers = needs_reference and not cached and use_loader_workers(reference.images)

    with _progress_bar(progress, num_samples, "generated samples") as fake_bar, \
            _progress_bar(progress and needs_reference and not workers, real_count,
                          "real images") as real_bar, \
            evaluation_mode(generator, device):
        reference.progress = None if workers else real_bar  # worker processes cannot report
        kwargs = fidelity_kwargs(
            device=device, metrics=metrics, extractor=extractor,
            batch_size=batch_size or defaults.EVAL_BATCH_SIZE,
            seed=seed, cache_dir=cache_root, isc_count=num_samples,
            kid_counts=(num_samples, real_count) if real_count is not None else None,
            loader_workers=workers, verbose=verbose,
        )
        kwargs.update(input1=GeneratorSamples(generator, fake_bar),
                      input1_model_num_samples=num_samples)
        if needs_reference:
            kwargs.update(input2=reference, input2_cache_name=cache_name)
        raw = calculate_metrics(**kwargs)
    if real_count is not None:
        _remember_reference_count(cache_root, cache_name, real_count)
    return {**rename_results(raw), "feature_extractor": extractor.name}


def evaluate_real(
    dataset: Dataset,
    *,
    feature_extractor: str = "auto",
    batch_size: int | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    cache_dir: str | os.PathLike[str] | None = None,
    inception_weights: str | os.PathLike[str] | None = None,
    progress: bool = False,
    verbose: bool = False,
) -> dict[str, Any]:
    """IS of the data set's reference images (the ``real`` row of a table).

    :returns: ``is_mean``, ``is_std``, ``class_coverage`` and ``feature_extractor`` (the name
        used).

    Uses the same extractor and feature cache as :func:`evaluate_quality`.
    """
    extractor, cache_root, cache_name = _prepare(feature_extractor, dataset, inception_weights,
                                                 cache_dir)
    device = evaluation_device(device)
    reference = UInt8Images(dataset.reference_set)
    count = reference_count(reference, cache_root, cache_name)
    if count < MIN_SAMPLES["isc"]:
        raise UsageError(f"the reference set has {count} images, too few for IS: it needs at "
                         f"least {MIN_SAMPLES['isc']}")
    cached = _count_file(cache_root, cache_name).is_file()
    workers = not cached and use_loader_workers(reference.images)
    with _progress_bar(progress and not workers, count, "real images") as real_bar, \
            (torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()):
        reference.progress = None if workers else real_bar  # worker processes cannot report
        kwargs = fidelity_kwargs(
            device=device, metrics=("isc",), extractor=extractor,
            batch_size=batch_size or defaults.EVAL_BATCH_SIZE,
            seed=seed, cache_dir=cache_root, isc_count=count, loader_workers=workers,
            verbose=verbose,
        )
        kwargs.update(input1=reference, input1_cache_name=cache_name)
        raw = calculate_metrics(**kwargs)
    _remember_reference_count(cache_root, cache_name, count)
    return {**rename_results(raw), "feature_extractor": extractor.name}


# ---------------------------------------------------------------- efficiency


def count_mult_adds(module: torch.nn.Module, *inputs: torch.Tensor) -> int:
    """Multiply-adds of one forward pass (matmuls and convolutions; one multiply-add counts once).

    ``torch.utils.flop_counter`` counts a multiply-add as two FLOPs, so this is
    its total over two. Bias additions, normalisation and activations are not
    counted, as in the AKDG paper's mult-adds column.
    """
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(*inputs)
    return counter.get_total_flops() // 2


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_forward(generator: torch.nn.Module, latent: torch.Tensor, *, warmup: int, repeats: int,
                 time_budget_s: float) -> list[float]:
    """Seconds per forward pass, one per timed repeat, after ``warmup`` untimed passes.

    Stops early once ``time_budget_s`` is spent (at least one repeat is always timed).
    """
    device = latent.device
    with torch.inference_mode():
        for _ in range(warmup):
            generator(latent)
        _synchronize(device)
        seconds: list[float] = []
        budget_start = time.perf_counter()
        for _ in range(max(1, repeats)):
            start = time.perf_counter()
            generator(latent)
            _synchronize(device)
            seconds.append(time.perf_counter() - start)
            if time.perf_counter() - budget_start > time_budget_s:
                break
    return seconds


def checkpoint_size(module: torch.nn.Module) -> int:
    """Bytes of ``torch.save(module.state_dict())``, measured in memory."""
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    return buffer.getbuffer().nbytes


def peak_forward_memory_mb(generator: torch.nn.Module, latent: torch.Tensor) -> float | None:
    """Peak CUDA memory allocated during one forward pass (weights included), in MiB.

    ``None`` on CPU: PyTorch keeps no allocator statistics there, and process-wide
    numbers (RSS) would mix in everything else the process holds.
    """
    if latent.device.type != "cuda":
        return None
    torch.cuda.synchronize(latent.device)
    torch.cuda.reset_peak_memory_stats(latent.device)
    with torch.inference_mode():
        generator(latent)
    torch.cuda.synchronize(latent.device)
    return torch.cuda.max_memory_allocated(latent.device) / 2**20


def _latent(generator: Generator, n: int, device: torch.device) -> torch.Tensor:
    return generator.sample_latent(n, "cpu", generator=torch.Generator().manual_seed(0)).to(device)


def measure_efficiency(
    generator: Generator,
    *,
    resolution: int,
    channels: int,
    device: torch.device | str | None = None,
    batch_size: int = defaults.EFFICIENCY_BATCH_SIZE,
    warmup: int = 1,
    repeats: int = 3,
    latency_repeats: int = 10,
    time_budget_s: float = 2.0,
) -> dict[str, Any]:
    """Size and speed of a generator.

    :param batch_size: images/s is measured at this batch size (256, as commonly reported).
    :param warmup: untimed passes before timing (CUDA kernels, allocator, caches).
    :param repeats: timed passes at ``batch_size``; the median is reported.
    :param latency_repeats: timed passes at batch 1 for ``latency_ms`` (median).
    :param time_budget_s: each timing loop stops early after this many seconds, so a large
        generator on a CPU costs a few forward passes, not minutes. Lower ``batch_size`` and
        the repeats for quicker, noisier numbers.
    :returns: ``params``, ``layers``, ``mult_adds`` (per image), ``images_per_s``,
        ``latency_ms``, ``checkpoint_bytes``, ``peak_memory_mb`` (CUDA only, else ``None``),
        ``device``.
    """
    device = evaluation_device(device, generator)
    with evaluation_mode(generator, device):
        single = _latent(generator, 1, device)
        with torch.no_grad():
            shape = tuple(generator(single).shape)
        if shape != (1, channels, resolution, resolution):
            raise UsageError(f"generator makes images of shape {shape[1:]}, expected "
                             f"{(channels, resolution, resolution)}")
        mult_adds = count_mult_adds(generator, single)
        latency = time_forward(generator, single, warmup=max(warmup, 1), repeats=latency_repeats,
                               time_budget_s=time_budget_s)
        batch = _latent(generator, batch_size, device)
        throughput = time_forward(generator, batch, warmup=warmup, repeats=repeats,
                                  time_budget_s=time_budget_s)
        peak_memory = peak_forward_memory_mb(generator, batch)
    return {
        "params": sum(parameter.numel() for parameter in generator.parameters()),
        "layers": getattr(generator, "layer_count", None),
        "mult_adds": mult_adds,
        "images_per_s": batch_size / statistics.median(throughput),
        "latency_ms": 1000 * statistics.median(latency),
        "checkpoint_bytes": checkpoint_size(generator),
        "peak_memory_mb": peak_memory,
        "device": str(device),
    }
