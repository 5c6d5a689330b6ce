"""Benchmarks behind ``smocast bench``: measurements printed as JSON, never asserted in tests."""
