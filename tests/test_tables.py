import io
import re

import pandas
import pytest
from click.testing import CliRunner

from akdgbench import Method, hookimpl
from akdgbench.cli import cli
from akdgbench.errors import UsageError
from akdgbench.plugins import pm
from akdgbench.results import RunStore
from akdgbench.results_model import method_sort_key
from akdgbench.tables import has_finished_cell, load_runs, render_table, write_tables

SIZES = {"sngan": (8, 4_100_000, 1_200_000_000), "dcgan": (5, 2_600_000, 420_000_000),
         "mlp": (4, 2_200_000, 2_200_000)}
# (arch, method) -> one entry per seed: (fid, is_mean), or the status of a cell that did not
# finish. Deliberately out of the table's order: the table must sort them.
STUDENTS = {
    ("mlp", "akdg"): [(53.7, 5.14), "failed"],
    ("dcgan", "l1_kd"): [(15.0, 10.4), (16.0, 10.6)],
    ("dcgan", "akdg"): [(29.0, 7.0), (30.0, 7.2)],
    ("dcgan", "vanilla"): [(31.0, 6.8), (33.0, 7.0)],
    ("dcgan", "lit"): [(35.0, 6.6), (37.0, 6.8)],
    ("dcgan", "mse"): [(40.0, 6.4), (42.0, 6.6)],
    ("mlp", "mse"): [(108.0, 3.9), (110.0, 4.1), "diverged"],
    ("mlp", "vanilla"): [(60.0, 4.6), (62.0, 4.8)],
}


def cell(arch, method, seed, steps=1500, dataset="cifar10", **fields):
    layers, params, mult_adds = SIZES[arch]
    return {"cell_id": f"{dataset}-{arch}-{method}-{seed}-{steps}", "dataset": dataset,
            "teacher": "sngan", "arch": arch, "method": method, "seed": seed, "steps": steps,
            "layers": layers, "params": params, "mult_adds": mult_adds,
            "feature_extractor": "inception-v3-compat", "eval_samples": 10000, **fields}


def teacher(dataset="cifar10", **fields):
    return cell("sngan", "teacher", 0, steps=100000, dataset=dataset, status="done", fid=16.5,
                is_mean=8.49, is_std=0.1, images_per_s=2000.0, **fields)


def real(dataset="cifar10"):
    return {"cell_id": f"{dataset}-real", "dataset": dataset, "teacher": "", "arch": "",
            "method": "real", "seed": 0, "status": "done", "is_mean": 11.24, "is_std": 0.12}


def student(arch, method, seed, fid, is_mean, **fields):
    return cell(arch, method, seed, status="done", fid=fid, is_mean=is_mean, is_std=0.05,
                images_per_s=9000.0, **fields)


@pytest.fixture
def rows():
    out = [real(), teacher()]
    for (arch, method), outcomes in STUDENTS.items():
        for seed, outcome in enumerate(outcomes):
            if isinstance(outcome, str):
                out.append(cell(arch, method, seed, status=outcome,
                                error=f"{outcome} at step 700: loss is nan"))
            else:
                out.append(student(arch, method, seed, *outcome))
    return out


