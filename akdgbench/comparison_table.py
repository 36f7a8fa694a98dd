"""The comparisons table: each method against vanilla and against its group's best.

``akdgbench table --compare`` prints it: per student architecture (and budget),
method A, method B, their seeds, ΔFID (A − B), its 95% confidence interval and
the two-sided p-value of Welch's t-test over seeds (:mod:`akdgbench.table_stats`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas
from tabulate import tabulate

from akdgbench.results_model import budget_suffix
from akdgbench.table_sections import build_sections
from akdgbench.table_stats import ALPHA, CONFIDENCE, Comparison
from akdgbench.tables import STYLES, latex_escape, latex_symbols, parse_format, section_title

COMPARISON_HEADERS = ("Model", "Method A", "Method B", "against", "n A", "n B", "ΔFID (A − B)",
                      f"{CONFIDENCE:.0%} CI", "p", "verdict")


def _comparison_cells(comparison: Comparison, several_steps: bool) -> list[str]:
    test = comparison.test
    label = comparison.model
    if several_steps:
        label += budget_suffix(comparison.steps)
    interval = p_value = "–"
    if test is not None:
        interval = f"[{test.ci_low:+.2f}, {test.ci_high:+.2f}]"
        p_value = "–" if math.isnan(test.p_value) else f"{test.p_value:.3g}"
    return [label, comparison.method_a, comparison.method_b, comparison.against,
            str(comparison.n_a), str(comparison.n_b), f"{comparison.difference:+.2f}", interval,
            p_value, comparison.verdict]


def render_comparisons(rows: list[dict[str, Any]] | pandas.DataFrame, fmt: str = "github") -> str:
    """Each method against vanilla and against its group's best: ΔFID, its CI and Welch's p."""
    fmt = parse_format(fmt)
    sections = build_sections(rows)
    if fmt == "csv":
        records = [{"dataset": section.dataset, "teacher": section.teacher,
                    "model": c.model, "steps": c.steps, "method_a": c.method_a,
                    "method_b": c.method_b, "against": c.against, "n_a": c.n_a, "n_b": c.n_b,
                    "mean_a": c.mean_a, "mean_b": c.mean_b, "fid_difference": c.difference,
                    "ci_low": c.test.ci_low if c.test else math.nan,
                    "ci_high": c.test.ci_high if c.test else math.nan,
                    "p_value": c.test.p_value if c.test else math.nan, "verdict": c.verdict}
                   for section in sections for c in section.comparisons]
        return pandas.DataFrame(records, columns=[
            "dataset", "teacher", "model", "steps", "method_a", "method_b", "against", "n_a",
            "n_b", "mean_a", "mean_b", "fid_difference", "ci_low", "ci_high", "p_value",
            "verdict"]).to_csv(index=False, lineterminator="\n", float_format="%.10g")
    style = STYLES[fmt]
    method = "Welch's t-test over seeds, two-sided"
    blocks = []
    for section in sections:
        title = (f"{section_title(section)[:-1]}: FID differences ({method}; "
                 f"significant: p < {ALPHA:g}).")
        lines = [[style.escape(cell) for cell in _comparison_cells(c, section.several_steps)]
                 for c in section.comparisons]
        if not lines:
            blocks.append(f"{title} Nothing to compare: no student architecture has two "
                          "finished methods.")
            continue
        if fmt == "latex":
            blocks.append(_latex_comparisons(title, lines))
            continue
        table = tabulate(lines, [style.escape(h) for h in COMPARISON_HEADERS],
                         tablefmt="github" if fmt == "github" else "unsafehtml",
                         disable_numparse=True)
        paragraph = "{}" if fmt == "github" else "<p>{}</p>"
        blocks += [paragraph.format(style.escape(title)), table]
    return ("\n\n" if fmt == "github" else "\n").join(blocks) + "\n"


def _latex_comparisons(title: str, lines: list[list[str]]) -> str:
    headers = " & ".join(latex_symbols(latex_escape(h)) for h in COMPARISON_HEADERS)
    body = [latex_symbols(" & ".join(cells)) + r" \\" for cells in lines]
    return "\n".join([
        r"\begin{table}[t]", r"\centering",
        rf"\caption{{{latex_symbols(latex_escape(title))}}}",
        r"\begin{tabular}{llllrrrrrl}", r"\toprule", headers + r" \\", r"\midrule", *body,
        r"\bottomrule", r"\end{tabular}", r"\end{table}",
    ]) + "\n"
