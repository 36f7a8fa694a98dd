"""Training logs: losses kept on the device between logging intervals, and the CSV files."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import torch

from akdgbench.errors import UsageError

TRAIN_LOG_NAME = "train_log.csv"
EVAL_LOG_NAME = "eval_log.csv"


class LossLog:
    """Detached loss tensors kept on the device; read back once per logging interval."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self._labels: list[tuple[int, str]] = []
        self._pending: list[torch.Tensor] = []
        self._chunks: list[torch.Tensor] = []

    def record(self, step: int, terms: dict[str, torch.Tensor]) -> None:
        for name, value in terms.items():
            self._labels.append((step, name))
            self._pending.append(value.detach().float().reshape(()))
        if len(self._pending) >= self._CHUNK:  # bound the number of live tensors, no sync
            self._chunks.append(torch.stack(self._pending))
            self._pending = []

    def flush(self) -> tuple[dict[str, float], tuple[int, str, float] | None]:
        """Mean of each term, and the first (step, term, value) that is not finite."""
        if not self._labels:
            return {}, None
        if self._pending:
            self._chunks.append(torch.stack(self._pending))
        values = torch.cat(self._chunks).cpu().tolist()
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        first_bad = None
        for (step, name), value in zip(self._labels, values, strict=True):
            sums[name] = sums.get(name, 0.0) + value
            counts[name] = counts.get(name, 0) + 1
            if first_bad is None and not math.isfinite(value):
                first_bad = (step, name, value)
        self._labels, self._pending, self._chunks = [], [], []
        return {name: sums[name] / counts[name] for name in sums}, first_bad


def truncate_csv(path: Path, last_step: int) -> None:
    """Drop rows logged after ``last_step`` (work lost by an interruption is redone on resume)."""
    if not path.is_file():
        return
    with path.open(newline="") as stream:
        rows = list(csv.DictReader(stream))
        fields = list(rows[0].keys()) if rows else []
    kept = [row for row in rows if row.get("step") and int(row["step"]) <= last_step]
    if len(kept) == len(rows):
        return
    if not kept:
        path.unlink()
        return
    with path.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)


def append_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Append rows; a new column (e.g. LIT's phase 2) rewrites the file with the union header."""
    if not rows:
        return
    fields: list[str] = []
    existing: list[dict[str, Any]] = []
    if path.is_file():
        with path.open(newline="") as stream:
            reader = csv.DictReader(stream)
            fields = list(reader.fieldnames or [])
            new_keys = {key for row in rows for key in row} - set(fields)
            if new_keys:
                existing = list(reader)
    new_fields = [key for row in rows for key in row if key not in fields]
    fields += list(dict.fromkeys(new_fields))
    rewrite = bool(new_fields) or not path.is_file()
    with path.open("w" if rewrite else "a", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=fields, restval="")
        if rewrite:
            writer.writeheader()
            writer.writerows(existing)
        writer.writerows(rows)


def read_eval_log(path: Path):
    """A cell's ``eval_log.csv`` as a frame sorted by step, rows without a FID dropped."""
    import pandas

    try:
        log = pandas.read_csv(path)
    except (pandas.errors.ParserError, pandas.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} is not a readable CSV file ({type(exc).__name__})") from None
    if not {"step", "fid"} <= set(log.columns):
        raise UsageError(f"{path} needs the columns step and fid; it has {', '.join(log.columns)}")
    log = log.apply(pandas.to_numeric, errors="coerce")
    return log.dropna(subset=["step", "fid"]).sort_values("step")
