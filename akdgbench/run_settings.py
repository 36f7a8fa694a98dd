"""The settings of a run: defaults, then the suite, then the command line.

Every key here is both a suite key and (with dashes) a ``run`` option, and a
field of :class:`akdgbench.config.RunConfig`, which :func:`resolve_settings`
returns.
"""

from __future__ import annotations

from typing import Any

from akdgbench.config import RunConfig
from akdgbench.errors import UsageError
from akdgbench.hardware import PRECISION_CHOICES, parse_channels_last, parse_jobs
from akdgbench.specs import split_specs
from akdgbench.suites import DEFAULT_SUITE, load_suite

GRID_KEYS = ("dataset", "teacher", "arch", "methods", "seeds")

RUN_DEFAULTS: dict[str, Any] = {
    # the grid
    "dataset": ["mnist5k"],
    "teacher": ["dcgan"],
    "arch": ["dcgan"],
    "methods": ["vanilla", "mse", "lit", "akdg"],
    "seeds": [0],
    # per-family options a suite applies under the user's own (e.g. CPU-sized widths)
    "teacher_presets": {},
    "student_presets": {},
    # training
    "steps": 2000,
    # a budget per student family ({"mlp": 36000}) where one family's curves flatten later;
    # every method of that family gets it. A --steps on the command line replaces them all
    "student_steps": {},
    "teacher_steps": 5000,
    "teacher_seed": 0,
    # one teacher per student seed (its seed the cell's), so the spread over seeds includes
    # the teacher's variance; off: every seed distils the same teacher, as papers do
    "teacher_per_seed": False,
    "teacher_checkpoint": None,
    "batch_size": 64,
    "loss": None,
    "lr": None,
    "betas": None,
    "n_dis": None,
    "lr_decay": None,
    "ema": 0.0,
    "precision": "auto",  # bf16 where the hardware runs it natively, else fp32 (hardware.py)
    "compile": False,
    "channels_last": "auto",
    "device": "auto",
    "checkpoint_every": 500,
    "log_every": 50,
    # evaluation
    "eval_samples": None,
    "eval_batch_size": 250,
    "eval_seed": 0,
    "eval_every": 0,
    "eval_every_samples": None,  # None: eval_samples, so curves and table compare
    "feature_extractor": "auto",
    "metrics": ["fid", "isc", "kid"],
    "inception_weights": None,
    "eval_real": True,
    "eval_teacher": True,
    # where and how
    "data_root": None,
    "executor": "local",
    "jobs": "auto",  # cells side by side (the local executor): one per core or GPU
    "executor_options": {},
    "quiet": False,
    "rerun_failed": False,
    # cells whose method cannot handle their teacher/student pair become "skipped" rows
    "skip_incompatible": False,
}

#: settings that change what a finished cell means; a run directory refuses changes to them
#: (but a longer student budget: ``run_dir.BUDGET_KEYS``)
MEANING_KEYS = (
    "teacher_presets",
    "student_presets",
    "steps",
    "student_steps",
    "teacher_steps",
    "teacher_seed",
    "teacher_per_seed",
    "teacher_checkpoint",
    "batch_size",
    "loss",
    "lr",
    "betas",
    "n_dis",
    "lr_decay",
    "ema",
    "precision",
    "eval_samples",
    "eval_seed",
    "eval_every",
    "eval_every_samples",
    "feature_extractor",
    "metrics",
)

POSITIVE_INT_KEYS = (
    "steps",
    "teacher_steps",
    "batch_size",
    "checkpoint_every",
    "log_every",
    "eval_batch_size",
)


def parse_seeds(value: Any) -> list[int]:
    """``3`` -> [0, 1, 2]; ``"0,5"`` or ``[0, 5]`` -> [0, 5]."""
    try:
        if isinstance(value, int):
            seeds = list(range(value))
        elif isinstance(value, str) and "," not in value:
            seeds = list(range(int(value)))
        else:
            seeds = [
                int(seed)
                for seed in split_specs(
                    value if isinstance(value, str) else [str(v) for v in value]
                )
            ]
    except ValueError:
        raise UsageError(f"--seeds {value!r}: give a count (3) or a list (0,5)") from None
    if not seeds and str(value).strip() == "0":
        raise UsageError("--seeds 0 is a count of no seeds; for seed 0 alone give 1 (a count) "
                         "or the list 0,")
    if not seeds or any(seed < 0 for seed in seeds):
        raise UsageError(f"--seeds {value!r}: need at least one non-negative seed")
    return seeds


def parse_betas(value: Any) -> list[float]:
    """``"0.0,0.9"`` or ``[0.0, 0.9]`` -> [0.0, 0.9]: Adam's two betas, each in [0, 1)."""
    try:
        betas = [float(b) for b in (split_specs(value) if isinstance(value, str) else value)]
    except (TypeError, ValueError):
        betas = []
    if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
        raise UsageError(f"betas {value!r}: give Adam's two betas in [0, 1), e.g. 0.0,0.9")
    return betas


def resolve_settings(suite: str | None, overrides: dict[str, Any]) -> RunConfig:
    """Defaults <- suite <- command-line ``overrides`` (None means not given)."""
    settings = dict(RUN_DEFAULTS)
    suite_data = load_suite(suite or DEFAULT_SUITE, set(RUN_DEFAULTS))
    settings.update({k: v for k, v in suite_data.items() if k in RUN_DEFAULTS})
    settings["suite"] = suite_data["suite"]
    settings["description"] = suite_data["description"]
    settings.update({k: v for k, v in overrides.items() if v is not None})
    if overrides.get("steps") is not None and overrides.get("student_steps") is None:
        settings["student_steps"] = {}
    for key in ("dataset", "teacher", "arch", "methods", "metrics"):
        settings[key] = split_specs(settings[key])
    settings["seeds"] = parse_seeds(settings["seeds"])
    if settings["betas"] is not None:
        settings["betas"] = parse_betas(settings["betas"])
    for key in POSITIVE_INT_KEYS:
        if not isinstance(settings[key], int) or settings[key] <= 0:
            raise UsageError(
                f"{key.replace('_', '-')} must be a positive integer, not {settings[key]!r}"
            )
    for family, steps in settings["student_steps"].items():
        if not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0:
            raise UsageError(f"student_steps.{family} must be a positive integer, not {steps!r}")
    if settings["eval_samples"] is not None and settings["eval_samples"] <= 0:
        raise UsageError(f"eval-samples must be positive, not {settings['eval_samples']!r}")
    if settings["eval_every"] < 0:
        raise UsageError("eval-every must be 0 (off) or a positive number of steps")
    every_samples = settings["eval_every_samples"]
    if every_samples is not None and (not isinstance(every_samples, int) or every_samples <= 0):
        raise UsageError(f"eval-every-samples must be a positive integer, not {every_samples!r}")
    if settings["teacher_per_seed"] and settings["teacher_checkpoint"]:
        raise UsageError("teacher-per-seed trains a teacher per seed; it cannot be combined "
                         "with teacher-checkpoint")
    if settings["precision"] not in PRECISION_CHOICES:
        raise UsageError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, "
                         f"not {settings['precision']!r}")
    settings["channels_last"] = parse_channels_last(settings["channels_last"])
    settings["jobs"] = parse_jobs(settings["jobs"])
    for key in GRID_KEYS:
        if not settings[key]:
            raise UsageError(f"the grid is empty: --{key} names nothing")
    return RunConfig.from_dict(settings)
