"""Benchmarks: each prints the project's path beside a naive baseline measured in the same run.

Run all with ``make bench`` (``python -m benchmarks``); speed is never asserted in tests.
"""
