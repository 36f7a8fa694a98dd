"""``digits``: a LeNet-style classifier of 32x32 grayscale digits, as a torch-fidelity extractor.

Inception-v3 knows nothing about handwritten digits, and is far too slow for a
CPU, so the embedded ``mnist5k`` data set is scored with this classifier: FID
and KID on its 128-d penultimate features, IS on its 10 logits. It was trained
on the mnist5k train split only by ``scripts/train_digits_classifier.py``; the
weights ship with the package (fp16, about half a megabyte), so scores are
comparable across machines.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from akdgbench import hookimpl

WEIGHTS_PATH = Path(__file__).with_name("digits_classifier.pt")
INPUT_SIZE = 32
FEATURE_DIM = 128
NUM_CLASSES = 10
PENULTIMATE = "penultimate"
LOGITS = "logits"


class DigitsClassifier(nn.Module):
    """LeNet-5, widened: two 5x5 conv + max-pool stages, then 1600 -> 128 -> 10 (258,314 params)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5)
        self.fc1 = nn.Linear(64 * 5 * 5, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.dropout = nn.Dropout(0.3)

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x``: float Bx1x32x32 in [-1, 1]; returns (Bx128 penultimate features, Bx10 logits)."""
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        features = F.relu(self.fc1(x.flatten(1)))
        return features, self.fc2(self.dropout(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features_and_logits(x)[1]


def to_classifier_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 Bx3xHxW or Bx1xHxW (0..255) -> float Bx1x32x32 in [-1, 1] (channel mean, resized)."""
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images Bx3xHxW or Bx1xHxW, got shape {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise ValueError(f"expected uint8 images, got {images.dtype}")
    gray = images.float().mean(dim=1, keepdim=True)
    if gray.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        gray = F.interpolate(gray, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear",
                             antialias=True, align_corners=False)
    return gray / 127.5 - 1.0


def load_classifier(path: Path = WEIGHTS_PATH) -> DigitsClassifier:
    """The shipped classifier in float32 eval mode."""
    classifier = DigitsClassifier()
    state = torch.load(path, map_location="cpu", weights_only=True)
    classifier.load_state_dict({key: value.float() for key, value in state.items()})
    return classifier.eval()


@cache
def weights_digest(path: Path = WEIGHTS_PATH) -> str:
    """A short hash of the weights: in cache keys, so retrained weights never reuse old features."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class DigitsFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity builds it as ``cls(name, features_list, **calculate_metrics_kwargs)``."""

    def __init__(self, name: str, features_list: list[str], **kwargs: Any) -> None:
        super().__init__(name, features_list)
        self.classifier = load_classifier()
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def cache_tag() -> str:
        return weights_digest()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features, logits = self.classifier.features_and_logits(to_classifier_input(images))
        by_name = {PENULTIMATE: features, LOGITS: logits}
        return tuple(by_name[name] for name in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return PENULTIMATE, LOGITS

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return {"isc": LOGITS, "fid": PENULTIMATE, "kid": PENULTIMATE, "prc": PENULTIMATE}[metric]

    @staticmethod
    def can_be_compiled() -> bool:
        return True

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, dtype=torch.uint8)


@hookimpl
def register_feature_extractors(register: Any) -> None:
    register(DigitsFeatureExtractor, name="digits")
