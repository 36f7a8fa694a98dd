"""The run directory around its results store: the lock, its making, and its config.

One ``akdgbench run`` holds a run directory at a time (:func:`run_dir_lock`).
Rerunning into an existing one grows its grid (:func:`merge_config`) as long as
nothing that changes the meaning of finished cells differs but a longer student
budget; of the cells the command names, it runs those that have not finished at
today's budget and with today's defaults (:func:`cells_to_run`). A run directory
written by an akdgbench whose format this one cannot resume is refused by its
``format_version``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from akdgbench import defaults
from akdgbench.errors import UsageError
from akdgbench.grid import resolved_configs
from akdgbench.results import DIVERGED, DONE, FAILED, SKIPPED, RunStore
from akdgbench.run_settings import GRID_KEYS

if TYPE_CHECKING:
    from akdgbench.config import RunConfig
    from akdgbench.grid import Cell

#: the students' budgets: they may grow in a run directory (finished cells continue), not shrink
BUDGET_KEYS = ("steps", "student_steps")

#: where finished cells go when a longer budget or a changed default retrains them
SUPERSEDED_DIR = "superseded"

#: bumped when a run directory written by an older akdgbench can no longer be resumed
RUN_FORMAT_VERSION = 1


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
    """``--out``, made if missing; without it a new timestamped directory under results/."""
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


def merge_config(
    store: RunStore, settings: dict[str, Any], meaning_keys: tuple[str, ...]
) -> dict[str, Any]:
    """Grows the grid of an existing run; refuses settings that would change finished cells."""
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
    changed = [key for key in meaning_keys
               if key not in BUDGET_KEYS and old.get(key) != settings.get(key)]
    changed += _shrunk_budgets(old, settings)
    if changed:
        details = ", ".join(f"{key}: {old.get(key)!r} -> {settings.get(key)!r}" for key in changed)
        raise UsageError(
            f"run directory {store.run_dir} was made with other settings ({details}); "
            "rerun with the same settings (a budget may grow, not shrink) or use a new --out"
        )
    merged = dict(settings)
    for key in GRID_KEYS:
        merged[key] = list(dict.fromkeys([*old.get(key, []), *settings[key]]))
    return merged


def _shrunk_budgets(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The budget keys, when a student of the old grid would get fewer steps than before."""
    from akdgbench.config import RunConfig

    before, after = RunConfig.from_dict(old), RunConfig.from_dict(new)
    shrunk = any(after.steps_for(arch) < before.steps_for(arch) for arch in before.arch)
    return [key for key in BUDGET_KEYS if old.get(key) != new.get(key)] if shrunk else []


def write_run_config(
    store: RunStore, config: RunConfig, machine: dict[str, Any] | None
) -> None:
    store.write_config({"format_version": RUN_FORMAT_VERSION,
                        "settings": config.to_dict(), "machine": machine})


def cells_to_run(
    cells: list[Cell], rows: dict[str, dict[str, Any]], config: RunConfig
) -> tuple[list[Cell], list[Cell]]:
    """(cells to run now, cells skipped because they already finished or failed).

    A student that finished at a budget shorter than today's runs again, to the new one;
    one whose method or networks resolve differently today (a default changed) retrains.
    """
    todo, skipped = [], []
    for cell in cells:
        row = rows.get(cell.cell_id, {})
        status = row.get("status")
        if status == DONE and (is_shorter_budget(row, cell, config)
                               or changed_configs(row, cell, config)):
            todo.append(cell)
        elif status in (DONE, SKIPPED) or (status in (FAILED, DIVERGED)
                                           and not config.rerun_failed):
            skipped.append(cell)
        else:
            todo.append(cell)
    return todo, skipped


def is_shorter_budget(row: dict[str, Any], cell: Cell, config: RunConfig) -> bool:
    """The student's recorded row ended at fewer steps than today's budget for it."""
    steps = row.get("steps")
    return not cell.is_reference and isinstance(steps, int) and steps < config.steps_for(cell.arch)


def changed_configs(row: dict[str, Any], cell: Cell, config: RunConfig) -> list[str]:
    """What differs between a finished student's recorded method and networks and what
    their specs resolve to today, e.g. ``lit: d_init=fresh -> d_init=teacher``.

    Empty when nothing does, and for rows written before rows recorded them.
    """
    if cell.is_reference or row.get("status") != DONE:
        return []
    return [_option_changes(row[key], today)
            for key, today in resolved_configs(cell, config).items()
            if row.get(key) is not None and row[key] != today]


def _option_changes(before: str, after: str) -> str:
    old, new = before.split(":"), after.split(":")
    gone = [part for part in old[1:] if part not in new]
    came = [part for part in new[1:] if part not in old]
    if old[0] != new[0] or not (gone or came):
        return f"{before} -> {after}"
    return f"{new[0]}: {':'.join(gone) or '(none)'} -> {':'.join(came) or '(none)'}"


def set_aside(store: RunStore, cell_id: str, steps: int, why: str = "") -> Path:
    """Move a finished cell that will be retrained to ``superseded/`` (kept, not lost)."""
    name = f"{cell_id}@{steps}steps" + (f"-{why}" if why else "")
    target = store.run_dir / SUPERSEDED_DIR / name
    suffix = 1
    while target.exists():
        suffix += 1
        target = target.with_name(f"{name}-{suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    store.cell_dir(cell_id).rename(target)
    return target
