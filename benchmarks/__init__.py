"""Measurements of trt-passes (run as ``python -m benchmarks.NAME``)."""
