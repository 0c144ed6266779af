"""Benchmarks: one command each (bench/api, bench/voice), figures in bench/RESULTS.md."""
