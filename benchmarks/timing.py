"""Shared by the speed benchmarks: time a call after one warm-up run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(run: Callable[[], object], repeats: int) -> tuple[float, list[float]]:
    """Call ``run`` once to warm up (allocator, kernels), then ``repeats`` times; (median, all times) in s."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times
