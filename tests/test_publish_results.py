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


def test_methods_publish_a_second_table_of_the_same_run(tmp_path):
    run = tmp_path / "run"
    store = make_run(run, [(method, seed, {1000: 300.0, 2000: 100.0 + seed}, "done")
                           for method in ("vanilla", "mse", "tinygan:pixel=2") for seed in (0, 1)])
    store.upsert_many([{**row, "params": 1000, "images_per_s": 50.0} for row in store.rows()])
    out = tmp_path / "more"
    load_script().publish(run, out, ["vanilla", "tinygan"])  # a name matches its specs too
    for name in ("table.md", "compare.md", "curves.md"):
        text = (out / name).read_text()
        assert "vanilla" in text and "tinygan" in text and "mse" not in text, name
    for name in ("results.csv", "results.jsonl"):  # the rows too, so the folder reads alone
        text = (out / name).read_text()
        assert "tinygan" in text and "mse" not in text, name


def test_a_method_the_run_lacks_is_one_line(tmp_path, capsys):
    import pytest

    run = tmp_path / "run"
    make_run(run, [("vanilla", 0, {1000: 300.0, 2000: 100.0}, "done")])
    with pytest.raises(SystemExit) as exit_info:
        load_script().main([str(run), str(tmp_path / "out"), "--methods", "vanilla,dcd"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert error == f"Error: no row of method dcd in {run} (its methods: vanilla)\n"
