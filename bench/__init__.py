"""Benchmarks: ``make bench`` (python -m bench) measures and rewrites docs/BENCHMARKS.md."""
