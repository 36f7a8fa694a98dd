"""Copy a finished run's small artefacts into a folder of the repository (docs/results/...).

    python scripts/publish_results.py results/digits docs/results/digits
    python scripts/publish_results.py results/digits docs/results/digits-more \
        --methods vanilla,feature-kd,tinygan,ssgc,dcd     # a second table of the same run

Writes the rows (results.csv, results.jsonl), the config with the machine it ran on,
the tables (table.md, table.tex), the pairwise comparisons (compare.md), the
convergence check (curves.md) and the figures (FID against params and images/s,
FID over steps, a sample montage); checkpoints and caches stay behind. With
--methods, the tables and figures show only those methods' students beside the
teacher and the real data.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from akdgbench.comparison_table import render_comparisons
from akdgbench.convergence import method_curves, render_curves
from akdgbench.errors import UsageError
from akdgbench.plots import plot_run
from akdgbench.results import CONFIG_FILE, atomic_write_text, open_run, select_methods, write_rows
from akdgbench.specs import split_specs
from akdgbench.tables import load_runs, render_table


def publish(run_dir: Path, out: Path, methods: list[str] | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / CONFIG_FILE, out / CONFIG_FILE)
    rows = select_methods(open_run(run_dir).latest_rows(), methods, str(run_dir))
    written = [out / CONFIG_FILE, *write_rows(out, rows)]
    rows = load_runs([run_dir], methods)
    texts = {"table.md": render_table(rows, "github"), "table.tex": render_table(rows, "latex"),
             "compare.md": render_comparisons(rows, "github"),
             "curves.md": render_curves(method_curves(run_dir, methods))}
    for name, text in texts.items():
        atomic_write_text(out / name, text)
        written.append(out / name)
    return written + plot_run(run_dir, out, methods)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--methods", type=split_specs, default=None,
                        help="only these methods' students, comma-separated (default: all)")
    args = parser.parse_args(argv)
    try:
        for path in publish(args.run_dir, args.out, args.methods):
            print(path)
    except (UsageError, FileNotFoundError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
