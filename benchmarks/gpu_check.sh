#!/usr/bin/env bash
# The CUDA checks in one go, for a machine with a GPU (CI never needs one):
# the machine and the fast paths `auto` picks, the performance suite on the idle
# GPU, then a suite run with the CUDA tests (no host sync in a training step;
# torch.compile) and an optional second run beside it.
#
#   benchmarks/gpu_check.sh OUT_DIR [SUITE_SECONDS] [run options...]
#
#   PERF_SECONDS  time for the performance suite (default 240; 0 skips it)
#   PERF_K        which benchmarks (pytest -k; default "not scaling")
#   SIDE_RUN      options of a second `akdgbench run` beside the suite, e.g. another
#                 suite's networks on the embedded digits (default: none)
#   MPS           1 (default): start CUDA MPS where it is installed, so that cells side
#                 by side share the GPU instead of taking turns; it is stopped again if
#                 a CUDA client cannot start under it
#
# For example, every method's seed-0 cells of the digits suites side by side with a teacher
# trained on the CPU, and the paper-cifar10 networks on the embedded digits beside them (on a
# machine that cannot fetch CIFAR-10 or the Inception weights):
#
#   PERF_SECONDS=100 PERF_K=engine_overhead SIDE_RUN="--suite paper-cifar10 --dataset mnist5k \
#     --feature-extractor digits --seeds 0, --teacher-steps 1000 --steps 400 --eval-samples 5000 \
#     --jobs 2" \
#   benchmarks/gpu_check.sh OUT 380 --suite digits-more --seeds 0, --precision fp32 \
#     --methods vanilla,mse,lit,akdg,feature-kd,tinygan,ssgc,dcd --teacher-checkpoint T.pt --jobs 13
#
# Everything lands in OUT_DIR (at most eight files; each run directory packed
# without checkpoints as suite.tgz and side.tgz). Runs with a plain `python3` that
# has torch, with this checkout on PYTHONPATH, so nothing needs installing but the
# package's pure-Python dependencies.
set -uo pipefail
out=${1:?usage: benchmarks/gpu_check.sh OUT_DIR [SUITE_SECONDS] [run options...]}
suite_seconds=${2:-300}
shift $(( $# >= 2 ? 2 : 1 ))
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$out"
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started )) s"; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nproc
  $py -m akdgbench.cli info
} 2>&1 | tee "$out/machine.txt"

perf_seconds=${PERF_SECONDS:-240}
if (( perf_seconds > 0 )); then
  # interrupted at its limit, pytest still writes the results measured so far
  timeout -s INT "$perf_seconds" $py -m pytest -q -p no:cacheprovider benchmarks/perf \
    --benchmark-only -k "${PERF_K:-not scaling}" --perf-results-dir "$out" 2>&1 \
    | tail -n 40 > "$out/perf.txt"
  $py -m benchmarks.perf.report "$(ls -t "$out"/*.json 2>/dev/null | head -n 1)" \
    >> "$out/perf.txt" 2>&1
  echo "performance suite done at $(elapsed)" | tee -a "$out/machine.txt"
fi

if [[ ${MPS:-1} == 1 ]] && command -v nvidia-cuda-mps-control > /dev/null; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  nvidia-cuda-mps-control -d
  if timeout 60 $py -c "import torch; torch.ones(1, device='cuda').sum().item()"; then
    echo "MPS: on" | tee -a "$out/machine.txt"
  else
    echo quit | nvidia-cuda-mps-control
    unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    echo "MPS: off (a CUDA client could not start under it)" | tee -a "$out/machine.txt"
  fi
fi

run_packed() {  # NAME SECONDS run options...: one timed run, its directory packed; its status
  local name=$1 seconds=$2 began status
  shift 2
  began=$(date +%s)
  timeout "$seconds" $py -m akdgbench.cli run --quiet --out "$out/$name" "$@" 2>&1 \
    | tail -n 60 > "$out/$name.txt"
  status=${PIPESTATUS[0]}
  echo "$name: exit $status after $(( $(date +%s) - began )) s" | tee -a "$out/$name.txt"
  tar czf "$out/$name.tgz" --exclude='*.pt' --exclude='fidelity_cache' -C "$out" "$name"
  rm -rf "${out:?}/$name"
  return "$status"
}

deadline=$(( $(date +%s) + suite_seconds ))
run_packed suite "$suite_seconds" "$@" &
suite=$!
{
  $py -m pytest -q -p no:cacheprovider -m "slow or not slow" tests/test_engine_cuda.py \
    tests/test_hardware.py > "$out/cuda_tests.txt" 2>&1
  tests_status=$?
  echo "CUDA tests done at $(elapsed)" >> "$out/machine.txt"
  side_run_status=0
  left=$(( deadline - $(date +%s) ))
  if [[ -n ${SIDE_RUN:-} ]] && (( left > 0 )); then  # `timeout 0` would never stop it
    # shellcheck disable=SC2086  # SIDE_RUN is a list of options
    run_packed side "$left" $SIDE_RUN
    side_run_status=$?
  elif [[ -n ${SIDE_RUN:-} ]]; then
    echo "side: not run, the suite's $suite_seconds s were over" >> "$out/machine.txt"
  fi
  (( tests_status == 0 )) || exit "$tests_status"
  exit "$side_run_status"
} &
tests_and_side_run=$!
wait "$suite"
suite_status=$?
wait "$tests_and_side_run"
checks_status=$?
tail -n 3 "$out/cuda_tests.txt"
echo "all checks took $(elapsed)" | tee -a "$out/machine.txt"
# a run cut at SUITE_SECONDS (timeout's 124) is what a window expects; anything else failed
for status in "$suite_status" "$checks_status"; do
  (( status == 0 || status == 124 )) || exit "$status"
done
