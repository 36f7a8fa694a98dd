"""Convergence of the FID curves: mean over seeds, change over the last third."""

import re

import pytest
from click.testing import CliRunner

from akdgbench.cli import cli
from akdgbench.convergence import Curve, method_curves, render_curves
from akdgbench.errors import UsageError
from akdgbench.results import RunStore


def row(method, seed, status="done"):
    return {"cell_id": f"{method}-{seed}", "dataset": "mnist5k", "teacher": "dcgan",
            "arch": "dcgan", "method": method, "seed": seed, "steps": 3000, "status": status,
            "fid": 50.0, "is_mean": 8.0}


def make_run(path, curves):
    """``curves``: (method, seed, {step: fid}, status)."""
    store = RunStore(path)
    store.write_config({"settings": {}})
    store.upsert_many([row(method, seed, status) for method, seed, _, status in curves])
    for method, seed, fids, _ in curves:
        cell_dir = store.cell_dir(f"{method}-{seed}")
        cell_dir.mkdir(parents=True, exist_ok=True)
        lines = ["step,fid,is_mean"] + [f"{step},{fid},5.0" for step, fid in fids.items()]
        (cell_dir / "eval_log.csv").write_text("\n".join(lines) + "\n")
    return store


def test_mean_over_seeds_and_the_change_over_the_last_third(tmp_path):
    make_run(tmp_path, [
        ("vanilla", 0, {1000: 300.0, 2000: 110.0, 3000: 100.0}, "done"),
        ("vanilla", 1, {1000: 500.0, 2000: 90.0, 3000: 96.0}, "done"),
        ("akdg", 0, {1000: 300.0, 2000: 200.0, 3000: 100.0}, "done"),
        ("mse", 0, {1000: 300.0, 2000: 150.0, 3000: 1.0}, "failed"),  # not a finished curve
    ])
    curves = {curve.method: curve for curve in method_curves(tmp_path)}
    assert set(curves) == {"vanilla", "akdg"}
    vanilla = curves["vanilla"]
    assert vanilla.seeds == 2 and vanilla.mean_fid == {1000: 400.0, 2000: 100.0, 3000: 98.0}
    assert vanilla.last_third_change == pytest.approx(0.02) and vanilla.converged
    assert curves["akdg"].last_third_change == pytest.approx(0.5)
    assert curves["akdg"].converged is False


def test_the_last_third_starts_at_the_last_score_before_two_thirds():
    curve = Curve("d", "t", "a", "m", 1, {1000: 200.0, 2000: 120.0, 3000: 110.0, 4000: 100.0})
    assert curve.last_third_change == pytest.approx(20 / 120)  # from step 2,000 (<= 2,667)
    assert Curve("d", "t", "a", "m", 1, {4000: 100.0}).converged is None


def test_the_verdict_reads_a_line_fitted_to_the_last_third_not_its_two_ends():
    # flat around 7 with one low score at the start of the last third and a high one at its end
    noisy_flat = Curve("d", "t", "a", "m", 1, {4000: 20.0, 8000: 6.5, 9000: 7.5, 10000: 7.2,
                                              11000: 6.8, 12000: 7.6})
    assert noisy_flat.last_third_change == pytest.approx(1.1 / 6.5)  # 17%: two ends alone
    assert noisy_flat.last_third_trend < 0.10 and noisy_flat.converged
    # falling steadily by a quarter over the last third
    falling = Curve("d", "t", "a", "m", 1, {4000: 20.0, 8000: 8.0, 9000: 7.5, 10000: 7.0,
                                           11000: 6.5, 12000: 6.0})
    assert falling.last_third_trend == pytest.approx(0.25) and falling.converged is False
    # two scores: the line is the two ends
    two = Curve("d", "t", "a", "m", 1, {2000: 120.0, 3000: 100.0})
    assert two.last_third_trend == pytest.approx(two.last_third_change)


def test_the_slope_p_tells_a_fall_from_a_swing_around_a_flat_line():
    swinging = Curve("d", "t", "a", "m", 3, {6000: 20.0, 8000: 5.0, 9000: 6.2, 10000: 4.6,
                                            11000: 6.0, 12000: 4.7, 13000: 6.3, 14000: 5.2,
                                            15000: 6.1, 16000: 5.6, 17000: 6.4, 18000: 5.9})
    falling = Curve("d", "t", "a", "m", 3, {6000: 20.0, 8000: 8.0, 9000: 7.5, 10000: 7.2,
                                           11000: 6.8, 12000: 6.0})
    assert swinging.converged is False and swinging.last_third_trend_p > 0.05
    assert falling.converged is False and falling.last_third_trend_p < 0.01
    assert Curve("d", "t", "a", "m", 1, {2000: 120.0, 3000: 100.0}).last_third_trend_p is None
    text = render_curves([swinging, falling])
    assert re.search(r"\|\s+slope p\s+\|", text)  # a column of its own
    assert "<0.01" in text and "swings around a flat line" in text


