"""Paper-style tables of a run's results, in the layout of Table I of Tsunashima et al. (ICPR 2020).

One table per (dataset, teacher), built by :mod:`akdgbench.table_sections`: the
teacher, then each student architecture's methods in their table order
(:func:`akdgbench.results_model.method_sort_key`), then the IS of real data; % saved against the
teacher for params and mult-adds; bold for the value closest to the teacher's
within each student architecture; failed, diverged, skipped and collapsed cells
as rows of their own, and n ("2 of 3, 1 collapsed") beside each pooled row; FID
marked where a difference is not significant (:mod:`akdgbench.table_stats`).
Formats: GitHub Markdown, LaTeX (booktabs), HTML, and CSV (raw numbers).
The comparisons table (ΔFID with CI and p) is :mod:`akdgbench.comparison_table`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas
from tabulate import tabulate

from akdgbench.errors import UsageError, unknown_name_error
from akdgbench.results import DONE, atomic_write_text, open_run, select_methods
from akdgbench.results_model import (
    DEFAULT_METRICS,
    METRICS,
    Metric,
    budget_suffix,
    describe_recipe,
    finished_cells,
    missing,
    parse_metrics,
    results_frame,
    unfinished_summary,
)
from akdgbench.table_sections import (
    COLLAPSED,
    Section,
    TableRow,
    build_sections,
)
from akdgbench.table_stats import (
    ALPHA,
    COMPARED_METRIC,
    CONFIDENCE,
    NOT_SIGNIFICANT_VS_BEST,
    NOT_SIGNIFICANT_VS_VANILLA,
    Comparison,
)

__all__ = [
    "DEFAULT_METRICS", "FORMATS", "METRICS", "format_for_path", "has_finished_cell", "load_runs",
    "parse_format", "parse_metrics", "render_table", "write_tables",
]

FORMATS = ("github", "latex", "csv", "html")
#: what users also call them
FORMAT_ALIASES = {"markdown": "github", "md": "github", "tex": "latex"}
FORMAT_BY_SUFFIX = {".md": "github", ".tex": "latex", ".csv": "csv", ".html": "html"}
# written as integers in CSV tables when every value is whole
COUNT_COLUMNS = {"steps", "seed", "seeds", "total", "collapsed", "layers", "params", "mult_adds",
                 "checkpoint_bytes", "n_a", "n_b"}


def parse_format(fmt: str, known: Sequence[str] = FORMATS) -> str:
    """``markdown`` -> ``github``; an unknown name is a usage error that lists the known."""
    name = FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if name not in known:
        aliases = [alias for alias, target in FORMAT_ALIASES.items() if target in known]
        raise unknown_name_error("table format", fmt, [*known, *aliases])
    return name


def format_for_path(path: str | Path) -> str | None:
    """``table.tex`` -> ``latex``; None when the suffix says nothing."""
    return FORMAT_BY_SUFFIX.get(Path(path).suffix.lower())


@dataclass(frozen=True)
class Style:
    """How one text format writes the pieces of a cell."""

    escape: Callable[[str], str]
    bold: Callable[[str], str]
    plus_minus: str
    percent: str
    missing: str
    marks: Callable[[str], str] = str


def latex_escape(text: str) -> str:
    replacements = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                    "^": r"\textasciicircum{}"}
    return "".join(replacements.get(char, char) for char in text)


STYLES = {
    "github": Style(lambda s: s.replace("|", r"\|"), "**{}**".format, " ± ", "%", "–"),
    "html": Style(html.escape, "<b>{}</b>".format, " ± ", "%", "–"),
    "latex": Style(latex_escape, r"\textbf{{{}}}".format, r" $\pm$ ", r"\%", "--",
                   lambda marks: latex_symbols(marks)),
}


def latex_symbols(text: str) -> str:
    for symbol, command in (("±", r"$\pm$"), (NOT_SIGNIFICANT_VS_VANILLA, r"$^\dagger$"),
                            (NOT_SIGNIFICANT_VS_BEST, r"$^{\approx}$"), ("Δ", r"$\Delta$"),
                            ("≥", r"$\geq$"), ("−", "-")):
        text = text.replace(symbol, command)
    return text


def _cell_text(row: TableRow, metric: Metric, style: Style, over_seeds: bool) -> str:
    """``over_seeds``: the table's ± is the spread over seeds, else a metric's own (splits)."""
    if row.failed and row.kind != COLLAPSED:
        return style.escape(row.kind)
    value = row.values.get(metric.name, math.nan)
    if math.isnan(value):
        return style.missing
    text = metric.format(value)
    spread = (row.spreads if over_seeds else row.split_spreads).get(metric.name, math.nan)
    if metric.with_spread and not math.isnan(spread):
        text += style.plus_minus + metric.format(spread)
    if metric.name in row.saved:
        text += f" ({_percent(row.saved[metric.name])}{style.percent})"
    # figures, the style's plus-minus and percent need no escaping in any format
    text = style.bold(text) if metric.name in row.bold else text
    return text + style.marks(row.marks.get(metric.name, ""))


def _percent(value: float) -> str:
    """Whole percent, as in the paper, but 99.8 stays 99.8 rather than claiming 100."""
    text = f"{value:.0f}"
    if text in ("100", "0", "-0", "-100") and value not in (100.0, 0.0, -100.0):
        text = f"{value:.1f}"
    return text


def _label(row: TableRow, section: Section, mark_collapse: bool = True) -> str:
    if row.kind == "teacher":
        return "teacher"
    if row.kind == "real":
        return ""
    label = row.method
    if section.several_steps:
        label += budget_suffix(row.steps)
    if row.skipped_seeds:
        label += f", seeds {', '.join(_seed_text(seed) for seed in row.skipped_seeds)}"
    elif row.failed and not missing(row.seed):
        label += f", seed {_seed_text(row.seed)}"
    return label + (f" ({COLLAPSED})" if mark_collapse and row.kind == COLLAPSED else "")


def _over_seeds(sections: list[Section]) -> bool:
    """Whether any row pools several seeds: then every ± of the table is over seeds."""
    return any(row.seeds > 1 for s in sections for group in s.groups for row in group)


def _show_seeds(sections: list[Section]) -> bool:
    return any(row.seeds > 1 or row.total > row.seeds
               for s in sections for group in s.groups for row in group)


def _n_text(row: TableRow) -> str:
    """``3``; ``2 of 3``; ``2 of 3, 1 collapsed``; empty for a row of one left-out cell."""
    if row.failed or not row.seeds:
        return ""
    text = str(row.seeds) if row.total <= row.seeds else f"{row.seeds} of {row.total}"
    return text + (f", {row.collapsed} collapsed" if row.collapsed else "")


def _headers(metrics: list[Metric], show_seeds: bool) -> list[str]:
    seeds = ["n"] if show_seeds else []
    return ["Model", "Method", *seeds, *(m.header for m in metrics)]


def _body(section: Section, metrics: list[Metric], style: Style,
          show_seeds: bool, over_seeds: bool) -> list[list[list[str]]]:
    """Rows of text per group; the model is named on the first row of its group only."""
    groups = []
    for group in section.groups:
        lines = []
        for index, row in enumerate(group):
            model = style.escape(row.model) if index == 0 else ""
            seeds = [style.escape(_n_text(row))] if show_seeds else []
            lines.append([model, style.escape(_label(row, section)), *seeds,
                          *(_cell_text(row, metric, style, over_seeds) for metric in metrics)])
        groups.append(lines)
    return groups


def section_title(section: Section) -> str:
    parts = [f"{section.dataset}, teacher {section.teacher}"]
    if section.feature_extractors:
        parts.append(f"feature extractor {', '.join(section.feature_extractors)}")
    if section.eval_samples:
        parts.append(f"{', '.join(section.eval_samples)} samples")
    if section.recipes:
        parts.append(f"recipe: {' | '.join(section.recipes)}")
    return "; ".join(parts) + "."


def _notes(metrics: list[Metric], sections: list[Section]) -> list[str]:
    notes = []
    spread = [m.header for m in metrics if m.with_spread]
    own = [m.header for m in metrics if m.spread_column]
    if spread and _over_seeds(sections):
        notes.append(f"{', '.join(spread)}: mean ± standard deviation over seeds (a row of one "
                     "seed has no ±).")
    elif own:
        notes.append(f"{', '.join(own)}: mean ± standard deviation over the metric's "
                     "splits/subsets.")
    if _show_seeds(sections):
        notes.append("n: the finished seeds pooled in each row; '2 of 3': 1 of its 3 cells "
                     "failed, diverged or collapsed and is left out (listed in the notes).")
    if any(m.saved for m in metrics):
        notes.append("Percentages: share saved against the teacher.")
    if any(m.bold_closest for m in metrics):
        notes.append("Bold: closest to the teacher within each student architecture.")
    if any(m.name == "fid" for m in metrics):
        notes.extend(_significance_notes([c for s in sections for c in s.comparisons]))
    return notes


def _significance_notes(comparisons: list[Comparison]) -> list[str]:
    if not comparisons:
        return []
    untested = [c for c in comparisons if c.test is None]
    if len(untested) == len(comparisons):
        return ["One seed per row: no significance can be claimed for any difference."]
    notes = [f"{NOT_SIGNIFICANT_VS_VANILLA}: FID not significantly different from vanilla's; "
             f"{NOT_SIGNIFICANT_VS_BEST}: not significantly different from the best FID of its "
             f"student architecture (Welch's t-test over seeds, p ≥ {ALPHA:g}); "
             "akdgbench table --compare lists each difference with its "
             f"{CONFIDENCE:.0%} CI and p."]
    if untested:
        notes.append("Rows of one seed are not tested: no significance can be claimed for them.")
    return notes


def _seed_text(seed: Any) -> str:
    return f"{seed:g}" if isinstance(seed, float) else str(seed)


def _section_notes(section: Section) -> list[str]:
    """The teacher(s) distilled, the seeds left out of each pooled row, and why cells failed."""
    notes = []
    seeds = section.teacher_seeds
    if len(seeds) > 1:
        notes.append(f"Teachers: one per student seed (teacher seeds {', '.join(seeds)}); the "
                     "spread over seeds includes the teacher's variance.")
    elif seeds and len(section.groups) > 1:
        notes.append(f"Teacher: one (seed {seeds[0]}), distilled by every student seed; the "
                     "spread over seeds leaves out the teacher's variance.")
    for group in section.groups:
        for row in group:
            if row.not_pooled:
                left_out = ", ".join(f"seed {_seed_text(seed)} ({why})"
                                     for seed, why in row.not_pooled)
                notes.append(f"{row.model} / {_label(row, section)}: n={row.seeds} of "
                             f"{row.total}; not pooled: {left_out}.")
    return notes + _failure_notes(section)


def _failure_notes(section: Section) -> list[str]:
    return [f"{row.kind}: {row.model} / {_label(row, section, False)}: {row.error}"
            + ("" if row.error.endswith((".", "!", "?")) else ".")
            for group in section.groups for row in group if row.failed and row.error]


def _render_text(sections: list[Section], metrics: list[Metric], fmt: str) -> str:
    style = STYLES[fmt]
    show_seeds, over_seeds = _show_seeds(sections), _over_seeds(sections)
    headers = _headers(metrics, show_seeds)
    notes = _notes(metrics, sections)
    if fmt == "latex":
        return "\n".join(_latex_table(section, metrics, headers, (show_seeds, over_seeds), notes)
                         for section in sections)
    tablefmt = "github" if fmt == "github" else "unsafehtml"
    paragraph = "{}" if fmt == "github" else "<p>{}</p>"
    align = ["left", "left"] + ["right"] * (len(headers) - 2)
    blocks = []
    for section in sections:
        lines = [line for group in _body(section, metrics, style, show_seeds, over_seeds)
                 for line in group]
        table = tabulate(lines, [style.escape(h) for h in headers], tablefmt=tablefmt,
                         disable_numparse=True, colalign=align)
        blocks.append(paragraph.format(style.escape(section_title(section))))
        blocks.append(table)
        blocks.extend(paragraph.format(style.escape(note)) for note in _section_notes(section))
    blocks.extend(paragraph.format(style.escape(note)) for note in notes)
    return ("\n\n" if fmt == "github" else "\n").join(blocks) + "\n"


def _latex_table(section: Section, metrics: list[Metric], headers: list[str],
                 seeds: tuple[bool, bool], notes: list[str]) -> str:
    style = STYLES["latex"]
    text = " ".join([section_title(section), *notes, *_section_notes(section)])
    caption = latex_symbols(latex_escape(text))
    columns = "ll" + "r" * (len(headers) - 2)
    lines = [
        r"\begin{table}[t]", r"\centering", rf"\caption{{{caption}}}",
        rf"\begin{{tabular}}{{{columns}}}", r"\toprule",
        " & ".join(latex_escape(h) for h in headers) + r" \\",
    ]
    for group in _body(section, metrics, style, *seeds):
        lines.append(r"\midrule")
        lines.extend(" & ".join(cells) + r" \\" for cells in group)
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _csv_record(section: Section, row: TableRow, metrics: list[Metric]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "dataset": section.dataset, "teacher": section.teacher,
        "model": row.model, "method": row.method, "steps": row.steps,
        "status": row.kind if row.failed else DONE, "seeds": row.seeds,
        "total": row.total, "collapsed": row.collapsed, "seed": row.seed, "error": row.error,
    }
    for metric in metrics:
        record[metric.column] = row.values.get(metric.name, math.nan)
        if metric.with_spread:  # over seeds; a metric's own ± in its own column
            record[f"{metric.name}_seed_std"] = row.spreads.get(metric.name, math.nan)
        if metric.spread_column:
            record[metric.spread_column] = row.split_spreads.get(metric.name, math.nan)
        if metric.name == COMPARED_METRIC:  # † and ≈, as in the text formats
            record[f"{metric.name}_not_significant"] = row.marks.get(metric.name, "")
        if metric.saved:
            record[f"{metric.name}_saved_pct"] = row.saved.get(metric.name, math.nan)
    return record


def _render_csv(sections: list[Section], metrics: list[Metric]) -> str:
    records = []
    for section in sections:
        for group in section.groups:
            for row in group:
                record = _csv_record(section, row, metrics)
                # a merged skipped row is a record per seed: a seed column stays numbers
                records.extend({**record, "seed": seed} for seed in row.skipped_seeds or
                               [row.seed])
    frame = pandas.DataFrame(records)
    for column in COUNT_COLUMNS & set(frame.columns):
        whole = frame[column].dropna()
        if (whole == whole.round()).all():
            frame[column] = frame[column].astype("Int64")
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def render_table(rows: list[dict[str, Any]] | pandas.DataFrame, fmt: str = "github",
                 metrics: str | Sequence[str] | None = None) -> str:
    """The paper-style table of ``rows`` (results rows) as github, latex, csv or html text."""
    fmt = parse_format(fmt)
    chosen = parse_metrics(metrics)
    sections = build_sections(rows)
    if fmt == "csv":
        return _render_csv(sections, chosen)
    return _render_text(sections, chosen, fmt)


def has_finished_cell(rows: list[dict[str, Any]] | pandas.DataFrame) -> bool:
    """A finished teacher or student cell (real-data rows alone make no table)."""
    return len(rows) > 0 and not finished_cells(results_frame(rows)).empty


def load_runs(run_dirs: Iterable[str | Path],
              methods: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The rows of several run directories, concatenated (each directory once); with
    ``methods``, only those methods' students beside the reference rows.

    A cell in several directories under the same recipe (the teacher of two runs that
    share it, a seed run twice) counts once, as the last directory's row: a seed counted
    twice would narrow the error bars with no new evidence.
    """
    by_cell: dict[tuple[str, str], dict[str, Any]] = {}
    seen: set[Path] = set()
    names = []
    for run_dir in run_dirs:
        store = open_run(run_dir)
        if store.run_dir.resolve() in seen:
            continue
        seen.add(store.run_dir.resolve())
        names.append(str(run_dir))
        recipe = describe_recipe(store.read_config().get("settings", {}))
        for row in store.latest_rows():
            by_cell[(row["cell_id"], recipe)] = {**row, "recipe": recipe}
    rows = select_methods(list(by_cell.values()), methods, ", ".join(names))
    if not has_finished_cell(rows):
        detail = unfinished_summary(results_frame(rows)) if rows else ""
        raise UsageError(f"no finished cell in {', '.join(names)} yet{detail}")
    return rows


def write_tables(run_dir: str | Path) -> list[Path]:
    """Write table.md and table.tex into ``run_dir``; UsageError when no cell has finished."""
    rows = load_runs([run_dir])
    written = []
    for name, fmt in (("table.md", "github"), ("table.tex", "latex")):
        path = Path(run_dir) / name
        atomic_write_text(path, render_table(rows, fmt))
        written.append(path)
    return written
