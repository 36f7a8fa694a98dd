"""The runner end to end: grids, resume, failures, the lock, lifecycle hooks.

Every run here uses the same options a user has, at a tiny budget:
16x16 digits, narrow networks, a few steps, a few hundred samples.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from akdgbench import Method, hookimpl, plugins
from akdgbench.cli import cli
from akdgbench.hardware import available_cores, detect
from akdgbench.results import RunStore, write_rows

TINY = [
    "--dataset", "mnist5k:size=16",
    "--teacher", "dcgan:width=0.125:d_width=0.125",
    "--arch", "dcgan:width=0.0625:d_width=0.125",
    "--steps", "4", "--teacher-steps", "6", "--batch-size", "16",
    "--eval-samples", "200", "--eval-batch-size", "100",
    "--checkpoint-every", "2", "--log-every", "2", "--quiet",
    # cells in this process: the plugins these tests register in code (pm.register) exist
    # only here; worker processes load entry points and plugin directories
    "--jobs", "1",
]

#: TINY without --steps, for suites whose own budgets are under test
TINY_NO_STEPS = TINY[:TINY.index("--steps")] + TINY[TINY.index("--steps") + 2:]


def run(args, out):
    return CliRunner().invoke(cli, ["run", *TINY, *args, "--out", str(out)])


def rows_by_method(out):
    """Rows by method; the teacher's and the real data's by their kind."""
    return {row["method"] or row["kind"]: row for row in RunStore(out).rows()}


class Recorder:
    __name__ = "Recorder"

    def __init__(self):
        self.calls = []

    @hookimpl
    def on_cell_start(self, cell, cell_dir):
        self.calls.append(("start", cell.method or cell.kind, cell_dir.name))

    @hookimpl
    def on_train_step(self, cell, step, losses):
        self.calls.append(("step", getattr(cell, "method", None), step, dict(losses)))

    @hookimpl
    def on_cell_end(self, cell, row):
        self.calls.append(("end", cell.method or cell.kind, row["status"]))


@pytest.fixture
def recorder():
    instance = Recorder()
    plugins.pm.register(instance, name="recorder")
    try:
        yield instance
    finally:
        plugins.pm.unregister(name="recorder")


def test_all_four_methods_end_to_end(tmp_path, recorder):
    out = tmp_path / "run"
    result = run(["--methods", "vanilla,mse,lit,akdg"], out)
    assert result.exit_code == 0, result.output
    rows = rows_by_method(out)
    assert set(rows) == {"real", "teacher", "vanilla", "mse", "lit", "akdg"}
    for method, row in rows.items():
        assert row["status"] == "done", (method, row.get("error"))
        assert row["is_mean"] > 0
        if method != "real":
            assert row["fid"] > 0
    assert rows["teacher"]["params"] > rows["akdg"]["params"] > 0
    assert rows["akdg"]["mult_adds"] > 0 and rows["akdg"]["images_per_s"] > 0
    # the table is printed; 4-step generators collapse (IS 1.0), so no row is pooled or bold
    assert "| Model" in result.output and "teacher" in result.output
    assert all(isinstance(row["collapsed"], bool) for m, row in rows.items() if m != "real")
    for name in ("config.json", "results.csv", "results.jsonl", "table.md", "table.tex"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["settings"]["steps"] == 4 and "torch" in config["versions"]
    cell_dir = RunStore(out).cell_dir(rows["akdg"]["cell_id"])
    assert (cell_dir / "samples.png").exists() and (cell_dir / "train_log.csv").exists()
    assert "6 done, 0 failed" in result.output


def test_hook_on_cell_start(tmp_path, recorder):
    assert run(["--methods", "vanilla"], tmp_path / "run").exit_code == 0
    starts = [call for call in recorder.calls if call[0] == "start"]
    assert [call[1] for call in starts] == ["real", "teacher", "vanilla"]
    assert starts[2][2].endswith("vanilla__seed0")


def test_hook_on_train_step(tmp_path, recorder):
    assert run(["--methods", "vanilla"], tmp_path / "run").exit_code == 0
    steps = [call for call in recorder.calls if call[0] == "step" and call[1] == "vanilla"]
    assert [call[2] for call in steps] == [2, 4]  # once per --log-every, not every step
    assert all(isinstance(value, float) for value in steps[0][3].values())


def test_hook_on_cell_end(tmp_path, recorder):
    assert run(["--methods", "vanilla"], tmp_path / "run").exit_code == 0
    assert ("end", "vanilla", "done") in recorder.calls


class Exploding(Method):
    name = "test-exploding"

    def generator_loss(self, step):
        raise RuntimeError("boom")


class Diverging(Method):
    name = "test-nan"

    def generator_loss(self, step):
        return step.fake.mean() * float("nan")


class BadMethods:
    __name__ = "BadMethods"

    @hookimpl
    def register_methods(self, register):
        register(Exploding)
        register(Diverging)


@pytest.fixture
def bad_methods():
    plugins.pm.register(BadMethods(), name="bad-methods")
    try:
        yield
    finally:
        plugins.pm.unregister(name="bad-methods")


def test_failing_and_diverging_cells_do_not_stop_the_grid(tmp_path, bad_methods):
    out = tmp_path / "run"
    result = run(["--methods", "test-exploding,vanilla,test-nan"], out)
    assert result.exit_code == 1, result.output
    rows = rows_by_method(out)
    assert rows["vanilla"]["status"] == "done"
    assert rows["test-exploding"]["status"] == "failed"
    assert "RuntimeError: boom" in rows["test-exploding"]["error"]
    assert rows["test-nan"]["status"] == "diverged"
    assert "step" in rows["test-nan"]["error"]
    assert "3 done, 2 failed" in result.output  # real data, teacher, vanilla; the two bad ones
    table = (out / "table.md").read_text()
    assert "failed" in table and "diverged" in table

    # rerunning skips everything; --rerun-failed retries only the failures
    again = run(["--methods", "test-exploding,vanilla,test-nan"], out)
    assert "0 to run" in again.output
    retry = run(["--methods", "test-exploding,vanilla,test-nan", "--rerun-failed"], out)
    assert "2 to run" in retry.output


def test_resume_skips_finished_and_grows_the_grid(tmp_path):
    out = tmp_path / "run"
    assert run(["--methods", "vanilla"], out).exit_code == 0
    before = rows_by_method(out)["vanilla"]
    again = run(["--methods", "vanilla,mse"], out)
    assert again.exit_code == 0, again.output
    assert "1 to run" in again.output  # mse; real data, teacher and vanilla are kept
    rows = rows_by_method(out)
    assert rows["vanilla"] == before and rows["mse"]["status"] == "done"


def unfinish(out, method):
    """As if ``method``'s cell had been stopped after its last logged step: no row."""
    cell_dir = out / "cells" / rows_by_method(out)[method]["cell_id"]
    (cell_dir / "row.json").unlink()
    write_rows(out, [row for row in RunStore(out).rows() if row["method"] != method])
    return cell_dir


