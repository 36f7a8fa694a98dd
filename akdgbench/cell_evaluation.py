"""The evaluation rows of a cell: a generator's row, the real data's row, the curve scores.

Every score of a run uses the same evaluation settings (:func:`eval_kwargs`):
the feature extractor, its batch size and device, and the run's cache of real
statistics.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from akdgbench.collapse import is_collapsed
from akdgbench.errors import UsageError
from akdgbench.results import DONE
from akdgbench.training_settings import resolve_device

if TYPE_CHECKING:
    from akdgbench.config import RunConfig


def eval_kwargs(config: RunConfig, run_dir: Path) -> dict[str, Any]:
    return {
        "feature_extractor": config.feature_extractor,
        "batch_size": config.eval_batch_size,
        "device": resolve_device(config.device),
        "cache_dir": run_dir / "fidelity_cache",
        "inception_weights": config.inception_weights,
    }


def evaluate_row(generator, dataset, config: RunConfig, run_dir: Path) -> dict[str, Any]:
    """Quality (torch-fidelity), efficiency and the collapse verdict of a generator."""
    from akdgbench.evaluate import evaluate_quality, measure_efficiency

    started = time.perf_counter()
    samples = config.eval_samples or dataset.default_eval_samples
    quality = evaluate_quality(
        generator,
        dataset,
        num_samples=samples,
        seed=config.eval_seed,
        metrics=tuple(config.metrics),
        progress=not config.quiet,
        **eval_kwargs(config, run_dir),
    )
    efficiency = measure_efficiency(
        generator,
        resolution=dataset.resolution,
        channels=dataset.channels,
        device=resolve_device(config.device),
    )
    real = _real_scores(dataset, config, run_dir) if "is_mean" in quality else {}
    return {
        **quality,
        **efficiency,
        "collapsed": is_collapsed(quality, real),
        "eval_seconds": round(time.perf_counter() - started, 2),
        "eval_samples": samples,
        "feature_extractor": quality.get("feature_extractor"),
    }


def evaluate_real_row(dataset, config: RunConfig, run_dir: Path) -> dict[str, Any]:
    from akdgbench.evaluate import evaluate_real

    started = time.perf_counter()
    quality = evaluate_real(dataset, **eval_kwargs(config, run_dir))
    return {"status": DONE, **quality, "eval_seconds": round(time.perf_counter() - started, 2)}


def _real_scores(dataset, config: RunConfig, run_dir: Path) -> dict[str, Any]:
    """The real data's IS and class coverage, the yardstick of mode collapse (features cached)."""
    from akdgbench.evaluate import evaluate_real

    try:
        return evaluate_real(dataset, **eval_kwargs(config, run_dir))
    except UsageError:  # too few reference images for IS: collapse is not judged
        return {}


def curve_samples(dataset, config: RunConfig) -> int:
    """Samples per --eval-every score: by default the final table's, so the two compare."""
    return (
        config.eval_every_samples
        or config.eval_samples
        or dataset.default_eval_samples
    )


def curve_evaluator(
    dataset, config: RunConfig, run_dir: Path
) -> Callable[[int, Any], dict[str, Any]]:
    """The scores of every --eval-every step (written to the cell's eval_log.csv)."""
    from akdgbench.evaluate import evaluate_quality

    def on_eval(step: int, generator) -> dict[str, Any]:
        metrics = evaluate_quality(
            generator,
            dataset,
            num_samples=curve_samples(dataset, config),
            seed=config.eval_seed,
            metrics=("fid", "isc"),
            **eval_kwargs(config, run_dir),
        )
        scores = {key: metrics[key] for key in ("fid", "is_mean", "is_std", "class_coverage")
                  if key in metrics}
        return {**scores, "samples": curve_samples(dataset, config)}

    return on_eval
