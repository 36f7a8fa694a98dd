"""Expands a grid into cells and runs them through an executor, resumably.

A *cell* is one (data set, teacher, student architecture, method, seed). Two
kinds of pseudo-cell give the table its reference rows: the teacher's own
row (method ``teacher``) and the real data's row (method ``real``). Each cell
lives in its own directory of the run directory, checkpoints there, and ends
as one row (``row.json``) that the results store collects. Rerunning the same
command skips finished cells and resumes interrupted ones.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from akdgbench import defaults
from akdgbench.collapse import is_collapsed
from akdgbench.errors import UsageError
from akdgbench.plugins import PluginSelection, load_selection, loaded_plugins, pm
from akdgbench.results import REAL_METHOD, TEACHER_METHOD
from akdgbench.run_settings import MEANING_KEYS
from akdgbench.specs import parse_spec
from akdgbench.training_settings import autocast_factory, resolve_device

#: bumped when a run directory written by an older akdgbench can no longer be resumed
RUN_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Cell:
    dataset: str
    teacher: str
    arch: str
    method: str
    seed: int

    @property
    def cell_id(self) -> str:
        parts = [
            self.dataset,
            f"t-{self.teacher}" if self.teacher else "",
            f"s-{self.arch}" if self.arch else "",
            self.method,
            f"seed{self.seed}",
        ]
        return "__".join(_slug(part) for part in parts if part)

    @property
    def is_reference(self) -> bool:
        return self.method in (TEACHER_METHOD, REAL_METHOD)

    def label(self) -> str:
        if self.method == REAL_METHOD:
            return f"real {self.dataset}"
        if self.method == TEACHER_METHOD:
            return f"teacher {self.teacher} on {self.dataset}"
        return f"{self.method} {self.arch} <- {self.teacher} on {self.dataset}, seed {self.seed}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9=.+-]+", "-", text).strip("-")


@dataclass(frozen=True)
class CellJob:
    """What an executor ships to wherever a cell runs: picklable, self-contained."""

    run_dir: str
    cell: Cell
    #: the plugins of the process that made the job, loaded again wherever the cell runs
    plugins: PluginSelection = field(default_factory=loaded_plugins)
    #: per-step progress bars (off when cells run side by side and would garble each other)
    progress: bool = True


def expand_grid(settings: dict[str, Any]) -> list[Cell]:
    """The reference rows first (real data, then teachers), then every student cell."""
    cells: list[Cell] = []
    teacher_seed = int(settings["teacher_seed"])
    for dataset in settings["dataset"]:
        if settings["eval_real"]:
            cells.append(Cell(dataset, "", "", REAL_METHOD, 0))
        needs_teacher = any(_method_needs_teacher(m) for m in settings["methods"])
        teacher_seeds = settings["seeds"] if settings.get("teacher_per_seed") else [teacher_seed]
        for teacher in settings["teacher"] if needs_teacher or settings["eval_teacher"] else []:
            for seed in teacher_seeds:
                cells.append(Cell(dataset, teacher, teacher, TEACHER_METHOD, int(seed)))
        for teacher in settings["teacher"]:
            for arch in settings["arch"]:
                for method in settings["methods"]:
                    for seed in settings["seeds"]:
                        cells.append(Cell(dataset, teacher, arch, method, int(seed)))
    if not any(not cell.is_reference for cell in cells):
        raise UsageError(
            "the grid is empty: give at least one dataset, teacher, arch, method and seed"
        )
    return cells


def _method_needs_teacher(method_spec: str) -> bool:
    from akdgbench.plugins import get

    return bool(get("method", parse_spec(method_spec).name).needs_teacher)


# ----------------------------------------------------------------------------- one cell


def execute_cell(job: CellJob) -> dict[str, Any]:
    """Train (or resume) and evaluate one cell. Returns its row; a failing cell is a row too."""
    from akdgbench.hardware import resolve_fast_paths
    from akdgbench.results import RunStore

    store = RunStore(job.run_dir)
    settings = store.read_config()["settings"]
    if settings["precision"] == "auto" or settings["channels_last"] == "auto":
        settings, _ = resolve_fast_paths(settings)  # a remote executor: decided where it runs
    if not job.progress:
        settings = {**settings, "quiet": True}
    cell = job.cell
    cell_dir = store.cell_dir(cell.cell_id)
    cell_dir.mkdir(parents=True, exist_ok=True)
    row = _cell_row(cell, settings)
    try:
        load_selection(job.plugins)
    except UsageError as exc:  # e.g. the plugins directory is not on this machine
        row.update(status="failed", error=str(exc))
        store.write_cell_row(cell.cell_id, row)
        return row
    pm.hook.on_cell_start(cell=cell, cell_dir=cell_dir)
    try:
        row.update(_run_cell(cell, cell_dir, settings, Path(job.run_dir)))
    except KeyboardInterrupt:
        raise
    except UsageError as exc:
        row.update(status="failed", error=str(exc))
    except Exception as exc:  # a broken cell must not take the grid down
        (cell_dir / "error.txt").write_text(traceback.format_exc())
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
    store.write_cell_row(cell.cell_id, row)
    pm.hook.on_cell_end(cell=cell, row=row)
    return row


def _cell_row(cell: Cell, settings: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "dataset": cell.dataset,
        "teacher": cell.teacher,
        "arch": cell.arch,
        "method": cell.method,
        "seed": cell.seed,
        "steps": settings["teacher_steps"]
        if cell.method == TEACHER_METHOD
        else (None if cell.method == REAL_METHOD else settings["steps"]),
        **fields,
    }


def _run_cell(
    cell: Cell, cell_dir: Path, settings: dict[str, Any], run_dir: Path
) -> dict[str, Any]:
    from akdgbench.dataset import make_dataset

    dataset = make_dataset(cell.dataset, settings["data_root"] or defaults.data_root())
    if cell.method == REAL_METHOD:
        return _evaluate_real_row(dataset, settings, run_dir)
    teacher = None
    if cell.method == TEACHER_METHOD or _method_needs_teacher(cell.method):
        teacher = _teacher_for(cell, dataset, settings, run_dir)
    if cell.method == TEACHER_METHOD:
        return {"status": "done",
                **_evaluate_row(teacher.generator, dataset, settings, run_dir, cell_dir)}
    return _train_and_evaluate_student(cell, cell_dir, dataset, teacher, settings, run_dir)


def train_settings(settings: dict[str, Any], *, steps: int, seed: int):
    from akdgbench.engine import TrainSettings

    return TrainSettings(
        steps=steps,
        seed=seed,
        batch_size=settings["batch_size"],
        loss=settings["loss"],
        lr=settings["lr"],
        betas=tuple(settings["betas"]) if settings.get("betas") else None,
        n_dis=settings["n_dis"],
        lr_decay=settings["lr_decay"],
        precision=settings["precision"],
        compile=settings["compile"],
        channels_last=settings["channels_last"],
        ema=settings["ema"],
        device=settings["device"],
        checkpoint_every=settings["checkpoint_every"],
        log_every=settings["log_every"],
    )


def effective_arch_spec(spec: str, presets: dict[str, str]) -> str:
    """Applies a suite's per-family presets (``{"dcgan": "width=0.25"}``) under the spec."""
    parsed = parse_spec(spec)
    preset = presets.get(parsed.name)
    if not preset:
        return spec
    options = dict(parse_spec(f"{parsed.name}:{preset}").options)
    options.update(parsed.options)
    return ":".join([parsed.name, *(f"{k}={v}" for k, v in options.items())])


