"""Evaluation: metrics, offline evaluations and latency benchmarks."""
