"""Figures of a run, drawn from its results rows and cell directories (matplotlib, Agg).

- ``fid_vs_params.png``: FID against generator parameters for every finished
  cell; a marker per method, a colour per student architecture, the teacher
  as a star. One panel per (dataset, teacher).
- ``fid_vs_images_per_s.png``: the same against generation speed.
- ``fid_over_steps.png``: FID during training from each cell's
  ``eval_log.csv`` (columns ``step``, ``fid``, ...), one panel per student
  architecture, a colour per method, one line per seed (dotted for a cell
  that did not finish); the teacher's final FID dashed. Written only when
  some cell has such a log.
- ``samples.png``: a montage of each cell's fixed-z ``samples.png``,
  labelled by architecture, method and seed.

A figure with nothing to show is not written. :func:`plot_run` draws them all
(by default into ``RUN_DIR/plots``).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import suppress
from pathlib import Path

import pandas
from matplotlib.figure import Figure
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from akdgbench.errors import UsageError
from akdgbench.results import (
    DONE,
    FILE_MODE,
    REAL,
    STUDENT,
    TEACHER,
    RunStore,
    open_run,
    select_methods,
)
from akdgbench.results_model import format_count, method_sort_key, missing, results_frame
from akdgbench.training_log import EVAL_LOG_NAME, read_eval_log

PLOTS_DIR = "plots"
SAMPLES_FILE = "samples.png"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
DPI = 120


def _save(figure: Figure, path: Path) -> Path:
    """Save through a temporary file so a reader never sees half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
    os.close(descriptor)
    try:
        figure.savefig(temporary, format="png", dpi=DPI)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return path


def _ordered(cells: pandas.DataFrame) -> pandas.DataFrame:
    """Teacher first, then architectures in order of appearance, methods in their table order."""
    arch_rank = {arch: i for i, arch in enumerate(cells["arch"].drop_duplicates())}
    keys = [
        (row.kind != TEACHER, arch_rank[row.arch], method_sort_key(row.method),
         -math.inf if missing(row.seed) else row.seed)
        for row in cells.itertuples()
    ]
    order = sorted(range(len(cells)), key=keys.__getitem__)
    return cells.iloc[order]


def _sections(frame: pandas.DataFrame) -> Iterator[tuple[str, pandas.DataFrame]]:
    """(title, cells) per (dataset, teacher); a teacher row's teacher is its own arch."""
    measured = frame[frame["kind"] != REAL].copy()
    is_teacher = measured["kind"] == TEACHER
    measured["section_teacher"] = measured["teacher"].where(
        ~is_teacher | (measured["teacher"] != ""), measured["arch"]
    )
    for (dataset, teacher), cells in measured.groupby(["dataset", "section_teacher"],
                                                      sort=False):
        yield f"{dataset}, teacher {teacher}", _ordered(cells)


def _styles(frame: pandas.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """A marker per method and a colour per student architecture, stable across panels."""
    students = frame[frame["kind"] == STUDENT]
    methods = sorted(students["method"].unique(), key=method_sort_key)
    archs = list(students["arch"].drop_duplicates())
    markers = {method: MARKERS[i % len(MARKERS)] for i, method in enumerate(methods)}
    colours = {arch: f"C{i % 10}" for i, arch in enumerate(archs)}
    return markers, colours


def _legend(axes, markers: dict[str, str], colours: dict[str, str]) -> None:
    handles = [Line2D([], [], color="grey", marker=m, linestyle="", label=method)
               for method, m in markers.items()]
    handles += [Line2D([], [], color=c, marker="s", linestyle="", label=arch)
                for arch, c in colours.items()]
    handles.append(Line2D([], [], color="black", marker="*", markersize=12, linestyle="",
                          label="teacher"))
    axes.legend(handles=handles, fontsize="small", loc="best")


def _use_log(values: pandas.Series, spread: float = 20) -> bool:
    positive = values[values > 0]
    return (len(positive) == len(values) and len(values) > 1
            and positive.max() > spread * positive.min())


def _scatter(frame: pandas.DataFrame, x_column: str, x_label: str, path: Path) -> Path | None:
    done = frame[(frame["status"] == DONE) & frame["fid"].notna() & frame[x_column].notna()]
    sections = [(title, cells) for title, cells in _sections(done) if len(cells)]
    if not sections:
        return None
    markers, colours = _styles(done)
    figure = Figure(figsize=(6.4 * len(sections), 4.8), layout="constrained")
    for axes, (title, cells) in zip(figure.subplots(1, len(sections), squeeze=False)[0],
                                    sections, strict=True):
        for row in cells.itertuples():
            if row.kind == TEACHER:
                axes.scatter(getattr(row, x_column), row.fid, marker="*", s=220, color="black",
                             zorder=3)
            else:
                axes.scatter(getattr(row, x_column), row.fid, marker=markers[row.method],
                             color=colours[row.arch], s=50, alpha=0.85, edgecolors="white")
        if _use_log(cells[x_column]):
            axes.set_xscale("log")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: format_count(value)))
        if _use_log(cells["fid"]):
            axes.set_yscale("log")
        axes.set(title=title, xlabel=x_label, ylabel="FID (lower is better)")
        axes.grid(alpha=0.3)
        _legend(axes, markers, colours)
    return _save(figure, path)