GITHUB = """\
cifar10, teacher sngan; feature extractor inception-v3-compat; 10000 samples.

| Model     | Method       |      n |   Layers |     Params |    Mult-Adds |              IS |              FID |
|-----------|--------------|--------|----------|------------|--------------|-----------------|------------------|
| sngan     | teacher      |      1 |        8 |       4.1M |         1.2G |            8.49 |            16.50 |
| mlp       | vanilla      |      2 |        4 | 2.2M (46%) | 2.2M (99.8%) |     4.70 ± 0.14 |     61.00 ± 1.41 |
|           | mse          | 2 of 3 |        4 | 2.2M (46%) | 2.2M (99.8%) |     4.00 ± 0.14 |    109.00 ± 1.41 |
|           | mse, seed 2  |        | diverged |   diverged |     diverged |        diverged |         diverged |
|           | akdg         | 1 of 2 |        4 | 2.2M (46%) | 2.2M (99.8%) |        **5.14** |        **53.70** |
|           | akdg, seed 1 |        |   failed |     failed |       failed |          failed |           failed |
| dcgan     | vanilla      |      2 |        5 | 2.6M (37%) |   420M (65%) |     6.90 ± 0.14 |     32.00 ± 1.41 |
|           | mse          |      2 |        5 | 2.6M (37%) |   420M (65%) |     6.50 ± 0.14 |     41.00 ± 1.41 |
|           | lit          |      2 |        5 | 2.6M (37%) |   420M (65%) |     6.70 ± 0.14 |    36.00 ± 1.41† |
|           | akdg         |      2 |        5 | 2.6M (37%) |   420M (65%) | **7.10 ± 0.14** |    29.50 ± 0.71† |
|           | l1_kd        |      2 |        5 | 2.6M (37%) |   420M (65%) |    10.50 ± 0.14 | **15.50 ± 0.71** |
| real data |              |      1 |        – |          – |            – |           11.24 |                – |

Teacher: one (seed 0), distilled by every student seed; the spread over seeds leaves out the teacher's variance.

mlp / mse: n=2 of 3; not pooled: seed 2 (diverged).

mlp / akdg: n=1 of 2; not pooled: seed 1 (failed).

diverged: mlp / mse, seed 2: diverged at step 700: loss is nan.

failed: mlp / akdg, seed 1: failed at step 700: loss is nan.

IS, FID: mean ± standard deviation over seeds (a row of one seed has no ±).

n: the finished seeds pooled in each row; '2 of 3': 1 of its 3 cells failed, diverged or collapsed and is left out (listed in the notes).

Percentages: share saved against the teacher.

Bold: closest to the teacher within each student architecture.

†: FID not significantly different from vanilla's; ≈: not significantly different from the best FID of its student architecture (Welch's t-test over seeds, p ≥ 0.05); akdgbench table --compare lists each difference with its 95% CI and p.

Rows of one seed are not tested: no significance can be claimed for them.
"""  # noqa: E501

LATEX = r"""\begin{table}[t]
\centering
\caption{cifar10, teacher sngan; feature extractor inception-v3-compat; 10000 samples. IS, FID: mean $\pm$ standard deviation over seeds (a row of one seed has no $\pm$). n: the finished seeds pooled in each row; '2 of 3': 1 of its 3 cells failed, diverged or collapsed and is left out (listed in the notes). Percentages: share saved against the teacher. Bold: closest to the teacher within each student architecture. $^\dagger$: FID not significantly different from vanilla's; $^{\approx}$: not significantly different from the best FID of its student architecture (Welch's t-test over seeds, p $\geq$ 0.05); akdgbench table --compare lists each difference with its 95\% CI and p. Rows of one seed are not tested: no significance can be claimed for them. Teacher: one (seed 0), distilled by every student seed; the spread over seeds leaves out the teacher's variance. mlp / mse: n=2 of 3; not pooled: seed 2 (diverged). mlp / akdg: n=1 of 2; not pooled: seed 1 (failed). diverged: mlp / mse, seed 2: diverged at step 700: loss is nan. failed: mlp / akdg, seed 1: failed at step 700: loss is nan.}
\begin{tabular}{llrrrrrr}
\toprule
Model & Method & n & Layers & Params & Mult-Adds & IS & FID \\
\midrule
sngan & teacher & 1 & 8 & 4.1M & 1.2G & 8.49 & 16.50 \\
\midrule
mlp & vanilla & 2 & 4 & 2.2M (46\%) & 2.2M (99.8\%) & 4.70 $\pm$ 0.14 & 61.00 $\pm$ 1.41 \\
 & mse & 2 of 3 & 4 & 2.2M (46\%) & 2.2M (99.8\%) & 4.00 $\pm$ 0.14 & 109.00 $\pm$ 1.41 \\
 & mse, seed 2 &  & diverged & diverged & diverged & diverged & diverged \\
 & akdg & 1 of 2 & 4 & 2.2M (46\%) & 2.2M (99.8\%) & \textbf{5.14} & \textbf{53.70} \\
 & akdg, seed 1 &  & failed & failed & failed & failed & failed \\
\midrule
dcgan & vanilla & 2 & 5 & 2.6M (37\%) & 420M (65\%) & 6.90 $\pm$ 0.14 & 32.00 $\pm$ 1.41 \\
 & mse & 2 & 5 & 2.6M (37\%) & 420M (65\%) & 6.50 $\pm$ 0.14 & 41.00 $\pm$ 1.41 \\
 & lit & 2 & 5 & 2.6M (37\%) & 420M (65\%) & 6.70 $\pm$ 0.14 & 36.00 $\pm$ 1.41$^\dagger$ \\
 & akdg & 2 & 5 & 2.6M (37\%) & 420M (65\%) & \textbf{7.10 $\pm$ 0.14} & 29.50 $\pm$ 0.71$^\dagger$ \\
 & l1\_kd & 2 & 5 & 2.6M (37\%) & 420M (65\%) & 10.50 $\pm$ 0.14 & \textbf{15.50 $\pm$ 0.71} \\
\midrule
real data &  & 1 & -- & -- & -- & 11.24 & -- \\
\bottomrule
\end{tabular}
\end{table}
"""  # noqa: E501

