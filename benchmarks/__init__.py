"""Benchmark suites (TOML) and the pytest-benchmark performance suite (``perf``)."""
