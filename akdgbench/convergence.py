"""Have the FID curves flattened? Each method's mean curve over seeds, from ``eval_log.csv``.

A budget is long enough when the mean FID changes by less than
``defaults.CONVERGENCE_MAX_CHANGE`` over the last third of the steps. The
last third starts at the last score at or before two thirds of the steps, so
that with sparse scores it covers at least a third.

The change is read from a straight line fitted (least squares) to every score
in the last third, not from its two end scores alone: near the real data's
FID one score swings by more than the rule allows around a flat curve (a
16x16 mse student scored 6.5, 7.0, 7.5, 6.6, 8.6, 7.6, 6.8 at 12,000-24,000
steps), and two end points measure that swing as much as the trend. With two
scores the line is the two end points. Both numbers are reported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas
from tabulate import tabulate

from akdgbench import defaults
from akdgbench.errors import UsageError
from akdgbench.results import DONE, STUDENT, TEACHER, open_run, select_methods
from akdgbench.results_model import results_frame
from akdgbench.tables import parse_format
from akdgbench.training_log import EVAL_LOG_NAME, read_eval_log


@dataclass(frozen=True)
class Curve:
    dataset: str
    teacher: str
    arch: str
    method: str
    seeds: int
    mean_fid: dict[int, float]  # step -> FID averaged over the seeds scored at that step

    def last_third_steps(self) -> list[int]:
        """The scored steps of the last third (start included); [] if too few scores."""
        steps = sorted(self.mean_fid)
        start = max((step for step in steps if step <= steps[-1] * 2 / 3), default=None)
        if start is None or start == steps[-1]:
            return []
        return steps[steps.index(start):]

    @property
    def last_third_change(self) -> float | None:
        """|FID(end) - FID(start of the last third)| / FID(start), or None if too few scores."""
        steps = self.last_third_steps()
        if not steps:
            return None
        start, end = self.mean_fid[steps[0]], self.mean_fid[steps[-1]]
        return abs(end - start) / start

    @property
    def last_third_trend(self) -> float | None:
        """The change over the last third of a least-squares line through its scores, as a
        share of the line's value at its start; None if too few scores."""
        steps = self.last_third_steps()
        if not steps:
            return None
        fids = [self.mean_fid[step] for step in steps]
        mean_step, mean_fid = sum(steps) / len(steps), sum(fids) / len(fids)
        slope = (sum((s - mean_step) * (f - mean_fid) for s, f in zip(steps, fids, strict=True))
                 / sum((s - mean_step) ** 2 for s in steps))
        at_start = mean_fid + slope * (steps[0] - mean_step)
        return abs(slope * (steps[-1] - steps[0]) / at_start)

    @property
    def last_third_trend_p(self) -> float | None:
        """Two-sided p-value that the last third's fitted line has no slope at all (t-test on
        the least-squares slope); None with fewer than three scores or no scatter to test.

        A rough guide: successive scores of one run are correlated, which makes it too small.
        """
        from scipy import stats

        steps = self.last_third_steps()
        fids = [self.mean_fid[step] for step in steps]
        if len(steps) < 3 or len(set(fids)) < 2:
            return None
        return float(stats.linregress(steps, fids).pvalue)

    @property
    def converged(self) -> bool | None:
        change = self.last_third_trend
        return None if change is None else change < defaults.CONVERGENCE_MAX_CHANGE


