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
