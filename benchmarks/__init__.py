"""Benchmarks: `python -m benchmarks` (`make bench`) prints one table, writes results/latest.md."""
