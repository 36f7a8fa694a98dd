"""Every default of akdgbench in one place."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_ENV = "AKDGBENCH_DATA"
PLUGINS_DIR_ENV = "AKDGBENCH_PLUGINS_DIR"
INCEPTION_WEIGHTS_ENV = "AKDGBENCH_INCEPTION_WEIGHTS"
CACHE_ROOT = Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "akdgbench"


def data_root() -> Path:
    return Path(os.environ.get(DATA_ROOT_ENV) or CACHE_ROOT / "data").expanduser()


RESULTS_DIR = Path("results")

# training engine
BATCH_SIZE = 64
LOG_EVERY = 100
CHECKPOINT_EVERY = 1000
SAMPLE_GRID_SIZE = 64  # images in samples.png
SAMPLE_SEED = 1234  # the fixed latents of samples.png
MAX_LOADER_WORKERS = 8

# evaluation (akdgbench.evaluate, akdgbench.fidelity)
# cached real-image features, per data set and extractor
FIDELITY_CACHE_DIR = CACHE_ROOT / "fidelity"
EVAL_BATCH_SIZE = 128
IS_SPLITS = 10
MIN_SAMPLES_PER_IS_SPLIT = 50  # fewer splits for small sample counts, never smaller splits
KID_SUBSET_SIZE = 1000
MIN_KID_SUBSET_SIZE = 50
EFFICIENCY_BATCH_SIZE = 256  # images/s is measured at this batch size, latency at batch 1
