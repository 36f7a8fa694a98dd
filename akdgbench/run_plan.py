"""``akdgbench run --dry-run``: what a command would train, read from its run directory.

Nothing is trained or written: no run directory is made, no config merged into one.
The same rules as a real run decide (:mod:`akdgbench.run_dir`), so a refused change of
recipe is refused here too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from akdgbench.config import RunConfig
from akdgbench.grid import Cell
from akdgbench.results import SKIPPED, RunStore
from akdgbench.run_dir import (
    cells_to_run,
    changed_configs,
    is_shorter_budget,
    merge_config,
)
from akdgbench.run_settings import MEANING_KEYS
from akdgbench.runner import requested_grid
from akdgbench.training_log import TRAIN_LOG_NAME


def plan_grid(config: RunConfig, out: str | None) -> list[str]:
    """One line for the directory and the counts, then one per cell to run, saying how."""
    config, _, asked, incompatible = requested_grid(config)
    run_dir = Path(out).expanduser() if out else None
    store = RunStore(run_dir) if run_dir is not None and run_dir.is_dir() else None
    rows: dict[str, dict[str, Any]] = {}
    if store is not None:
        config = RunConfig.from_dict(merge_config(store, config.to_dict(), MEANING_KEYS))
        rows = {row["cell_id"]: row for row in store.latest_rows()}
    for cell_id in incompatible:
        rows[cell_id] = {"status": SKIPPED}  # what a run would record for it
    todo, skipped = cells_to_run(asked, rows, config)
    where = (run_dir if store is not None
             else f"{run_dir} (new)" if run_dir else "a new run directory")
    lines = [f"dry run, nothing trained: {where}: {len(todo)} to run, "
             f"{len(skipped)} already finished"]
    for cell in todo:
        how = _how(cell, rows.get(cell.cell_id, {}), config, store)
        lines.append(f"  {cell.label()}" + (f" ({how})" if how else ""))
    return lines


def _how(cell: Cell, row: dict[str, Any], config: RunConfig, store: RunStore | None) -> str:
    if changes := changed_configs(row, cell, config):
        return f"retrains: {'; '.join(changes)}"
    if is_shorter_budget(row, cell, config):
        return f"to a longer budget: {row['steps']:,} -> {config.steps_for(cell.arch):,} steps"
    if row.get("status"):
        return f"{row['status']} before; rerun by --rerun-failed"
    logged = _last_logged_step(store.cell_dir(cell.cell_id) / TRAIN_LOG_NAME) if store else None
    if logged:
        return f"started, logged to step {logged:,}; continues from its last checkpoint"
    return ""


def _last_logged_step(log: Path) -> int | None:
    lines = log.read_text().splitlines() if log.exists() else []
    try:
        return int(lines[-1].split(",")[0]) if len(lines) > 1 else None
    except ValueError:
        return None