CSV = """\
dataset,teacher,model,method,steps,status,seeds,total,collapsed,seed,error,layers,params,params_saved_pct,mult_adds,mult_adds_saved_pct,is_mean,is_seed_std,is_std,fid,fid_seed_std,fid_not_significant
cifar10,sngan,sngan,teacher,100000,done,1,1,0,,,8,4100000,,1200000000,,8.49,,0.1,16.5,,
cifar10,sngan,mlp,vanilla,1500,done,2,2,0,,,4,2200000,46.34146341,2200000,99.81666667,4.7,0.1414213562,0.05,61,1.414213562,
cifar10,sngan,mlp,mse,1500,done,2,3,0,,,4,2200000,46.34146341,2200000,99.81666667,4,0.1414213562,0.05,109,1.414213562,
cifar10,sngan,mlp,mse,1500,diverged,0,0,0,2,diverged at step 700: loss is nan,,,,,,,,,,,
cifar10,sngan,mlp,akdg,1500,done,1,2,0,,,4,2200000,46.34146341,2200000,99.81666667,5.14,,0.05,53.7,,
cifar10,sngan,mlp,akdg,1500,failed,0,0,0,1,failed at step 700: loss is nan,,,,,,,,,,,
cifar10,sngan,dcgan,vanilla,1500,done,2,2,0,,,5,2600000,36.58536585,420000000,65,6.9,0.1414213562,0.05,32,1.414213562,
cifar10,sngan,dcgan,mse,1500,done,2,2,0,,,5,2600000,36.58536585,420000000,65,6.5,0.1414213562,0.05,41,1.414213562,
cifar10,sngan,dcgan,lit,1500,done,2,2,0,,,5,2600000,36.58536585,420000000,65,6.7,0.1414213562,0.05,36,1.414213562,†
cifar10,sngan,dcgan,akdg,1500,done,2,2,0,,,5,2600000,36.58536585,420000000,65,7.1,0.1414213562,0.05,29.5,0.7071067812,†
cifar10,sngan,dcgan,l1_kd,1500,done,2,2,0,,,5,2600000,36.58536585,420000000,65,10.5,0.1414213562,0.05,15.5,0.7071067812,
cifar10,sngan,real data,real,,done,1,1,0,,,,,,,,11.24,,0.12,,,
"""  # noqa: E501