def test_a_rerun_trains_only_the_cells_it_names(tmp_path):
    """The directory's grid grows, but an unfinished cell of an earlier command waits for
    a command that names it."""
    out = tmp_path / "run"
    assert run(["--methods", "vanilla,mse"], out).exit_code == 0
    mse_dir = unfinish(out, "mse")
    only_vanilla = run(["--methods", "vanilla"], out)
    assert only_vanilla.exit_code == 0, only_vanilla.output
    assert "0 to run, 3 already finished" in only_vanilla.output
    assert not (mse_dir / "row.json").exists()
    only_mse = run(["--methods", "mse"], out)
    assert "1 to run" in only_mse.output
    assert rows_by_method(out)["mse"]["status"] == "done"


def test_dry_run_says_what_a_command_would_train_and_writes_nothing(tmp_path):
    out = tmp_path / "run"
    fresh = run(["--methods", "vanilla", "--dry-run"], out)
    assert fresh.exit_code == 0, fresh.output
    assert f"{out} (new): 3 to run, 0 already finished" in fresh.output
    assert "vanilla dcgan:width=0.0625:d_width=0.125 <- " in fresh.output
    assert not out.exists()

    assert run(["--methods", "vanilla,mse"], out).exit_code == 0
    unfinish(out, "mse")
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}

    grown = run(["--methods", "vanilla,mse", "--steps", "6", "--dry-run"], out)
    assert grown.exit_code == 0, grown.output
    assert "2 to run, 2 already finished" in grown.output
    assert "(to a longer budget: 4 -> 6 steps)" in grown.output
    assert "(started, logged to step 4; continues from its last checkpoint)" in grown.output
    refused = run(["--methods", "vanilla", "--batch-size", "8", "--dry-run"], out)
    assert refused.exit_code == 2 and "batch_size: 16 -> 8" in refused.output
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()} == before


