"""Runs the cells of a grid through an executor, resumably.

Each cell (:mod:`akdgbench.grid`) lives in its own directory of the run
directory (:mod:`akdgbench.run_dir`), checkpoints there, and ends as one row
(``row.json``) that the results store collects. Rerunning the same command
skips finished cells and resumes interrupted ones. Reference cells come first:
the real data's row, then the teachers (the students need them), then the
students.
"""

from __future__ import annotations

import shutil
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from akdgbench import defaults
from akdgbench.cell_evaluation import curve_evaluator, evaluate_real_row, evaluate_row
from akdgbench.config import RunConfig
from akdgbench.errors import UsageError
from akdgbench.grid import (
    Cell,
    expand_grid,
    method_needs_teacher,
    resolved_configs,
    validate_cells,
)
from akdgbench.plugins import (
    PluginSelection,
    load_selection,
    loaded_plugins,
    pm,
    train_step_reporter,
)
from akdgbench.results import DONE, FAILED, REAL, SKIPPED, TEACHER
from akdgbench.run_dir import (
    SUPERSEDED_DIR,
    cells_to_run,
    changed_configs,
    is_shorter_budget,
    merge_config,
    prepare_run_dir,
    run_dir_lock,
    set_aside,
    write_run_config,
)
from akdgbench.run_settings import MEANING_KEYS
from akdgbench.training_log import EVAL_LOG_NAME
from akdgbench.training_settings import resolve_device


@dataclass(frozen=True)
class CellJob:
    """What an executor ships to wherever a cell runs: picklable, self-contained."""

    run_dir: str
    cell: Cell
    #: the plugins of the process that made the job, loaded again wherever the cell runs
    plugins: PluginSelection = field(default_factory=loaded_plugins)
    #: per-step progress bars (off when cells run side by side and would garble each other)
    progress: bool = True


# ----------------------------------------------------------------------------- one cell


def execute_cell(job: CellJob) -> dict[str, Any]:
    """Train (or resume) and evaluate one cell. Returns its row; a failing cell is a row too."""
    from akdgbench.results import RunStore

    store = RunStore(job.run_dir)
    config = RunConfig.from_dict(store.read_config()["settings"])
    if config.precision == "auto" or config.channels_last == "auto":
        config, _ = _decide_fast_paths(config)  # a remote executor: decided where it runs
    if not job.progress:
        config = config.replace(quiet=True)
    cell = job.cell
    cell_dir = store.cell_dir(cell.cell_id)
    row = _cell_row(cell, config)
    try:
        load_selection(job.plugins)
    except UsageError as exc:  # e.g. the plugins directory is not on this machine
        row.update(status=FAILED, error=str(exc))
        store.write_cell_row(cell.cell_id, row)
        return row
    cell_dir.mkdir(parents=True, exist_ok=True)
    pm.hook.on_cell_start(cell=cell, cell_dir=cell_dir)
    try:
        row.update(_run_cell(cell, cell_dir, config, Path(job.run_dir)))
    except KeyboardInterrupt:
        raise
    except UsageError as exc:
        row.update(status=FAILED, error=str(exc))
    except Exception as exc:  # a broken cell must not take the grid down
        (cell_dir / "error.txt").write_text(traceback.format_exc())
        row.update(status=FAILED, error=f"{type(exc).__name__}: {exc}")
    store.write_cell_row(cell.cell_id, row)
    pm.hook.on_cell_end(cell=cell, row=row)
    return row


def _set_aside_a_run_that_cannot_grow(cell: Cell, store, config: RunConfig) -> None:
    """A student finished at a shorter budget (the caller checks that) continues from its
    checkpoint when nothing in its training follows the budget; otherwise it retrains, and
    its finished run moves to ``superseded/<cell_id>@<steps>steps`` rather than being lost."""
    from akdgbench.engine import can_extend
    from akdgbench.plugins import make

    previous = store.read_cell_row(cell.cell_id)
    if previous is None:  # a row from elsewhere, without a folder here to move
        return
    settings = config.train_settings(steps=config.steps_for(cell.arch), seed=cell.seed)
    recipe = settings.recipe(config.architecture(cell.arch, "student"))
    if not can_extend(make("method", cell.method), recipe):
        set_aside(store, cell.cell_id, previous["steps"])


def _cell_row(cell: Cell, config: RunConfig, **fields: Any) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "dataset": cell.dataset,
        "teacher": cell.teacher,
        "arch": cell.arch,
        "method": cell.method,
        "kind": cell.kind,
        "seed": cell.seed,
        "steps": config.teacher_steps
        if cell.kind == TEACHER
        else (None if cell.kind == REAL else config.steps_for(cell.arch)),
        **fields,
    }


