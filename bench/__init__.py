"""Benchmarks: print figures, never asserted by the tests (`python -m bench`)."""
