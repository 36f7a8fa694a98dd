"""Train the ``digits`` feature extractor's classifier and write the weights the package ships.

Trains on the mnist5k train split only (4,000 digits; the 1,000 held-out
digits are what generated samples are scored against), seeded, then saves an
fp16 state dict and prints the held-out accuracy of the saved (fp16) weights.

    .venv/bin/python scripts/train_digits_classifier.py
    .venv/bin/python scripts/train_digits_classifier.py --out /tmp/digits.pt --epochs 4
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from akdgbench.builtin.datasets.mnist5k import mnist5k_split
from akdgbench.builtin.extractors.digits import (
    WEIGHTS_PATH,
    DigitsClassifier,
    load_classifier,
    to_classifier_input,
)

PAD = 2  # 28x28 MNIST digits sit in the middle of 32x32, as in the mnist5k data set


def padded_uint8(images: np.ndarray) -> torch.Tensor:
    """uint8 Nx28x28 -> uint8 Nx1x32x32."""
    return F.pad(torch.from_numpy(images), (PAD, PAD, PAD, PAD)).unsqueeze(1)


def random_shift(batch: torch.Tensor, generator: torch.Generator, max_shift: int) -> torch.Tensor:
    """Shift each image by up to ``max_shift`` pixels (background comes in): generated digits are
    rarely centred exactly."""
    size = batch.shape[-1]
    padded = F.pad(batch, (max_shift,) * 4, value=-1.0)
    offsets = torch.randint(0, 2 * max_shift + 1, (batch.shape[0], 2), generator=generator)
    rows = offsets[:, 0, None] + torch.arange(size)  # B x size
    cols = offsets[:, 1, None] + torch.arange(size)
    batch_index = torch.arange(batch.shape[0])[:, None, None]
    return padded[batch_index, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def accuracy(classifier: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    with torch.no_grad():
        predicted = classifier(to_classifier_input(images)).argmax(dim=1)
    return (predicted == labels).float().mean().item()


def train(epochs: int, seed: int, batch_size: int, lr: float, max_shift: int) -> DigitsClassifier:
    split = mnist5k_split()
    images = to_classifier_input(padded_uint8(split["train"][0]))
    labels = torch.from_numpy(split["train"][1])
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    classifier = DigitsClassifier()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    steps = epochs * -(-len(images) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for epoch in range(epochs):
        classifier.train()
        order = torch.randperm(len(images), generator=generator)
        total_loss = 0.0
        for start in range(0, len(images), batch_size):
            index = order[start:start + batch_size]
            batch = images[index]
            if max_shift:
                batch = random_shift(batch, generator, max_shift)
            loss = F.cross_entropy(classifier(batch), labels[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += loss.item() * len(index)
        print(f"epoch {epoch + 1}/{epochs}: train loss {total_loss / len(images):.4f}")
    return classifier.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--max-shift", type=int, default=2,
                        help="random translation in pixels during training (0: none)")
    args = parser.parse_args()

    started = time.perf_counter()
    classifier = train(args.epochs, args.seed, args.batch_size, args.lr, args.max_shift)
    seconds = time.perf_counter() - started
    state = {key: value.half() for key, value in classifier.state_dict().items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, args.out)

    split = mnist5k_split()
    saved = load_classifier(args.out)
    heldout_accuracy = accuracy(saved, padded_uint8(split["heldout"][0]),
                                torch.from_numpy(split["heldout"][1]))
    params = sum(p.numel() for p in saved.parameters())
    print(f"{params:,} parameters, trained in {seconds:.1f} s; wrote {args.out} "
          f"({args.out.stat().st_size:,} bytes, fp16)")
    print(f"held-out accuracy (1,000 digits, saved weights): {heldout_accuracy:.4f}")


if __name__ == "__main__":
    main()
