"""Classification metrics with group-aware confidence intervals, and their plots."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

# Fewer groups of a class than this in an evaluation set: its score rests on too few sources.
MIN_GROUPS_PER_CLASS = 3


def grouped_bootstrap_ci(y_true: Sequence[int], y_pred: Sequence[int], groups: Sequence[str],
                         num_resamples: int = 1000, confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Bootstrap confidence interval of accuracy that resamples whole groups.

    Frames of one video (or person) are correlated; resampling frames would
    pretend there are far more independent samples than there are and give
    an interval that is much too narrow.
    """
    y_true, y_pred, groups = np.asarray(y_true), np.asarray(y_pred), np.asarray(groups)
    unique, inverse = np.unique(groups, return_inverse=True)
    correct = np.bincount(inverse, weights=(y_true == y_pred).astype(np.float64), minlength=len(unique))
    total = np.bincount(inverse, minlength=len(unique)).astype(np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(unique), size=(num_resamples, len(unique)))
    accuracies = correct[picks].sum(axis=1) / np.maximum(total[picks].sum(axis=1), 1)
    alpha = (1 - confidence) / 2
    return float(np.quantile(accuracies, alpha)), float(np.quantile(accuracies, 1 - alpha))


def classification_report(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str],
                          groups: Sequence[str] | None = None, seed: int = 0) -> dict:
    """Accuracy, balanced accuracy, macro-F1, per-class P/R/F1, confusion matrix, group CI, chance levels.

    Every metric is computed over the full label set, so a class missing
    from this evaluation set is reported (not silently dropped). Chance
    levels: `chance_uniform` (1 / classes, guessing) and `chance_majority`
    (always naming this set's most frequent class). `warnings` name what
    makes the figures weak: absent classes, classes from fewer than
    `MIN_GROUPS_PER_CLASS` groups, and a model that predicts one class for
    everything.
    """
    y_true, y_pred = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    labels = list(range(len(class_names)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    present = support > 0
    counts = np.bincount(y_true, minlength=len(labels)) if len(y_true) else np.zeros(len(labels), np.int64)
    predicted = sorted({int(p) for p in y_pred})
    report = {
        "samples": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0,
        # Mean recall over the classes present: scikit-learn's definition, without its warning for
        # predictions of classes this set lacks.
        "balanced_accuracy": float(recall[present].mean()) if present.any() else 0.0,
        "macro_f1": float(f1.mean()) if len(f1) else 0.0,
        "chance_uniform": 1.0 / len(class_names),
        "chance_majority": float(counts.max() / len(y_true)) if len(y_true) else 0.0,
        "predicted_classes": [class_names[p] for p in predicted],
        "per_class": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for name, p, r, f, s in zip(class_names, precision, recall, f1, support)},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "class_names": list(class_names),
    }
    warnings = []
    absent = [class_names[i] for i in labels if not present[i]]
    if absent and len(y_true):
        warnings.append(f"no {', '.join(absent)} in this set: those classes are not evaluated")
    if len(predicted) == 1 and len(y_true) > 1:
        warnings.append(f"the model predicts {class_names[predicted[0]]!r} for everything: its accuracy "
                        f"({report['accuracy']:.3f}) is the share of that class, not a skill")
    if groups is not None and len(y_true):
        groups = np.asarray(groups)
        low, high = grouped_bootstrap_ci(y_true, y_pred, groups, seed=seed)
        report["accuracy_ci95"] = [low, high]
        report["groups"] = int(len(set(groups.tolist())))
        few = {class_names[i]: len(set(groups[y_true == i].tolist())) for i in labels if present[i]}
        few = {name: n for name, n in few.items() if n < MIN_GROUPS_PER_CLASS}
        if few:
            warnings.append("classes from fewer than " + str(MIN_GROUPS_PER_CLASS) + " groups (sources) here: "
                            + ", ".join(f"{k} ({v})" for k, v in few.items()) + "; their scores rest on very "
                            "few sources")
    report["warnings"] = warnings
    return report


def format_report(report: dict, title: str) -> str:
    """A short human-readable summary of `classification_report`'s dict."""
    lines = [f"{title}: {report['samples']} samples"]
    ci = report.get("accuracy_ci95")
    ci_text = f" (95% CI {ci[0]:.3f}-{ci[1]:.3f} over {report['groups']} groups)" if ci else ""
    lines.append(f"  accuracy {report['accuracy']:.3f}{ci_text}, balanced accuracy "
                 f"{report['balanced_accuracy']:.3f}, macro-F1 {report['macro_f1']:.3f}")
    lines.append(f"  chance: {report['chance_uniform']:.3f} guessing uniformly, {report['chance_majority']:.3f} "
                 f"always naming the most frequent class")
    lines.extend(f"  warning: {w}" for w in report.get("warnings", []))
    rejection = report.get("rejection")
    if rejection and rejection.get("exercises_refused") is not None:
        text = (f"  unknown: {rejection['exercises_refused']:.3f} of {rejection['exercises']} exercise videos refused, "
                f"{rejection['exercises_accepted_and_right']:.3f} accepted and right")
        if "negatives_accepted" in rejection:
            aurocs = ", ".join(f"{k} {v:.3f}" for k, v in rejection["auroc"].items())
            text += (f"; {rejection['negatives_accepted']:.3f} of {rejection['negatives']} negatives accepted "
                     f"(AUROC {aurocs})")
        lines.append(text)
    width = max(len(n) for n in report["per_class"]) + 2
    lines.append(f"  {'class':<{width}} precision  recall   f1     support")
    for name, m in report["per_class"].items():
        lines.append(f"  {name:<{width}} {m['precision']:.3f}      {m['recall']:.3f}    {m['f1']:.3f}  {m['support']}")
    return "\n".join(lines)


def save_report(report: dict, directory: str | os.PathLike, name: str, title: str) -> Path:
    """Writes `<name>.json`, `<name>.txt` and `<name>_confusion.png` into `directory`."""
    from toolkit.evaluation.plots import plot_confusion_matrix

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.json").write_text(json.dumps(report, indent=2))
    (directory / f"{name}.txt").write_text(format_report(report, title) + "\n")
    plot_confusion_matrix(np.array(report["confusion_matrix"]), report["class_names"],
                          directory / f"{name}_confusion.png", title)
    return directory / f"{name}.json"