def _teacher_for(cell: Cell, dataset, settings: dict[str, Any], run_dir: Path):
    from akdgbench.architecture import make_architecture
    from akdgbench.teachers import get_teacher

    teacher_arch = make_architecture(
        effective_arch_spec(cell.teacher, settings["teacher_presets"]), role="teacher"
    )
    return get_teacher(
        dataset=dataset,
        teacher_arch=teacher_arch,
        steps=settings["teacher_steps"],
        settings=train_settings(
            settings,
            steps=settings["teacher_steps"],
            # the teacher cell's seed is teacher_seed unless there is one teacher per seed
            seed=cell.seed if settings.get("teacher_per_seed") else settings["teacher_seed"],
        ),
        cache_dir=run_dir / "teachers",
        checkpoint=settings["teacher_checkpoint"],
        progress=not settings["quiet"],
    )


def _train_and_evaluate_student(cell, cell_dir, dataset, teacher, settings, run_dir):
    from akdgbench.architecture import make_architecture
    from akdgbench.engine import train
    from akdgbench.method import make_method

    student_arch = make_architecture(
        effective_arch_spec(cell.arch, settings["student_presets"]), role="student"
    )
    teacher_arch = make_architecture(
        effective_arch_spec(cell.teacher, settings["teacher_presets"]), role="teacher"
    )
    method = make_method(cell.method)
    on_eval = _curve_evaluator(dataset, settings, run_dir) if settings["eval_every"] else None
    outcome = train(
        dataset=dataset,
        student_arch=student_arch,
        method=method,
        settings=train_settings(settings, steps=settings["steps"], seed=cell.seed),
        out_dir=cell_dir,
        teacher=teacher.generator if method.needs_teacher else None,
        teacher_arch=teacher_arch if method.needs_teacher else None,
        teacher_discriminator=(teacher.require_discriminator(method.spec)
                               if method.needs_teacher_discriminator else None),
        progress=not settings["quiet"],
        cell=cell,
        eval_every=settings["eval_every"],
        on_eval=on_eval,
    )
    row: dict[str, Any] = {"train_seconds": round(outcome.train_seconds, 2)}
    if outcome.status != "done":
        row.update(status=outcome.status, error=outcome.error)
        return row
    row.update(
        status="done", **_evaluate_row(outcome.generator, dataset, settings, run_dir, cell_dir)
    )
    return row


