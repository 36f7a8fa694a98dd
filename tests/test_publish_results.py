"""scripts/publish_results.py: a run's small artefacts, and nothing else, into a folder."""

import importlib.util
from pathlib import Path

from test_convergence import make_run

SCRIPT = Path(__file__).parents[1] / "scripts" / "publish_results.py"


def load_script():
    spec = importlib.util.spec_from_file_location("publish_results", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_publish_writes_rows_tables_comparisons_curves_and_figures(tmp_path):
    run = tmp_path / "run"
    store = make_run(run, [("vanilla", seed, {1000: 300.0 + seed, 2000: 100.0}, "done")
                           for seed in (0, 1)])
    store.upsert_many([{**row, "params": 1000, "images_per_s": 50.0}
                       for row in store.rows()])
    (store.cell_dir("vanilla-0") / "checkpoint.pt").write_text("big")
    written = load_script().publish(run, tmp_path / "out")
    names = {path.name for path in written}
    assert {"results.csv", "results.jsonl", "config.json", "table.md", "table.tex",
            "compare.md", "curves.md", "fid_vs_params.png", "fid_over_steps.png"} <= names
    assert not list((tmp_path / "out").rglob("*.pt"))
    assert "vanilla" in (tmp_path / "out" / "curves.md").read_text()


def test_a_missing_run_is_one_line(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        load_script().main([str(tmp_path / "nope"), str(tmp_path / "out")])
    assert exit_info.value.code == 2  # a bad input, as the CLI reports one
    error = capsys.readouterr().err
    assert error.startswith("Error:") and error.count("\n") == 1