def test_curves_command(tmp_path):
    make_run(tmp_path, [("vanilla", 0, {1000: 300.0, 2000: 105.0, 3000: 100.0}, "done")])
    result = CliRunner().invoke(cli, ["curves", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "converged" in result.output and "4.8%" in result.output
    assert "last third (fitted)" in result.output
    assert render_curves(method_curves(tmp_path), "tsv").count("\n") >= 3
    markdown = CliRunner().invoke(cli, ["curves", str(tmp_path), "--format", "markdown"])
    assert markdown.output == result.output


def test_curves_refuse_an_unknown_format_in_one_line(tmp_path):
    make_run(tmp_path, [("vanilla", 0, {1000: 300.0, 2000: 105.0, 3000: 100.0}, "done")])
    result = CliRunner().invoke(cli, ["curves", str(tmp_path), "--format", "word"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip() == ("Error: unknown table format 'word'; known: github, "
                                     "html, latex, markdown, md, tex, tsv")
    with pytest.raises(UsageError, match="unknown table format 'csv'"):
        render_curves(method_curves(tmp_path), "csv")


def test_one_table_per_student_architecture_and_long_curves_thinned():
    short = Curve("d", "t", "dcgan", "vanilla", 3, {s: 10.0 for s in range(1000, 12001, 1000)})
    long = Curve("d", "t", "mlp", "vanilla", 3, {s: 10.0 for s in range(1000, 36001, 1000)})
    text = render_curves([short, long])
    dcgan, mlp = text.split("\n\n| student")[1:]
    assert " 1,000 |" in dcgan and " 12,000 |" in dcgan and "36,000" not in dcgan
    assert " 1,000 |" not in mlp and " 3,000 |" in mlp and " 36,000 |" in mlp
    assert mlp.count(",000 |") == 12 and "One score in 3 of its 36 shown" in mlp


def test_a_run_without_curves_is_one_line(tmp_path):
    store = make_run(tmp_path, [])
    store.upsert_many([row("vanilla", 0)])
    with pytest.raises(UsageError, match="--eval-every"):
        method_curves(tmp_path)
    result = CliRunner().invoke(cli, ["curves", str(tmp_path)])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_a_teacher_row_is_listed_as_the_teacher_curve(tmp_path):
    store = make_run(tmp_path, [("vanilla", 0, {1000: 300.0, 2000: 105.0, 3000: 100.0}, "done")])
    store.upsert_many([{**row("", 0), "cell_id": "teacher-0", "kind": "teacher"}])
    cell_dir = store.cell_dir("teacher-0")
    cell_dir.mkdir(parents=True)
    (cell_dir / "eval_log.csv").write_text("step,fid,is_mean\n2000,80.0,7.0\n6000,60.0,7.5\n")
    curves = {curve.method: curve for curve in method_curves(tmp_path)}
    assert curves["teacher"].arch == "dcgan" and curves["teacher"].mean_fid == {
        2000: 80.0, 6000: 60.0}
    assert curves["teacher"].last_third_change == pytest.approx(0.25)


def test_a_teacher_trained_in_the_run_scores_its_own_curve(tmp_path):
    result = CliRunner().invoke(cli, [
        "run", "--dataset", "mnist5k:size=16", "--teacher", "dcgan:width=0.125:d_width=0.125",
        "--arch", "dcgan:width=0.0625:d_width=0.125", "--methods", "mse", "--steps", "4",
        "--teacher-steps", "6", "--batch-size", "16", "--eval-samples", "200",
        "--eval-batch-size", "100", "--eval-every", "3", "--quiet", "--jobs", "1",
        "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (teacher_dir,) = [path for path in (tmp_path / "teachers").iterdir() if path.is_dir()]
    assert (teacher_dir / "eval_log.csv").read_text().count("\n") == 3  # steps 3 and 6
    curves = {curve.method: curve for curve in method_curves(tmp_path)}
    assert sorted(curves["teacher"].mean_fid) == [3, 6]
    assert sorted(curves["mse"].mean_fid) == [3]


def test_table_curves_and_plot_show_only_the_methods_asked_for(tmp_path):
    make_run(tmp_path, [(method, seed, {1000: 300.0, 2000: 100.0, 3000: 99.0}, "done")
                        for method in ("vanilla", "mse", "dcd") for seed in (0, 1)])
    runner = CliRunner()
    for command in (["table"], ["table", "--compare"], ["curves"]):
        result = runner.invoke(cli, [*command, str(tmp_path), "--methods", "vanilla,dcd"])
        assert result.exit_code == 0, result.output
        assert "dcd" in result.output and "mse" not in result.output, command
    plotted = runner.invoke(cli, ["plot", str(tmp_path), "--out", str(tmp_path / "figures"),
                                  "--methods", "mse"])
    assert plotted.exit_code == 0, plotted.output
    missing = runner.invoke(cli, ["table", str(tmp_path), "--methods", "lit"])
    assert missing.exit_code == 2
    assert "no row of method lit" in missing.output and "its methods: dcd, mse, vanilla" in \
        missing.output
