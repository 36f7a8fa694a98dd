"""The configuration of a run: one frozen, typed object, resolved once.

:func:`akdgbench.run_settings.resolve_settings` builds it (defaults, then the
suite, then the command line); every module that plans, runs or scores cells
receives it. ``config.json`` of a run directory holds it as a plain dict
(:meth:`RunConfig.to_dict`), which :meth:`RunConfig.from_dict` reads back:
keys an older akdgbench did not write take their defaults.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from akdgbench.architecture import Architecture
    from akdgbench.training_settings import TrainSettings


@dataclass(frozen=True)
class RunConfig:
    # the grid
    dataset: list[str]
    teacher: list[str]
    arch: list[str]
    methods: list[str]
    seeds: list[int]
    # per-family options a suite applies under the user's own (e.g. CPU-sized widths)
    teacher_presets: dict[str, str]
    student_presets: dict[str, str]
    # training
    steps: int
    student_steps: dict[str, int]  # a budget per student family, over ``steps``
    teacher_steps: int
    teacher_seed: int
    teacher_per_seed: bool
    teacher_checkpoint: str | None
    batch_size: int
    loss: str | None
    lr: float | None
    betas: list[float] | None
    n_dis: int | None
    lr_decay: str | None
    ema: float
    precision: str
    compile: bool
    channels_last: Any  # "auto", or a bool once decided for a machine
    device: str
    checkpoint_every: int
    log_every: int
    # evaluation
    eval_samples: int | None
    eval_batch_size: int
    eval_seed: int
    eval_every: int
    eval_every_samples: int | None
    feature_extractor: str
    metrics: list[str]
    inception_weights: str | None
    eval_real: bool
    eval_teacher: bool
    # where and how
    data_root: str | None
    executor: str
    jobs: Any  # "auto" or a count
    executor_options: dict[str, Any]
    quiet: bool
    rerun_failed: bool
    skip_incompatible: bool
    # the suite it came from
    suite: str = ""
    description: str = ""

    @classmethod
    def from_dict(cls, settings: dict[str, Any]) -> RunConfig:
        """From resolved settings or a run directory's ``config.json`` (unknown keys ignored)."""
        from akdgbench.run_settings import RUN_DEFAULTS

        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{**RUN_DEFAULTS, **{k: v for k, v in settings.items() if k in names}})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, as ``config.json`` holds them."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=str))

    def replace(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, **changes)

    def train_settings(self, *, steps: int, seed: int) -> TrainSettings:
        """What the engine needs to train one generator of this run."""
        from akdgbench.training_settings import TrainSettings

        return TrainSettings(
            steps=steps,
            seed=seed,
            batch_size=self.batch_size,
            loss=self.loss,
            lr=self.lr,
            betas=tuple(self.betas) if self.betas else None,
            n_dis=self.n_dis,
            lr_decay=self.lr_decay,
            precision=self.precision,
            compile=self.compile,
            channels_last=self.channels_last,
            ema=self.ema,
            device=self.device,
            checkpoint_every=self.checkpoint_every,
            log_every=self.log_every,
        )

    def steps_for(self, student_spec: str) -> int:
        """The student's budget: its family's in ``student_steps``, else ``steps``."""
        from akdgbench.specs import parse_spec

        return self.student_steps.get(parse_spec(student_spec).name, self.steps)

    def architecture(self, spec: str, role: str) -> Architecture:
        """The teacher's or a student's architecture, with the suite's presets for its family."""
        from akdgbench.grid import effective_arch_spec
        from akdgbench.plugins import make

        presets = self.teacher_presets if role == "teacher" else self.student_presets
        return make("architecture", effective_arch_spec(spec, presets), role=role)
