"""The grid of a run: its cells, their expansion from the settings, and their validation.

A *cell* is one (data set, teacher, student architecture, method, seed). Two
kinds of reference cell give the table its rows to compare against: the
teacher's own (kind ``teacher``) and the real data's (kind ``real``); they have
no method. :func:`validate_cells` fails before any training on anything a user
can get wrong (names, options, data, metrics, the teacher checkpoint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from akdgbench import defaults
from akdgbench.cell_evaluation import curve_samples
from akdgbench.errors import UsageError
from akdgbench.results import REAL, STUDENT, TEACHER
from akdgbench.specs import Spec, parse_spec
from akdgbench.training_settings import autocast_factory, resolve_device

if TYPE_CHECKING:
    from akdgbench.config import RunConfig


@dataclass(frozen=True)
class Cell:
    dataset: str
    teacher: str
    arch: str
    method: str  # the student's method spec; "" for the reference cells
    seed: int
    kind: str = STUDENT  # STUDENT, TEACHER or REAL

    @property
    def cell_id(self) -> str:
        parts = [
            self.dataset,
            f"t-{self.teacher}" if self.teacher else "",
            f"s-{self.arch}" if self.arch else "",
            self.method or self.kind,  # "...__teacher__seed0": the ids runs have always had
            f"seed{self.seed}",
        ]
        return "__".join(_slug(part) for part in parts if part)

    @property
    def is_reference(self) -> bool:
        return self.kind != STUDENT

    def label(self) -> str:
        if self.kind == REAL:
            return f"real {self.dataset}"
        if self.kind == TEACHER:
            return f"teacher {self.teacher} on {self.dataset}"
        return f"{self.method} {self.arch} <- {self.teacher} on {self.dataset}, seed {self.seed}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9=.+-]+", "-", text).strip("-")


def expand_grid(config: RunConfig) -> list[Cell]:
    """The reference rows first (real data, then teachers), then every student cell."""
    cells: list[Cell] = []
    teacher_seed = int(config.teacher_seed)
    for dataset in config.dataset:
        if config.eval_real:
            cells.append(Cell(dataset, "", "", "", 0, REAL))
        needs_teacher = any(method_needs_teacher(m) for m in config.methods)
        teacher_seeds = config.seeds if config.teacher_per_seed else [teacher_seed]
        for teacher in config.teacher if needs_teacher or config.eval_teacher else []:
            for seed in teacher_seeds:
                cells.append(Cell(dataset, teacher, teacher, "", int(seed), TEACHER))
        for teacher in config.teacher:
            for arch in config.arch:
                for method in config.methods:
                    for seed in config.seeds:
                        cells.append(Cell(dataset, teacher, arch, method, int(seed)))
    if not any(not cell.is_reference for cell in cells):
        raise UsageError(
            "the grid is empty: give at least one dataset, teacher, arch, method and seed"
        )
    return cells


def resolved_configs(cell: Cell, config: RunConfig) -> dict[str, str | None]:
    """A student's method and networks with every option resolved, defaults included.

    Its finished row records them, so that a resume can tell when a newer akdgbench
    changed a default under it (:func:`akdgbench.run_dir.changed_configs`).
    """
    from akdgbench.plugins import make
    from akdgbench.training_settings import describe_config

    method = make("method", cell.method)
    teacher = config.architecture(cell.teacher, "teacher") if method.needs_teacher else None
    return {
        "method_config": describe_config(method),
        "student_config": describe_config(config.architecture(cell.arch, "student")),
        "teacher_config": describe_config(teacher) if teacher is not None else None,
    }


def method_needs_teacher(method_spec: str) -> bool:
    from akdgbench.plugins import get

    return bool(get("method", parse_spec(method_spec).name).needs_teacher)


def effective_arch_spec(spec: str, presets: dict[str, str]) -> str:
    """Applies a suite's per-family presets (``{"dcgan": "width=0.25"}``) under the spec."""
    parsed = parse_spec(spec)
    preset = presets.get(parsed.name)
    if not preset:
        return spec
    options = dict(parse_spec(f"{parsed.name}:{preset}").options)
    options.update(parsed.options)
    return str(Spec(parsed.name, options))


def _check_family_tables(config: RunConfig, architectures: Any) -> None:
    """A suite's per-family tables must name real families: a typo would apply nothing."""
    for table in ("teacher_presets", "student_presets", "student_steps"):
        for family in getattr(config, table):
            if family not in architectures:
                raise UsageError(f"[{table}] names {family!r}, which is no architecture; "
                                 f"known: {', '.join(architectures.names())}")