def github_cells(text):
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in text.splitlines() if line.startswith("|") and not line.startswith("|--")]


def test_github(rows):
    assert render_table(rows) == GITHUB


def test_rows_with_a_kind_render_as_rows_named_by_method(rows):
    """New rows say teacher and real data by ``kind``; older ones by ``method``: same table."""
    with_kind = [{**row, "kind": row["method"], "method": ""}
                 if row["method"] in ("teacher", "real") else {**row, "kind": "student"}
                 for row in rows]
    assert render_table(with_kind) == render_table(rows) == GITHUB


def test_latex(rows):
    assert render_table(rows, "latex") == LATEX


def test_csv(rows):
    text = render_table(rows, "csv")
    assert text == CSV
    frame = pandas.read_csv(io.StringIO(text))
    assert "**" not in text
    assert frame["fid"].dtype.kind == "f" and frame["params"].dtype.kind in "if"


def test_html_holds_the_same_cells_with_b_tags(rows):
    text = render_table(rows, "html")
    expected = [[re.sub(r"\*\*(.*)\*\*", r"<b>\1</b>", value) for value in line]
                for line in github_cells(GITHUB)]
    got = [[re.sub(r"<[^b/][^>]*>|</t[dh]>", "", cell).strip()
            for cell in re.findall(r"<t[dh][^>]*>.*?</t[dh]>", line)]
           for line in text.splitlines() if line.startswith("<tr>")]
    assert got == expected
    assert "<p>cifar10, teacher sngan;" in text
    assert "vanilla&#x27;s" in text  # text is escaped, bold tags are not
    assert text.count("<b>") == 4


def test_one_seed_is_the_paper_layout():
    rows = [teacher(), student("dcgan", "akdg", 0, 29.52, 7.05),
            student("dcgan", "vanilla", 0, 31.58, 6.86), student("dcgan", "mse", 0, 40.06, 6.45)]
    assert github_cells(render_table(rows)) == [
        ["Model", "Method", "Layers", "Params", "Mult-Adds", "IS", "FID"],
        ["sngan", "teacher", "8", "4.1M", "1.2G", "8.49 ± 0.10", "16.50"],
        ["dcgan", "vanilla", "5", "2.6M (37%)", "420M (65%)", "6.86 ± 0.05", "31.58"],
        ["", "mse", "5", "2.6M (37%)", "420M (65%)", "6.45 ± 0.05", "40.06"],
        ["", "akdg", "5", "2.6M (37%)", "420M (65%)", "**7.05 ± 0.05**", "**29.52**"],
    ]
    assert "IS: mean ± standard deviation over the metric's splits/subsets." in render_table(rows)


def test_metrics_choose_the_columns_in_order(rows):
    text = render_table(rows, metrics="fid,kid,images_per_s,fid")
    assert github_cells(text)[0] == ["Model", "Method", "n", "FID", "KID", "Images/s"]
    assert github_cells(text)[1] == ["sngan", "teacher", "1", "16.50", "–", "2,000"]
    assert "Percentages" not in text


def test_bad_metrics_and_formats():
    with pytest.raises(UsageError, match=r"unknown metric 'fdi'; known: .*fid.*did you mean 'fid'"):
        render_table([teacher()], metrics="is,fdi")
    with pytest.raises(UsageError, match="no metric given"):
        render_table([teacher()], metrics=" , ")
    with pytest.raises(UsageError, match=r"unknown table format 'word'; known: csv, github"):
        render_table([teacher()], "word")


def test_no_finished_cell():
    failed = cell("dcgan", "akdg", 0, status="failed", error="boom")
    with pytest.raises(UsageError, match=r"no finished cell in these results \(1 failed\)"):
        render_table([failed, real()])
    assert not has_finished_cell([real()]) and not has_finished_cell([])
    assert has_finished_cell([teacher()])


