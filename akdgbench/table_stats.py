"""Whether a difference between two methods is real: Welch's t-test over seeds.

Within each student architecture (and budget) of a table, every method is
compared with the vanilla baseline and with the group's best method (lowest
mean FID): the difference of means, its 95% confidence interval and the
two-sided p-value of Welch's t-test (unequal variances, Welch–Satterthwaite
degrees of freedom), computed by scipy over the finished, healthy seeds of
each row. Welch rather than a bootstrap over seeds: with three seeds a
bootstrap has only ten distinct resamples per side, so its intervals are
coarse and too narrow, while the t-test's assumption (seed-to-seed scores
roughly normal) is the usual one for GAN scores over seeds.

A row with one seed has no spread, so no test: its comparisons say that no
significance can be claimed, never that a difference is or is not real.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

ALPHA = 0.05  # differences with p >= ALPHA are marked not significant
CONFIDENCE = 0.95
COMPARED_METRIC = "fid"  # lower is better
NOT_SIGNIFICANT_VS_VANILLA = "†"
NOT_SIGNIFICANT_VS_BEST = "≈"
BASELINE_METHOD = "vanilla"


@dataclass(frozen=True)
class Welch:
    difference: float  # mean(a) - mean(b)
    ci_low: float
    ci_high: float
    p_value: float  # NaN when the test is undefined (no spread on either side)


def welch_test(a: Sequence[float], b: Sequence[float], confidence: float = CONFIDENCE) -> Welch:
    """Difference of means of ``a`` and ``b`` with its confidence interval and Welch's p-value.

    Both sides need at least two values (a ``ValueError`` otherwise).
    """
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two values on each side")
    difference = sum(a) / len(a) - sum(b) / len(b)
    if _variance(a) == 0 and _variance(b) == 0:  # scipy returns NaN with a warning
        return Welch(difference, difference, difference, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nearly equal values: still defined
        result = stats.ttest_ind(a, b, equal_var=False)
        interval = result.confidence_interval(confidence)
    return Welch(difference, float(interval.low), float(interval.high), float(result.pvalue))


def _variance(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((value - mean) ** 2 for value in values) / (len(values) - 1)


@dataclass(frozen=True)
class Comparison:
    """Method ``method_a`` against ``method_b`` (the baseline or the best) in one group."""

    model: str
    steps: float
    method_a: str
    method_b: str
    n_a: int
    n_b: int
    mean_a: float
    mean_b: float
    against: str  # "vanilla" or "best"
    test: Welch | None  # None: a side has fewer than two seeds

    @property
    def difference(self) -> float:
        return self.mean_a - self.mean_b

    @property
    def significant(self) -> bool | None:
        """None when nothing can be claimed (one seed, or no spread at all)."""
        if self.test is None or math.isnan(self.test.p_value):
            return None
        return self.test.p_value < ALPHA

    @property
    def verdict(self) -> str:
        if self.test is None:
            return "one seed: no significance can be claimed"
        if self.significant is None:
            return "no spread over seeds: not testable"
        return "significant" if self.significant else "not significant"


def compare_rows(rows: Sequence, metric: str = COMPARED_METRIC) -> list[Comparison]:
    """Comparisons of one student group's pooled rows (``TableRow``), per budget.

    Marks each row's ``metric`` cell: † when its difference from vanilla is not
    significant, ≈ when its difference from the group's best is not significant.
    """
    comparisons: list[Comparison] = []
    budgets: dict[str, list] = {}
    for row in rows:
        if not row.failed and not math.isnan(row.values.get(metric, math.nan)):
            budgets.setdefault(f"{row.steps}", []).append(row)
    for pooled in budgets.values():
        baseline = next((r for r in pooled if r.method.split(":")[0] == BASELINE_METHOD), None)
        best = min(pooled, key=lambda r: r.values[metric])
        for row in pooled:
            for reference, against in ((baseline, "vanilla"), (best, "best")):
                if reference is None or reference is row:
                    continue
                comparison = _compare(row, reference, against, metric)
                if not (against == "best" and row is baseline):  # listed as best vs vanilla
                    comparisons.append(comparison)
                if comparison.significant is False:
                    mark = NOT_SIGNIFICANT_VS_VANILLA if against == "vanilla" \
                        else NOT_SIGNIFICANT_VS_BEST
                    row.marks[metric] = row.marks.get(metric, "") + mark
    return comparisons


def _compare(row, reference, against: str, metric: str) -> Comparison:
    a, b = row.samples.get(metric, []), reference.samples.get(metric, [])
    test = welch_test(a, b) if len(a) >= 2 and len(b) >= 2 else None
    return Comparison(row.model, row.steps, row.method, reference.method, len(a), len(b),
                      row.values[metric], reference.values[metric], against, test)
