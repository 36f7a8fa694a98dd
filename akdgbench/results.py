"""The results store of a run directory.

A run directory holds::

    config.json          everything needed to rerun, plus package versions and the host
    results.jsonl        one JSON object per cell (types kept; the store reads this one)
    results.csv          the same rows as CSV, columns in ``RESULT_COLUMNS`` order
    cells/<cell_id>/     one directory per cell: row.json, samples.png, eval_log.csv, ...

Every file is written atomically (a temporary file in the same directory, then
``os.replace``), so a crash leaves either the old or the new file, never half
of one. ``results.csv`` and ``results.jsonl`` are rewritten after each cell
under a file lock; a row replaces the row with the same ``cell_id`` (upsert).
Cells that run on other machines write only ``cells/<cell_id>/row.json``;
``RunStore.collect()`` folds those into the results files.

Row conventions: ``kind`` says what a row measures (``"student"``: a student
trained by ``method``, its spec; ``"teacher"``: the teacher, whose ``arch`` and
``teacher`` are both its spec; ``"real"``: the IS of real data, for scale); the
rows of the teacher and of real data have no ``method``. Rows written before
rows had a kind name theirs in ``method`` (``"teacher"``, ``"real"``):
:func:`row_kind` reads both. ``status`` is ``"done"``, ``"failed"``,
``"diverged"`` or ``"skipped"`` (a pair the method cannot handle); ``error``
holds the one-line reason.
``class_coverage`` is how many classes the samples spread over (the real
data's row has it too); ``collapsed`` is true for a finished generator whose
samples collapsed to one or a few modes (:mod:`akdgbench.collapse`), false
for a healthy one, and missing when it was not judged (no IS measured).
A value that was not measured is missing (``None`` in JSON, empty in CSV),
never made up; NaN and infinities are stored as missing too.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import socket
import tempfile
from collections.abc import Iterable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from akdgbench.errors import UsageError

if TYPE_CHECKING:
    import pandas

RESULT_COLUMNS: tuple[str, ...] = (
    "cell_id", "dataset", "teacher", "arch", "method", "kind", "seed", "steps", "status", "error",
    "layers", "params", "mult_adds", "fid", "is_mean", "is_std", "kid_mean", "kid_std",
    "class_coverage", "images_per_s", "latency_ms", "checkpoint_bytes", "train_seconds",
    "eval_seconds", "feature_extractor", "eval_samples", "collapsed",
    "method_config", "student_config", "teacher_config",
)
TEXT_COLUMNS = frozenset(
    {"cell_id", "dataset", "teacher", "arch", "method", "kind", "status", "error",
     "feature_extractor", "method_config", "student_config", "teacher_config"}
)

DONE, FAILED, DIVERGED, SKIPPED = "done", "failed", "diverged", "skipped"
#: what a row measures (its ``kind``)
STUDENT, TEACHER, REAL = "student", "teacher", "real"
ROW_KINDS = (TEACHER, STUDENT, REAL)

CONFIG_FILE = "config.json"
RESULTS_CSV = "results.csv"
RESULTS_JSONL = "results.jsonl"
CELLS_DIR = "cells"
CELL_ROW_FILE = "row.json"
LOCK_FILE = ".results.lock"
VERSIONED_PACKAGES = ("torch", "torchvision", "torch-fidelity", "akdgbench")


def row_kind(row: dict[str, Any]) -> str:
    """A row's kind; a row written before rows had one names it in ``method``."""
    if row.get("kind"):
        return row["kind"]
    return row["method"] if row.get("method") in (TEACHER, REAL) else STUDENT


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# temporary files are created 0600; results are shared like any file the user writes
FILE_MODE = 0o666 & ~_current_umask()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False,
        encoding="utf-8", newline="",
    )
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(handle.name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(handle.name)
        raise


def _clean_value(value: Any) -> Any:
    """NaN and infinities become None (strict JSON has neither); numpy scalars become numbers."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def normalise_row(row: dict[str, Any]) -> dict[str, Any]:
    """Every column of ``RESULT_COLUMNS`` in order (missing ones None), then any extra keys."""
    if not row.get("cell_id"):
        raise ValueError(f"a results row needs a cell_id: {row!r}")
    out = {column: _clean_value(row.get(column)) for column in RESULT_COLUMNS}
    out.update({k: _clean_value(v) for k, v in row.items() if k not in out})
    return out


def _columns_of(rows: Iterable[dict[str, Any]]) -> list[str]:
    columns = list(RESULT_COLUMNS)
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    return columns


def _rows_to_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns_of(rows), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def _rows_to_jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, allow_nan=False) + "\n" for row in rows)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        where = f"{exc.msg}, line {exc.lineno}"
        raise UsageError(f"{what} {path} is not valid JSON ({where})") from None


def _merged(rows: list[dict[str, Any]], new_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` with each of ``new_rows`` replacing the row of its cell_id, or appended."""
    rows = list(rows)
    position = {row["cell_id"]: i for i, row in enumerate(rows)}
    for row in new_rows:
        if row["cell_id"] in position:
            rows[position[row["cell_id"]]] = row
        else:
            position[row["cell_id"]] = len(rows)
            rows.append(row)
    return rows


def _check_cell_id(cell_id: str) -> str:
    if cell_id in ("", ".", "..") or any(char in cell_id for char in "/\\\0"):
        raise ValueError(f"cell id {cell_id!r} cannot name a directory")
    return cell_id


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def host_description() -> dict[str, Any]:
    import torch

    host: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        host["cuda_version"] = torch.version.cuda
        host["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return host


class RunStore:
    """Reads and writes the results of one run directory (see the module docstring)."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.config_path = self.run_dir / CONFIG_FILE
        self.csv_path = self.run_dir / RESULTS_CSV
        self.jsonl_path = self.run_dir / RESULTS_JSONL

    def __repr__(self) -> str:
        return f"RunStore({str(self.run_dir)!r})"

    def _lock(self) -> FileLock:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.run_dir / LOCK_FILE))

    # -- config -----------------------------------------------------------------

    def write_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Write ``config`` plus ``versions``, ``host`` and ``written_at``; returns it all."""
        full = dict(config)
        full["versions"] = package_versions()
        full["host"] = host_description()
        full["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        atomic_write_text(self.config_path, json.dumps(full, indent=2, default=str) + "\n")
        return full

    def read_config(self) -> dict[str, Any]:
        if not self.config_path.is_file():
            raise UsageError(f"{self.run_dir} has no {CONFIG_FILE}: it is not a run directory")
        return _read_json(self.config_path, "run config")

    # -- rows -------------------------------------------------------------------

    def rows(self) -> list[dict[str, Any]]:
        """Every row of the run, in the order cells were first recorded."""
        if self.jsonl_path.is_file():
            rows = []
            for number, line in enumerate(self.jsonl_path.read_text("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise UsageError(
                        f"{self.jsonl_path} line {number} is not valid JSON"
                    ) from None
            return rows
        if self.csv_path.is_file():  # a store whose JSONL was deleted: CSV loses only types
            return [normalise_row(row) for row in self._rows_from_csv()]
        return []

    def _rows_from_csv(self) -> list[dict[str, Any]]:
        import pandas

        frame = pandas.read_csv(self.csv_path, dtype={c: str for c in TEXT_COLUMNS})
        return frame.astype(object).where(frame.notna(), None).to_dict("records")

    def dataframe(self) -> pandas.DataFrame:
        """The rows as a DataFrame with every column of ``RESULT_COLUMNS``.

        Numeric columns are numbers with NaN where missing; text columns hold None there.
        """
        import pandas

        rows = self.rows()
        frame = pandas.DataFrame(rows, columns=_columns_of(rows))
        for column in RESULT_COLUMNS:
            if column not in TEXT_COLUMNS:
                frame[column] = pandas.to_numeric(frame[column], errors="coerce")
        return frame

    def upsert(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        """Record ``row``, replacing any row with its ``cell_id``; returns all rows."""
        return self.upsert_many([row])

    def upsert_many(self, new_rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        new_rows = [normalise_row(row) for row in new_rows]
        with self._lock():
            rows = _merged(self.rows(), new_rows)
            write_rows(self.run_dir, rows)
        return rows

    # -- cells ------------------------------------------------------------------

    def cell_dir(self, cell_id: str) -> Path:
        return self.run_dir / CELLS_DIR / _check_cell_id(cell_id)

    def write_cell_row(self, cell_id: str, row: dict[str, Any]) -> Path:
        """Write ``cells/<cell_id>/row.json`` (atomically); the results files are not touched."""
        row = normalise_row({**row, "cell_id": cell_id})
        path = self.cell_dir(cell_id) / CELL_ROW_FILE
        atomic_write_text(path, json.dumps(row, indent=2, allow_nan=False) + "\n")
        return path

    def read_cell_row(self, cell_id: str) -> dict[str, Any] | None:
        path = self.cell_dir(cell_id) / CELL_ROW_FILE
        return _read_json(path, "cell row") if path.is_file() else None

    def _cell_rows(self) -> list[dict[str, Any]]:
        cells = self.run_dir / CELLS_DIR
        paths = sorted(cells.glob(f"*/{CELL_ROW_FILE}")) if cells.is_dir() else []
        return [normalise_row(_read_json(path, "cell row")) for path in paths]

    def collect(self) -> list[dict[str, Any]]:
        """Fold every ``cells/*/row.json`` into the results files; returns all rows.

        A cell's row.json replaces its row in the results; rows without a
        row.json are kept.
        """
        return self.upsert_many(self._cell_rows())

    def latest_rows(self) -> list[dict[str, Any]]:
        """What ``collect()`` would record, without writing: for readers such as tables."""
        return _merged(self.rows(), self._cell_rows())


def write_rows(directory: str | Path, rows: list[dict[str, Any]]) -> list[Path]:
    """Write ``rows`` as ``directory``'s results.jsonl and results.csv (replacing them)."""
    directory = Path(directory)
    # JSONL first: it is the one rows() reads, and CSV can always be rebuilt from it.
    atomic_write_text(directory / RESULTS_JSONL, _rows_to_jsonl(rows))
    atomic_write_text(directory / RESULTS_CSV, _rows_to_csv(rows))
    return [directory / RESULTS_JSONL, directory / RESULTS_CSV]


def select_methods(rows: list[dict[str, Any]], methods: Sequence[str] | None,
                   where: str) -> list[dict[str, Any]]:
    """The reference rows and the students of ``methods`` (each a method's name or its whole
    spec), e.g. one table of a run that grew by a second suite's methods. ``None``: all."""
    if not methods:
        return rows
    present = sorted({row["method"] for row in rows if row_kind(row) == STUDENT})
    missing = [m for m in methods if not any(_is_method(spec, m) for spec in present)]
    if missing:
        raise UsageError(f"no row of method {', '.join(missing)} in {where} "
                         f"(its methods: {', '.join(present) or 'none yet'})")
    return [row for row in rows if row_kind(row) != STUDENT
            or any(_is_method(row["method"], m) for m in methods)]


def _is_method(spec: str, wanted: str) -> bool:
    return spec == wanted or spec.split(":")[0] == wanted


def is_run_dir(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and any(
        (path / name).is_file() for name in (CONFIG_FILE, RESULTS_JSONL, RESULTS_CSV)
    )


def open_run(path: str | Path) -> RunStore:
    """The store of an existing run directory; a clear UsageError when ``path`` is not one."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"run directory {str(path)!r} does not exist")
    if not is_run_dir(path):
        raise UsageError(
            f"{str(path)!r} is not a run directory (no {CONFIG_FILE}, {RESULTS_JSONL} "
            f"or {RESULTS_CSV})"
        )
    return RunStore(path)