def test_a_longer_budget_continues_finished_cells_and_retrains_the_rest(tmp_path):
    grid = [*TINY_NO_STEPS, "--methods", "vanilla,lit"]
    out, fresh = tmp_path / "grown", tmp_path / "fresh"

    def run_grid(steps, run_dir):
        return CliRunner().invoke(cli, ["run", *grid, "--steps", steps, "--out", str(run_dir)])

    assert run_grid("4", out).exit_code == 0
    grown = run_grid("6", out)
    assert grown.exit_code == 0, grown.output
    assert "2 to run, 2 of them to a longer budget" in grown.output
    assert run_grid("6", fresh).exit_code == 0
    rows = rows_by_method(out)
    assert rows["vanilla"]["steps"] == rows["lit"]["steps"] == 6
    for method in ("vanilla", "lit"):  # both end where a 6-step run from the start ends
        cell_id = rows[method]["cell_id"]
        weights = [torch.load(run_dir / "cells" / cell_id / "generator.pt", weights_only=True)
                   for run_dir in (out, fresh)]
        assert all(torch.equal(weights[0][key], weights[1][key]) for key in weights[0])
    # vanilla continued its checkpoint; LIT's phases follow the budget, so it was retrained
    # and its 4-step run kept aside
    vanilla_log = (out / "cells" / rows["vanilla"]["cell_id"] / "train_log.csv").read_text()
    assert [line.split(",")[0] for line in vanilla_log.splitlines()[1:]] == ["2", "4", "6"]
    superseded = list((out / "superseded").iterdir())
    assert [path.name for path in superseded] == [f"{rows['lit']['cell_id']}@4steps"]
    assert json.loads((superseded[0] / "row.json").read_text())["steps"] == 4
    assert "6 student / 6 teacher steps" in (out / "table.md").read_text()

    shrunk = run_grid("4", out)
    assert shrunk.exit_code == 2
    assert "steps: 6 -> 4" in shrunk.output and "a budget may grow, not shrink" in shrunk.output


def test_a_retrained_cell_is_set_aside_before_any_cell_runs(tmp_path, monkeypatch):
    """Cells side by side collect each other's rows: a worker must not move a folder then."""
    from akdgbench import runner

    grid = [*TINY_NO_STEPS, "--methods", "vanilla,lit"]
    out = tmp_path / "run"
    assert CliRunner().invoke(cli, ["run", *grid, "--steps", "4", "--out", str(out)]).exit_code == 0
    lit_id = rows_by_method(out)["lit"]["cell_id"]
    set_aside_at_start, original = [], runner.execute_cell

    def execute_cell(job):
        set_aside_at_start.append((out / "superseded" / f"{lit_id}@4steps").is_dir())
        return original(job)

    monkeypatch.setattr(runner, "execute_cell", execute_cell)
    grown = CliRunner().invoke(cli, ["run", *grid, "--steps", "6", "--out", str(out)])
    assert grown.exit_code == 0, grown.output
    assert set_aside_at_start == [True, True]  # whichever cell starts first, LIT has moved