def _steps_curves(frame: pandas.DataFrame, store: RunStore, path: Path) -> Path | None:
    curves = []
    for title, cells in _sections(frame):
        for row in cells.itertuples():
            log_path = store.cell_dir(row.cell_id) / EVAL_LOG_NAME
            if row.kind != TEACHER and log_path.is_file():
                curves.append((title, row, read_eval_log(log_path)))
    if not curves:
        return None
    panels = list(dict.fromkeys((title, row.arch) for title, row, _ in curves))
    markers, _ = _styles(frame)
    colours = {method: f"C{i % 10}" for i, method in enumerate(markers)}
    figure = Figure(figsize=(5.6 * len(panels), 4.4), layout="constrained")
    axes_of = dict(zip(panels, figure.subplots(1, len(panels), squeeze=False)[0], strict=True))
    labelled: set[tuple[str, str, str]] = set()
    for title, row, log in curves:
        axes = axes_of[(title, row.arch)]
        key = (title, row.arch, row.method)
        axes.plot(log["step"], log["fid"], color=colours[row.method],
                  linestyle="-" if row.status == DONE else ":", marker=".",
                  label=None if key in labelled else row.method)
        labelled.add(key)
        if row.status != DONE and (title, row.arch, "") not in labelled:
            axes.plot([], [], color="grey", linestyle=":", label="did not finish")
            labelled.add((title, row.arch, ""))
    teachers = frame[(frame["kind"] == TEACHER) & (frame["status"] == DONE)
                     & frame["fid"].notna()]
    for (title, arch), axes in axes_of.items():
        teacher = [cells for t, cells in _sections(teachers) if t == title]
        if teacher:
            _teacher_line(axes, teacher[0], store)
        if _use_log(pandas.concat([log["fid"] for t, row, log in curves
                                   if (t, row.arch) == (title, arch)]), spread=5):
            # a curve falls steeply at first; on a linear axis its last third, where
            # convergence is judged, would be a flat line at the bottom
            axes.set_yscale("log")
        axes.set(title=f"{title}\nstudent {arch}", xlabel="generator step", ylabel="FID")
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return _save(figure, path)


def _teacher_line(axes, teachers: pandas.DataFrame, store: RunStore) -> None:
    """The teacher's own FID curve where it was scored while training, else its final FID."""
    log_path = store.cell_dir(teachers["cell_id"].iloc[0]) / EVAL_LOG_NAME
    if log_path.is_file():
        log = read_eval_log(log_path)
        axes.plot(log["step"], log["fid"], color="black", linestyle="--", label="teacher")
    else:
        axes.axhline(teachers["fid"].mean(), color="black", linestyle="--", label="teacher")


def _montage(frame: pandas.DataFrame, store: RunStore, path: Path) -> Path | None:
    tiles = []
    for _, cells in _sections(frame):
        for row in cells.itertuples():
            sample_path = store.cell_dir(row.cell_id) / SAMPLES_FILE
            if sample_path.is_file():
                tiles.append((row, sample_path))
    if not tiles:
        return None
    columns = min(len(tiles), max(1, math.ceil(math.sqrt(len(tiles)))))
    rows = math.ceil(len(tiles) / columns)
    figure = Figure(figsize=(2.6 * columns, 2.9 * rows), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes in grid:
        axes.axis("off")
    for axes, (row, sample_path) in zip(grid, tiles, strict=False):
        image = imread(sample_path)
        axes.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        if row.kind == TEACHER:
            label = f"teacher\n{row.arch}"
        else:
            seed = "" if missing(row.seed) else f", seed {row.seed:g}"
            label = f"{row.arch}\n{row.method}{seed}" + ("" if row.status == DONE
                                                         else f" ({row.status})")
        axes.set_title(label, fontsize="small")
    return _save(figure, path)


def plot_run(run_dir: str | Path, out_dir: str | Path | None = None,
             methods: Sequence[str] | None = None) -> list[Path]:
    """Write the figures of a run (``methods``: only their students beside the references);
    returns their paths. UsageError when nothing can be drawn."""
    store = open_run(run_dir)
    rows = select_methods(store.latest_rows(), methods, str(run_dir))
    frame = results_frame(rows) if rows else None
    if frame is None or frame[(frame["status"] == DONE)
                              & (frame["kind"] != REAL)].empty:
        raise UsageError(f"no finished cell in {run_dir} yet: nothing to plot")
    out = Path(out_dir) if out_dir is not None else store.run_dir / PLOTS_DIR
    written = [
        _scatter(frame, "params", "generator parameters", out / "fid_vs_params.png"),
        _scatter(frame, "images_per_s", "images per second (generation)",
                 out / "fid_vs_images_per_s.png"),
        _steps_curves(frame, store, out / "fid_over_steps.png"),
        _montage(frame, store, out / "samples.png"),
    ]
    paths = [path for path in written if path is not None]
    if not paths:
        raise UsageError(f"nothing to plot in {run_dir}: no FID, no eval_log.csv, no samples.png")
    return paths
