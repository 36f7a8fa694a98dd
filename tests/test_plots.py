import numpy as np
import pandas
import pytest
from click.testing import CliRunner
from matplotlib.image import imread, imsave

from akdgbench.cli import cli
from akdgbench.errors import UsageError
from akdgbench.plots import plot_run
from akdgbench.results import RunStore

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ALL_FIGURES = ["fid_vs_params.png", "fid_vs_images_per_s.png", "fid_over_steps.png",
               "samples.png"]


def rows():
    out = [
        {"cell_id": "real", "dataset": "mnist5k", "method": "real", "status": "done",
         "is_mean": 8.9},
        {"cell_id": "teacher", "dataset": "mnist5k", "teacher": "dcgan", "arch": "dcgan",
         "method": "teacher", "seed": 0, "status": "done", "params": 445_000, "fid": 150.0,
         "images_per_s": 5000.0},
    ]
    for arch, params in (("dcgan:width=0.5", 236_000), ("mlp", 240_000)):
        for method, fid in (("vanilla", 400.0), ("akdg", 280.0)):
            for seed in (0, 1):
                out.append({"cell_id": f"{arch}-{method}-{seed}", "dataset": "mnist5k",
                            "teacher": "dcgan", "arch": arch, "method": method, "seed": seed,
                            "status": "done", "params": params, "fid": fid + 20 * seed,
                            "images_per_s": 9000.0 - params / 100})
    out.append({"cell_id": "mlp-mse-0", "dataset": "mnist5k", "teacher": "dcgan", "arch": "mlp",
                "method": "mse", "seed": 0, "status": "failed", "error": "boom"})
    return out


def make_run(path, with_files=True):
    store = RunStore(path)
    store.write_config({"settings": {}})
    store.upsert_many(rows())
    if with_files:
        random = np.random.default_rng(0)
        for row in rows():
            if row["method"] == "real":
                continue
            cell_dir = store.cell_dir(row["cell_id"])
            cell_dir.mkdir(parents=True, exist_ok=True)
            imsave(cell_dir / "samples.png", random.random((18, 18, 3)))
            if row["method"] != "teacher":
                steps = np.arange(100, 600, 100)
                pandas.DataFrame({"step": steps, "fid": 2000 / steps * 10, "is_mean": 2.0}) \
                    .to_csv(cell_dir / "eval_log.csv", index=False)
    return store


def assert_pngs(paths):
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
        height, width = imread(path).shape[:2]
        assert height >= 300 and width >= 300
    assert not [p for p in paths[0].parent.iterdir() if p.name.endswith(".tmp")]


def test_every_figure_is_written(tmp_path):
    make_run(tmp_path)
    paths = plot_run(tmp_path)
    assert [p.name for p in paths] == ALL_FIGURES
    assert all(p.parent == tmp_path / "plots" for p in paths)
    assert_pngs(paths)


def test_figures_without_data_are_left_out(tmp_path):
    store = make_run(tmp_path, with_files=False)
    store.upsert_many([{**row, "images_per_s": None} for row in rows()])
    paths = plot_run(tmp_path, tmp_path / "figures")
    assert [p.name for p in paths] == ["fid_vs_params.png"]
    assert_pngs(paths)


def test_a_broken_eval_log_is_named(tmp_path):
    store = make_run(tmp_path)
    (store.cell_dir("mlp-akdg-1") / "eval_log.csv").write_text("step,loss\n1,2\n")
    with pytest.raises(UsageError, match=r"mlp-akdg-1/eval_log.csv needs the columns step and fid"):
        plot_run(tmp_path)


def test_nothing_finished_nothing_plotted(tmp_path):
    store = RunStore(tmp_path)
    store.upsert_many([row for row in rows() if row["method"] in ("real",)
                       or row["status"] != "done"])
    with pytest.raises(UsageError, match="no finished cell"):
        plot_run(tmp_path)


def test_cli_plot(tmp_path):
    make_run(tmp_path / "run")
    result = CliRunner().invoke(cli, ["plot", str(tmp_path / "run"), "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [str(tmp_path / "out" / name) for name in ALL_FIGURES]
    assert_pngs([tmp_path / "out" / name for name in ALL_FIGURES])


@pytest.mark.parametrize("name, message", [
    ("missing", "does not exist"),
    ("empty", "is not a run directory"),
    ("failed", "no finished cell"),
])
def test_cli_plot_bad_input(tmp_path, name, message):
    (tmp_path / "empty").mkdir()
    RunStore(tmp_path / "failed").upsert_many([rows()[-1]])
    result = CliRunner().invoke(cli, ["plot", str(tmp_path / name)])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert message in result.stderr and "Traceback" not in result.output


def test_fid_over_steps_draws_the_teachers_own_curve_on_a_log_axis(tmp_path, monkeypatch):
    from akdgbench import plots

    store = make_run(tmp_path)
    for row in rows():  # curves that fall ninefold, the teacher's with them
        if row["method"] != "real":
            pandas.DataFrame({"step": [100, 300, 500], "fid": [900.0, 200.0, 100.0]}).to_csv(
                store.cell_dir(row["cell_id"]) / "eval_log.csv", index=False)
    figures = {}
    monkeypatch.setattr(plots, "_save", lambda figure, path: figures.setdefault(path.name,
                                                                               figure) and path)
    plot_run(tmp_path)
    for axes in figures["fid_over_steps.png"].axes:
        (teacher,) = [line for line in axes.get_lines() if line.get_label() == "teacher"]
        assert list(teacher.get_xdata()) == [100, 300, 500]  # its curve, not one final FID
        assert axes.get_yscale() == "log"