def _run_cell(
    cell: Cell, cell_dir: Path, config: RunConfig, run_dir: Path
) -> dict[str, Any]:
    from akdgbench.plugins import make

    dataset = make(
        "dataset", cell.dataset, data_root=config.data_root or defaults.data_root()
    )
    if cell.kind == REAL:
        return evaluate_real_row(dataset, config, run_dir)
    teacher = None
    if cell.kind == TEACHER or method_needs_teacher(cell.method):
        teacher = _teacher_for(cell, dataset, config, run_dir)
    if cell.kind == TEACHER:
        if teacher.eval_log is not None:  # its curve beside the students' (`akdgbench curves`)
            shutil.copyfile(teacher.eval_log, cell_dir / EVAL_LOG_NAME)
        return {"status": DONE, **evaluate_row(teacher.generator, dataset, config, run_dir)}
    return _train_and_evaluate_student(cell, cell_dir, dataset, teacher, config, run_dir)


def _teacher_for(cell: Cell, dataset, config: RunConfig, run_dir: Path):
    from akdgbench.teachers import get_teacher

    teacher_arch = config.architecture(cell.teacher, "teacher")
    return get_teacher(
        dataset=dataset,
        teacher_arch=teacher_arch,
        steps=config.teacher_steps,
        settings=config.train_settings(
            steps=config.teacher_steps,
            # the teacher cell's seed is teacher_seed unless there is one teacher per seed
            seed=cell.seed if config.teacher_per_seed else config.teacher_seed,
        ),
        cache_dir=run_dir / "teachers",
        checkpoint=config.teacher_checkpoint,
        progress=not config.quiet,
        eval_every=config.eval_every,
        on_eval=curve_evaluator(dataset, config, run_dir) if config.eval_every else None,
    )


def _train_and_evaluate_student(cell, cell_dir, dataset, teacher, config, run_dir):
    from akdgbench.engine import train
    from akdgbench.plugins import make

    student_arch = config.architecture(cell.arch, "student")
    teacher_arch = config.architecture(cell.teacher, "teacher")
    method = make("method", cell.method)
    on_eval = curve_evaluator(dataset, config, run_dir) if config.eval_every else None
    outcome = train(
        dataset=dataset,
        student_arch=student_arch,
        method=method,
        settings=config.train_settings(steps=config.steps_for(cell.arch), seed=cell.seed),
        out_dir=cell_dir,
        teacher=teacher.generator if method.needs_teacher else None,
        teacher_arch=teacher_arch if method.needs_teacher else None,
        teacher_discriminator=(teacher.require_discriminator(method.spec)
                               if method.needs_teacher_discriminator else None),
        progress=not config.quiet,
        on_log=train_step_reporter(cell),
        eval_every=config.eval_every,
        on_eval=on_eval,
    )
    row: dict[str, Any] = {"train_seconds": round(outcome.train_seconds, 2),
                           **resolved_configs(cell, config)}
    if outcome.status != DONE:
        row.update(status=outcome.status, error=outcome.error)
        return row
    row.update(status=DONE, **evaluate_row(outcome.generator, dataset, config, run_dir))
    return row


# ----------------------------------------------------------------------------- the whole grid


@dataclass
class RunSummary:
    run_dir: Path
    done: int
    failed: int
    skipped: int
    table: str


def requested_grid(config: RunConfig
                   ) -> tuple[RunConfig, dict | None, list[Cell], dict[str, str]]:
    """This command's config with the fast paths decided, the machine record, the cells it
    names, and ``{cell_id: reason}`` for those it skips as incompatible pairs; bad names,
    options and data refused here. (Growing a run directory cannot change the verdicts:
    it refuses other presets.)"""
    # made here also to refuse bad executor options before any work
    in_process = _make_executor(config, Path(".")).in_process
    config, machine = _decide_fast_paths(config) if in_process else (config, None)
    asked = expand_grid(config)
    return config, machine, asked, validate_cells(asked, config, in_process=in_process)


