"""Shared test support: the mocks harness, Hypothesis strategies, upstream manifests, kubectl.

A package of its own (not conftest imports), so the benchmark (``python -m bench.bench``) uses
the same harness as the tests.
"""