def test_a_finished_cell_whose_defaults_changed_retrains_and_is_kept_aside(tmp_path):
    """A default changed in code (lit's d_init once did) must not leave old rows standing."""
    out = tmp_path / "run"
    assert run(["--methods", "vanilla,lit"], out).exit_code == 0
    rows = rows_by_method(out)
    assert rows["lit"]["method_config"].startswith("lit:") and "d_init=teacher" in rows["lit"][
        "method_config"]
    assert rows["lit"]["teacher_config"].startswith("dcgan:")
    assert rows["vanilla"]["student_config"].startswith("dcgan:")
    assert rows["vanilla"]["teacher_config"] is None  # vanilla never sees the teacher
    store = RunStore(out)
    lit_id = rows["lit"]["cell_id"]
    # as if the run had finished under an akdgbench whose lit defaulted to a fresh D
    old = {**rows["lit"],
           "method_config": rows["lit"]["method_config"].replace("d_init=teacher", "d_init=fresh")}
    store.write_cell_row(lit_id, old)
    store.collect()

    again = run(["--methods", "vanilla,lit"], out)
    assert again.exit_code == 0, again.output
    assert "1 to run, 1 of them with changed defaults" in again.output
    assert "lit: d_init=fresh -> d_init=teacher" in again.output
    after = rows_by_method(out)
    assert after["lit"]["status"] == "done" and "d_init=teacher" in after["lit"]["method_config"]
    assert after["vanilla"] == rows["vanilla"]
    kept = out / "superseded" / f"{lit_id}@4steps-old-defaults"
    assert json.loads((kept / "row.json").read_text())["method_config"] == old["method_config"]
    assert "0 to run" in run(["--methods", "vanilla,lit"], out).output


def test_rows_written_before_they_recorded_their_configs_still_count_as_finished(tmp_path):
    out = tmp_path / "run"
    assert run(["--methods", "mse"], out).exit_code == 0
    store = RunStore(out)
    row = rows_by_method(out)["mse"]
    older = {key: value for key, value in row.items() if not key.endswith("_config")}
    store.write_cell_row(row["cell_id"], older)
    store.collect()
    again = run(["--methods", "mse"], out)
    assert again.exit_code == 0 and "0 to run" in again.output, again.output


def test_rows_name_their_kind_and_older_rows_without_one_still_resume_and_render(tmp_path):
    out = tmp_path / "run"
    assert run(["--methods", "vanilla"], out).exit_code == 0
    store = RunStore(out)
    kinds = {row["kind"]: row["method"] for row in store.rows()}
    assert kinds == {"real": "", "teacher": "", "student": "vanilla"}
    table = CliRunner().invoke(cli, ["table", str(out)]).output
    for row in store.rows():  # as written before rows had a kind
        old = {**row, "kind": None,
               "method": row["kind"] if row["kind"] != "student" else row["method"]}
        store.write_cell_row(row["cell_id"], old)
    store.collect()
    assert {row["method"] for row in store.rows()} == {"real", "teacher", "vanilla"}
    again = run(["--methods", "vanilla"], out)
    assert again.exit_code == 0 and "0 to run" in again.output, again.output
    assert CliRunner().invoke(cli, ["table", str(out)]).output == table


def test_changed_meaning_is_refused(tmp_path):
    out = tmp_path / "run"
    assert run(["--methods", "vanilla"], out).exit_code == 0
    result = CliRunner().invoke(cli, ["run", *TINY, "--methods", "vanilla", "--batch-size", "8",
                                      "--out", str(out)])
    assert result.exit_code == 2
    assert "batch_size: 16 -> 8" in result.output and "Traceback" not in result.output


