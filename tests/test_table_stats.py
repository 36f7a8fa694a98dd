"""Significance over seeds, collapse flagging and counting, the compare view, teacher per seed."""

import io
import math

import pandas
import pytest
from click.testing import CliRunner
from test_tables import cell, github_cells, make_run, real, student, teacher

from akdgbench import defaults
from akdgbench.cell_evaluation import curve_samples
from akdgbench.cli import cli
from akdgbench.collapse import collapse_reason, is_collapsed
from akdgbench.comparison_table import render_comparisons
from akdgbench.errors import UsageError
from akdgbench.grid import expand_grid
from akdgbench.run_settings import resolve_settings
from akdgbench.table_stats import welch_test
from akdgbench.tables import render_table

# --- Welch's t-test against scipy's numbers (scipy 1.17, ttest_ind(equal_var=False)) -------


@pytest.mark.parametrize("a, b, p_value, ci_low, ci_high", [
    ([29, 30], [31, 33], 0.19872738893452602, -9.418522830071064, 4.418522830071064),
    ([29.1, 30.4, 28.7], [31.2, 33.0, 32.1], 0.020893645586369237, -4.7277537708232495,
     -0.672246229176749),
])
def test_welch_matches_scipy_on_fixed_numbers(a, b, p_value, ci_low, ci_high):
    test = welch_test(a, b)
    assert test.difference == pytest.approx(sum(a) / len(a) - sum(b) / len(b))
    assert test.p_value == pytest.approx(p_value, rel=1e-9)
    assert (test.ci_low, test.ci_high) == pytest.approx((ci_low, ci_high), rel=1e-9)


def test_welch_interval_is_the_welch_satterthwaite_one():
    from scipy import stats

    a, b = [29.1, 30.4, 28.7], [31.2, 33.0, 32.1]
    var_a, var_b = (pandas.Series(x).var(ddof=1) / len(x) for x in (a, b))
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (len(a) - 1) + var_b ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, df) * math.sqrt(var_a + var_b)
    test = welch_test(a, b)
    assert (test.ci_low, test.ci_high) == pytest.approx((test.difference - half,
                                                         test.difference + half))
    t = test.difference / math.sqrt(var_a + var_b)
    assert test.p_value == pytest.approx(2 * stats.t.sf(abs(t), df))


def test_welch_needs_two_values_and_spread():
    with pytest.raises(ValueError, match="at least two"):
        welch_test([1.0], [1.0, 2.0])
    same = welch_test([3.0, 3.0], [5.0, 5.0])
    assert same.difference == -2.0 and math.isnan(same.p_value)


# --- marks in the table --------------------------------------------------------------------


def three_seeds(arch, method, fids, is_mean=7.0, **fields):
    return [student(arch, method, seed, fid, is_mean, **fields) for seed, fid in enumerate(fids)]


def test_dagger_on_a_difference_that_is_not_significant():
    rows = [teacher(), *three_seeds("dcgan", "vanilla", [30, 34, 32]),
            *three_seeds("dcgan", "akdg", [29, 33, 31.5]),  # p = 0.638 against vanilla
            *three_seeds("dcgan", "mse", [40, 41, 40.5])]
    fid = {line[1]: line[-1] for line in github_cells(render_table(rows))[1:]}
    assert fid["akdg"] == "**31.17 ± 2.02**†"  # best, yet not significantly better than vanilla
    assert fid["vanilla"] == "32.00 ± 2.00≈"  # not significantly worse than the best
    assert fid["mse"] == "40.50 ± 0.50"  # significantly worse than both: no mark
    assert "†: FID not significantly different from vanilla's" in render_table(rows)


def test_one_seed_claims_no_significance():
    rows = [teacher(), student("dcgan", "vanilla", 0, 31.58, 6.86),
            student("dcgan", "akdg", 0, 29.52, 7.05)]
    text = render_table(rows)
    assert "One seed per row: no significance can be claimed for any difference." in text
    assert "†" not in text.split("\n\n")[1] and "≈" not in text.split("\n\n")[1]
    comparisons = render_comparisons(rows)
    assert "one seed: no significance can be claimed" in comparisons


# --- collapse ------------------------------------------------------------------------------


REAL_DIGITS = {"is_mean": 9.70, "class_coverage": 10.0}  # scripts/digits_metric_sensitivity.py


