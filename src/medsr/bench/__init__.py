"""Benchmarks: the review's Table 1 on natural images (:mod:`.table1`)."""
