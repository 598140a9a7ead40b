"""Speed and memory benchmark: python -m glass_core.bench."""
