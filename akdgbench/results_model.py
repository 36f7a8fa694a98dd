"""The results of runs as one frame: the metrics, how each prints, and the method order.

Tables (:mod:`akdgbench.table_sections`, :mod:`akdgbench.tables`), the
comparisons (:mod:`akdgbench.comparison_table`) and the plots
(:mod:`akdgbench.plots`) all read rows through :func:`results_frame`, show the
metrics of :data:`METRICS`, and order methods by :func:`method_sort_key`: by
each method's ``table_order`` (:class:`akdgbench.Method`; the built-ins take
the AKDG paper's order vanilla, mse, lit, akdg), then any other alphabetically.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas

from akdgbench.errors import UsageError, unknown_name_error
from akdgbench.results import (
    DONE,
    REAL,
    RESULT_COLUMNS,
    TEXT_COLUMNS,
    row_kind,
)

UNFINISHED = "unfinished"  # the row of a cell that has no status at all


def format_count(value: float) -> str:
    """4,276,739 -> 4.3M; 445,312 -> 445K (the paper's style)."""
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= scale:
            scaled = value / scale
            return f"{scaled:.0f}{suffix}" if abs(scaled) >= 100 else f"{scaled:.1f}{suffix}"
    return f"{value:.0f}"


def _bytes(value: float) -> str:
    for scale, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if abs(value) >= scale:
            return f"{value / scale:.1f} {suffix}"
    return f"{value:.0f} B"


def _kid(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 1 else f"{value:.2f}"


@dataclass(frozen=True)
class Metric:
    name: str  # what --metrics takes
    header: str
    column: str  # the results column holding a cell's value
    format: Callable[[float], str]
    spread_column: str | None = None  # a cell's own ± (IS splits, KID subsets)
    with_spread: bool = False  # show mean ± std
    saved: bool = False  # show the share saved against the teacher
    bold_closest: bool = False  # bold the value closest to the teacher's


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("layers", "Layers", "layers", "{:.0f}".format),
        Metric("params", "Params", "params", format_count, saved=True),
        Metric("mult_adds", "Mult-Adds", "mult_adds", format_count, saved=True),
        Metric("is", "IS", "is_mean", "{:.2f}".format, "is_std", True, bold_closest=True),
        Metric("fid", "FID", "fid", "{:.2f}".format, None, True, bold_closest=True),
        Metric("kid", "KID", "kid_mean", _kid, "kid_std", True, bold_closest=True),
        # the paper's IS ± (over 10 splits of the samples), as a column of its own
        Metric("is_split_std", "IS std (splits)", "is_std", "{:.2f}".format),
        Metric("images_per_s", "Images/s", "images_per_s", "{:,.0f}".format),
        Metric("latency_ms", "Latency (ms)", "latency_ms", "{:.2f}".format),
        Metric("checkpoint_bytes", "Checkpoint", "checkpoint_bytes", _bytes),
        Metric("train_seconds", "Train (s)", "train_seconds", "{:,.0f}".format),
        Metric("eval_seconds", "Eval (s)", "eval_seconds", "{:,.0f}".format),
    )
}
DEFAULT_METRICS = ("layers", "params", "mult_adds", "is", "fid")
NUMERIC_COLUMNS = [c for c in RESULT_COLUMNS if c not in TEXT_COLUMNS and c != "collapsed"]


def parse_metrics(metrics: str | Sequence[str] | None) -> list[Metric]:
    """``"fid,is"`` or ``["fid", "is"]`` -> metrics in that order; None -> the paper's columns."""
    if metrics is None:
        names = list(DEFAULT_METRICS)
    else:
        items = [metrics] if isinstance(metrics, str) else list(metrics)
        names = [name.strip() for item in items for name in item.split(",") if name.strip()]
        if not names:
            raise UsageError(f"no metric given; known: {', '.join(sorted(METRICS))}")
    chosen: list[Metric] = []
    for name in names:
        if name not in METRICS:
            raise unknown_name_error("metric", name, METRICS)
        if METRICS[name] not in chosen:
            chosen.append(METRICS[name])
    return chosen


def method_sort_key(method: str) -> tuple[bool, float, str]:
    """Methods by their ``table_order`` (:class:`akdgbench.Method`), then the rest alphabetically.

    A method no loaded plugin registers (a row of a plugin not installed here) is one of
    the rest.
    """
    from akdgbench.plugins import get_registry

    registry = get_registry("method")
    base = method.split(":", 1)[0]
    order = getattr(registry.get(base), "table_order", None) if base in registry else None
    return (order is None, 0.0 if order is None else float(order), method)


def describe_recipe(settings: dict[str, Any]) -> str:
    """A run's training recipe in words, from its config: what a table's caption states.

    Keys the config leaves unset read "family default" (the student architecture's);
    a config without recipe keys (an old or hand-made run) gives "".
    """
    if "loss" not in settings:
        return ""

    def value(key: str, text: str) -> str:
        return f"{key} family default" if settings.get(key) is None else text

    betas = settings.get("betas") or ()
    ema = settings.get("ema") or 0
    parts = [
        value("loss", f"{settings.get('loss')} loss"),
        value("lr", f"Adam lr {settings.get('lr')}"),
        value("betas", f"betas ({', '.join(f'{beta:g}' for beta in betas)})"),
        value("n_dis", f"n_dis {settings.get('n_dis')}"),
        value("lr_decay", f"lr decay {settings.get('lr_decay')}"),
        value("batch_size", f"batch {settings.get('batch_size')}"),
        f"EMA {ema:g}" if ema else "no EMA",
    ]
    if settings.get("steps") and settings.get("teacher_steps"):
        families = ", ".join(f"{family} {steps:,}"
                             for family, steps in (settings.get("student_steps") or {}).items())
        parts.append(f"{settings['steps']:,} student{f' ({families})' if families else ''} / "
                     f"{settings['teacher_steps']:,} teacher steps")
    if settings.get("precision"):
        parts.append(str(settings["precision"]))
    return ", ".join(parts)


def results_frame(rows: list[dict[str, Any]] | pandas.DataFrame) -> pandas.DataFrame:
    frame = pandas.DataFrame(rows).copy()
    for column in RESULT_COLUMNS:
        if column not in frame.columns:
            frame[column] = None
    for column in NUMERIC_COLUMNS:
        frame[column] = pandas.to_numeric(frame[column], errors="coerce")
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].map(lambda v: "" if missing(v) else str(v))
    frame["collapsed"] = frame["collapsed"].map(_flag).astype(object)
    frame["kind"] = [row_kind({"kind": kind, "method": method})
                     for kind, method in zip(frame["kind"], frame["method"], strict=True)]
    return frame


def _flag(value: Any) -> bool | None:
    """True/False from JSON or CSV (``True``, ``false``, 1); None when not judged."""
    if missing(value) or value == "":
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def budget_suffix(steps: Any) -> str:
    """`` @ 12,000 steps``, which tells rows of one model apart by budget; "" if unknown."""
    return "" if missing(steps) else f" @ {steps:,.0f} steps"


def finished_cells(frame: pandas.DataFrame) -> pandas.DataFrame:
    return frame[(frame["status"] == DONE) & (frame["kind"] != REAL)]


def unfinished_summary(frame: pandas.DataFrame) -> str:
    """`` (2 failed, 1 skipped)`` for the cells that did not finish; empty when none."""
    if frame.empty:
        return ""
    counts = frame.loc[frame["status"] != DONE, "status"].replace("", UNFINISHED).value_counts()
    return f" ({', '.join(f'{n} {status}' for status, n in counts.items())})" if len(counts) else ""
