"""Speed and quality benchmarks, and the scaffolding they share (`benchmarks.shapes`).

Each script runs from the checkout's root as `python benchmarks/NAME.py` or `python -m benchmarks.NAME`;
tests import the scaffolding as `benchmarks.shapes...` (the root is on pytest's path).
"""