def validate_cells(
    cells: list[Cell], config: RunConfig, *, in_process: bool = True
) -> dict[str, str]:
    """Fails before any training on bad names, options or data.

    Returns ``{cell_id: reason}`` for cells whose method cannot handle their
    teacher/student pair (LIT on unaligned stages) when the settings allow
    skipping them (``skip_incompatible``); otherwise such a pair is an error.
    ``in_process``: the cells run here, so the device and precision are checked
    here too (remote executors check them where the cells run).
    """
    from akdgbench.engine import check_compatible
    from akdgbench.plugins import get_registry, make

    if in_process:
        autocast_factory(resolve_device(config.device), config.precision)
    if config.feature_extractor != "auto":
        get_registry("feature extractor").get(config.feature_extractor)
    _check_family_tables(config, get_registry("architecture"))
    datasets: dict[str, Any] = {}
    checkpoint_teachers: dict[tuple[str, str], Any] = {}
    verdicts: dict[tuple[str, str, str, str], str | None] = {}
    incompatible: dict[str, str] = {}
    for cell in cells:
        if cell.dataset not in datasets:  # fails now, not in every cell, when data is missing
            datasets[cell.dataset] = make(
                "dataset", cell.dataset, data_root=config.data_root or defaults.data_root()
            )
            _check_evaluation(datasets[cell.dataset], config)
        dataset = datasets[cell.dataset]
        teacher_arch = (
            config.architecture(cell.teacher, "teacher")
            if cell.teacher
            else None
        )
        _check_teacher_checkpoint(cell, dataset, teacher_arch, config, checkpoint_teachers)
        if cell.is_reference:
            continue
        key = (cell.dataset, cell.teacher, cell.arch, cell.method)
        if key not in verdicts:
            verdicts[key] = None
            method = make("method", cell.method)
            student_arch = config.architecture(cell.arch, "student")
            if method.needs_teacher and teacher_arch is not None:
                try:
                    check_compatible(
                        method,
                        teacher=teacher_arch.build_generator(dataset.resolution, dataset.channels),
                        teacher_arch=teacher_arch,
                        student=student_arch.build_generator(dataset.resolution, dataset.channels),
                        student_arch=student_arch,
                    )
                except UsageError as exc:
                    if not config.skip_incompatible:
                        raise
                    verdicts[key] = str(exc)
        if verdicts[key]:
            incompatible[cell.cell_id] = verdicts[key]
    return incompatible


def _check_teacher_checkpoint(cell: Cell, dataset, teacher_arch, config: RunConfig,
                              loaded: dict[tuple[str, str], Any]) -> None:
    """``--teacher-checkpoint`` fits the teacher, and holds a discriminator for the methods
    that distil through it (``needs_teacher_discriminator``)."""
    from akdgbench.plugins import make

    if not config.teacher_checkpoint or teacher_arch is None:
        return
    # an option may decide it (lit's d_init), so ask the configured method, not its class
    needs_discriminator = not cell.is_reference and bool(
        make("method", cell.method).needs_teacher_discriminator)
    if cell.kind != TEACHER and not needs_discriminator:
        return
    from akdgbench.teachers import load_teacher_checkpoint

    key = (cell.dataset, cell.teacher)
    if key not in loaded:
        loaded[key] = load_teacher_checkpoint(config.teacher_checkpoint, dataset, teacher_arch)
    if needs_discriminator:
        loaded[key].require_discriminator(cell.method)


def _check_evaluation(dataset, config: RunConfig) -> None:
    """The data, the metrics, the sample count and the extractor's weights, before training."""
    from akdgbench.evaluate import (
        check_metrics,
        check_sample_counts,
        resolve_feature_extractor_name,
    )
    from akdgbench.fidelity import prepare_extractor

    reference_count = len(dataset.reference_set())
    metrics = check_metrics(config.metrics)
    check_sample_counts(
        metrics, config.eval_samples or dataset.default_eval_samples, reference_count
    )
    if config.eval_every:
        check_sample_counts(("fid", "isc"), curve_samples(dataset, config), reference_count)
    # the extractor's plugin finds what it needs (Inception-v3: its weights file) now
    prepare_extractor(resolve_feature_extractor_name(config.feature_extractor, dataset),
                      config.inception_weights)
