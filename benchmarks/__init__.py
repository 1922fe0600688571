"""Benchmarks: data set loaders, the benchmark runner and its reports, and the performance benchmarks."""