@pytest.mark.parametrize("is_mean, coverage, verdict", [
    (1.02, 1.03, True),    # digit 1 only
    (2.01, 2.05, True),    # digits 0 and 1 only: IS passes, coverage does not
    (2.06, 3.40, True),    # the vanilla student of the 2026-11-27 run that drew one glyph
    (1.06, None, True),    # no coverage measured: IS alone still judges
    (1.50, 9.50, True),    # one glyph classed as every digit at once: IS catches it
    (4.95, 5.08, False),   # digits 0-4 only: modes dropped, not collapsed
    (2.25, 9.80, False),   # Gaussian blur sigma 2
    (4.95, 8.39, False),   # the weakest healthy student of that run
    (None, None, None),
])
def test_collapse_rules_on_digit_numbers(is_mean, coverage, verdict):
    assert is_collapsed({"is_mean": is_mean, "class_coverage": coverage}, REAL_DIGITS) is verdict
    assert defaults.COLLAPSE_IS_SHARE_OF_REAL == 0.2
    assert defaults.COLLAPSE_COVERAGE_SHARE_OF_REAL == 0.4


def test_the_reason_names_the_rule_broken():
    assert collapse_reason({"is_mean": 2.06, "class_coverage": 3.40}, REAL_DIGITS) == \
        "class coverage 3.40 is under 40% of real data's 10.00"
    assert collapse_reason({"is_mean": 1.5, "class_coverage": 9.5}, REAL_DIGITS) == \
        "IS 1.50 is under 20% of real data's 9.70"
    assert collapse_reason({"is_mean": 7.5, "class_coverage": 9.5}, REAL_DIGITS) is None
    assert is_collapsed({"is_mean": 7.5}, {"class_coverage": 10.0}) is None  # nothing to compare


def test_a_cell_covering_few_classes_is_counted_as_collapsed():
    rows = [{**real(), "class_coverage": 10.0}, teacher(),
            *three_seeds("dcgan", "vanilla", [30.0, 31.0]),
            student("dcgan", "vanilla", 2, 1411.0, 3.0, class_coverage=3.4)]
    text = render_table(rows)
    assert "collapsed: dcgan / vanilla, seed 2: class coverage 3.40 is under 40% of real " \
        "data's 10.00." in text
    lines = {(line[1], line[2]) for line in github_cells(text)[1:]}
    assert ("vanilla", "2 of 3, 1 collapsed") in lines


def test_collapsed_seed_is_counted_like_a_failed_one():
    rows = [real(), teacher(), *three_seeds("dcgan", "vanilla", [30.0, 31.0]),
            student("dcgan", "vanilla", 2, 2155.0, 1.01),  # judged from IS: 1.01 < 0.2 * 11.24
            *three_seeds("dcgan", "akdg", [29.0, 28.0]),
            cell("dcgan", "akdg", 2, status="diverged", error="loss is nan"),
            student("dcgan", "mse", 0, 50.0, 6.0, collapsed=True),  # the row's own flag
            student("dcgan", "mse", 1, 52.0, 1.5, collapsed=False)]  # the flag wins over IS
    text = render_table(rows)
    lines = {(line[1], line[2]): line for line in github_cells(text)[1:]}
    vanilla = lines[("vanilla", "2 of 3, 1 collapsed")]
    assert vanilla[-1].startswith("30.50 ± 0.71")  # pooled over the healthy seeds only
    assert lines[("vanilla, seed 2 (collapsed)", "")][-2:] == ["1.01", "2155.00"]  # a finding
    assert lines[("akdg", "2 of 3")][-1].startswith("**28.50 ± 0.71**")
    assert lines[("mse", "1 of 2, 1 collapsed")][-1] == "52.00"
    assert "dcgan / vanilla: n=2 of 3; not pooled: seed 2 (collapsed)." in text
    assert "dcgan / akdg: n=2 of 3; not pooled: seed 2 (diverged)." in text
    assert "collapsed: dcgan / vanilla, seed 2: IS 1.01 is under 20% of real data's 11.24." \
        in text
    csv = pandas.read_csv(io.StringIO(render_table(rows, "csv")))
    pooled = csv[(csv["method"] == "vanilla") & (csv["status"] == "done")].iloc[0]
    assert (pooled["seeds"], pooled["total"], pooled["collapsed"]) == (2, 3, 1)
    assert (csv["status"] == "collapsed").sum() == 2


def test_without_a_real_row_only_flagged_cells_count_as_collapsed():
    rows = [teacher(), student("dcgan", "vanilla", 0, 2155.0, 1.01),
            student("dcgan", "vanilla", 1, 30.0, 7.0, collapsed=True),
            student("dcgan", "vanilla", 2, 31.0, 7.2)]
    lines = github_cells(render_table(rows))
    assert [line[1:3] for line in lines[2:]] == [["vanilla", "2 of 3, 1 collapsed"],
                                                ["vanilla, seed 1 (collapsed)", ""]]


# --- the ± keeps one meaning per table -----------------------------------------------------


def test_one_seed_rows_in_a_seed_table_carry_no_split_spread():
    rows = [teacher(), *three_seeds("dcgan", "vanilla", [30, 31, 32]),
            student("dcgan", "akdg", 0, 29.0, 7.3)]
    text = render_table(rows, metrics="is,is_split_std,fid")
    lines = {line[1]: line for line in github_cells(text)[1:]}
    assert lines["akdg"][3:] == ["**7.30**", "0.05", "**29.00**"]
    assert lines["vanilla"][3:] == ["7.00 ± 0.00", "0.05", "31.00 ± 1.00"]
    assert github_cells(text)[0][4] == "IS std (splits)"


