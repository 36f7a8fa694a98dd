"""The paper-style table as data: pooled rows, and one section per (dataset, teacher).

Rendering lives in :mod:`akdgbench.tables`; the rows come through
:func:`akdgbench.results_model.results_frame`.

Within a section: the teacher first; then, per student architecture (in order
of first appearance), its methods in their table order
(:func:`akdgbench.results_model.method_sort_key`); the IS of real data last.
Finished cells of one (architecture, method, steps) that differ only by seed
are pooled into one row: the mean, the standard deviation over seeds (``spreads``), the per-seed
values (``samples``, for the significance tests of :mod:`akdgbench.table_stats`)
and n, the seeds pooled, against ``total``, the cells of the row. IS's and KID's
own spread over splits/subsets is kept apart (``split_spreads``). Each cell that
did not finish (failed, diverged) and each cell that collapsed
(:mod:`akdgbench.collapse`) is a row of its own saying so, never pooled; the
skipped seeds of one row that share a reason are one row listing them.
Against the teacher: params and mult-adds get the share saved, and per quality
metric (IS, FID, KID) the finished rows of a student architecture closest to
the teacher are marked bold (when there are at least two to choose from).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas

from akdgbench.collapse import collapse_reason, is_collapsed
from akdgbench.errors import UsageError
from akdgbench.results import DONE, REAL, ROW_KINDS, SKIPPED, STUDENT, TEACHER
from akdgbench.results_model import (
    METRICS,
    UNFINISHED,
    finished_cells,
    method_sort_key,
    missing,
    results_frame,
    unfinished_summary,
)
from akdgbench.table_stats import compare_rows

COLLAPSED = "collapsed"  # the row of a finished cell whose samples collapsed
ERROR_NOTE_CHARS = 240
ARCH_SPEC = re.compile(r"\b(teacher|student) ([A-Za-z][\w-]*)(?::\w+=[^\s:]*)+")


@dataclass
class TableRow:
    kind: str  # one of ROW_KINDS, or the status of a cell that did not finish
    model: str
    method: str
    steps: float
    seeds: int = 0  # finished, healthy cells pooled in this row (n)
    total: int = 0  # cells of this row: pooled, failed, diverged, collapsed, unfinished
    collapsed: int = 0  # finished cells left out because they collapsed
    not_pooled: list[tuple[Any, str]] = field(default_factory=list)  # (seed, why) left out
    seed: Any = None  # a failed cell's seed
    skipped_seeds: list[Any] = field(default_factory=list)  # seeds of one merged skipped row
    error: str = ""
    values: dict[str, float] = field(default_factory=dict)
    spreads: dict[str, float] = field(default_factory=dict)  # standard deviation over seeds
    split_spreads: dict[str, float] = field(default_factory=dict)  # a metric's own ± (mean)
    samples: dict[str, list[float]] = field(default_factory=dict)  # per-seed values
    saved: dict[str, float] = field(default_factory=dict)
    bold: set[str] = field(default_factory=set)
    marks: dict[str, str] = field(default_factory=dict)  # significance marks per metric

    @property
    def failed(self) -> bool:
        return self.kind not in ROW_KINDS


@dataclass
class Section:
    dataset: str
    teacher: str
    groups: list[list[TableRow]]  # the teacher's rows, each student architecture's, real data
    feature_extractors: list[str]
    eval_samples: list[str]
    several_steps: bool
    comparisons: list[Any] = field(default_factory=list)  # table_stats.Comparison
    teacher_seeds: list[str] = field(default_factory=list)  # one per trained teacher
    recipes: list[str] = field(default_factory=list)  # the training recipe of its runs


def _pooled_row(kind: str, model: str, method: str, cells: pandas.DataFrame) -> TableRow:
    row = TableRow(kind, model, method, steps=cells["steps"].iloc[0], seeds=len(cells),
                   total=len(cells))
    for metric in METRICS.values():
        values = cells[metric.column].dropna()
        row.values[metric.name] = float(values.mean()) if len(values) else math.nan
        row.samples[metric.name] = [float(value) for value in values]
        row.spreads[metric.name] = float(values.std(ddof=1)) if len(values) > 1 else math.nan
        own = cells[metric.spread_column].dropna() if metric.spread_column else ()
        row.split_spreads[metric.name] = float(own.mean()) if len(own) else math.nan
    return row


def _failure_row(model: str, cell: pandas.Series) -> TableRow:
    # "teacher dcgan:d_width=0.125:…:z_dim=128" -> "teacher dcgan": the section names the
    # models, and the spec would crowd the reason out of the note (results keep it whole)
    error = ARCH_SPEC.sub(r"\1 \2", " ".join(cell["error"].split()))
    if len(error) > ERROR_NOTE_CHARS:
        error = error[: ERROR_NOTE_CHARS - 1] + "…"
    method = cell["method"] if cell["kind"] == STUDENT else cell["kind"]
    return TableRow(cell["status"] or UNFINISHED, model, method, steps=cell["steps"],
                    seed=cell["seed"], error=error)


def _merge_skipped(rows: list[TableRow], skipped: TableRow) -> bool:
    """Fold a skipped cell into an earlier skipped row of the same reason; whether it was.

    Whether a method can distil a pair does not depend on the seed, so a grid's
    skipped seeds would otherwise repeat one row and one note per seed."""
    for row in rows:
        if row.kind == SKIPPED and row.error == skipped.error:
            row.skipped_seeds = row.skipped_seeds or [row.seed]
            row.skipped_seeds.append(skipped.seed)
            row.seed = None
            return True
    return False


def _collapsed(cells: pandas.DataFrame, real: dict[str, float]) -> pandas.Series:
    """The row's own flag; judged from its scores against the real data's where a row has none."""
    judged = cells.apply(lambda cell: is_collapsed(cell, real), axis=1)
    return cells["collapsed"].where(cells["collapsed"].notna(), judged).fillna(False).astype(bool)


def _rows_of(kind: str, model: str, cells: pandas.DataFrame, method: str = "",
             real: dict[str, float] | None = None) -> list[TableRow]:
    """One pooled row for the finished, healthy cells (if any), then one per cell left out."""
    out = []
    done = cells[cells["status"] == DONE]
    real = real or {}
    collapsed = done[_collapsed(done, real)] if len(done) else done
    healthy = done.drop(index=collapsed.index)
    left_out = [(cell, cell["status"] or UNFINISHED) for _, cell in
                cells[cells["status"] != DONE].iterrows()]
    left_out += [(cell, COLLAPSED) for _, cell in collapsed.iterrows()]
    left_out.sort(key=lambda item: _nan_last(item[0]["seed"]))
    if len(healthy):
        pooled = _pooled_row(kind, model, method, healthy)
        pooled.total = len(cells)
        pooled.collapsed = len(collapsed)
        pooled.not_pooled = [(cell["seed"], why) for cell, why in left_out]
        out.append(pooled)
    for cell, why in left_out:
        if why != COLLAPSED:
            row = _failure_row(model, cell)
            if not (why == SKIPPED and _merge_skipped(out, row)):
                out.append(row)
            continue
        # a collapse is a finding: its numbers show, in a row of its own that is never pooled
        row = _pooled_row(COLLAPSED, model, method, cells.loc[[cell.name]])
        row.seed, row.seeds, row.total = cell["seed"], 0, 0
        row.error = collapse_reason(cell, real) or "flagged when evaluated"
        out.append(row)
    return out


def _student_group(arch: str, cells: pandas.DataFrame, real: dict[str, float]
                   ) -> list[TableRow]:
    keys = cells[["method", "steps"]].drop_duplicates().itertuples(index=False)
    ordered = sorted(keys, key=lambda k: (method_sort_key(k.method), _nan_last(k.steps)))
    out = []
    for method, steps in ordered:
        same_steps = cells["steps"].isna() if missing(steps) else cells["steps"] == steps
        out.extend(_rows_of(STUDENT, arch, cells[(cells["method"] == method) & same_steps],
                            method, real))
    return out


def _nan_last(value: float) -> tuple[bool, float]:
    return (True, 0.0) if missing(value) else (False, float(value))


def _mark_against_teacher(teacher: TableRow | None, group: list[TableRow]) -> None:
    if teacher is None:
        return
    finished = [row for row in group if not row.failed]
    for metric in METRICS.values():
        reference = teacher.values.get(metric.name, math.nan)
        if math.isnan(reference):
            continue
        if metric.saved and reference > 0:
            for row in finished:
                row.saved[metric.name] = 100.0 * (1.0 - row.values[metric.name] / reference)
        candidates = [row for row in finished if not math.isnan(row.values[metric.name])]
        if metric.bold_closest and len(candidates) >= 2:
            distance = {id(row): abs(row.values[metric.name] - reference) for row in candidates}
            best = min(distance.values())
            for row in candidates:
                if math.isclose(distance[id(row)], best, rel_tol=1e-9, abs_tol=1e-12):
                    row.bold.add(metric.name)


def _arch_order(students: pandas.DataFrame) -> list[str]:
    """Student architectures as their cells appear, those with only skipped cells last
    (skipped rows are written before any cell runs)."""
    ran = students[students["status"] != SKIPPED]["arch"].drop_duplicates()
    return list(dict.fromkeys([*ran, *students["arch"]]))


def _unique(values: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = "" if missing(value) else f"{value:g}" if isinstance(value, float) else str(value)
        if text and text not in out:
            out.append(text)
    return out


def _real_scores(real_done: pandas.DataFrame) -> dict[str, float]:
    """The real data's IS and class coverage, mean over its rows: collapse's yardstick."""
    return {key: float(real_done[key].mean()) for key in ("is_mean", "class_coverage")
            if key in real_done and real_done[key].notna().any()}


def build_sections(rows: list[dict[str, Any]] | pandas.DataFrame) -> list[Section]:
    """The table as data: one section per (dataset, teacher), in order of first appearance."""
    frame = results_frame(rows)
    if frame.empty or finished_cells(frame).empty:
        detail = unfinished_summary(frame)
        raise UsageError(f"no finished cell in these results{detail}")
    is_teacher = frame["kind"] == TEACHER
    frame["section_teacher"] = frame["teacher"].where(
        ~is_teacher | (frame["teacher"] != ""), frame["arch"]
    )
    measured = frame[frame["kind"] != REAL]
    keys = measured[["dataset", "section_teacher"]].drop_duplicates().itertuples(index=False)
    sections = []
    for dataset, teacher in keys:
        in_section = (measured["dataset"] == dataset) & (measured["section_teacher"] == teacher)
        cells = measured[in_section]  # kept even if nothing in it finished: failures show
        real = frame[(frame["kind"] == REAL) & (frame["dataset"] == dataset)
                     & frame["teacher"].isin(["", teacher])]
        real_done = real[real["status"] == DONE]
        real_rows = _rows_of(REAL, "real data", real_done, REAL)
        yardstick = _real_scores(real_done)
        teacher_rows = _rows_of(TEACHER, teacher, cells[cells["kind"] == TEACHER], TEACHER,
                                yardstick)
        students = cells[cells["kind"] != TEACHER]
        groups = [teacher_rows] if teacher_rows else []
        pooled_teacher = next((row for row in teacher_rows if not row.failed), None)
        comparisons = []
        for arch in _arch_order(students):
            group = _student_group(arch, students[students["arch"] == arch], yardstick)
            _mark_against_teacher(pooled_teacher, group)
            comparisons.extend(compare_rows(group))
            groups.append(group)
        if real_rows:
            groups.append(real_rows)
        sections.append(Section(
            dataset, teacher, groups,
            feature_extractors=_unique(cells["feature_extractor"]),
            eval_samples=_unique(cells["eval_samples"]),
            several_steps=students["steps"].nunique(dropna=False) > 1,
            comparisons=comparisons,
            teacher_seeds=_unique(cells.loc[cells["kind"] == TEACHER, "seed"]),
            recipes=_unique(cells["recipe"]) if "recipe" in cells else [],
        ))
    return sections
