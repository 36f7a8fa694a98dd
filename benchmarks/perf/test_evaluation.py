"""Evaluation: akdgbench's metric pass against calling torch-fidelity directly, and its cache.

``eval_overhead_ratio``: ``akdgbench.evaluate.evaluate_quality`` over a
hand-written ``torch_fidelity.calculate_metrics`` call on the same generator,
seed, sample count and digits extractor, each with its real-image features
already cached; the calls alternate, and the median of the per-round ratios
is reported (target at most 1.05). Both must give the same FID and IS. Calls
are kept short (500 samples, under a second) so that a neighbour's load falls
on both calls of a round alike; even so a pair differs by a few percent, so
the precise number is the other one: the time akdgbench spends outside
``calculate_metrics`` (converting its samples happens inside, and counts in
the ratio only). ``real_stats_cache_speedup``: a first evaluation (real
features computed and cached) over a second one (read from the cache).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import torch
import torch_fidelity
from torch import nn

from akdgbench.evaluate import evaluate_quality
from akdgbench.fidelity import register_extractors_with_fidelity
from akdgbench.plugins import make
from benchmarks.perf.budgets import scaled_width
from benchmarks.perf.harness import SEED, Rounds

BATCH_SIZE = 128  # akdgbench's default evaluation batch (defaults.EVAL_BATCH_SIZE)


class UInt8Generator(nn.Module):
    """What a torch-fidelity user writes: float images in [-1, 1] to uint8 RGB."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        images = self.generator(z)
        pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return pixels.expand(-1, 3, -1, -1)


class UInt8Reference(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)

    def __len__(self) -> int:
        return len(self.pixels)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.pixels[index].expand(3, -1, -1)


def generator_under_test(budget, dataset):
    torch.manual_seed(SEED)
    spec = f"dcgan:width={scaled_width(0.17, budget)}"
    return spec, make("architecture", spec).build_generator(dataset.resolution, dataset.channels)


def direct_metrics(generator, reference, samples: int, cache_dir: Path) -> dict:
    """The plain torch-fidelity call, with the settings akdgbench uses on a CPU for this count."""
    return torch_fidelity.calculate_metrics(
        input1=torch_fidelity.GenerativeModelModuleWrapper(
            UInt8Generator(generator), generator.z_dim, "normal", 0),
        input1_model_num_samples=samples,
        input2=reference, input2_cache_name="direct-reference", cache_root=str(cache_dir),
        cache=True, fid=True, isc=True, kid=True, feature_extractor="digits",
        cuda=torch.cuda.is_available(), batch_size=BATCH_SIZE, rng_seed=SEED,
        save_cpu_ram=True, verbose=False,
        isc_splits=max(1, min(10, samples // 50)),
        kid_subset_size=min(1000, samples, len(reference)))


@contextlib.contextmanager
def timed_calculate_metrics(monkeypatch) -> Iterator[list[float]]:
    """Seconds spent inside ``torch_fidelity.calculate_metrics`` while in the block."""
    inside = [0.0]
    calculate = torch_fidelity.calculate_metrics

    def timed(**kwargs):
        start = time.perf_counter()
        try:
            return calculate(**kwargs)
        finally:
            inside[0] += time.perf_counter() - start

    with monkeypatch.context() as patch:
        patch.setattr(torch_fidelity, "calculate_metrics", timed)
        yield inside


def ours(generator, dataset, samples: int, cache_dir: Path) -> dict:
    return evaluate_quality(generator, dataset, num_samples=samples, seed=SEED,
                            batch_size=BATCH_SIZE, cache_dir=cache_dir)


def test_eval_overhead(benchmark, budget, mnist5k, perf_results, tmp_path, monkeypatch):
    benchmark.group = "evaluation"
    spec, generator = generator_under_test(budget, mnist5k)
    if torch.cuda.is_available():
        generator = generator.cuda()
    samples = budget.eval_samples
    reference = UInt8Reference(mnist5k.reference_set().images)
    register_extractors_with_fidelity()
    # warm both feature caches, and check both compute the same thing
    mine = ours(generator, mnist5k, samples, tmp_path / "ours")
    theirs = direct_metrics(generator, reference, samples, tmp_path / "direct")
    assert abs(mine["fid"] - theirs["frechet_inception_distance"]) <= 1e-6 * max(1, mine["fid"])
    assert abs(mine["is_mean"] - theirs["inception_score_mean"]) <= 1e-6 * mine["is_mean"]

    seconds: dict[str, list[float]] = {"akdgbench": [], "torch_fidelity": []}
    inside_fidelity: list[float] = []
    calls = {"akdgbench": lambda: ours(generator, mnist5k, samples, tmp_path / "ours"),
             "torch_fidelity": lambda: direct_metrics(generator, reference, samples,
                                                      tmp_path / "direct")}
    rounds = iter(range(10**9))

    def one_round() -> None:
        order = list(calls) if next(rounds) % 2 == 0 else list(calls)[::-1]
        for name in order:
            start = time.perf_counter()
            with timed_calculate_metrics(monkeypatch) as inside:
                calls[name]()
            seconds[name].append(time.perf_counter() - start)
            if name == "akdgbench":
                inside_fidelity.append(inside[0])

    benchmark.pedantic(one_round, rounds=budget.eval_rounds, iterations=1)

    rounds_ratio = Rounds([a / b for a, b in zip(seconds["akdgbench"], seconds["torch_fidelity"],
                                                 strict=True)])
    ratio = {**rounds_ratio.summary(),
             "of_fastest": round(min(seconds["akdgbench"]) / min(seconds["torch_fidelity"]), 3),
             "of_medians": round(statistics.median(seconds["akdgbench"])
                                 / statistics.median(seconds["torch_fidelity"]), 3)}
    outside = [total - inside for total, inside in zip(seconds["akdgbench"], inside_fidelity,
                                                       strict=True)]
    result = {"generator": spec, "samples": samples, "metrics": ["fid", "isc", "kid"],
              "feature_extractor": "digits", "batch_size": BATCH_SIZE,
              "akdgbench_s": [round(value, 3) for value in seconds["akdgbench"]],
              "torch_fidelity_s": [round(value, 3) for value in seconds["torch_fidelity"]],
              "ratio": ratio,
              "akdgbench_outside_calculate_metrics_ms": round(1000 * statistics.median(outside),
                                                              2)}
    perf_results.setdefault("evaluation", {})["overhead"] = result
    benchmark.extra_info.update(result)


def test_real_features_cache(benchmark, budget, mnist5k, perf_results):
    benchmark.group = "evaluation"
    spec, generator = generator_under_test(budget, mnist5k)
    samples = budget.eval_samples
    seconds: dict[str, list[float]] = {"first": [], "cached": []}

    def one_round() -> None:
        with tempfile.TemporaryDirectory(prefix="akdgbench-perf-cache-") as cache_dir:
            for name in ("first", "cached"):
                start = time.perf_counter()
                ours(generator, mnist5k, samples, Path(cache_dir))
                seconds[name].append(time.perf_counter() - start)

    benchmark.pedantic(one_round, rounds=budget.eval_rounds, iterations=1)

    speedup = Rounds([a / b for a, b in zip(seconds["first"], seconds["cached"], strict=True)])
    result = {"generator": spec, "samples": samples,
              "reference_images": len(mnist5k.reference_set()),
              "first_s": [round(value, 3) for value in seconds["first"]],
              "cached_s": [round(value, 3) for value in seconds["cached"]],
              "speedup": speedup.summary(2)}
    perf_results.setdefault("evaluation", {})["real_features_cache"] = result
    benchmark.extra_info.update(result)