def _eval_kwargs(dataset, settings: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    return {
        "feature_extractor": settings["feature_extractor"],
        "batch_size": settings["eval_batch_size"],
        "device": resolve_device(settings["device"]),
        "cache_dir": run_dir / "fidelity_cache",
        "inception_weights": settings["inception_weights"],
    }


def _evaluate_row(generator, dataset, settings, run_dir: Path, cell_dir: Path) -> dict[str, Any]:
    from akdgbench.evaluate import evaluate_quality, measure_efficiency

    started = time.perf_counter()
    samples = settings["eval_samples"] or dataset.default_eval_samples
    quality = evaluate_quality(
        generator,
        dataset,
        num_samples=samples,
        seed=settings["eval_seed"],
        metrics=tuple(settings["metrics"]),
        progress=not settings["quiet"],
        **_eval_kwargs(dataset, settings, run_dir),
    )
    efficiency = measure_efficiency(
        generator,
        resolution=dataset.resolution,
        channels=dataset.channels,
        device=resolve_device(settings["device"]),
    )
    real_is = _real_is(dataset, settings, run_dir) if "is_mean" in quality else None
    return {
        **quality,
        **efficiency,
        "collapsed": is_collapsed(quality.get("is_mean"), real_is),
        "eval_seconds": round(time.perf_counter() - started, 2),
        "eval_samples": samples,
        "feature_extractor": quality.get("feature_extractor"),
    }


def _evaluate_real_row(dataset, settings, run_dir: Path) -> dict[str, Any]:
    from akdgbench.evaluate import evaluate_real

    started = time.perf_counter()
    quality = evaluate_real(dataset, **_eval_kwargs(dataset, settings, run_dir))
    return {"status": "done", **quality, "eval_seconds": round(time.perf_counter() - started, 2)}


def _real_is(dataset, settings, run_dir: Path) -> float | None:
    """The real data's IS, the yardstick of mode collapse (its features are cached)."""
    from akdgbench.evaluate import evaluate_real

    try:
        return evaluate_real(dataset, **_eval_kwargs(dataset, settings, run_dir))["is_mean"]
    except UsageError:  # too few reference images for IS: collapse is not judged
        return None


def curve_samples(dataset, settings: dict[str, Any]) -> int:
    """Samples per --eval-every score: by default the final table's, so the two compare."""
    return (
        settings.get("eval_every_samples")
        or settings["eval_samples"]
        or dataset.default_eval_samples
    )


def _curve_evaluator(dataset, settings, run_dir: Path):
    from akdgbench.evaluate import evaluate_quality

    def on_eval(step: int, generator) -> dict[str, Any]:
        metrics = evaluate_quality(
            generator,
            dataset,
            num_samples=curve_samples(dataset, settings),
            seed=settings["eval_seed"],
            metrics=("fid", "isc"),
            **_eval_kwargs(dataset, settings, run_dir),
        )
        scores = {key: metrics[key] for key in ("fid", "is_mean", "is_std") if key in metrics}
        return {**scores, "samples": curve_samples(dataset, settings)}  # in eval_log.csv

    return on_eval


# ----------------------------------------------------------------------------- the run directory


@contextmanager
def run_dir_lock(run_dir: Path) -> Iterator[None]:
    """One ``akdgbench run`` per run directory; the second names the holder."""
    lock = filelock.FileLock(str(run_dir / ".lock"))
    owner_file = run_dir / ".lock.owner"
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        owner = owner_file.read_text().strip() if owner_file.exists() else "another process"
        raise UsageError(
            f"run directory {run_dir} is in use by {owner}; wait for it or use another --out"
        ) from None
    try:
        owner_file.write_text(
            f"pid {os.getpid()} on {socket.gethostname()} "
            f"since {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        )
        yield
    finally:
        owner_file.unlink(missing_ok=True)
        lock.release()


def prepare_run_dir(out: str | None) -> Path:
    if out:
        run_dir = Path(out).expanduser()
        if run_dir.exists() and not run_dir.is_dir():
            raise UsageError(f"--out {run_dir} is a file, not a run directory")
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        run_dir = defaults.RESULTS_DIR / f"run-{stamp}"
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = defaults.RESULTS_DIR / f"run-{stamp}-{suffix}"
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def merge_config(store, settings: dict[str, Any], meaning_keys: tuple[str, ...]) -> dict[str, Any]:
    """Grows the grid of an existing run; refuses settings that would change finished cells."""
    grid_keys = ("dataset", "teacher", "arch", "methods", "seeds")
    if not store.config_path.exists():
        return settings
    previous = store.read_config()
    version = previous.get("format_version")
    if version != RUN_FORMAT_VERSION:
        raise UsageError(
            f"run directory {store.run_dir} was written by an incompatible akdgbench "
            f"(format {version}, this is {RUN_FORMAT_VERSION}); use a new --out"
        )
    old = previous["settings"]
    changed = [key for key in meaning_keys if old.get(key) != settings.get(key)]
    if changed:
        details = ", ".join(f"{key}: {old.get(key)!r} -> {settings.get(key)!r}" for key in changed)
        raise UsageError(
            f"run directory {store.run_dir} was made with other settings ({details}); "
            "rerun with the same settings or use a new --out"
        )
    merged = dict(settings)
    for key in grid_keys:
        merged[key] = list(dict.fromkeys([*old.get(key, []), *settings[key]]))
    return merged


def cells_to_run(
    cells: list[Cell], rows: dict[str, dict[str, Any]], rerun_failed: bool
) -> tuple[list[Cell], list[Cell]]:
    """(cells to run now, cells skipped because they already finished or failed)."""
    todo, skipped = [], []
    for cell in cells:
        status = rows.get(cell.cell_id, {}).get("status")
        if status in ("done", "skipped") or (status in ("failed", "diverged") and not rerun_failed):
            skipped.append(cell)
        else:
            todo.append(cell)
    return todo, skipped


def settings_snapshot(settings: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(settings, default=str))


# ----------------------------------------------------------------------------- the whole grid


@dataclass
class RunSummary:
    run_dir: Path
    done: int
    failed: int
    skipped: int
    table: str


def run_grid(settings: dict[str, Any], out: str | None = None, echo=print) -> RunSummary:
    """Runs every cell of the grid that has not finished; returns counts and the table."""
    from akdgbench.results import RunStore
    from akdgbench.tables import has_finished_cell, render_table, write_tables

    settings, machine = _fast_paths_here(settings)
    validate_cells(expand_grid(settings), settings)
    run_dir = prepare_run_dir(out)
    store = RunStore(run_dir)
    with run_dir_lock(run_dir):
        settings = merge_config(store, settings, MEANING_KEYS)
        store.write_config(
            {"format_version": RUN_FORMAT_VERSION, "settings": settings_snapshot(settings),
             "machine": machine}
        )
        cells = expand_grid(settings)
        for cell_id, reason in validate_cells(cells, settings).items():
            store.write_cell_row(
                cell_id,
                _cell_row(
                    next(c for c in cells if c.cell_id == cell_id),
                    settings,
                    status="skipped",
                    error=reason,
                ),
            )
        rows = {row["cell_id"]: row for row in store.collect()}
        todo, skipped = cells_to_run(cells, rows, settings["rerun_failed"])
        echo(f"run directory: {run_dir} ({len(todo)} to run, {len(skipped)} already finished)")
        executor = _make_executor(settings, run_dir)
        for line in _describe_machine(machine, executor):
            echo(line)
        done = failed = 0
        with _overall_progress(len(todo), settings["quiet"]) as bar:
            for wave in _waves(todo):
                side_by_side = min(getattr(executor, "jobs", 1), len(wave)) > 1
                jobs = [CellJob(str(run_dir), cell, progress=not side_by_side) for cell in wave]
                for job, row in executor.map(execute_cell, jobs):
                    store.collect()
                    ok = row.get("status") == "done"
                    done += ok
                    failed += not ok
                    bar.update(1)
                    if not ok:
                        bar.write(f"{row.get('status')}: {job.cell.label()}: {row.get('error')}")
        rows = store.collect()
        table = render_table(rows) if has_finished_cell(rows) else ""
        if table:
            write_tables(run_dir)
    return RunSummary(run_dir, done, failed, len(skipped), table)


def _make_executor(settings: dict[str, Any], run_dir: Path):
    from akdgbench.executor import make_executor
    from akdgbench.plugins import get
    from akdgbench.specs import parse_spec

    options = dict(settings["executor_options"])
    executor_cls = get("executor", parse_spec(settings["executor"]).name)
    if "folder" in executor_cls.options:  # job logs live with the run
        options.setdefault("folder", str(run_dir / "submitit"))
    if "jobs" in executor_cls.options:
        options.setdefault("jobs", _jobs(settings))
    return make_executor(settings["executor"], **options)


def _jobs(settings: dict[str, Any]) -> int:
    from akdgbench.hardware import default_jobs, detect

    if settings["jobs"] != "auto":
        return settings["jobs"]
    return default_jobs(resolve_device(settings["device"]), detect())


def _fast_paths_here(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Precision and memory format decided for this machine when cells run here.

    Remote executors keep ``auto``: each cell decides where it runs.
    """
    from akdgbench.hardware import resolve_fast_paths

    if not _make_executor(settings, Path(".")).in_process:
        return settings, None
    return resolve_fast_paths(settings)


def _describe_machine(machine: dict[str, Any] | None, executor) -> list[str]:
    from akdgbench.hardware import describe_fast_paths, detect

    lines = detect().describe()
    if machine:
        lines += describe_fast_paths(machine)
    jobs = getattr(executor, "jobs", None)
    if jobs:
        lines.append(f"jobs: {jobs} side by side" if jobs > 1 else "jobs: 1 (cells in turn)")
    return lines


def _waves(cells: list[Cell]) -> list[list[Cell]]:
    """Real-data rows, then teachers (students need them), then students; empty waves dropped.

    A wave of one cell runs in this process with all its threads.
    """
    waves = [
        [cell for cell in cells if cell.method == REAL_METHOD],
        [cell for cell in cells if cell.method == TEACHER_METHOD],
        [cell for cell in cells if not cell.is_reference],
    ]
    return [wave for wave in waves if wave]


@contextmanager
def _overall_progress(total: int, quiet: bool):
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc="cells",
        unit="cell",
        disable=quiet or total == 0,
        position=0,
        dynamic_ncols=True,
    )
    try:
        yield bar
    finally:
        bar.close()


def validate_cells(cells: list[Cell], settings: dict[str, Any]) -> dict[str, str]:
    """Fails before any training on bad names, options or data.

    Returns ``{cell_id: reason}`` for cells whose method cannot handle their
    teacher/student pair (LIT on unaligned stages) when the settings allow
    skipping them (``skip_incompatible``); otherwise such a pair is an error.
    """
    from akdgbench.architecture import make_architecture
    from akdgbench.dataset import make_dataset
    from akdgbench.engine import check_compatible
    from akdgbench.method import make_method
    from akdgbench.plugins import get_registry

    executor = _make_executor(settings, Path("."))
    if executor.in_process:  # remote executors check the device where the cells run
        autocast_factory(resolve_device(settings["device"]), settings["precision"])
    if settings["feature_extractor"] != "auto":
        get_registry("feature extractor").get(settings["feature_extractor"])
    datasets: dict[str, Any] = {}
    checkpoint_teachers: dict[tuple[str, str], Any] = {}
    verdicts: dict[tuple[str, str, str, str], str | None] = {}
    incompatible: dict[str, str] = {}
    for cell in cells:
        if cell.dataset not in datasets:  # fails now, not in every cell, when data is missing
            datasets[cell.dataset] = make_dataset(
                cell.dataset, settings["data_root"] or defaults.data_root()
            )
            _check_evaluation(datasets[cell.dataset], settings)
        dataset = datasets[cell.dataset]
        teacher_arch = (
            make_architecture(
                effective_arch_spec(cell.teacher, settings["teacher_presets"]), role="teacher"
            )
            if cell.teacher
            else None
        )
        _check_teacher_checkpoint(cell, dataset, teacher_arch, settings, checkpoint_teachers)
        if cell.is_reference:
            continue
        key = (cell.dataset, cell.teacher, cell.arch, cell.method)
        if key not in verdicts:
            verdicts[key] = None
            method = make_method(cell.method)
            student_arch = make_architecture(
                effective_arch_spec(cell.arch, settings["student_presets"]), role="student"
            )
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
                    if not settings["skip_incompatible"]:
                        raise
                    verdicts[key] = str(exc)
        if verdicts[key]:
            incompatible[cell.cell_id] = verdicts[key]
    return incompatible


def _check_teacher_checkpoint(cell: Cell, dataset, teacher_arch, settings: dict[str, Any],
                              loaded: dict[tuple[str, str], Any]) -> None:
    """``--teacher-checkpoint`` fits the teacher, and holds a discriminator for the methods
    that distil through it (``needs_teacher_discriminator``)."""
    from akdgbench.plugins import get

    if not settings["teacher_checkpoint"] or teacher_arch is None:
        return
    needs_discriminator = not cell.is_reference and bool(
        get("method", parse_spec(cell.method).name).needs_teacher_discriminator)
    if cell.method != TEACHER_METHOD and not needs_discriminator:
        return
    from akdgbench.teachers import load_teacher_checkpoint

    key = (cell.dataset, cell.teacher)
    if key not in loaded:
        loaded[key] = load_teacher_checkpoint(settings["teacher_checkpoint"], dataset, teacher_arch)
    if needs_discriminator:
        loaded[key].require_discriminator(cell.method)


def _check_evaluation(dataset, settings: dict[str, Any]) -> None:
    """The data, the metrics, the sample count and the extractor's weights, before training."""
    from akdgbench.builtin.extractors.inception import resolve_inception_weights
    from akdgbench.evaluate import (
        check_metrics,
        check_sample_counts,
        resolve_feature_extractor_name,
    )

    reference_count = len(dataset.reference_set())
    metrics = check_metrics(settings["metrics"])
    check_sample_counts(
        metrics, settings["eval_samples"] or dataset.default_eval_samples, reference_count
    )
    if settings["eval_every"]:
        check_sample_counts(("fid", "isc"), curve_samples(dataset, settings), reference_count)
    if resolve_feature_extractor_name(settings["feature_extractor"], dataset).startswith(
        "inception"
    ):
        resolve_inception_weights(settings["inception_weights"])
