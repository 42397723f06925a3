"""Benchmarks of numnet against PyTorch and scikit-learn (not part of the test run): python -m benchmarks."""
