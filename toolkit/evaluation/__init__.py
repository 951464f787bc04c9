"""Scoring runs: reports with chance levels, cross-validation, plots."""
