"""How digits-FID moves with the number of generated samples (README, "Sample count").

Scores the same generator with 1,000, 2,000 and 5,000 samples against the 1,000 held-out
digits, each count under several evaluation seeds, and, for scale, real training digits
(1,000, 2,000 and 4,000 of them) against the same held-out set. The generator is a teacher
trained with the quick suite's recipe at fp32 for ``--steps`` steps (cached in ``--cache``);
real digits with added noise stand in for a better generator than a CPU trains in minutes.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/fid_vs_sample_count.py
    OMP_NUM_THREADS=1 .venv/bin/python scripts/fid_vs_sample_count.py --steps 600 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch

from akdgbench import defaults
from akdgbench.evaluate import evaluate_quality
from akdgbench.plugins import make
from akdgbench.run_settings import resolve_settings
from akdgbench.teachers import get_teacher


class RealImages(torch.nn.Module):
    """Hands out the first images of a tensor in order, as if a generator made them."""

    z_dim = 1

    def __init__(self, images: torch.Tensor) -> None:
        super().__init__()
        self.images = images
        self.cursor = 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        batch = self.images[self.cursor:self.cursor + z.shape[0]]
        self.cursor += z.shape[0]
        return batch


def score(generator: torch.nn.Module, dataset, count: int, seed: int, cache: Path) -> dict:
    return evaluate_quality(generator, dataset, num_samples=count, seed=seed, device="cpu",
                            metrics=("fid", "isc"), cache_dir=cache / "fidelity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600, help="teacher training steps")
    parser.add_argument("--seeds", type=int, default=3, help="evaluation seeds per count")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/akdgbench-fid-vs-samples"))
    args = parser.parse_args()

    settings = resolve_settings("quick", {"precision": "fp32", "channels_last": False,
                                          "teacher_steps": args.steps, "quiet": True})
    dataset = make("dataset", "mnist5k", data_root=defaults.data_root())
    teacher_arch = settings.architecture("dcgan", "teacher")
    teacher = get_teacher(
        dataset=dataset, teacher_arch=teacher_arch, steps=args.steps,
        settings=settings.train_settings(steps=args.steps, seed=0),
        cache_dir=args.cache / "teachers", progress=False)
    generator = getattr(teacher, "generator", teacher)

    print(f"generator: dcgan width 0.25 teacher, {args.steps} steps, quick recipe at fp32")
    print("| samples | digits-FID (mean ± std over eval seeds) | IS |")
    print("|---|---|---|")
    for count in (1000, 2000, 5000):
        runs = [score(generator, dataset, count, seed, args.cache) for seed in range(args.seeds)]
        fids = [run["fid"] for run in runs]
        spread = statistics.stdev(fids) if len(fids) > 1 else float("nan")
        is_mean = statistics.mean(run["is_mean"] for run in runs)
        print(f"| {count:,} | {statistics.mean(fids):.1f} ± {spread:.1f} "
              f"({', '.join(f'{f:.1f}' for f in fids)}) | {is_mean:.2f} |")

    train_images = dataset.train_set().images  # shuffled: the split may be grouped by digit
    train_images = train_images[torch.randperm(len(train_images),
                                               generator=torch.Generator().manual_seed(0))]
    noise = 0.3 * torch.randn(train_images.shape, generator=torch.Generator().manual_seed(1))
    noisy = (train_images + noise).clamp(-1, 1)
    print("real training digits (clean, and with Gaussian noise std 0.3) against the held-out:")
    for count in (1000, 2000, 4000):
        clean = score(RealImages(train_images), dataset, count, 0, args.cache)
        noised = score(RealImages(noisy), dataset, count, 0, args.cache)
        print(f"| {count:,} | {clean['fid']:.1f} | {noised['fid']:.1f} |")


if __name__ == "__main__":
    main()
