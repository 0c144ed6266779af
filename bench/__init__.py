"""Benchmarks: one command each (bench/api, bench/voice, bench/messaging), figures in bench/RESULTS.md."""
