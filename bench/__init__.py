"""Benchmarks of snapd against the embedded fake API; not part of the test suite."""