def test_skipped_cells_say_so_and_the_reason_is_noted():
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0),
            cell("mlp", "lit", 0, status="skipped", error="lit needs aligned stages: sngan, mlp")]
    text = render_table(rows)
    assert ["mlp", "lit, seed 0", "skipped", "skipped", "skipped", "skipped", "skipped"] \
        in github_cells(text)
    assert "skipped: mlp / lit, seed 0: lit needs aligned stages: sngan, mlp." in text


def test_skipped_seeds_sharing_a_reason_are_one_row_and_one_note_with_the_reason_whole():
    spec = "mlp:d_width=0.25:hidden=1024:layers=4:width=0.25:z_dim=128"
    why = (f"method 'lit' cannot distil teacher sngan:d_width=0.5:width=1.0 into student {spec}: "
           "no aligned stages: stage 0 of teacher SNGANGenerator (4 stages) outputs "
           "(256, 4, 4) but of student MLPGenerator (4 stages) (256,) (only widths may differ)")
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0),
            *(cell("mlp", "lit", seed, status="skipped", error=why) for seed in (2, 0, 1))]
    text = render_table(rows)
    assert [c for c in github_cells(text) if c[1].startswith("lit")] == \
        [["mlp", "lit, seeds 0, 1, 2", "skipped", "skipped", "skipped", "skipped", "skipped"]]
    notes = [line for line in text.splitlines() if line.startswith("skipped:")]
    assert notes == ["skipped: mlp / lit, seeds 0, 1, 2: method 'lit' cannot distil teacher "
                     "sngan into student mlp: no aligned stages: stage 0 of teacher "
                     "SNGANGenerator (4 stages) outputs (256, 4, 4) but of student MLPGenerator "
                     "(4 stages) (256,) (only widths may differ)."]
    csv = pandas.read_csv(io.StringIO(render_table(rows, "csv")))
    skipped = csv[csv["status"] == "skipped"]
    assert list(skipped["seed"]) == [0, 1, 2]  # the CSV keeps a record per seed


def test_skipped_seeds_with_different_reasons_stay_apart():
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0),
            cell("mlp", "lit", 0, status="skipped", error="no aligned stages"),
            cell("mlp", "lit", 1, status="skipped", error="needs a teacher discriminator")]
    labels = [c[1] for c in github_cells(render_table(rows)) if c[1].startswith("lit")]
    assert labels == ["lit, seed 0", "lit, seed 1"]


def test_one_table_per_dataset_and_teacher_with_its_own_real_row():
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0), real(),
            teacher("lsun"), student("dcgan", "akdg", 0, 28.0, 5.0, dataset="lsun")]
    text = render_table(rows)
    assert text.count("| Model") == 2
    cifar, lsun = text.split("lsun, teacher sngan;")
    assert "real data" in cifar and "real data" not in lsun
    assert "vanilla" in cifar and "akdg" in lsun and "akdg" not in cifar
    assert render_table(rows, "latex").count(r"\begin{table}") == 2


def test_a_section_where_everything_failed_still_shows_its_failures():
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0),
            cell("sngan", "teacher", 0, dataset="lsun", status="failed", error="no data"),
            cell("dcgan", "akdg", 0, dataset="lsun", status="failed", error="no teacher")]
    text = render_table(rows)
    assert "lsun, teacher sngan" in text
    assert ["sngan", "teacher, seed 0", "failed", "failed", "failed", "failed", "failed"] \
        in github_cells(text)
    assert "failed: dcgan / akdg, seed 0: no teacher." in text


def test_budgets_are_told_apart():
    rows = [teacher(), student("dcgan", "akdg", 0, 30.0, 7.0, steps=500),
            student("dcgan", "akdg", 0, 20.0, 7.5, steps=1500)]
    labels = [line[1] for line in github_cells(render_table(rows))[1:]]
    assert labels == ["teacher", "akdg @ 500 steps", "akdg @ 1,500 steps"]


