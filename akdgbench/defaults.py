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

# mode collapse (akdgbench.collapse): a generator is flagged `collapsed` when its IS or its
# class coverage (the number of classes its samples spread over) is under a share of the real
# data's, same extractor. Measured on digits (scripts/digits_metric_sensitivity.py; real digits
# IS 9.70, coverage 10.0) and on the 3-seed digits run of 2026-11-27 (n_dis 1):
#
#   samples                                    IS     share   coverage  share
#   only digit 1                               1.02   0.11    1.03      0.10
#   only digits 0 and 1                        2.01   0.21    2.05      0.21
#   a vanilla student drawing one glyph        2.06   0.21    3.40      0.34
#   only digits 0-4 (half the modes)           4.95   0.51    5.08      0.51
#   Gaussian blur sigma 2                      2.25   0.23    9.80      0.98
#   the 20 healthy students of that run        4.95+  0.51+   8.39+     0.84+
#
# IS under 0.2 of real is (almost) one mode, or a glyph the classifier cannot place: IS also
# falls with blur, so its line sits under the heaviest blur. Coverage does not fall with blur,
# but misses a glyph classed as several digits at once. So both rules hold: coverage under 0.4
# of real means most of the modes are gone, which flags the one-glyph student (0.34) and two
# digits (0.21) but not half the digits (0.51: dropped modes, which FID punishes) nor any
# healthy cell (0.84 and up). On CIFAR-10 (real IS 11.24) the IS line is at 2.25, under every
# published student (MLP students 4.66); coverage over Inception's classes is not measured there.
COLLAPSE_IS_SHARE_OF_REAL = 0.2
COLLAPSE_COVERAGE_SHARE_OF_REAL = 0.4

# a budget has converged when each method's mean FID over seeds changes by less than this share
# over the last third of its steps, read from a line fitted to its scores there
# (akdgbench.convergence)
CONVERGENCE_MAX_CHANGE = 0.10