# --- the compare view ----------------------------------------------------------------------


@pytest.fixture
def compared_run(tmp_path):
    rows = [teacher(), *three_seeds("dcgan", "vanilla", [30, 34, 32]),
            *three_seeds("dcgan", "akdg", [29.1, 30.4, 28.7]),
            *three_seeds("dcgan", "mse", [31.2, 33.0, 32.1])]
    make_run(tmp_path, rows)
    return tmp_path


def test_cli_compare(compared_run):
    result = CliRunner().invoke(cli, ["table", str(compared_run), "--compare"])
    assert result.exit_code == 0, result.output
    cells = github_cells(result.stdout)
    assert cells[0] == ["Model", "Method A", "Method B", "against", "n A", "n B",
                        "ΔFID (A − B)", "95% CI", "p", "verdict"]
    pairs = {(line[1], line[2], line[3]): line for line in cells[1:]}
    assert set(pairs) == {("mse", "vanilla", "vanilla"), ("mse", "akdg", "best"),
                          ("akdg", "vanilla", "vanilla")}
    mse_vs_akdg = pairs[("mse", "akdg", "best")]
    assert mse_vs_akdg[4:] == ["3", "3", "+2.70", "[+0.67, +4.73]", "0.0209", "significant"]
    assert pairs[("akdg", "vanilla", "vanilla")][-1] == "not significant"


def test_compare_names_each_budget():
    rows = [teacher(), *three_seeds("dcgan", "vanilla", [30, 34, 32], steps=12000),
            *three_seeds("mlp", "vanilla", [40, 41, 40.5], steps=36000),
            *three_seeds("mlp", "mse", [50, 52, 51], steps=36000)]
    models = {line[0] for line in github_cells(render_comparisons(rows))[1:]}
    assert models == {"mlp @ 36,000 steps"}


def test_cli_compare_csv_holds_the_raw_numbers(compared_run):
    result = CliRunner().invoke(cli, ["table", str(compared_run), "--compare", "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pandas.read_csv(io.StringIO(result.stdout))
    row = frame[(frame["method_a"] == "mse") & (frame["method_b"] == "akdg")].iloc[0]
    assert row["p_value"] == pytest.approx(0.020893645586369237)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.672246229176749,
                                                             4.7277537708232495))


def test_cli_compare_latex_and_refusals(compared_run):
    result = CliRunner().invoke(cli, ["table", str(compared_run), "--compare", "--format",
                                      "latex"])
    assert result.exit_code == 0 and r"\Delta" in result.stdout and "±" not in result.stdout
    result = CliRunner().invoke(cli, ["table", str(compared_run), "--compare", "--metrics", "is"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: --compare compares FID")


# --- teacher per seed, and one sample count per score ----------------------------------------


def test_teacher_per_seed_trains_one_teacher_per_seed():
    shared = expand_grid(resolve_settings("quick", {"seeds": "3", "methods": "akdg"}))
    per_seed = expand_grid(resolve_settings("quick", {"seeds": "3", "methods": "akdg",
                                                      "teacher_per_seed": True}))
    assert [c.seed for c in shared if c.kind == "teacher"] == [0]
    assert [c.seed for c in per_seed if c.kind == "teacher"] == [0, 1, 2]
    with pytest.raises(UsageError, match="teacher-per-seed .* teacher-checkpoint"):
        resolve_settings("quick", {"teacher_per_seed": True, "teacher_checkpoint": "t.pt"})


def test_the_table_says_which_teachers_were_distilled():
    rows = [teacher(), cell("sngan", "teacher", 1, steps=100000, status="done", fid=17.0,
                            is_mean=8.3, cell_id="t1"),
            *three_seeds("dcgan", "vanilla", [30, 31, 32])]
    text = render_table(rows)
    assert "Teachers: one per student seed (teacher seeds 0, 1)" in text
    assert github_cells(text)[1][:3] == ["sngan", "teacher", "2"]


def test_curves_score_with_the_table_sample_count_by_default():
    class Digits:
        default_eval_samples = 5000

    settings = resolve_settings("quick", {})
    assert settings.eval_every_samples is None
    assert curve_samples(Digits(), settings) == 5000
    assert curve_samples(Digits(), resolve_settings("quick", {"eval_samples": 2000})) == 2000
    assert curve_samples(Digits(), resolve_settings("quick", {"eval_every_samples": 1000})) == 1000
    with pytest.raises(UsageError, match="eval-every-samples must be a positive integer"):
        resolve_settings("quick", {"eval_every_samples": 0})