def run_grid(config: RunConfig, out: str | None = None, echo=print) -> RunSummary:
    """Runs the cells this command names that have not finished; returns counts and the
    table (of every cell in the run directory)."""
    from akdgbench.results import RunStore
    from akdgbench.tables import has_finished_cell, write_tables

    config, machine, asked, incompatible = requested_grid(config)
    run_dir = prepare_run_dir(out)
    store = RunStore(run_dir)
    with run_dir_lock(run_dir):
        config = RunConfig.from_dict(merge_config(store, config.to_dict(), MEANING_KEYS))
        write_run_config(store, config, machine)
        # skipped rows for this command's cells only: the directory's grid crosses every
        # command's names, and so holds pairs that nobody asked for (as --dry-run shows)
        for cell in asked:
            if reason := incompatible.get(cell.cell_id):
                store.write_cell_row(cell.cell_id,
                                     _cell_row(cell, config, status=SKIPPED, error=reason))
        rows = {row["cell_id"]: row for row in store.collect()}
        # the directory's grid is every command's; this one trains only its own cells
        todo, skipped = cells_to_run(asked, rows, config)
        changed = {cell: changes for cell in todo
                   if (changes := changed_configs(rows.get(cell.cell_id, {}), cell, config))}
        growing = [cell for cell in todo if cell not in changed
                   and is_shorter_budget(rows.get(cell.cell_id, {}), cell, config)]
        # before any cell runs: a worker moving a cell's folder while another cell's end
        # collects the rows would pull a row.json away from under the collector
        for cell in changed:
            set_aside(store, cell.cell_id, rows[cell.cell_id]["steps"], why="old-defaults")
        for cell in growing:
            _set_aside_a_run_that_cannot_grow(cell, store, config)
        echo(f"run directory: {run_dir} ({len(todo)} to run"
             + (f", {len(growing)} of them to a longer budget" if growing else "")
             + (f", {len(changed)} of them with changed defaults" if changed else "")
             + f", {len(skipped)} already finished)")
        for cell, changes in changed.items():
            echo(f"retraining {cell.label()}: {'; '.join(changes)} since it finished "
                 f"(its old run is kept in {SUPERSEDED_DIR}/)")
        executor = _make_executor(config, run_dir)
        for line in _describe_machine(machine, executor):
            echo(line)
        done = failed = 0
        with _overall_progress(len(todo), config.quiet) as bar:
            for wave in _waves(todo):
                side_by_side = min(getattr(executor, "jobs", 1), len(wave)) > 1
                jobs = [CellJob(str(run_dir), cell, progress=not side_by_side) for cell in wave]
                for job, row in executor.map(execute_cell, jobs):
                    store.collect()
                    ok = row.get("status") == DONE
                    done += ok
                    failed += not ok
                    bar.update(1)
                    bar.write(_outcome_line(job.cell, row))
        rows = store.collect()
        table = write_tables(run_dir)[0].read_text() if has_finished_cell(rows) else ""
    return RunSummary(run_dir, done, failed, len(skipped), table)


def _outcome_line(cell, row: dict[str, Any]) -> str:
    """One line per finished cell, so a run whose cells train side by side shows progress."""
    if row.get("status") != DONE:
        return f"{row.get('status')}: {cell.label()}: {row.get('error')}"
    scores = [f"{name} {row[key]:.2f}" for name, key in (("FID", "fid"), ("IS", "is_mean"))
              if isinstance(row.get(key), float)]
    seconds = row.get("train_seconds")
    collapsed = " (collapsed)" if row.get("collapsed") else ""
    return f"done: {cell.label()}: {', '.join(scores) or 'no scores'}{collapsed}" + (
        f", {seconds:.0f} s training" if seconds else "")


def _make_executor(config: RunConfig, run_dir: Path):
    from akdgbench.plugins import get, make
    from akdgbench.specs import parse_spec

    options = dict(config.executor_options)
    executor_cls = get("executor", parse_spec(config.executor).name)
    if "folder" in executor_cls.options:  # job logs live with the run
        options.setdefault("folder", str(run_dir / "submitit"))
    if "jobs" in executor_cls.options:
        options.setdefault("jobs", _jobs(config))
    return make("executor", config.executor, **options)


def _jobs(config: RunConfig) -> int:
    from akdgbench.hardware import default_jobs, detect

    if config.jobs != "auto":
        return config.jobs
    return default_jobs(resolve_device(config.device), detect())


def _decide_fast_paths(config: RunConfig) -> tuple[RunConfig, dict[str, Any]]:
    """The config with precision and memory format decided on this machine, and the record why.

    The planner decides when cells run in its process; with a remote executor the
    config keeps ``auto`` and each cell decides where it runs.
    """
    from akdgbench.hardware import resolve_fast_paths

    record = resolve_fast_paths(config.device, config.precision, config.channels_last)
    return config.replace(precision=record["precision"]["value"],
                            channels_last=record["channels_last"]["value"]), record


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
        [cell for cell in cells if cell.kind == REAL],
        [cell for cell in cells if cell.kind == TEACHER],
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