def method_curves(run_dir: str | Path, methods: Sequence[str] | None = None) -> list[Curve]:
    """One curve per (data set, teacher, student architecture, method) with scored steps,
    and one per teacher trained with them (method ``teacher``); ``methods``: only theirs."""
    store = open_run(run_dir)
    rows = select_methods(store.latest_rows(), methods, str(run_dir))
    frame = results_frame(rows) if rows else pandas.DataFrame()
    if frame.empty:
        raise UsageError(f"no cell in {run_dir} yet: no curves")
    trained = frame[(frame["status"] == DONE) & frame["kind"].isin([TEACHER, STUDENT])].copy()
    # a teacher's row names its own architecture as the student's; it is listed once
    is_teacher = trained["kind"] == TEACHER
    trained.loc[is_teacher, "arch"] = trained.loc[is_teacher, "teacher"]
    trained.loc[is_teacher, "method"] = TEACHER
    trained = trained.drop_duplicates(["dataset", "teacher", "arch", "method", "seed"])
    curves = []
    keys = ["dataset", "teacher", "arch", "method"]
    for key, cells in trained.groupby(keys, sort=False):
        logs = []
        for cell_id in cells["cell_id"]:
            path = store.cell_dir(cell_id) / EVAL_LOG_NAME
            if path.is_file():
                log = read_eval_log(path).drop_duplicates("step", keep="last")
                logs.append(log.set_index("step")["fid"])
        if not logs:
            continue
        table = pandas.concat(logs, axis=1).dropna()  # steps every seed has scored
        curves.append(Curve(*key, seeds=len(logs),
                            mean_fid={int(step): float(fid)
                                      for step, fid in table.mean(axis=1).items()}))
    if not curves:
        raise UsageError(f"no FID curves in {run_dir}: run with --eval-every N to score them")
    return curves


#: tabulate's names for the formats a curves table is written in (no CSV: it has notes)
CURVE_FORMATS = ("github", "latex", "html", "tsv")

#: step columns per table; a longer curve shows every k-th score (the fit still uses all)
MAX_STEP_COLUMNS = 12


def render_curves(curves: list[Curve], fmt: str = "github") -> str:
    """Mean FID at scored steps, the change over the last third and the verdict: one table
    per student architecture (with the teacher of its architecture), whose budgets differ."""
    fmt = parse_format(fmt, CURVE_FORMATS)
    groups: dict[tuple[str, str, str], list[Curve]] = {}
    for curve in curves:
        groups.setdefault((curve.dataset, curve.teacher, curve.arch), []).append(curve)
    title = (f"Mean FID over seeds at each scored step; converged: a line fitted to the scores "
             f"of the last third of the steps changes by less than "
             f"{100 * defaults.CONVERGENCE_MAX_CHANGE:.0f}% over it (end to end: its first and "
             f"last score alone).")
    slope_p = ("slope p: how likely scatter around a flat line gives a fitted slope this steep "
               "(t-test; successive scores are correlated, so a rough guide). A curve that "
               "misses the rule with a large p swings around a flat line rather than falling.")
    return "\n".join([f"{title}\n", *(_curves_table(group, fmt) for group in groups.values()),
                      slope_p])


def _curves_table(curves: list[Curve], fmt: str) -> str:
    steps = sorted({step for curve in curves for step in curve.mean_fid})
    stride = math.ceil(len(steps) / MAX_STEP_COLUMNS)
    shown = steps[::-1][::stride][::-1]  # the last score always shown
    rows = []
    for curve in curves:
        verdict = {True: "converged", False: "still moving", None: "too few scores"}[
            curve.converged]
        rows.append([curve.arch, curve.method, curve.seeds,
                     *(_fid_text(curve.mean_fid.get(step)) for step in shown),
                     _share_text(curve.last_third_trend), _p_text(curve.last_third_trend_p),
                     _share_text(curve.last_third_change), verdict])
    headers = ["student", "method", "seeds", *(f"{step:,}" for step in shown),
               "last third (fitted)", "slope p", "end to end", "verdict"]
    table = f"{tabulate(rows, headers=headers, tablefmt=fmt)}\n"
    if stride > 1:
        table += (f"\nOne score in {stride} of its {len(steps)} shown; the fitted line uses "
                  f"every score of the last third.\n")
    return table


def _share_text(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _p_text(value: float | None) -> str:
    return "–" if value is None else "<0.01" if value < 0.01 else f"{value:.2f}"


def _fid_text(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"
