"""The newest performance results as short tables.

``python -m benchmarks.perf.report [PATH]``: PATH is a results JSON or a
directory of them (default ``benchmarks/results``), of which the most
recently created file is read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tabulate import tabulate

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
#: headline ratios with the target each must meet, if any
HEADLINES = [
    ("engine_overhead_ratio", "engine step / hand-written step (worst method)", "<= 1.03"),
    ("engine_vs_default_adam_loop_ratio", "engine step / usual loop (unfused Adam)", ""),
    ("eval_overhead_ratio", "evaluate_quality / torch_fidelity.calculate_metrics", "<= 1.05"),
    ("eval_outside_fidelity_ms", "ms evaluate_quality spends outside calculate_metrics", ""),
    ("real_stats_cache_speedup", "first evaluation / cached evaluation", ""),
]
TARGETS = {"engine_overhead_ratio": 1.03, "eval_overhead_ratio": 1.05}


def newest_results(path: Path) -> Path:
    if path.is_file():
        return path
    files = sorted(path.glob("*.json"))
    if not files:
        raise SystemExit(f"no results in {path}: run `make bench` first")
    return max(files, key=lambda file: json.loads(file.read_text()).get("created", ""))


def machine_line(results: dict[str, Any]) -> str:
    machine = results.get("machine", {})
    flags = machine.get("cpu_flags")
    cpu = machine.get("cpu", "?")
    if flags is not None:
        bf16 = "native bf16" if machine.get("native_cpu_bf16") else "no native bf16"
        cpu = f"{cpu} ({' '.join(flags) or 'no avx2'}; {bf16})"
    parts = [machine.get("gpu") or cpu, f"{machine.get('cores')} cores",
             f"{machine.get('torch_threads')} torch thread(s)", f"torch {machine.get('torch')}",
             f"budget {results.get('budget', {}).get('name', '?')}",
             f"load {machine.get('load_average_at_start')}"]
    return f"{machine.get('device', '?')}: " + ", ".join(parts)


def headline_table(results: dict[str, Any]) -> str:
    rows = []
    for key, meaning, target in HEADLINES:
        if key not in results:
            continue
        value = results[key]
        verdict = ""
        if key in TARGETS:
            verdict = "met" if value <= TARGETS[key] else "MISSED"
        rows.append([key, f"{value:.3f}", target, verdict, meaning])
    # numparse off: tabulate would print "1.020" as "1.02"
    return tabulate(rows, headers=["ratio", "value", "target", "", "what"], disable_numparse=True)


def fast_path_table(results: dict[str, Any]) -> str:
    fast = results.get("fast_paths", {})
    columns = [(kind, family) for kind in ("training", "generation")
               for family in fast.get(kind, {})]
    if not columns:
        return ""
    names = list(dict.fromkeys(name for kind, family in columns
                               for name in fast[kind][family]["configs"]))
    rows = []
    for name in names:
        row = [name]
        for kind, family in columns:
            entry = fast[kind][family]["configs"].get(name, {})
            if "error" in entry:
                cell = "fails"
            elif "speedup" in entry:
                cell = f"x{entry['speedup']['median']:.2f}"
                if fast[kind][family]["best"] == name:
                    cell += " best"
            else:
                cell = "-"
            row.append(cell)
        rows.append(row)
    headers = ["speed-up over fp32"] + [f"{family} {'step' if kind == 'training' else 'img/s'}"
                                        for kind, family in columns]
    autos = [f"{family} {kind}: auto picks {fast[kind][family]['auto']}, "
             f"{fast[kind][family]['auto_vs_best']:.2f} of the best ({fast[kind][family]['best']})"
             for kind, family in columns if "auto" in fast[kind][family]]
    return "\n".join([tabulate(rows, headers=headers), *autos])


def scaling_table(results: dict[str, Any]) -> str:
    rows = [[f"{row['axis']} x{row['factor']}", row["batch_size"], f"{row['width']:g}",
             row["generator_params"], row["engine_ms_per_step"], row["ratio"],
             row["train_images_per_s"]] for row in results.get("scaling", [])]
    if not rows:
        return ""
    return tabulate(rows, headers=["scaling", "batch", "width", "G params", "ms/step",
                                   "vs hand-written", "train img/s"])


def report(path: Path) -> str:
    file = newest_results(path)
    results = json.loads(file.read_text())
    parts = [f"{file}", machine_line(results), "", headline_table(results)]
    for table in (fast_path_table(results), scaling_table(results)):
        if table:
            parts += ["", table]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    print(report(Path(argv[0]) if argv else RESULTS_DIR))


if __name__ == "__main__":
    main()
