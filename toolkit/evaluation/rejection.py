"""How well "unknown" separates the trained exercises from everything else.

A run answers "unknown" when its top probability falls below a threshold
calibrated on its validation videos (the level `accept_rate` of them reach).
Measured on held-out videos of the trained classes (in-distribution) and on
negatives no threshold ever saw (other motions): the AUROC of the score, and
at the calibrated threshold the share of in-distribution videos accepted and
of negatives falsely accepted.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def confidence_scores(probabilities: np.ndarray) -> dict[str, np.ndarray]:
    """Per sample, higher for "looks like a trained class": top probability, and negative entropy."""
    probabilities = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return {"max_probability": probabilities.max(axis=1),
            "negative_entropy": (probabilities * np.log(probabilities)).sum(axis=1)}


def rejection_report(in_distribution: np.ndarray, negatives: np.ndarray, threshold: float | None) -> dict:
    """AUROC of a score, and acceptance rates at `threshold` (accept when score >= threshold)."""
    in_distribution, negatives = np.asarray(in_distribution), np.asarray(negatives)
    truth = np.r_[np.ones(len(in_distribution)), np.zeros(len(negatives))]
    report = {"auroc": float(roc_auc_score(truth, np.r_[in_distribution, negatives])),
              # The usual summary: negatives accepted where 95 % of the in-distribution samples are.
              "false_accept_at_95_tpr": float((negatives >= np.quantile(in_distribution, 0.05)).mean()),
              "in_distribution": int(len(in_distribution)), "negatives": int(len(negatives))}
    if threshold is not None:
        report.update(threshold=float(threshold), accepted_in_distribution=float((in_distribution >= threshold).mean()),
                      false_accept=float((negatives >= threshold).mean()))
    return report
