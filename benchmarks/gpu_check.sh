#!/usr/bin/env bash
# The CUDA checks in one go, for a machine with a GPU (CI never needs one):
# the machine and the fast paths `auto` picks, the CUDA tests (no host sync in a
# training step; torch.compile), the performance suite, and a suite run.
#
#   benchmarks/gpu_check.sh OUT_DIR [SUITE_SECONDS] [run options...]
#
# Everything lands in OUT_DIR (a few files; the suite's run directory packed
# without checkpoints as suite.tgz). Runs with a plain `python3` that has torch,
# with this checkout on PYTHONPATH, so nothing needs installing but the package's
# pure-Python dependencies.
set -uo pipefail
out=${1:?usage: benchmarks/gpu_check.sh OUT_DIR [SUITE_SECONDS] [run options...]}
suite_seconds=${2:-300}
shift $(( $# >= 2 ? 2 : 1 ))
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
started=$(date +%s)
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $py -m akdgbench.cli info
} 2>&1 | tee "$out/machine.txt"
$py -m pytest -q -p no:cacheprovider -m "slow or not slow" tests/test_engine_cuda.py \
  tests/test_hardware.py 2>&1 | tee "$out/cuda_tests.txt"
# interrupted at its limit, pytest still writes the results measured so far
timeout -s INT "${PERF_SECONDS:-240}" $py -m pytest -q -p no:cacheprovider benchmarks/perf \
  --benchmark-only -k "not scaling" --perf-results-dir "$out" 2>&1 | tail -n 40 > "$out/perf.txt"
$py -m benchmarks.perf.report "$(ls -t "$out"/*.json 2>/dev/null | head -n 1)" >> "$out/perf.txt" 2>&1
echo "checks took $(( $(date +%s) - started )) s" | tee -a "$out/machine.txt"
suite_started=$(date +%s)
timeout "$suite_seconds" $py -m akdgbench.cli run --quiet --out "$out/suite" "$@" 2>&1 \
  | tail -n 60 > "$out/suite.txt"
echo "suite: exit ${PIPESTATUS[0]} after $(( $(date +%s) - suite_started )) s" | tee -a "$out/suite.txt"
tar czf "$out/suite.tgz" --exclude='*.pt' --exclude='fidelity_cache' -C "$out" suite
rm -rf "$out/suite"
