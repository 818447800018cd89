"""Forensics: can a run's images be told from real photos, and which architecture family made them.

- :mod:`features` — weight-free forensic features (spectrum, noise residuals, colour, JPEG).
- :mod:`normalise` — the stated rule that makes real and generated images comparable.
- :mod:`detectors` — the built-in cross-validated detector, ``hf:`` checkpoints, plugins.
- :mod:`metrics` — accuracy, balanced accuracy, AUC, AP, TPR at 1% FPR, bootstrap intervals.
- :mod:`robustness` — JPEG, resize, blur and crop perturbations.
- :mod:`probe` — the N-family architecture probe (train / classify, safetensors + JSON).
- :mod:`trace` — generation-trace analysis of partial-image frames.
"""
