"""Timing for the benchmarks: the median of several runs of a call."""
import statistics
import time


def median_seconds(call, rounds, warm_up=False):
    """The median wall time of `rounds` calls; with `warm_up`, one call first that is not counted (connections,
    caches)."""
    if warm_up:
        call()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
