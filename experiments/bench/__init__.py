"""Speed and memory benchmark: python -m experiments.bench."""
