import json
import math
import os
from unittest import mock

import pytest

from akdgbench import results
from akdgbench.errors import UsageError
from akdgbench.results import RESULT_COLUMNS, RunStore, atomic_write_text, is_run_dir, open_run


def row(cell_id, **fields):
    return {"cell_id": cell_id, "dataset": "mnist5k", "method": "vanilla", "status": "done",
            **fields}


def leftovers(directory):
    return [p.name for p in directory.rglob("*") if p.name.endswith(".tmp")]


def test_column_order_is_fixed_and_extra_keys_follow(tmp_path):
    store = RunStore(tmp_path)
    store.upsert(row("a", fid=12.5, extra_metric=3))
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert header[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert header[len(RESULT_COLUMNS):] == ["extra_metric"]
    assert list(store.rows()[0])[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)


def test_missing_values_stay_missing(tmp_path):
    store = RunStore(tmp_path)
    store.upsert(row("a", fid=float("nan"), is_mean=float("inf"), kid_mean=None))
    stored = store.rows()[0]
    assert stored["fid"] is None and stored["is_mean"] is None and stored["params"] is None
    csv_line = (tmp_path / "results.csv").read_text().splitlines()[1]
    assert ",nan" not in csv_line.lower() and "inf" not in csv_line.lower()
    assert math.isnan(store.dataframe().loc[0, "fid"])


def test_upsert_replaces_the_row_of_the_same_cell(tmp_path):
    store = RunStore(tmp_path)
    store.upsert(row("a", fid=100.0))
    store.upsert(row("b", fid=200.0))
    store.upsert(row("a", fid=50.0, status="done"))
    rows = store.rows()
    assert [r["cell_id"] for r in rows] == ["a", "b"]
    assert rows[0]["fid"] == 50.0
    frame = store.dataframe()
    assert list(frame["cell_id"]) == ["a", "b"]
    assert list(frame.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)


def test_rows_round_trip_with_types(tmp_path):
    store = RunStore(tmp_path)
    original = row("a", seed=3, steps=1500, fid=31.58, params=2_600_000, error="")
    store.upsert(original)
    stored = store.rows()[0]
    for key, value in original.items():
        assert stored[key] == value and type(stored[key]) is type(value)


def test_rows_fall_back_to_csv_when_jsonl_is_gone(tmp_path):
    store = RunStore(tmp_path)
    store.upsert(row("a", fid=31.5, teacher="sngan"))
    os.unlink(tmp_path / "results.jsonl")
    stored = store.rows()[0]
    assert stored["cell_id"] == "a" and stored["fid"] == 31.5 and stored["teacher"] == "sngan"
    assert stored["params"] is None


def test_atomic_write_leaves_no_temp_file_and_replaces_whole(tmp_path):
    path = tmp_path / "sub" / "file.txt"
    atomic_write_text(path, "first\n")
    atomic_write_text(path, "second\n")
    assert path.read_text() == "second\n"
    assert leftovers(tmp_path) == []
    assert path.stat().st_mode & 0o777 == results.FILE_MODE


def test_a_failed_write_keeps_the_old_file_and_removes_the_temp_file(tmp_path):
    path = tmp_path / "results.csv"
    atomic_write_text(path, "old\n")
    with mock.patch.object(results.os, "replace", side_effect=OSError("disk full")):
        with pytest.raises(OSError):
            atomic_write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert leftovers(tmp_path) == []


def test_upsert_writes_through_temp_files(tmp_path):
    store = RunStore(tmp_path)
    replaced = []
    real_replace = os.replace

    def spy(source, target):
        replaced.append((os.path.basename(source), os.path.basename(target)))
        real_replace(source, target)

    with mock.patch.object(results.os, "replace", side_effect=spy):
        store.upsert(row("a"))
    assert {target for _, target in replaced} == {"results.csv", "results.jsonl"}
    assert all(source.startswith(f".{target}.") for source, target in replaced)
    assert leftovers(tmp_path) == []


def test_cell_rows_and_collect(tmp_path):
    store = RunStore(tmp_path)
    store.upsert(row("local", fid=1.0))
    store.upsert(row("remote-1", status="failed", error="running"))
    path = store.write_cell_row("remote-1", row("ignored-id", fid=20.0))
    store.write_cell_row("remote-2", row("remote-2", fid=30.0))
    assert path == tmp_path / "cells" / "remote-1" / "row.json"
    assert json.loads(path.read_text())["cell_id"] == "remote-1"
    assert store.read_cell_row("remote-1")["fid"] == 20.0
    assert store.read_cell_row("never") is None
    assert [r["fid"] for r in store.latest_rows()] == [1.0, 20.0, 30.0]
    assert store.rows()[1]["status"] == "failed"  # latest_rows wrote nothing
    collected = store.collect()
    assert [(r["cell_id"], r["fid"], r["status"]) for r in collected] == [
        ("local", 1.0, "done"), ("remote-1", 20.0, "done"), ("remote-2", 30.0, "done")]
    assert store.rows() == collected
    assert leftovers(tmp_path) == []


def test_cell_dir_refuses_ids_that_escape(tmp_path):
    store = RunStore(tmp_path)
    assert store.cell_dir("mnist5k__akdg__seed0") == tmp_path / "cells" / "mnist5k__akdg__seed0"
    for bad in ("", "..", "a/b"):
        with pytest.raises(ValueError):
            store.cell_dir(bad)


def test_config_records_versions_and_host(tmp_path):
    store = RunStore(tmp_path / "run")
    written = store.write_config({"settings": {"steps": 10}})
    config = store.read_config()
    assert config == written
    assert config["settings"] == {"steps": 10}
    assert set(config["versions"]) == {"python", "torch", "torchvision", "torch-fidelity",
                                       "akdgbench"}
    assert config["versions"]["torch"]
    assert {"hostname", "platform", "cpu_count", "cuda_available"} <= set(config["host"])


def test_run_dir_detection(tmp_path):
    assert not is_run_dir(tmp_path)
    with pytest.raises(UsageError, match="not a run directory"):
        open_run(tmp_path)
    with pytest.raises(UsageError, match="does not exist"):
        open_run(tmp_path / "missing")
    with pytest.raises(UsageError, match="no config.json"):
        RunStore(tmp_path).read_config()
    RunStore(tmp_path).upsert(row("a"))
    assert is_run_dir(tmp_path)
    assert open_run(tmp_path).run_dir == tmp_path


def test_corrupt_files_are_usage_errors(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "results.jsonl").write_text('{"cell_id": "a"}\n{broken\n')
    store = RunStore(tmp_path)
    with pytest.raises(UsageError, match="config.json is not valid JSON"):
        store.read_config()
    with pytest.raises(UsageError, match="line 2 is not valid JSON"):
        store.rows()


def test_a_row_needs_a_cell_id(tmp_path):
    with pytest.raises(ValueError, match="cell_id"):
        RunStore(tmp_path).upsert({"fid": 1.0})