def test_without_a_teacher_nothing_is_bold_or_saved():
    rows = [student("dcgan", "vanilla", 0, 30.0, 7.0), student("dcgan", "akdg", 0, 20.0, 7.5)]
    text = render_table(rows)
    assert "**" not in text and "%)" not in text


def test_a_lone_row_has_nothing_to_be_closest_against():
    rows = [teacher(), student("dcgan", "vanilla", 0, 30.0, 7.0),
            cell("dcgan", "akdg", 0, status="failed", error="boom")]
    assert "**" not in render_table(rows)


def test_closest_to_the_teacher_is_not_simply_the_highest():
    rows = [teacher(), student("dcgan", "akdg", 0, 30.0, 8.0),
            student("dcgan", "vanilla", 0, 31.0, 9.5)]
    akdg = next(c for c in github_cells(render_table(rows)) if c[1] == "akdg")
    assert akdg[5:] == ["**8.00 ± 0.05**", "**30.00**"]


def test_mean_and_std_ignore_unfinished_cells(rows):
    # mlp/mse has two finished seeds and a diverged third: pooled over the two only
    line = next(c for c in github_cells(render_table(rows)) if c[1] == "mse" and c[0] == "")
    assert line[:3] == ["", "mse", "2 of 3"]


# --- the run directory and the CLI ------------------------------------------------------


def make_run(path, rows):
    store = RunStore(path)
    store.write_config({"settings": {}})
    store.upsert_many(rows)
    return store


def test_load_runs_concatenates_and_reads_pending_cell_rows(tmp_path, rows):
    make_run(tmp_path / "a", rows[:5])
    store_b = make_run(tmp_path / "b", rows[5:])
    store_b.write_cell_row("remote", student("dcgan", "vanilla", 9, 1.0, 1.0))
    loaded = load_runs([tmp_path / "a", tmp_path / "b", tmp_path / "a"])
    assert len(loaded) == len(rows) + 1
    with pytest.raises(UsageError, match="not a run directory"):
        load_runs([tmp_path])


def test_a_cell_two_runs_share_counts_once(tmp_path, rows):
    make_run(tmp_path / "a", rows)
    changed = [{**row, "fid": 99.0} if row["cell_id"] == rows[1]["cell_id"] else row
               for row in rows]
    make_run(tmp_path / "b", changed)
    loaded = load_runs([tmp_path / "a", tmp_path / "b"])
    assert len(loaded) == len(rows)
    assert [row["fid"] for row in loaded if row["cell_id"] == rows[1]["cell_id"]] == [99.0]
    store_c = make_run(tmp_path / "c", rows)  # another recipe: another experiment, kept
    store_c.write_config({"settings": {"loss": "hinge", "lr": 1e-3}})
    assert len(load_runs([tmp_path / "a", tmp_path / "c"])) == 2 * len(rows)


def test_write_tables(tmp_path, rows):
    make_run(tmp_path, rows)
    paths = write_tables(tmp_path)
    assert [p.name for p in paths] == ["table.md", "table.tex"]
    assert paths[0].read_text() == GITHUB and paths[1].read_text() == LATEX


