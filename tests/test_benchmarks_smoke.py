"""The performance suite runs: every benchmark once, tiny, untimed (``--perf-budget smoke``).

The numbers of a smoke run mean nothing; what is checked is that each
benchmark still drives the engine and the evaluation, writes its results and
that ``report.py`` reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_benchmark_runs_and_reports(tmp_path):
    """As ``make bench`` does: pytest over benchmarks/perf, then ``-m benchmarks.perf.report``."""
    results_dir = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/perf", "-q", "-p", "no:cacheprovider",
         "--benchmark-disable", "--perf-budget", "smoke", "--perf-results-dir", str(results_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    (results_file,) = results_dir.glob("*.json")
    results = json.loads(results_file.read_text())
    assert results["budget"]["name"] == "smoke"
    assert results["machine"]["device"] in ("cpu", "cuda") and results["machine"]["torch"]
    for key in ("engine_overhead_ratio", "engine_vs_default_adam_loop_ratio",
                "eval_overhead_ratio", "eval_outside_fidelity_ms", "real_stats_cache_speedup"):
        assert results[key] > 0, key
    assert set(results["engine_overhead"]) == {"vanilla", "akdg"}
    assert set(results["fast_paths"]) == {"training", "generation"}
    for kind in ("training", "generation"):
        for family in ("dcgan", "sngan"):
            configs = results["fast_paths"][kind][family]["configs"]
            assert {"fp32", "bf16", "channels_last", "bf16+channels_last"} <= set(configs)
            entry = results["fast_paths"][kind][family]
            assert entry["auto"] in configs and 0 < entry["auto_vs_best"] <= 1
    machine = results["machine"]
    assert machine["host_kind"] in results_file.name and "cpu_flags" in machine
    assert [(row["axis"], row["factor"]) for row in results["scaling"]] == [
        ("batch", 1), ("batch", 2), ("batch", 4), ("width", 2), ("width", 4)]

    printed = subprocess.run(
        [sys.executable, "-m", "benchmarks.perf.report", str(results_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    assert str(results_file) in printed
    assert f"{results['engine_overhead_ratio']:.3f}" in printed
    assert f"{results['eval_overhead_ratio']:.3f}" in printed
    assert "bf16+channels_last" in printed and "width x4" in printed
    assert "auto picks" in printed


def test_report_prints_ratios_with_their_three_decimals():
    script = ("from benchmarks.perf.report import headline_table; "
              "print(headline_table({'eval_overhead_ratio': 1.02, 'engine_overhead_ratio': 1.0}))")
    table = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                           text=True, timeout=60, check=True).stdout
    assert "1.020" in table and "1.000" in table  # not tabulate's "1.02" and "1"


def test_gpu_check_script_runs_its_two_runs_and_packs_them(tmp_path):
    """benchmarks/gpu_check.sh is for a GPU lease, which is too short to find a broken
    script in: its CPU path (no nvidia-smi, no MPS, CUDA tests skipped) runs here."""
    out = tmp_path / "out"
    tiny = "--suite quick --seeds 0, --teacher-steps 2 --steps 2 --eval-samples 128 --jobs 1"
    env = {**os.environ, "PYTHON": sys.executable, "PERF_SECONDS": "0", "MPS": "0",
           "SIDE_RUN": f"{tiny} --methods vanilla", "PYTHONPATH": ""}
    completed = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", str(out), "300", *tiny.split(), "--methods", "mse"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    assert "all checks took" in (out / "machine.txt").read_text()
    assert "passed" in (out / "cuda_tests.txt").read_text()
    for name, method in (("suite", "mse"), ("side", "vanilla")):
        assert f"{name}: exit 0 after" in (out / f"{name}.txt").read_text()
        with tarfile.open(out / f"{name}.tgz") as packed:
            names = packed.getnames()
        assert f"{name}/results.csv" in names and not any(n.endswith(".pt") for n in names)
        assert any(f"__{method}__seed0/row.json" in n for n in names), names
    assert not (out / "suite").exists()  # packed, then removed
