"""Benchmark suites, one module each; every module here registers itself on import."""