@pytest.mark.parametrize("fmt, expected", [
    ("github", GITHUB), ("latex", LATEX), ("csv", CSV),
    ("markdown", GITHUB), ("md", GITHUB), ("Markdown", GITHUB), ("tex", LATEX),
])
def test_cli_table_formats(tmp_path, rows, fmt, expected):
    make_run(tmp_path, rows)
    result = CliRunner().invoke(cli, ["table", str(tmp_path), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_cli_table_html_and_out_file(tmp_path, rows):
    make_run(tmp_path / "run", rows)
    result = CliRunner().invoke(cli, ["table", str(tmp_path / "run"), "--format", "html"])
    assert result.exit_code == 0 and result.stdout.startswith("<p>cifar10")
    out = tmp_path / "paper.tex"
    result = CliRunner().invoke(cli, ["table", str(tmp_path / "run"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == LATEX  # the suffix chose the format
    assert result.stdout.strip() == str(out)


def test_cli_table_several_runs(tmp_path, rows):
    make_run(tmp_path / "a", rows[:6])
    make_run(tmp_path / "b", rows[6:])
    result = CliRunner().invoke(cli, ["table", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    assert result.stdout == GITHUB


@pytest.mark.parametrize("args, message", [
    (["{missing}"], "does not exist"),
    (["{empty}"], "is not a run directory"),
    (["{failed}"], "no finished cell in {failed} yet (1 failed)"),
    (["{run}", "--metrics", "fid,speed"], "unknown metric 'speed'"),
    (["{run}", "--format", "latx"], "unknown table format 'latx'; known: csv, github, html, "
                                    "latex, markdown, md, tex (did you mean 'latex'?)"),
])
def test_cli_table_bad_input(tmp_path, rows, args, message):
    dirs = {name: tmp_path / name for name in ("missing", "empty", "failed", "run")}
    dirs["empty"].mkdir()
    make_run(dirs["failed"], [cell("dcgan", "akdg", 0, status="failed", error="boom")])
    make_run(dirs["run"], rows)
    args = [arg.format(**dirs) for arg in args]
    result = CliRunner().invoke(cli, ["table", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: ")
    assert message.format(**dirs) in result.stderr


def test_caption_names_the_recipe_from_the_run_config(tmp_path, rows):
    store = make_run(tmp_path, rows)
    store.write_config({"settings": {
        "loss": "hinge", "lr": 0.0002, "betas": [0.0, 0.9], "n_dis": None, "lr_decay": "none",
        "batch_size": 64, "ema": 0.0, "steps": 4000, "teacher_steps": 6000, "precision": "bf16"}})
    first_line = write_tables(tmp_path)[0].read_text().splitlines()[0]
    assert first_line.endswith(
        "recipe: hinge loss, Adam lr 0.0002, betas (0, 0.9), n_dis family default, "
        "lr decay none, batch 64, no EMA, 4,000 student / 6,000 teacher steps, bf16.")


def test_caption_names_each_family_budget(tmp_path, rows):
    store = make_run(tmp_path, rows)
    store.write_config({"settings": {
        "loss": "hinge", "lr": 0.0002, "betas": [0.0, 0.9], "n_dis": 2, "lr_decay": "none",
        "batch_size": 64, "ema": 0.999, "steps": 12000, "student_steps": {"mlp": 36000},
        "teacher_steps": 12000, "precision": "bf16"}})
    first_line = write_tables(tmp_path)[0].read_text().splitlines()[0]
    assert "EMA 0.999, 12,000 student (mlp 36,000) / 12,000 teacher steps, bf16." in first_line


def test_methods_are_ordered_by_their_table_order():
    class Early(Method):
        name = "early"
        table_order = 0.5  # between vanilla (0) and mse (1)

    class Registers:
        @hookimpl
        def register_methods(self, register):
            register(Early)

    plugin = Registers()
    pm.register(plugin, name="early-method")
    try:
        ordered = sorted(["zz_kd", "akdg", "early:x=1", "mse", "l1_kd", "vanilla", "lit"],
                         key=method_sort_key)
    finally:
        pm.unregister(plugin)
    assert ordered == ["vanilla", "early:x=1", "mse", "lit", "akdg", "l1_kd", "zz_kd"]


def test_architectures_whose_cells_were_all_skipped_come_last():
    skipped = [cell("mlp", "lit", seed, status="skipped", error="no aligned stages")
               for seed in (0, 1)]
    text = render_table([real(), teacher(), *skipped, student("dcgan", "vanilla", 0, 31.0, 6.8)])
    models = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")]
    assert [m for m in models if m in ("dcgan", "mlp")] == ["dcgan", "mlp"]