def test_out_that_is_a_file(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = run(["--methods", "vanilla"], target)
    assert result.exit_code == 2 and "is a file" in result.output


def test_incompatible_run_dir_version(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text(json.dumps({"format_version": 0, "settings": {}}))
    result = run(["--methods", "vanilla"], out)
    assert result.exit_code == 2 and "incompatible akdgbench" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--methods", "akgd"], "did you mean 'akdg'"),
    (["--arch", "dcgan:width=abc"], "not a valid float"),
    (["--arch", "dcgan:depth=3"], "unknown option 'depth'"),
    (["--methods", "akdg:lambda=x"], "not a valid float"),
    (["--methods", "akdg:gamma=1"], "unknown option 'gamma'"),
    (["--steps", "0"], "steps must be a positive integer"),
    (["--dataset", "folder:path=/does/not/exist"], "does not exist"),
    (["--precision", "fp16", "--device", "cpu"], "fp16"),
    (["--precision", "fp8"], "precision must be one of auto, fp32, bf16, fp16"),
    (["--jobs", "0"], "jobs must be auto or a positive integer"),
    (["--jobs", "-1"], "jobs must be auto or a positive integer"),
    (["--jobs", "abc"], "jobs must be auto or a positive integer"),
    (["--channels-last", "maybe"], "channels-last must be auto, on or off"),
    (["--feature-extractor", "inceptoin"], "did you mean"),
    (["--executor", "slurmy"], "unknown executor"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = run(args, tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cuda_without_cuda_is_one_line(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = run(["--methods", "vanilla", "--device", "cuda"], tmp_path / "run")
    assert result.exit_code == 2 and "CUDA" in result.output


def test_lit_on_unaligned_architectures_names_both(tmp_path):
    result = run(["--methods", "lit", "--arch", "mlp:width=0.05"], tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "mlp" in result.output and "dcgan" in result.output


def test_lock_names_the_holder(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from akdgbench.run_dir import run_dir_lock
        with run_dir_lock(Path({str(out)!r})):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = run(["--methods", "vanilla"], out)
        assert result.exit_code == 2
        assert f"is in use by pid {holder.pid}" in result.output
    finally:
        holder.kill()
        holder.wait()


KILLER_PLUGIN = '''
import os
from pathlib import Path
from akdgbench import hookimpl

@hookimpl
def on_train_step(cell, step, losses):
    marker = Path(os.environ["KILL_MARKER"])
    if cell is not None and cell.method == "akdg" and step == 4 and not marker.exists():
        marker.write_text("killed")
        os._exit(9)
'''


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_interrupted_grid_resumes_to_the_same_rows(tmp_path, jobs):
    """Kill a process mid-cell (after a checkpoint), rerun, compare with an uninterrupted run.

    With cells side by side the killed process is a worker: the run stops with one
    line saying so, and the rerun resumes like after any other interruption.
    """
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "killer.py").write_text(KILLER_PLUGIN)
    args = [*TINY, "--methods", "vanilla,akdg", "--steps", "6", "--seeds", "1", "--jobs", jobs]
    env = {**os.environ, "KILL_MARKER": str(tmp_path / "killed"), "AKDGBENCH_LOAD_PLUGINS": ""}
    command = [sys.executable, "-m", "akdgbench.cli", "--plugins-dir", str(tmp_path / "plugins"),
               "run", *args]
    first = subprocess.run([*command, "--out", str(tmp_path / "a")], env=env,
                           capture_output=True, text=True)
    if jobs == "1":
        assert first.returncode == 9, first.stderr
        assert rows_by_method(tmp_path / "a")["vanilla"]["status"] == "done"
    else:
        assert first.returncode == 2, first.stderr
        assert "worker process died" in first.stderr and "Traceback" not in first.stderr
    assert "akdg" not in rows_by_method(tmp_path / "a")
    resumed = subprocess.run([*command, "--out", str(tmp_path / "a")], env=env,
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    if jobs == "1":
        assert "1 to run" in resumed.stderr

    clean = CliRunner().invoke(cli, ["run", *args, "--out", str(tmp_path / "b")])
    assert clean.exit_code == 0, clean.output
    keys = ["method", "status", "params", "fid", "is_mean", "kid_mean"]
    resumed_rows = pd.DataFrame(RunStore(tmp_path / "a").rows())[keys].sort_values("method")
    clean_rows = pd.DataFrame(RunStore(tmp_path / "b").rows())[keys].sort_values("method")
    pd.testing.assert_frame_equal(resumed_rows.reset_index(drop=True),
                                  clean_rows.reset_index(drop=True))


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="sends signals to a process group")
@pytest.mark.parametrize("signal_number, to_group",
                         [(signal.SIGINT, True), (signal.SIGTERM, False)],
                         ids=["ctrl-c", "sigterm"])
def test_interrupted_cells_side_by_side_stop_at_once_with_one_line(tmp_path, signal_number,
                                                                    to_group):
    """Ctrl-C in a terminal reaches the run and its workers; a scheduler's SIGTERM or `kill`
    the run alone. Either way the run stops at once, the queued cell does not start, and the
    user reads how to resume, not a traceback."""
    out = tmp_path / "run"
    args = [*TINY_NO_STEPS[:TINY_NO_STEPS.index("--jobs")], "--steps", "100000",
            "--methods", "vanilla,mse,akdg", "--seeds", "1", "--jobs", "2", "--out", str(out)]
    env = {**os.environ, "AKDGBENCH_LOAD_PLUGINS": ""}
    run = subprocess.Popen([sys.executable, "-m", "akdgbench.cli", "run", *args], env=env,
                           start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("cells/*/train_log.csv"))) < 2:  # two students training
            if time.monotonic() > deadline or run.poll() is not None:
                run.kill()
                pytest.fail(f"the students never started: {run.communicate()[1][-2000:]}")
            time.sleep(0.2)
        (os.killpg if to_group else os.kill)(run.pid, signal_number)
        _, stderr = run.communicate(timeout=60)
    finally:
        run.kill()
    assert run.returncode == 130, stderr
    assert stderr.strip().endswith("rerun the same command to resume."), stderr[-500:]
    assert "Traceback" not in stderr and "leaked" not in stderr
    assert not list(out.glob("cells/*akdg*"))


def test_submitit_executor_matches_local(tmp_path):
    """Two cells through separate processes (submitit's local executor) end with the same rows."""
    args = ["--methods", "vanilla,mse", "--seeds", "1"]
    local = run(args, tmp_path / "local")
    assert local.exit_code == 0, local.output
    started = time.time()
    remote = run([*args, "--executor", "submitit:cluster=local"], tmp_path / "remote")
    assert remote.exit_code == 0, remote.output
    assert (tmp_path / "remote" / "submitit").is_dir()
    keys = ["method", "status", "params", "fid", "is_mean"]
    frame = lambda out: pd.DataFrame(RunStore(out).rows())[keys].sort_values("method")  # noqa: E731
    pd.testing.assert_frame_equal(frame(tmp_path / "local").reset_index(drop=True),
                                  frame(tmp_path / "remote").reset_index(drop=True))
    assert time.time() - started < 600


REDUCED = ["--steps", "2", "--teacher-steps", "2", "--batch-size", "16", "--eval-samples", "100",
           "--quiet"]


def test_quick_suite_at_a_reduced_budget(tmp_path):
    everything = "vanilla,mse,lit,akdg,feature-kd,tinygan,ssgc,dcd"  # the suite's four + four
    result = CliRunner().invoke(cli, ["run", "--suite", "quick", "--methods", everything,
                                      *REDUCED, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = rows_by_method(tmp_path / "run")
    assert {"real", "teacher", "vanilla", "mse", "lit", "akdg", "feature-kd", "tinygan", "ssgc",
            "dcd"} == set(rows)
    assert all(row["status"] == "done" for row in rows.values())
    saved = 1 - rows["akdg"]["params"] / rows["teacher"]["params"]
    assert 0.4 <= saved <= 0.65  # the paper's teacher/student ratio, roughly


def test_user_example_runs_as_typed(tmp_path):
    """`akdgbench run --methods akdg,mse --arch sngan`: the quick suite, SNGAN students."""
    result = CliRunner().invoke(cli, ["run", "--methods", "akdg,mse", "--arch", "sngan", *REDUCED,
                                      "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = rows_by_method(tmp_path / "run")
    assert rows["akdg"]["arch"] == "sngan" and rows["akdg"]["status"] == "done"
    assert rows["akdg"]["layers"] == 8 and rows["mse"]["status"] == "done"


def test_digits_suites_at_a_reduced_budget(tmp_path):
    """digits, then digits-more grown into the same run directory (its second table)."""
    for suite in ("digits", "digits-more"):
        result = CliRunner().invoke(cli, ["run", "--suite", suite, "--seeds", "1", *REDUCED,
                                          "--out", str(tmp_path / "run")])
        assert result.exit_code == 0, result.output
    rows = RunStore(tmp_path / "run").rows()
    by_key = {(row["arch"], row["method"]): row for row in rows}
    unaligned = {("mlp", "lit"), ("mlp", "feature-kd"), ("mlp", "dcd")}
    for key in unaligned:
        assert by_key[key]["status"] == "skipped"  # no aligned stages, said in the row
        assert "aligned" in by_key[key]["error"]
    assert all(row["status"] == "done" for key, row in by_key.items() if key not in unaligned)
    assert "skipped" in (tmp_path / "run" / "table.md").read_text()


def test_a_skipped_row_is_written_only_for_a_pair_some_command_asked_for(tmp_path):
    """Two commands grow one directory, whose grid crosses their names (mlp x lit is in it):
    neither asked for LIT on an MLP student, so no row says that pair was skipped."""
    out = str(tmp_path / "run")
    for arch, method in (("mlp", "vanilla"), ("dcgan", "lit"), ("mlp", "lit")):
        result = CliRunner().invoke(cli, ["run", "--arch", arch, "--methods", method,
                                          "--skip-incompatible", *REDUCED, "--out", out])
        assert result.exit_code == 0, result.output
        pairs = {(row["arch"], row["method"]): row["status"] for row in RunStore(out).rows()
                 if row["kind"] == "student"}
        if method == "lit" and arch == "dcgan":
            assert pairs == {("mlp", "vanilla"): "done", ("dcgan", "lit"): "done"}
    assert pairs[("mlp", "lit")] == "skipped"  # once asked for, it is


def test_student_steps_give_one_family_its_own_budget(tmp_path):
    suite = tmp_path / "budgets.toml"
    suite.write_text('description = "two budgets"\nsteps = 4\n[student_steps]\nmlp = 2\n')
    result = CliRunner().invoke(cli, [
        "run", "--suite", str(suite), *TINY_NO_STEPS, "--methods", "vanilla",
        "--arch", "dcgan:width=0.0625:d_width=0.125,mlp", "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    rows = {row["arch"].split(":")[0]: row
            for row in RunStore(tmp_path / "run").rows() if row["method"]}
    assert (rows["dcgan"]["steps"], rows["mlp"]["steps"]) == (4, 2)
    logged = {arch: (tmp_path / "run" / "cells" / rows[arch]["cell_id"] / "train_log.csv")
              .read_text().splitlines()[-1].split(",")[0] for arch in rows}
    assert logged == {"dcgan": "4", "mlp": "2"}


def test_a_family_table_naming_no_architecture_is_one_line(tmp_path):
    suite = tmp_path / "typo.toml"
    suite.write_text('description = "typo"\n[student_steps]\nmpl = 2\n')
    result = CliRunner().invoke(cli, ["run", "--suite", str(suite), *TINY_NO_STEPS,
                                      "--methods", "vanilla", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "[student_steps] names 'mpl', which is no architecture" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "run" / "cells").exists()


def test_too_few_eval_samples_is_refused_before_training(tmp_path):
    result = run(["--methods", "vanilla", "--eval-samples", "20"], tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "too few for IS" in result.output
    assert not (tmp_path / "run").exists()


def test_teacher_checkpoint_of_another_architecture(tmp_path):
    from akdgbench.plugins import make

    wrong = make("architecture", "mlp:width=0.05", role="teacher").build_generator(16, 1)
    torch.save(wrong.state_dict(), tmp_path / "wrong.pt")
    result = run(["--methods", "akdg", "--teacher-checkpoint", str(tmp_path / "wrong.pt")],
                 tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "wrong.pt" in result.output and "Traceback" not in result.output


def test_missing_inception_weights_offline(tmp_path, monkeypatch):
    from urllib.error import URLError

    from PIL import Image

    images = tmp_path / "images"
    images.mkdir()
    for index in range(60):  # enough real images for KID's subsets
        Image.new("RGB", (20, 20), (index * 4, 0, 0)).save(images / f"{index}.png")

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv("AKDGBENCH_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    result = run(["--methods", "vanilla", "--dataset", f"folder:path={images}:size=16",
                  "--eval-samples", "100"], tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "weights-inception-2015-12-05-6726825d.pth" in result.output
    assert "--inception-weights" in result.output


def test_cells_side_by_side_match_a_serial_run_bit_for_bit(tmp_path):
    """--jobs 2 gives the rows and weights of a serial run with the same threads per cell.

    Floating-point sums depend on the thread count, so the serial run uses each
    worker's share of the cores; the teacher (a wave of one) trains in this process.
    """
    threads_before = torch.get_num_threads()
    args = ["--methods", "vanilla,mse", "--seeds", "2", "--precision", "fp32"]
    torch.set_num_threads(max(1, available_cores() // 2))
    try:
        serial = run([*args, "--jobs", "1"], tmp_path / "serial")
        side_by_side = run([*args, "--jobs", "2"], tmp_path / "parallel")
    finally:
        torch.set_num_threads(threads_before)
    assert serial.exit_code == 0, serial.output
    assert side_by_side.exit_code == 0, side_by_side.output
    keys = ["cell_id", "status", "params", "fid", "is_mean", "kid_mean"]
    frame = lambda out: (pd.DataFrame(RunStore(out).rows())[keys]  # noqa: E731
                         .sort_values("cell_id").reset_index(drop=True))
    pd.testing.assert_frame_equal(frame(tmp_path / "serial"), frame(tmp_path / "parallel"))
    students = sorted((tmp_path / "serial" / "cells").glob("*seed*/generator.pt"))
    assert len(students) == 4
    for path in students:
        twin = tmp_path / "parallel" / path.relative_to(tmp_path / "serial")
        ours, theirs = torch.load(path), torch.load(twin)
        assert ours.keys() == theirs.keys()
        assert all(torch.equal(ours[key], theirs[key]) for key in ours)


def test_run_records_the_machine_and_the_fast_paths(tmp_path):
    result = run(["--methods", "vanilla", "--jobs", "1"], tmp_path / "run")
    assert result.exit_code == 0, result.output
    machine = json.loads((tmp_path / "run" / "config.json").read_text())["machine"]
    expected = "bf16" if detect().native_cpu_bf16 else "fp32"
    assert machine["precision"]["value"] == expected and machine["precision"]["reason"]
    assert machine["hardware"]["cpu_model"] == detect().cpu_model
    assert "precision:" in result.output and "cpu:" in result.output
